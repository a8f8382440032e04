"""/api/contacts (docs/api.md 3)."""

import pytest
from django.db import IntegrityError, transaction

from contacts.models import Contact
from tests.factories import ContactFactory
from tests.openapi import assert_matches_schema


def create(api, email: str, **extra):
    return api.post("/api/contacts", {"email": email, **extra})


def test_create_returns_the_contact(api):
    response = create(api, "  Alice@Example.COM ", properties={"plan": "pro", "seats": 3})
    assert response.status_code == 201
    assert_matches_schema(response, "POST", "/api/contacts")
    body = response.json()
    assert body["id"].startswith("cnt_") and len(body["id"]) == 30
    assert body["email"] == "Alice@example.com"  # trimmed, domain lower-cased, local part kept
    assert body["properties"] == {"plan": "pro", "seats": 3}
    assert (body["suppressed"], body["unsubscribed"], body["suppressionReason"]) == (False, False, None)


def test_email_is_unique_per_organisation_ignoring_case(api, other_api):
    assert create(api, "bob@example.com").status_code == 201
    duplicate = create(api, "BOB@EXAMPLE.COM")
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "CONFLICT"
    assert create(other_api, "bob@example.com").status_code == 201  # another tenant may have Bob too


def test_the_database_enforces_uniqueness_not_only_the_code(organisation):
    ContactFactory(organisation=organisation, email="carol@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(organisation=organisation, email="CAROL@example.com")


@pytest.mark.parametrize(
    "email",
    [
        "a@b.com\r\nBcc: evil@x.com",
        "a@b.com\nX-Header: 1",
        "a@b.com, c@d.com",
        "a@b.com;c@d.com",
        "Bob <bob@b.com>",
        '"quoted"@b.com',
        "no-at-sign",
        "two@@b.com",
        "jörg@example.de",
        "",
        "a" * 250 + "@b.com",
        "a" * 65 + "@b.com",  # RFC 5321: a local part is at most 64 characters
    ],
)
def test_invalid_emails_are_400(api, email):
    response = create(api, email)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "email" in error["details"]
    assert Contact.objects.count() == 0


def test_unicode_domains_and_properties_are_kept(api):
    response = create(api, "ana@Bücher.de", properties={"name": "Zoë 🎉", "城市": "東京"})
    assert response.status_code == 201
    body = api.get(f"/api/contacts/{response.json()['id']}").json()
    assert body["email"] == "ana@bücher.de"
    assert body["properties"] == {"name": "Zoë 🎉", "城市": "東京"}


@pytest.mark.parametrize(
    "body",
    [
        {"email": 42},
        {"email": ["a@b.com"]},
        {"email": "a@b.com", "properties": "plan=pro"},
        {"email": "a@b.com", "properties": [1]},
        {"email": "a@b.com", "properties": {"blob": "x" * 70_000}},
    ],
)
def test_wrong_types_are_400(api, body):
    response = api.post("/api/contacts", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_get_and_other_organisations_ids(api, other_api):
    contact_id = create(api, "dave@example.com").json()["id"]
    response = api.get(f"/api/contacts/{contact_id}")
    assert response.status_code == 200 and response.json()["email"] == "dave@example.com"
    assert_matches_schema(response, "GET", f"/api/contacts/{contact_id}")
    for method in ("get", "patch", "delete"):
        hidden = getattr(other_api, method)(f"/api/contacts/{contact_id}")
        assert hidden.status_code == 404, method
        assert hidden.json()["error"]["code"] == "NOT_FOUND"
    assert_matches_schema(other_api.get(f"/api/contacts/{contact_id}"), "GET", f"/api/contacts/{contact_id}")
    assert api.get("/api/contacts/cnt_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404


@pytest.mark.parametrize(
    "bad_id", ["123", "snd_01ARZ3NDEKTSV4RRFFQ69G5FAV", "cnt_01ARZ3NDEKTSV4RRFFQ69G5FA", "cnt_%27--"]
)
def test_ids_of_the_wrong_shape_are_400(api, bad_id):
    response = api.get(f"/api/contacts/{bad_id}")
    assert response.status_code == 400
    assert "contact id" in response.json()["error"]["message"]


def test_list_filters(api, other_api):
    ids = {email: create(api, email).json()["id"] for email in ("ann@shop.com", "ben@shop.com", "cat@else.org")}
    create(other_api, "ann@shop.com")
    api.patch(f"/api/contacts/{ids['ben@shop.com']}", {"suppressed": True})
    api.patch(f"/api/contacts/{ids['cat@else.org']}", {"unsubscribed": True})

    def emails(query: str) -> list[str]:
        response = api.get(f"/api/contacts?{query}")
        assert response.status_code == 200
        assert_matches_schema(response, "GET", "/api/contacts")
        return [c["email"] for c in response.json()["data"]]

    assert emails("") == ["cat@else.org", "ben@shop.com", "ann@shop.com"]
    assert emails("search=SHOP") == ["ben@shop.com", "ann@shop.com"]
    assert emails("suppressed=true") == ["ben@shop.com"]
    assert emails("suppressed=false") == ["cat@else.org", "ann@shop.com"]
    assert emails("unsubscribed=true") == ["cat@else.org"]
    assert emails("search=shop&suppressed=false") == ["ann@shop.com"]
    assert emails("search=nobody") == []
    for bad in ("suppressed=maybe", "unsubscribed=1"):
        assert api.get(f"/api/contacts?{bad}").status_code == 400


def test_patch_merges_properties_and_null_removes_a_key(api):
    contact_id = create(api, "eve@example.com", properties={"plan": "free", "city": "Oslo"}).json()["id"]
    response = api.patch(f"/api/contacts/{contact_id}", {"properties": {"plan": "pro", "city": None, "seats": 5}})
    assert response.status_code == 200
    assert_matches_schema(response, "PATCH", f"/api/contacts/{contact_id}")
    assert response.json()["properties"] == {"plan": "pro", "seats": 5}


def test_patch_unsubscribe_resubscribe_suppress_unsuppress(api):
    contact_id = create(api, "fay@example.com").json()["id"]
    body = api.patch(f"/api/contacts/{contact_id}", {"unsubscribed": True}).json()
    assert body["unsubscribed"] is True
    body = api.patch(f"/api/contacts/{contact_id}", {"unsubscribed": False}).json()
    assert body["unsubscribed"] is False
    body = api.patch(f"/api/contacts/{contact_id}", {"suppressed": True}).json()
    assert (body["suppressed"], body["suppressionReason"]) == (True, "manual")
    body = api.patch(f"/api/contacts/{contact_id}", {"suppressed": False}).json()
    assert (body["suppressed"], body["suppressionReason"]) == (False, None)


@pytest.mark.parametrize(
    "body", [{"unsubscribed": "yes"}, {"suppressed": 1}, {"properties": "x"}, {"properties": {"k": "v" * 70_000}}]
)
def test_patch_validates_types(api, body):
    contact_id = create(api, "gus@example.com").json()["id"]
    response = api.patch(f"/api/contacts/{contact_id}", body)
    assert response.status_code == 400
    assert api.get(f"/api/contacts/{contact_id}").json()["unsubscribed"] is False


def test_delete(api):
    contact_id = create(api, "hal@example.com").json()["id"]
    response = api.delete(f"/api/contacts/{contact_id}")
    assert response.status_code == 204 and not response.content
    assert api.get(f"/api/contacts/{contact_id}").status_code == 404
    assert create(api, "hal@example.com").status_code == 201


@pytest.mark.postgres
def test_the_email_search_can_use_the_trigram_index(organisation):
    """The index matches the expression the search filter produces. (Within one organisation
    PostgreSQL picks it when its statistics say it is cheaper than the organisation's index.)"""
    from django.db import connection

    from contacts.filters import ContactFilter

    queryset = ContactFilter(data={"search": "shop"}, queryset=Contact.objects.all()).qs
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_email_trgm_idx" in plan, plan


def test_every_contact_route_takes_the_address_too(api, other_api):
    created = api.post("/api/contacts", {"email": "Alice@Example.com", "properties": {"plan": "pro"}}).json()
    assert api.get("/api/contacts/alice%40example.com").json()["id"] == created["id"]
    patched = api.patch("/api/contacts/ALICE@example.com", {"properties": {"plan": "team"}})
    assert patched.status_code == 200 and patched.json()["properties"] == {"plan": "team"}
    for sub in ("sends", "scheduled", "timeline"):
        assert api.get(f"/api/contacts/alice@example.com/{sub}").status_code == 200
    assert other_api.get("/api/contacts/alice@example.com").status_code == 404
    assert api.get("/api/contacts/bob@example.com").status_code == 404
    assert api.get("/api/contacts/not@an@address").status_code == 400
    assert api.delete("/api/contacts/alice@example.com").status_code == 204


def test_the_email_filter_is_an_exact_case_insensitive_match(api):
    for email in ("ann@example.com", "joann@example.com"):
        api.post("/api/contacts", {"email": email})
    found = api.get("/api/contacts?email=ANN@example.com").json()["data"]
    assert [c["email"] for c in found] == ["ann@example.com"]
    assert api.get("/api/contacts?email=nobody@example.com").json()["data"] == []
    assert api.get("/api/contacts?email=nonsense").status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/api/contacts?emial=a@b.co", "/api/sends?state=sent", "/api/templates?sort=name", "/api/scheduled?x=1",
     "/api/sequences?archived=true", "/api/events?type=x", "/api/keys?all=1", "/api/metrics?granularity=day"],
)  # fmt: skip
def test_an_unknown_query_parameter_is_a_400_naming_it(api, path):
    response = api.get(path)
    assert response.status_code == 400
    unknown = path.split("?")[1].split("=")[0]
    assert f"Unknown query parameter '{unknown}'" in response.json()["error"]["message"]


def test_a_property_change_is_a_contact_updated_event_and_the_name_is_reserved(api):
    contact = api.post("/api/contacts", {"email": "changes@example.com", "properties": {"plan": "free", "n": 1}}).json()
    api.patch(f"/api/contacts/{contact['id']}", {"properties": {"plan": "pro", "n": 1, "seats": 3}})
    api.patch(f"/api/contacts/{contact['id']}", {"properties": {"plan": "pro"}})  # no change: no event
    events = api.get(f"/api/events?contactId={contact['id']}").json()["data"]
    assert [(e["name"], e["properties"]) for e in events] == [("contact.updated", {"changed": ["plan", "seats"]})]
    refused = api.post("/api/events", {"name": "contact.updated", "contactId": contact["id"]})
    assert refused.status_code == 400 and "reserved" in refused.json()["error"]["message"]


@pytest.mark.postgres
@pytest.mark.parametrize("by", ["contactId", "email"])
def test_one_contacts_events_are_read_in_the_order_of_its_index(api, by):
    """GET /api/events?contactId= (or ?email=) walks event_contact_time_idx in its order, however
    deep the page: no Sort, so a page does not fetch all of the contact's events (BENCHMARKS.md,
    issue 13: led by the organisation, the order sorted the contact's 10,000 events per page)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact = create(api, "many@example.com").json()
    for n in range(3):
        api.post("/api/events", {"name": "signed_up", "contactId": contact["id"], "properties": {"n": n}})
    value = contact["id"] if by == "contactId" else "Many@example.com"
    first = api.get(f"/api/events?{by}={value}&limit=2").json()
    with CaptureQueriesContext(connection) as queries:
        page = api.get(f"/api/events?{by}={value}&limit=2&cursor={first['nextCursor']}").json()
    assert [e["properties"]["n"] for e in first["data"] + page["data"]] == [2, 1, 0]
    [sql] = [q["sql"] for q in queries.captured_queries if 'FROM "contacts_event"' in q["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        # A test table is tiny, and after other tests its statistics may make a bitmap scan and
        # a sort of the few rows look as cheap: both off, the plan left is the one asked about.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_contact_time_idx" in plan and "Sort" not in plan, plan


@pytest.mark.postgres
def test_a_name_list_is_bounded_by_the_name_and_the_organisation(api, other_api):
    """GET /api/events?name= reads event_name_org_idx with both the name and the organisation
    as index conditions: a name with fewer events than a page ends where they do (with the
    organisation leading the index, its range left the name unbounded: 5 s at 50 M events)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for client in (api, other_api):
        contact = create(client, "named@example.com").json()
        client.post("/api/events", {"name": "signed_up", "contactId": contact["id"]})
    with CaptureQueriesContext(connection) as queries:
        assert len(api.get("/api/events?name=signed_up").json()["data"]) == 1
        assert api.get("/api/events?name=no_such_event").json()["data"] == []
    for sql in [q["sql"] for q in queries.captured_queries if 'FROM "contacts_event"' in q["sql"]]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "event_name_org_idx" in plan and "Sort" not in plan, plan
        condition = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "name" in condition and "organisation_id" in condition, plan
