"""Kraiter's tenant pages, replayed request by request: https://www.kraiter.com/docs/api-reference/tenant
and https://www.kraiter.com/docs/sdk-reference/tenant."""

from kraiter.models import Organisation
from tests.factories import TemplateFactory
from tests.kraiter.kraiter_docs.replay import assert_shape, replay

API_REFERENCE = "https://www.kraiter.com/docs/api-reference/tenant"
SDK_REFERENCE = "https://www.kraiter.com/docs/sdk-reference/tenant"

# API_REFERENCE, "Get tenant", less `clerkOrgId`: the id of the tenant in Kraiter's own sign-in
# provider (Clerk). The SDK's TenantInfo object, the same tenant's other page, has no such field,
# and we have no Clerk: it is left out.
TENANT = {
    "tenantId": "org_abc123",
    "name": "Acme Inc",
    "plan": "free",
    "sendingStatus": "sandbox",
    "sandboxWhitelist": ["test@example.com"],
    "createdAt": "2025-09-15T10:00:00.000Z",
    "updatedAt": "2025-09-15T10:00:00.000Z",
}


def sandboxed(api) -> None:
    api.organisation.sending_status = Organisation.SendingStatus.SANDBOX
    api.organisation.save()


# API_REFERENCE, "Get tenant" and "Add to sandbox whitelist"; SDK_REFERENCE, "get" ("sandbox" |
# "enabled" | "paused"; plan "free", "starter" or "pro") and addToSandboxWhitelist("test@example.com").
def test_get_tenant_and_add_to_the_whitelist(api):
    sandboxed(api)
    added = replay(api, "POST", "/api/tenant/sandbox-whitelist", {"email": "test@example.com"})
    assert added == {"emails": ["test@example.com"]}  # the SDK's console.log(emails)
    tenant = replay(api, "GET", "/api/tenant")
    assert_shape(tenant, TENANT)
    assert (tenant["plan"], tenant["sendingStatus"], tenant["sandboxWhitelist"]) == (
        "free",
        "sandbox",
        ["test@example.com"],
    )
    assert (tenant["tenantId"], tenant["name"]) == (api.organisation.id, "Acme")
    api.organisation.sending_status = Organisation.SendingStatus.ENABLED
    api.organisation.save()
    assert replay(api, "GET", "/api/tenant")["sendingStatus"] == "enabled"  # what a client checks before sending


# API_REFERENCE, "List sandbox whitelist" ({"emails": ["test@example.com", "staging@example.com"]}),
# "Add" (VALIDATION_ERROR for an invalid address) and the SDK's listSandboxWhitelist and
# removeFromSandboxWhitelist (DELETE with the address, in the body or as ?email=).
def test_list_add_and_remove_whitelisted_addresses(api):
    for email in ("test@example.com", "staging@example.com"):
        replay(api, "POST", "/api/tenant/sandbox-whitelist", {"email": email})
    listed = replay(api, "GET", "/api/tenant/sandbox-whitelist")
    assert listed == {"emails": ["test@example.com", "staging@example.com"]}
    refused = replay(api, "POST", "/api/tenant/sandbox-whitelist", {"email": "not an address"}, 400)
    assert refused["error"]["code"] == "VALIDATION_ERROR"
    assert replay(api, "DELETE", "/api/tenant/sandbox-whitelist", {"email": "test@example.com"}) == {
        "emails": ["staging@example.com"]
    }
    assert replay(api, "DELETE", "/api/tenant/sandbox-whitelist?email=staging@example.com") == {"emails": []}


# Both pages: "While in sandbox mode, emails can only be sent to whitelisted recipient addresses."
def test_a_sandboxed_tenant_sends_only_to_the_whitelist(api):
    sandboxed(api)
    TemplateFactory(organisation=api.organisation, slug="password-reset")
    replay(api, "POST", "/api/tenant/sandbox-whitelist", {"email": "test@example.com"})
    sent = replay(api, "POST", "/api/send", {"to": "test@example.com", "templateId": "password-reset"}, 201)
    assert sent["status"] == "queued"
    refused = replay(api, "POST", "/api/send", {"to": "alice@example.com", "templateId": "password-reset"}, 422)
    assert refused["error"]["code"] == "UNPROCESSABLE_ENTITY" and "sandbox" in refused["error"]["message"]
