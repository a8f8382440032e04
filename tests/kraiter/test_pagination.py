"""docs/api.md 2: keyset cursor pagination, exactly as Kraiter's clients use it."""

import base64
import json

import pytest

from contacts.models import Contact
from tests.factories import ContactFactory, SendFactory, TemplateFactory


@pytest.fixture
def thirty_contacts(organisation):
    return [ContactFactory(organisation=organisation) for _ in range(30)]


def walk(api, path: str, limit: int) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        separator = "&" if "?" in path else "?"
        response = api.get(f"{path}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["data"]) <= limit
        items += body["data"]
        cursor, pages = body["nextCursor"], pages + 1
        if cursor is None:
            return items
        assert pages < 100


def test_pages_walk_every_item_once_newest_first(api, thirty_contacts):
    items = walk(api, "/api/contacts", limit=7)
    assert [c["id"] for c in items] == sorted((c.id for c in thirty_contacts), reverse=True)


@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("/api/contacts", lambda org, n: ContactFactory(organisation=org)),
        ("/api/sends", lambda org, n: SendFactory(organisation=org)),
        ("/api/templates", lambda org, n: TemplateFactory(organisation=org, slug=f"t-{n}")),
    ],
)
def test_rows_inserted_between_pages_never_skip_or_repeat_a_row(api, path, make):
    # given a list being walked page by page while new rows keep arriving
    existing = {make(api.organisation, n) for n in range(12)}
    seen, cursor, inserted = [], None, 0
    while True:
        body = api.get(f"{path}?limit=5" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [item["id"] for item in body["data"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
        make(api.organisation, 100 + inserted)  # newer than everything: it belongs before the cursor
        inserted += 1
    # then every row that existed when the walk began is seen exactly once, in order
    expected = sorted((getattr(row, "slug", None) or row.id for row in existing), reverse=True)
    assert len(seen) == len(set(seen)) and inserted == 2
    if path == "/api/templates":  # newest first by creation time, which here is the slug order too
        assert sorted(seen, reverse=True) == expected
    else:
        assert seen == expected


def test_default_limit_is_20_and_the_last_page_has_a_null_cursor(api, thirty_contacts):
    first = api.get("/api/contacts").json()
    assert len(first["data"]) == 20 and first["nextCursor"]
    second = api.get(f"/api/contacts?cursor={first['nextCursor']}").json()
    assert len(second["data"]) == 10 and second["nextCursor"] is None


def test_the_cursor_is_base64_json_naming_the_last_item(api, thirty_contacts):
    body = api.get("/api/contacts?limit=5").json()
    decoded = json.loads(base64.urlsafe_b64decode(body["nextCursor"]))
    assert decoded["id"] == body["data"][-1]["id"]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", "10e1"])
def test_limits_outside_1_to_100_are_400(api, limit):
    response = api.get(f"/api/contacts?limit={limit}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_limits_1_and_100_are_accepted(api, thirty_contacts):
    assert len(api.get("/api/contacts?limit=1").json()["data"]) == 1
    assert len(api.get("/api/contacts?limit=100").json()["data"]) == 30


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b'["a list"]').decode(),
        base64.b64encode(b'{"id": "cnt_bad"}').decode(),
        base64.b64encode(b'{"id": 5}').decode(),
    ],
)
def test_tampered_cursors_are_400(api, thirty_contacts, cursor):
    response = api.get(f"/api/contacts?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["message"]


def test_a_cursor_only_works_with_the_filters_it_was_made_with(api, thirty_contacts):
    cursor = api.get("/api/contacts?limit=5&suppressed=false").json()["nextCursor"]
    assert api.get(f"/api/contacts?limit=5&suppressed=false&cursor={cursor}").status_code == 200
    response = api.get(f"/api/contacts?limit=5&cursor={cursor}")
    assert response.status_code == 400
    assert "filters" in response.json()["error"]["message"]


def test_a_forged_cursor_cannot_reach_another_organisation(api, other_api, thirty_contacts):
    ContactFactory(organisation=other_api.organisation, email="secret@globex.com")
    body = other_api.get("/api/contacts?limit=1").json()
    assert body["nextCursor"] is None
    cursor = api.get("/api/contacts?limit=1").json()["nextCursor"]
    listed = walk(other_api, "/api/contacts", 50)
    assert [c["email"] for c in listed] == ["secret@globex.com"]
    assert "secret@globex.com" not in str(api.get(f"/api/contacts?cursor={cursor}&limit=100").json())


def test_pages_are_keyset_queries_without_offset_or_count(api, thirty_contacts, query_count):
    cursor = api.get("/api/contacts?limit=10").json()["nextCursor"]
    with query_count() as queries:
        api.get(f"/api/contacts?limit=10&cursor={cursor}")
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql
    assert Contact.objects.count() == 30
