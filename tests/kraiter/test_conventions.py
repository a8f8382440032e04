"""docs/api.md 1: the error envelope for every failure, request ids, ids and timestamps."""

import re
from datetime import UTC, datetime

import pytest

from kraiter.api.fields import format_timestamp, parse_timestamp
from kraiter.api.ids import id_to_uuid, is_valid_id, new_id, uuid_to_id


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_unknown_routes_under_api_are_404_in_the_envelope(api, anonymous):
    assert_envelope(api.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert_envelope(anonymous.get("/api/contacts/x/y/z"), 404, "NOT_FOUND")


def test_wrong_method_is_405(api):
    assert_envelope(api.put("/api/contacts", {}), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(api.delete("/api/tenant"), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("{not json", "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "JSON object"),
        ('"a string"', "application/json", "JSON object"),
        ("email=a@b.co", "application/x-www-form-urlencoded", "must be JSON"),
        ("\xff\xfe", "application/json", "not valid JSON"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_400(api, body, content_type, expected):
    response = api.generic("POST", "/api/contacts", body, content_type=content_type)
    assert expected in assert_envelope(response, 400, "VALIDATION_ERROR")["message"]


def test_a_body_over_the_size_limit_is_refused_before_parsing(api):
    huge = '{"email": "a@b.co", "properties": {"x": "' + "a" * (3 * 1024 * 1024) + '"}}'
    response = api.generic("POST", "/api/contacts", huge, content_type="application/json")
    assert "larger than" in assert_envelope(response, 400, "VALIDATION_ERROR")["message"]


def test_an_unexpected_error_is_a_500_that_says_nothing_internal(api, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("contacts.views.selectors.contact_list", explode)
    response = api.get("/api/contacts", HTTP_X_REQUEST_ID="req-123")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "hunter2" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert "req-123" in error["message"]


def test_every_response_carries_a_request_id(api, anonymous):
    generated = api.get("/api/tenant")["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert anonymous.get("/api/tenant", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    forged = anonymous.get("/api/tenant", HTTP_X_REQUEST_ID="bad\nvalue")["X-Request-Id"]
    assert forged != "bad\nvalue" and re.fullmatch(r"[0-9a-f]{32}", forged)


def test_field_errors_name_the_field_in_camel_case(api):
    response = api.post("/api/contacts", {})
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert error["message"] == "The 'email' field is required." and error["details"] == {
        "email": ["This field is required."]
    }


def test_timestamps_are_utc_with_milliseconds_and_z():
    moment = datetime(2025, 9, 15, 14, 30, 0, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2025-09-15T14:30:00.123Z"
    assert parse_timestamp("2025-09-15T16:30:00.123+02:00") == moment.replace(microsecond=123000)
    assert parse_timestamp("2025-09-01") == datetime(2025, 9, 1, tzinfo=UTC)
    for bad in ("2025-09-15T14:30:00", "yesterday", "2025-13-01", ""):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_ids_are_prefixed_ulids_that_sort_by_creation_time():
    first, second = new_id("snd"), new_id("snd")
    assert is_valid_id(first, "snd") and len(first) == 30
    assert uuid_to_id(id_to_uuid(first, "snd"), "snd") == first
    assert not is_valid_id(first, "cnt")
    assert not is_valid_id("snd_" + "I" * 26, "snd")  # I is not Crockford base32
    earlier = new_id("snd", at=datetime(2020, 1, 1, tzinfo=UTC))
    assert earlier < first <= second or earlier < second


@pytest.mark.parametrize("body", ["0" * 26, "7" + "Z" * 25, "01K5AHW6RAPJ0Z8TCM3EDQX1Y7", "7ZZZZZZZZZ0000000000000001"])
def test_an_id_is_stored_as_the_uuid_of_its_ulid(body):
    """The fast conversion (int in base 32) agrees with the ULID library, at both ends of the range."""
    from ulid import ULID

    assert id_to_uuid(f"evt_{body}", "evt") == ULID.from_str(body).to_uuid()
    assert uuid_to_id(id_to_uuid(f"evt_{body}", "evt"), "evt") == f"evt_{body}"
    for _ in range(200):
        fresh = new_id("evt")
        assert id_to_uuid(fresh, "evt") == ULID.from_str(fresh[4:]).to_uuid()


def test_the_docs_page_works_offline(anonymous):
    response = anonymous.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"(src|href)=\"https?://", html), "the docs page must not load anything from the internet"


def test_the_schema_lists_every_endpoint(anonymous):
    response = anonymous.get("/api/schema/")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/contacts", "/api/contacts/{id}", "/api/templates/{id}", "/api/templates/{id}/preview"):
        assert path in paths
    not_found = paths["/api/contacts/{id}"]["get"]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_over_the_rate_limit_is_429_with_retry_after(api, other_api, settings, monkeypatch):
    settings.API_RATE_LIMIT_PER_SECOND = 3  # counted in the cache (Redis in CI) per organisation
    now = [1_800_000_000.25]  # a fixed clock: every request lands in the same one-second window
    monkeypatch.setattr("kraiter.api.throttling.time.time", lambda: now[0])
    assert [api.get("/api/tenant").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/api/tenant")
    error = assert_envelope(limited, 429, "RATE_LIMITED")
    assert "Retry-After" in error["message"] and limited["Retry-After"] == "1"
    assert other_api.get("/api/tenant").status_code == 200  # the limit is per organisation
    now[0] += 1  # the next second
    assert api.get("/api/tenant").status_code == 200
