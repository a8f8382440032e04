"""GET /api/sends, /api/sends/:id and /api/contacts/:id/sends (docs/api.md 6; the seed 000 it follows is in docs/seeds/)."""

import re

import pytest
from django.db import connection
from django.utils import timezone

from sends.models import Send
from tests.factories import ContactFactory, SendFactory
from tests.openapi import assert_matches_schema


@pytest.fixture
def log(organisation):
    """A small log: two contacts, two templates, every status, both sources."""
    ann = ContactFactory(organisation=organisation, email="ann@example.com")
    ben = ContactFactory(organisation=organisation, email="Ben@Example.com")
    rows = [
        SendFactory(organisation=organisation, contact=ann, template_slug="welcome", status="delivered"),
        SendFactory(organisation=organisation, contact=ann, template_slug="tips", status="bounced"),
        SendFactory(organisation=organisation, contact=ben, template_slug="welcome", status="sent"),
        SendFactory(
            organisation=organisation,
            contact=ben,
            template_slug="tips",
            source="sequence",
            source_id="onboarding",
            step=2,
        ),
        SendFactory(organisation=organisation, contact=ann, template_slug="welcome", status="rejected"),
    ]
    return {"ann": ann, "ben": ben, "rows": rows}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [s["id"] for s in response.json()["data"]]


def test_list_is_newest_first_with_the_seed_fields(api, log):
    response = api.get("/api/sends")
    assert_matches_schema(response, "GET", "/api/sends")
    assert ids(response) == [s.id for s in reversed(log["rows"])]
    sequence_send = response.json()["data"][1]
    assert sequence_send == {
        **sequence_send,
        "source": "sequence",
        "sourceId": "onboarding",
        "step": 2,
        "templateId": "tips",
        "email": "Ben@Example.com",
        "contactId": log["ben"].id,
    }
    assert set(sequence_send) == {
        "id", "contactId", "email", "templateId", "templateName", "subject", "status", "source", "sourceId",
        "step", "sentAt", "deliveredAt", "openedAt", "clickedAt", "bouncedAt", "complainedAt", "createdAt",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=bounced", [1]),
        ("status=rejected", [4]),
        ("templateId=welcome", [4, 2, 0]),
        ("status=delivered&templateId=welcome", [0]),
        ("source=sequence", [3]),
        ("source=transactional&templateId=tips", [1]),
        ("sourceId=onboarding", [3]),
        ("email=ben@example.com", [3, 2]),
        ("email=ANN@example.com&status=bounced", [1]),
        ("templateId=none", []),
    ],
)
def test_filters(api, log, query, expected):
    assert ids(api.get(f"/api/sends?{query}")) == [log["rows"][i].id for i in expected]


def test_contact_filter_and_sub_list(api, log):
    ann = log["ann"].id
    expected = [log["rows"][i].id for i in (4, 1, 0)]
    assert ids(api.get(f"/api/sends?contactId={ann}")) == expected
    response = api.get(f"/api/contacts/{ann}/sends")
    assert_matches_schema(response, "GET", f"/api/contacts/{ann}/sends")
    assert ids(response) == expected
    assert ids(api.get(f"/api/contacts/{ann}/sends?status=bounced")) == [log["rows"][1].id]


@pytest.mark.parametrize(
    "query",
    ["status=unknown", "status=QUEUED", "source=campaign", "contactId=123", "templateId=Bad!", "email=not-email"],
)
def test_invalid_filters_are_400(api, log, query):
    response = api.get(f"/api/sends?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_get_one(api, log):
    send = log["rows"][0]
    response = api.get(f"/api/sends/{send.id}")
    assert response.status_code == 200
    assert_matches_schema(response, "GET", f"/api/sends/{send.id}")
    assert response.json()["id"] == send.id and response.json()["status"] == "delivered"
    assert api.get("/api/sends/snd_x").status_code == 400


def test_another_organisations_sends_are_invisible(api, other_api, log):
    send = log["rows"][0]
    assert other_api.get(f"/api/sends/{send.id}").status_code == 404
    assert ids(other_api.get("/api/sends")) == []
    assert ids(other_api.get(f"/api/sends?contactId={log['ann'].id}")) == []
    assert ids(other_api.get("/api/sends?email=ann@example.com")) == []
    assert other_api.get(f"/api/contacts/{log['ann'].id}/sends").status_code == 404


def test_a_deleted_contacts_sends_stay_with_their_contact_id(api, log):
    ann = log["ann"].id
    assert api.delete(f"/api/contacts/{ann}").status_code == 204
    listed = api.get(f"/api/sends?contactId={ann}").json()["data"]
    assert len(listed) == 3 and {s["contactId"] for s in listed} == {ann}


def test_pages_cost_at_most_three_queries_whatever_their_size(api, organisation, query_count):
    for _ in range(120):
        SendFactory(organisation=organisation)
    api.get("/api/sends?limit=1")  # the key's lastUsedAt is fresh from here on
    for limit in (1, 20, 100):
        with query_count() as queries:
            response = api.get(f"/api/sends?limit={limit}&status=queued")
        assert len(response.json()["data"]) == limit
        assert len(queries) <= 3, [q["sql"] for q in queries.captured_queries]
        cursor = response.json()["nextCursor"]
        with query_count() as queries:
            api.get(f"/api/sends?limit={limit}&status=queued&cursor={cursor}")
        assert len(queries) <= 3


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "in_order"),
    [
        ("", True),
        ("status=bounced", True),
        ("templateId=t7", True),
        ("source=sequence", True),
        ("sourceId=s1", True),
        ("contactId={contact}", True),
        # An address has a handful of sends: found through an index, then sorted.
        ("email=c7@example.com", False),
    ],
)
def test_every_filter_reads_an_index_in_list_order(api, organisation, other_organisation, query, in_order):
    """The plan PostgreSQL chooses for a page over a few thousand analysed rows, one organisation
    holding the older rows and another the newer ones, sequential scans ruled out as on a big
    table: an index of the sends is read, never the primary key across organisations, and the
    rows come out in the list's order without a sort. (BENCHMARKS.md has the same on 10 million.)"""
    from django.test import RequestFactory

    from sends.filters import SendFilter
    from sends.selectors import send_list

    contacts = _analysed_sends(
        3000, organisation, contacts=300,
        owner=lambda n: organisation if n < 2400 else other_organisation,
        status=lambda n: "bounced" if n % 40 == 0 else "delivered",
    )  # fmt: skip
    request = RequestFactory().get(f"/api/sends?{query.format(contact=contacts[3].id)}")
    queryset = SendFilter(data=request.GET, queryset=send_list(organisation=organisation)).qs
    plan = _plan(queryset.order_by("organisation_id", "-id")[:21], seqscan=False)  # as paginate() orders
    assert re.search(r"Index (Only )?Scan (using|on) send_(org_\w+|email)_idx", plan), plan
    assert "sends_send_pkey" not in plan, plan
    if in_order:
        assert "Sort" not in plan, plan


@pytest.mark.postgres
def test_a_page_near_the_oldest_end_reads_the_filters_index(organisation, other_organisation):
    """A page of a narrow filter whose cursor has 5 % of the table below it, in an organisation
    holding 60 % of a table it shares in time with another: PostgreSQL reads the filter's index
    from the cursor, in list order, and does not range-scan the primary key below the cursor
    and sort what matches (the plan the organisation written as a range got: 16 ms to 1.4 s on
    1-30 M sends, BENCHMARKS.md)."""
    from django.test import RequestFactory

    from sends.filters import SendFilter
    from sends.selectors import send_list

    contacts = _analysed_sends(
        30000, organisation, contacts=2000,
        owner=lambda n: organisation if n % 5 < 3 else other_organisation,
        status=lambda n: "complained" if n % 50 == 0 else "delivered",
    )  # fmt: skip
    below = Send.objects.order_by("id").values_list("id", flat=True)[1500]
    for query in [
        "status=complained&templateId=t0",
        "templateId=t2",
        "sourceId=s1",
        f"contactId={contacts[2].id}",
        "status=complained",
    ]:
        request = RequestFactory().get(f"/api/sends?{query}")
        queryset = SendFilter(data=request.GET, queryset=send_list(organisation=organisation)).qs
        expected = list(queryset.filter(id__lt=below).order_by("-id").values_list("id", flat=True)[:21])
        assert expected, query
        page = queryset.filter(id__lt=below).order_by("organisation_id", "-id")[:21]  # as paginate() orders
        assert [send.id for send in page] == expected, query
        plan = _plan(page)
        assert re.search(r"Index Scan using send_org_\w+_idx", plan), (query, plan)
        assert "sends_send_pkey" not in plan, (query, plan)
        assert "Sort" not in plan, (query, plan)


def _analysed_sends(count, organisation, *, contacts, owner, status):
    """`count` sends in creation order (their ids rise with it), send n in `owner(n)`'s log with
    `status(n)`, to contact n % `contacts` of `organisation`, template t{n % 20}, and 3 in 10 from
    sequence s{n % 5}; then ANALYZE, so the planner sees them. Returns the contacts."""
    from contacts.models import Contact

    people = Contact.objects.bulk_create(
        [Contact(organisation=organisation, email=f"c{n}@example.com") for n in range(contacts)]
    )
    Send.objects.bulk_create(
        [
            Send(organisation=owner(n), contact=people[n % contacts], email=people[n % contacts].email,
                 template_slug=f"t{n % 20}", template_name="T", subject="S", status=status(n),
                 source="sequence" if n % 10 < 3 else "transactional", source_id=f"s{n % 5}" if n % 10 < 3 else None,
                 created_at=timezone.now())
            for n in range(count)
        ]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sends_send")
    return people


def _plan(page, *, seqscan=True):
    """PostgreSQL's plan for a queryset, as EXPLAIN prints it (`seqscan=False`: with sequential
    scans ruled out, as on a table too big for them)."""
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        if not seqscan:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
