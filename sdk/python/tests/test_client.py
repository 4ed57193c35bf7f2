"""Client against the real API: credentials, typed errors, idempotency keys, retries."""

import os
import shutil
import socket
import subprocess
import time
import unittest
import uuid

import admem
from admem.errors import parse_retry_after

from . import harness


class Sleeps:
    """Sleeps records each wait the client asks for, and waits it."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)
        time.sleep(seconds)


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_api(cls)
        cls.tenant_id, cls.admin, cls.agent = harness.new_tenant("client")

    def test_plain_key_is_a_bearer_credential(self):
        me = self.agent.me()
        self.assertEqual(me["tenant_id"], self.tenant_id)
        self.assertEqual(me["scopes"], ["write"])
        self.assertFalse(me["is_platform"])
        # An access token works the same way.
        tok = self.agent.issue_token()
        self.assertEqual(admem.Client(harness.URL, tok["access_token"]).me()["tenant_id"], self.tenant_id)

    def test_errors_are_typed_from_problem_json(self):
        with self.assertRaises(admem.AuthenticationError) as cm:
            admem.Client(harness.URL, "adm_wrong").me()
        e = cm.exception
        self.assertEqual(e.status, 401)
        self.assertTrue(e.code)
        self.assertTrue(e.request_id)
        self.assertIn(e.request_id, str(e))

        with self.assertRaises(admem.PermissionDeniedError) as cm:
            self.agent.create_key("not-allowed", ["read"])  # needs the admin scope
        self.assertEqual(cm.exception.status, 403)

        with self.assertRaises(admem.NotFoundError):
            self.agent.get_trajectory(str(uuid.uuid4()))

        with self.assertRaises(admem.ValidationError) as cm:
            self.agent.record_trajectory("book a table", [{"action": "book_table", "status": "maybe"}])
        self.assertEqual(cm.exception.status, 422)
        fields = [f["field"] for f in cm.exception.errors]
        self.assertTrue(any("status" in f for f in fields), fields)
        self.assertIsInstance(cm.exception, admem.APIError)

    def test_creates_carry_idempotency_keys(self):
        key = "sdk-test-" + uuid.uuid4().hex
        first = self.admin.request("POST", "/v1/keys", {"name": "k1", "scopes": ["read"]}, idempotency_key=key)
        again = self.admin.request("POST", "/v1/keys", {"name": "k1", "scopes": ["read"]}, idempotency_key=key)
        self.assertEqual(first.status, 201)
        self.assertFalse(first.replayed)
        self.assertTrue(again.replayed)
        self.assertEqual(first.data["id"], again.data["id"])
        with self.assertRaises(admem.ConflictError):
            self.admin.create_key("k2", ["read"], idempotency_key=key)  # same key, another body
        # Without a key of yours, each call gets its own: two calls make two trajectories.
        a = self.agent.record_trajectory("look up an order", [{"action": "get_order", "args": {"id": 1}}],
                                         outcome="success")
        b = self.agent.record_trajectory("look up an order", [{"action": "get_order", "args": {"id": 1}}],
                                         outcome="success")
        self.assertNotEqual(a["id"], b["id"])

    def test_429_is_retried_after_retry_after(self):
        _, _, limited = harness.new_tenant("limited", rate_limit={"requests_per_second": 1, "burst": 2})
        no_retry = admem.Client(harness.URL, limited.key, max_retries=0)
        sleeps = Sleeps()
        patient = admem.Client(harness.URL, limited.key, sleep=sleeps)
        seen_429 = None
        for _ in range(6):
            try:
                no_retry.learning_status()
            except admem.RateLimitError as e:
                seen_429 = e
                break
        self.assertIsNotNone(seen_429, "six requests at once never met the limit of 1/s, burst 2")
        self.assertGreaterEqual(seen_429.retry_after, 1)
        for _ in range(3):
            patient.learning_status()  # each may wait, none fails
        self.assertGreater(patient.retries, 0)
        self.assertTrue(all(0.5 <= w <= 5 for w in sleeps.waits), sleeps.waits)

    def test_503_is_retried(self):
        admin_url = os.environ.get("ADMEM_TEST_ADMIN_URL")
        db = os.environ.get("ADMEM_SDK_DATABASE")
        if not admin_url or not db or not shutil.which("psql"):
            self.skipTest("needs ADMEM_TEST_ADMIN_URL, ADMEM_SDK_DATABASE and psql (scripts/sdk-test.sh)")
        sleeps = Sleeps()
        c = admem.Client(harness.URL, self.agent.key, sleep=sleeps)
        retried = 0
        for _ in range(5):
            c.request("GET", "/v1/trajectories")  # the pool's connections in use
            # Kill the API's connections, as a database restart or failover does: the next
            # request meets a dead connection and is answered 503 with Retry-After.
            subprocess.run(["psql", "-X", "-q", "-tA", admin_url, "-c",
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = '%s' AND application_name = 'admem'" % db],
                           check=True, stdout=subprocess.DEVNULL)
            r = c.request("GET", "/v1/trajectories")
            self.assertEqual(r.status, 200)
            if r.attempts > 1:
                retried += 1
                break
        self.assertGreater(retried, 0, "no request met a killed connection: the test tested nothing")
        self.assertTrue(all(w >= 1 for w in sleeps.waits), sleeps.waits)  # Retry-After, not the backoff

    def test_no_answer_is_a_transport_error_retried_only_when_safe(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        sleeps = Sleeps()
        c = admem.Client("http://127.0.0.1:%d" % port, "adm_x", max_retries=2, backoff=0.01, sleep=sleeps)
        with self.assertRaises(admem.TransportError):
            c.me()
        self.assertEqual(len(sleeps.waits), 2)  # a GET is repeated
        sleeps.waits.clear()
        with self.assertRaises(admem.TransportError):
            c.request("POST", "/v1/trajectories/x/close")  # no Idempotency-Key: never repeated
        self.assertEqual(sleeps.waits, [])
        with self.assertRaises(admem.TransportError):
            c.close_trajectory("x")  # creates carry a key: repeated
        self.assertEqual(len(sleeps.waits), 2)


class RetryAfterTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_retry_after("3"), 3.0)
        self.assertEqual(parse_retry_after(" 0 "), 0.0)
        self.assertIsNone(parse_retry_after(None))
        self.assertIsNone(parse_retry_after("soon"))
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0)  # in the past
        from email.utils import formatdate

        later = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
        self.assertTrue(25 <= later <= 31, later)


if __name__ == "__main__":
    unittest.main()
