"""Fuzzing SNS notifications and the webhook's bodies (tests/fuzz.py)."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sends.engagement.sns import UntrustedMessage, verify_sns_message
from tests.conftest import takes_at_most
from tests.fuzz import BOUND, FUZZ, adversarial_json, documented

SNS_FIELDS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "Subject",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
]
odd_values = st.one_of(
    st.none(), st.integers(), st.floats(), st.booleans(), st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3), st.text(max_size=60),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2", "1", "\n", "Notification"]),
)  # fmt: skip


@pytest.fixture
def signed(sns):
    return sns.notification({"eventType": "Delivery", "mail": {"messageId": "m-1"}, "delivery": {}})


@FUZZ
@given(
    changes=st.dictionaries(st.sampled_from(SNS_FIELDS), odd_values, max_size=4),
    drop=st.sets(st.sampled_from(SNS_FIELDS)),
)
def test_sns_notifications_are_verified_with_documented_errors_only(signed, changes, drop):
    notification = {k: v for k, v in copy.deepcopy(signed).items() if k not in drop}
    notification.update(changes)
    documented(lambda: verify_sns_message(notification), UntrustedMessage)


@FUZZ
@given(body=adversarial_json())
def test_the_webhook_answers_any_body_with_a_400_at_worst(client, db, sns, body):
    with takes_at_most(BOUND):
        response = client.post("/webhooks/ses/", data=body.encode("utf-8", "surrogatepass"), content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
