"""The real thing: POST /api/send → Redis → a real Celery worker process → (moto) SES → sent."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from django.db import connection
from moto.server import ThreadedMotoServer

from kraiter.celery import app as celery_app
from sends.models import Send
from tests.factories import TemplateFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def worker(moto_server):
    """A Celery worker in its own process, on its own queue, against the test database."""
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "AWS_SES_REGION_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DEFAULT_FROM_EMAIL": "no-reply@example.com",
        "KRAITER_TESTING": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kraiter", "worker", "--pool", "solo", "--loglevel", "INFO",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, queue
    yield process
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_send_goes_through_a_real_worker_to_ses(api, worker, moto_server):
    ses = boto3.client("ses", region_name="us-east-1", endpoint_url=moto_server,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    ses.verify_email_identity(EmailAddress="no-reply@example.com")
    TemplateFactory(organisation=api.organisation, slug="welcome", subject="Hi {{ name }}")

    response = api.post("/api/send", {"to": "eve@example.com", "templateId": "welcome", "variables": {"name": "Eve"}})
    assert response.status_code == 201
    send_id = response.json()["id"]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Send.objects.get(pk=send_id).status == "queued":
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.2)
    send = Send.objects.get(pk=send_id)
    assert send.status == "sent", f"still {send.status}: {send.last_error}"
    assert send.ses_message_id and send.attempts == 1
    assert ses.get_send_quota()["SentLast24Hours"] > 0  # moto counts the To header and the envelope
    assert api.get(f"/api/sends/{send_id}").json()["status"] == "sent"
