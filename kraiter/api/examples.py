"""Request and response examples for the served OpenAPI document (issue 14: "document every
addition in the OpenAPI schema with an example": sequences, enrolments, events, domains and the
tenant's sandbox). Each is a real exchange: the responses were
taken from the server answering the requests above them, and tests/kraiter/test_openapi.py checks
every example against its schema and sends every request example to the server.

The ids and timestamps are those of one run; a client's will differ.
"""

from typing import Any

_CONTACT = "cnt_01M8TFQ51H6GJ6H6H1HFXM6N4C"
_CREATED = "2026-12-02T04:20:32.163Z"

SEQUENCE_DEFINITION: dict[str, Any] = {
    "steps": [
        {"action": "email", "template": "welcome", "id": "welcome"},
        {"action": "delay", "duration": "1d"},
        {
            "action": "condition",
            "property": "event.email.opened",
            "operator": "exists",
            "send": "previous",
            "onTrue": "continue",
            "onFalse": "exit",
        },
        {"send": "tips"},
    ],
    "exitConditions": [{"property": "event.purchase.completed", "operator": "exists"}],
}
SEQUENCE_TRIGGERS: list[dict[str, Any]] = [
    {"event": "signed_up", "conditions": [{"property": "event.properties.plan", "operator": "equals", "value": "pro"}]}
]

_SEQUENCE = {
    "id": "onboarding",
    "name": "Onboarding",
    "status": "draft",
    "definition": SEQUENCE_DEFINITION,
    "triggers": SEQUENCE_TRIGGERS,
    "createdAt": _CREATED,
    "updatedAt": _CREATED,
}

_ENROLMENT = {
    "id": "enr_01M8TFQ51YZXT3E3H247TW7FQC",
    "sequenceId": "onboarding",
    "contactId": _CONTACT,
    "email": "alice@example.com",
    "status": "active",
    "currentStep": 1,
    "version": 1,
    "enrolledAt": "2026-12-02T04:20:32.449Z",
    "endedAt": None,
    "endedReason": "",
    "createdAt": "2026-12-02T04:20:32.449Z",
}
_EXITED = {
    **_ENROLMENT,
    "status": "exited",
    "endedAt": "2026-12-02T04:20:32.478Z",
    "endedReason": "taken out through the API",
}

_EVENT = {
    "id": "evt_01M8TFQ52GBAXB0QJFV50DZB1D",
    "name": "plan_upgraded",
    "contactId": _CONTACT,
    "properties": {"plan": "pro"},
    "timestamp": "2026-12-01T09:30:00.000Z",
    "sendId": None,
    "system": False,
    "createdAt": "2026-12-02T04:20:32.465Z",
}


def _dkim(token: str) -> dict[str, str]:
    return {
        "type": "CNAME",
        "name": f"{token}._domainkey.mail.example.com",
        "value": f"{token}.dkim.amazonses.com",
        "purpose": "dkim",
    }


_DOMAIN = {
    "id": "dom_01M8TFPN7ENWM7XTS82Q6FAG8P",
    "domain": "mail.example.com",
    "status": "pending",
    "sendingEnabled": False,
    "dnsRecords": [
        _dkim("406200cfd46da40189f1"),
        _dkim("cdde68792ea5a30b67d6"),
        _dkim("ee0596161fc374f9179e"),
        {
            "type": "MX",
            "name": "bounce.mail.example.com",
            "value": "10 feedback-smtp.us-east-1.amazonses.com",
            "purpose": "mail_from",
        },
        {
            "type": "TXT",
            "name": "bounce.mail.example.com",
            "value": '"v=spf1 include:amazonses.com ~all"',
            "purpose": "spf",
        },
        {"type": "TXT", "name": "_dmarc.mail.example.com", "value": '"v=DMARC1; p=none;"', "purpose": "dmarc"},
    ],
    "failureReason": None,
    "lastCheckedAt": None,
    "verifiedAt": None,
    "createdAt": "2026-12-02T04:20:16.239Z",
    "updatedAt": "2026-12-02T04:20:16.240Z",
}

# A new organisation starts in the sandbox (docs/api.md 15); here with one whitelisted address.
_TENANT = {
    "tenantId": "org_01M8THM3EGBRY60TMBP3JBMKVN",
    "name": "Example Co",
    "sendingStatus": "sandbox",
    "plan": "free",
    "sandboxWhitelist": ["qa@example.com"],
    "createdAt": "2026-12-02T04:53:49.656Z",
    "updatedAt": "2026-12-02T04:53:49.656Z",
}
_WHITELIST = {"emails": ["qa@example.com"]}

_ENROLMENT_PATH = "/api/sequences/{id}/enrolments/{enrolment_id}"

# (method, path) → the request body's example
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("put", "/api/sequences/{id}"): {
        "name": "Onboarding",
        "triggers": SEQUENCE_TRIGGERS,
        "definition": SEQUENCE_DEFINITION,
    },
    ("post", "/api/sequences/{id}/enrol"): {"email": "alice@example.com"},
    ("post", "/api/events"): {
        "name": "plan_upgraded",
        "email": "alice@example.com",
        "properties": {"plan": "pro"},
        "timestamp": "2026-12-01T09:30:00Z",
    },
    ("post", "/api/domains"): {"domain": "mail.example.com"},
    ("post", "/api/tenant/sandbox-whitelist"): {"email": "qa@example.com"},
}

# (method, path, status) → the response body's example
RESPONSES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("put", "/api/sequences/{id}", "201"): _SEQUENCE,
    ("put", "/api/sequences/{id}", "200"): {**_SEQUENCE, "updatedAt": "2026-12-02T04:25:02.511Z"},
    ("get", "/api/sequences/{id}", "200"): _SEQUENCE,
    ("post", "/api/sequences/{id}/activate", "200"): {**_SEQUENCE, "status": "active"},
    ("post", "/api/sequences/{id}/pause", "200"): {**_SEQUENCE, "status": "paused"},
    ("post", "/api/sequences/{id}/enrol", "201"): _ENROLMENT,
    ("get", _ENROLMENT_PATH, "200"): _ENROLMENT,
    ("post", _ENROLMENT_PATH + "/exit", "200"): _EXITED,
    ("delete", _ENROLMENT_PATH, "200"): _EXITED,
    ("post", "/api/events", "201"): _EVENT,
    ("get", "/api/events/{id}", "200"): _EVENT,
    ("post", "/api/domains", "201"): _DOMAIN,
    ("get", "/api/domains/{id}", "200"): _DOMAIN,
    ("post", "/api/domains/{id}/verify", "200"): _DOMAIN,
    ("get", "/api/tenant", "200"): _TENANT,
    ("post", "/api/tenant/sandbox-whitelist", "200"): _WHITELIST,
    ("get", "/api/tenant/sandbox-whitelist", "200"): _WHITELIST,
}


def add_examples(path: str, method: str, operation: dict[str, Any]) -> None:
    """Puts the examples above on the operation's request body and responses."""
    request = REQUESTS.get((method, path))
    if request is not None:
        operation["requestBody"]["content"]["application/json"]["example"] = request
    for status, response in operation["responses"].items():
        example = RESPONSES.get((method, path, status))
        if example is not None:
            response["content"]["application/json"]["example"] = example
