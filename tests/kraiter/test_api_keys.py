"""API keys: bearer authentication, /api/keys, /api/tenant (docs/api.md 1 and 11)."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from kraiter.models import ApiKey, StaffMembership
from tests.openapi import assert_matches_schema


@pytest.fixture
def staff_session(organisation):
    user = get_user_model().objects.create_user("support", password="x", is_staff=True)
    StaffMembership.objects.create(user=user, organisation=organisation)
    client = APIClient()
    client.force_login(user)
    return client


def test_a_request_without_a_key_is_401_with_the_envelope(anonymous):
    response = anonymous.get("/api/tenant")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORISED"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer kr_short", "Basic dXNlcjpwYXNz", "Bearer kr_" + "A" * 40, "Token kr_" + "A" * 40],
)
def test_malformed_or_unknown_keys_are_401(anonymous, header, organisation):
    response = anonymous.get("/api/tenant", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORISED"


def test_the_key_decides_the_organisation(api, other_api):
    assert api.get("/api/tenant").json()["name"] == "Acme"
    assert other_api.get("/api/tenant").json()["name"] == "Globex"


def test_tenant_shape(api):
    response = api.get("/api/tenant")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"tenantId", "name", "sendingStatus", "plan", "sandboxWhitelist", "createdAt", "updatedAt"}
    assert body["tenantId"].startswith("org_") and body["sendingStatus"] == "enabled"
    assert body["plan"] == "free" and body["sandboxWhitelist"] == []
    assert_matches_schema(response, "GET", "/api/tenant")


def test_keys_are_stored_only_as_a_hash_and_a_prefix(api):
    stored = ApiKey.objects.get(organisation=api.organisation)
    assert stored.key_hash == hashlib.sha256(api.raw_key.encode()).hexdigest()
    assert api.raw_key.startswith(stored.key_prefix) and len(stored.key_prefix) < 12
    values = [str(v) for v in ApiKey.objects.values_list(flat=False).get(pk=stored.pk)]
    assert api.raw_key not in values


def test_last_used_is_recorded_without_a_write_on_every_request(api, query_count):
    api.get("/api/tenant")
    first_use = ApiKey.objects.get(organisation=api.organisation).last_used_at
    assert first_use is not None
    with query_count() as queries:
        api.get("/api/tenant")
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert ApiKey.objects.get(organisation=api.organisation).last_used_at == first_use


def test_listing_keys_shows_prefixes_never_the_key(api):
    response = api.get("/api/keys")
    assert response.status_code == 200
    [key] = response.json()["data"]
    assert set(key) == {"keyId", "name", "keyPrefix", "createdAt", "lastUsedAt", "revokedAt"}
    assert api.raw_key not in response.content.decode()
    assert_matches_schema(response, "GET", "/api/keys")


def test_an_api_key_cannot_create_or_revoke_keys(api):
    key_id = api.get("/api/keys").json()["data"][0]["keyId"]
    created = api.post("/api/keys", {"name": "leaked"})
    revoked = api.delete(f"/api/keys/{key_id}")
    assert created.status_code == revoked.status_code == 403
    assert created.json()["error"]["code"] == "FORBIDDEN"
    assert ApiKey.objects.filter(organisation=api.organisation).count() == 1


def test_a_staff_session_creates_a_key_shown_once_that_works(staff_session, organisation):
    response = staff_session.post("/api/keys", {"name": "CI deploys"}, format="json")
    assert response.status_code == 201
    assert_matches_schema(response, "POST", "/api/keys")
    raw = response.json()["rawKey"]
    assert raw.startswith("kr_") and len(raw) == 43
    fresh = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get("/api/tenant").json()["tenantId"] == organisation.id
    listed = staff_session.get("/api/keys").json()["data"]
    assert "rawKey" not in listed[0]


def test_a_revoked_key_is_401_at_once(staff_session, api):
    key_id = api.get("/api/keys").json()["data"][0]["keyId"]
    response = staff_session.delete(f"/api/keys/{key_id}")
    assert response.status_code == 204
    assert api.get("/api/tenant").status_code == 401
    assert staff_session.delete(f"/api/keys/{key_id}").status_code == 204  # harmless twice


def test_at_most_ten_active_keys(staff_session, organisation):
    for n in range(10):
        assert staff_session.post("/api/keys", {"name": f"k{n}"}, format="json").status_code == 201
    response = staff_session.post("/api/keys", {"name": "eleventh"}, format="json")
    assert response.status_code == 400
    assert "at most 10" in response.json()["error"]["message"]


def test_key_creation_validates_its_body(staff_session):
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "x" * 101}):
        response = staff_session.post("/api/keys", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_revoking_another_organisations_key_is_404(staff_session, other_api):
    other_key = other_api.get("/api/keys").json()["data"][0]["keyId"]
    assert staff_session.delete(f"/api/keys/{other_key}").status_code == 404
    assert staff_session.delete("/api/keys/not-an-id").status_code == 400
    assert other_api.get("/api/tenant").status_code == 200


def test_a_staff_user_without_an_organisation_is_not_authenticated(db):
    user = get_user_model().objects.create_user("lost", password="x", is_staff=True)
    client = APIClient()
    client.force_login(user)
    assert client.post("/api/keys", {"name": "x"}, format="json").status_code == 401


@pytest.mark.postgres  # a real backend, terminated
@pytest.mark.django_db(transaction=True)
def test_the_key_lookup_checks_the_connection_and_a_dead_one_is_replaced(api):
    """An API request's first statement is its key's lookup: it stands in for Django's health
    check of the reused connection (no `SELECT 1` round trip before it), and when the
    connection died in between (a database restart), the lookup runs again on a new one."""
    from unittest import mock

    from django.db import connection

    from tests.round_trips import a_new_request, terminate_backend

    assert api.get("/api/templates").status_code == 200
    a_new_request()
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as health_check:
        assert api.get("/api/templates").status_code == 200
    assert health_check.call_count == 0
    terminate_backend()
    a_new_request()
    assert api.get("/api/templates").status_code == 200
