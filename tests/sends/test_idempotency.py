"""Idempotency-Key on POST /api/send (docs/api.md 5)."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from sends.idempotency import idempotency_records_purge
from sends.models import IdempotencyRecord, Send
from tests.conftest import run_concurrently
from tests.factories import ContactFactory, TemplateFactory

BODY = {"to": "carol@example.com", "templateId": "welcome", "variables": {"firstName": "Carol"}}


@pytest.fixture
def template(organisation):
    return TemplateFactory(organisation=organisation, slug="welcome")


def post(client, body=BODY, key="order-1001"):
    return client.post("/api/send", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_repeat_replays_the_original_response_and_sends_nothing(api, template):
    first = post(api)
    second = post(api)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Send.objects.count() == 1


def test_the_same_key_with_another_body_is_409(api, template):
    post(api)
    response = post(api, {**BODY, "variables": {"firstName": "Someone else"}})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Send.objects.count() == 1


def test_keys_are_per_organisation(api, other_api, template):
    TemplateFactory(organisation=other_api.organisation, slug="welcome")
    ids = {post(api).json()["id"], post(other_api).json()["id"]}
    assert len(ids) == 2


def test_a_key_is_kept_24_hours(api, template, clock):
    first = post(api).json()["id"]
    clock.advance(timedelta(hours=23))
    assert post(api).json()["id"] == first
    clock.advance(timedelta(hours=2))
    assert post(api).json()["id"] != first
    assert Send.objects.count() == 2


def test_expired_keys_are_purged(api, template, clock):
    post(api)
    clock.advance(timedelta(hours=25))
    assert idempotency_records_purge() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_422_is_replayed_too(api, template):
    ContactFactory(organisation=api.organisation, email="carol@example.com", unsubscribed=True)
    first, second = post(api), post(api)
    assert first.status_code == second.status_code == 422
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Send.objects.count() == 1


def test_a_failed_request_does_not_use_up_the_key(api, template):
    assert post(api, {**BODY, "templateId": "missing"}).status_code == 404
    assert post(api).status_code == 201
    assert post(api)["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there", "é"])
def test_malformed_keys_are_400(api, template, key):
    response = post(api, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert not Send.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_produce_exactly_one_send(api, template):
    responses: list = []
    run_concurrently(lambda index: responses.append(post(APIClient(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}"))), 10)
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(1 for r in responses if r.get("Idempotent-Replayed") == "true") == 9
    assert Send.objects.count() == 1
