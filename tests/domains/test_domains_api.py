"""/api/domains against (moto's) SES v2: add, list, verify, fail, delete (docs/api.md 14)."""

import pytest

from domains.models import Domain
from tests.openapi import assert_matches_schema

pytestmark = pytest.mark.usefixtures("ses_identities")


def add(api, name="acme.example"):
    return api.post("/api/domains", {"domain": name})


def test_adding_a_domain_creates_a_pending_ses_identity_with_its_records(api, ses_identities):
    response = add(api, " Mail.Acme.Example. ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches_schema(response, "POST", "/api/domains")
    assert body["id"].startswith("dom_") and body["domain"] == "mail.acme.example"
    assert (body["status"], body["sendingEnabled"], body["verifiedAt"]) == ("pending", False, None)
    tokens = ses_identities.identity("mail.acme.example").dkim_attributes["Tokens"]
    dkim = [r for r in body["dnsRecords"] if r["purpose"] == "dkim"]
    assert dkim == [
        {
            "type": "CNAME",
            "name": f"{token}._domainkey.mail.acme.example",
            "value": f"{token}.dkim.amazonses.com",
            "purpose": "dkim",
        }
        for token in tokens
    ]
    assert len(dkim) == 3
    others = {(r["type"], r["name"], r["purpose"]): r["value"] for r in body["dnsRecords"] if r["purpose"] != "dkim"}
    assert others == {
        ("MX", "bounce.mail.acme.example", "mail_from"): "10 feedback-smtp.us-east-1.amazonses.com",
        ("TXT", "bounce.mail.acme.example", "spf"): '"v=spf1 include:amazonses.com ~all"',
        ("TXT", "_dmarc.mail.acme.example", "dmarc"): '"v=DMARC1; p=none;"',
    }
    # The custom MAIL FROM went to SES (through the Stubber: moto lacks the operation).
    assert ses_identities.stubbed_calls == [
        (
            "put_email_identity_mail_from_attributes",
            {
                "EmailIdentity": "mail.acme.example",
                "MailFromDomain": "bounce.mail.acme.example",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        )
    ]
    assert api.get(f"/api/domains/{body['id']}").json() == body


def test_verify_moves_it_to_verified_once_ses_finds_the_records(api, ses_identities):
    domain_id = add(api).json()["id"]
    still = api.post(f"/api/domains/{domain_id}/verify").json()
    assert (still["status"], still["sendingEnabled"], still["lastCheckedAt"] is not None) == ("pending", False, True)
    ses_identities.verify("acme.example")
    response = api.post(f"/api/domains/{domain_id}/verify")
    assert_matches_schema(response, "POST", "/api/domains/{id}/verify")
    body = response.json()
    assert (body["status"], body["sendingEnabled"], body["failureReason"]) == ("verified", True, None)
    assert body["verifiedAt"]


@pytest.mark.parametrize(
    ("error", "says"),
    [("HOST_NOT_FOUND", "found no DKIM records"), ("INVALID_VALUE", "wrong values")],
)
def test_a_failed_verification_says_why(api, ses_identities, error, says):
    domain_id = add(api).json()["id"]
    ses_identities.fail("acme.example", error)
    body = api.post(f"/api/domains/{domain_id}/verify").json()
    assert (body["status"], body["sendingEnabled"]) == ("failed", False)
    assert says in body["failureReason"]


def test_a_temporary_failure_stays_pending_with_the_reason(api, ses_identities):
    domain_id = add(api).json()["id"]
    ses_identities.fail("acme.example", "DNS_SERVER_ERROR", status="TEMPORARY_FAILURE")
    body = api.post(f"/api/domains/{domain_id}/verify").json()
    assert body["status"] == "pending" and "DNS server" in body["failureReason"]


def test_a_domain_belongs_to_one_organisation_only(api, other_api):
    assert add(api).status_code == 201
    for client in (api, other_api):
        response = add(client, "ACME.example")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "CONFLICT"
        assert "Acme" not in response.content.decode()  # nothing says who has it
    assert Domain.objects.count() == 1


@pytest.mark.parametrize(
    "name", ["", "localhost", "acme", "-acme.example", "acme..example", "acme.123", "a b.example", "x" * 64 + ".com", 7]
)
def test_an_invalid_domain_name_is_a_400(api, name):
    response = api.post("/api/domains", {"domain": name})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert Domain.objects.count() == 0


def test_list_is_newest_first_with_a_keyset_cursor(api):
    ids = [add(api, f"d{n}.example").json()["id"] for n in range(3)]
    first = api.get("/api/domains?limit=2").json()
    assert [d["id"] for d in first["data"]] == ids[::-1][:2]
    rest = api.get(f"/api/domains?limit=2&cursor={first['nextCursor']}").json()
    assert [d["id"] for d in rest["data"]] == [ids[0]] and rest["nextCursor"] is None
    assert api.get("/api/domains?status=pending").status_code == 400  # no such filter


def test_delete_removes_the_domain_and_its_ses_identity(api, ses_identities):
    domain_id = add(api).json()["id"]
    assert api.delete(f"/api/domains/{domain_id}").status_code == 204
    assert "acme.example" not in ses_identities.backend.email_identities
    assert api.get(f"/api/domains/{domain_id}").status_code == 404
    assert add(api).status_code == 201  # may be added again


def test_a_malformed_id_is_a_400(api):
    assert api.get("/api/domains/nope").status_code == 400
