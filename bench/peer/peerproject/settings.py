"""The peer's Django project: django-post-office queueing mail in PostgreSQL, delivering through
django-ses into the bench's stand-in SES. Run only from bench/peer/.venv (bench/peer/run.py)."""

import os

SECRET_KEY = "peer-benchmark-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "post_office"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PEER_DATABASE", "kraiter_peer_po"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DEFAULT_FROM_EMAIL = "bench@example.com"

# django-ses, pointed at the stand-in SES. Its auto-throttle (on by default, 0.5) asks SES for the
# send quota (GetSendQuota) and paces each process on its own; the stand-in speaks SendRawEmail
# only, and ours turns it off too (kraiter/settings.py), so both run with AWS_SES_AUTO_THROTTLE None.
# Everything else of django-ses and boto3 stays at its defaults (boto3's legacy retries included:
# a throttled call is retried inside the client up to 4 times).
EMAIL_BACKEND = "django_ses.SESBackend"
AWS_ACCESS_KEY_ID = "bench"
AWS_SECRET_ACCESS_KEY = "bench"
AWS_SES_REGION_NAME = "us-east-1"
AWS_SES_REGION_ENDPOINT = "email.us-east-1.amazonaws.com"
AWS_SES_REGION_ENDPOINT_URL = os.environ.get("PEER_SES_URL", "http://127.0.0.1:8610")
AWS_SES_AUTO_THROTTLE = None

# post_office's defaults (BATCH_SIZE 100, THREADS_PER_PROCESS 5, MAX_RETRIES 0, LOG_LEVEL 2),
# except BATCH_SIZE when PEER_BATCH_SIZE is set (the tuned run: 1000).
POST_OFFICE = {"BACKENDS": {"default": "django_ses.SESBackend"}}
if os.environ.get("PEER_BATCH_SIZE"):
    POST_OFFICE["BATCH_SIZE"] = int(os.environ["PEER_BATCH_SIZE"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"post_office": {"handlers": ["console"], "level": "WARNING"}},
}
