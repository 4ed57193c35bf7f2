"""The tests' connection to a real admem API and worker (scripts/sdk-test.sh starts them).

ADMEM_URL and ADMEM_PLATFORM_KEY name the API and its platform admin key. Without them the tests
skip, except under CI=true, where they fail: a test that needs the service never passes silently.
"""

import os
import unittest
import uuid

import admem

URL = os.environ.get("ADMEM_URL", "")
PLATFORM_KEY = os.environ.get("ADMEM_PLATFORM_KEY", "")


def require_api(case: unittest.TestCase) -> None:
    if URL and PLATFORM_KEY:
        return
    msg = "ADMEM_URL and ADMEM_PLATFORM_KEY are not set (scripts/sdk-test.sh sets them)"
    if os.environ.get("CI") == "true":
        case.fail(msg)
    raise unittest.SkipTest(msg)


def platform() -> admem.Client:
    return admem.Client(URL, PLATFORM_KEY)


def new_tenant(prefix: str, rate_limit=None):
    """new_tenant makes a fresh tenant and returns (tenant id, admin client, write client)."""
    p = platform()
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
    t = p.create_tenant(name, "SDK test " + prefix, rate_limit=rate_limit)
    admin_key = p.create_tenant_key(t["id"], "admin", ["admin"])["key"]
    admin = admem.Client(URL, admin_key)
    write_key = admin.create_key("agent", ["write"])
    # One honest agent per tenant: its key is trusted for learning.
    admin.trust_key_for_learning(write_key["id"])
    return t["id"], admin, admem.Client(URL, write_key["key"])
