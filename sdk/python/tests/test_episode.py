"""Episode against the real API and worker: the agent loop learns from a failure and warns next time."""

import unittest

import admem

from . import harness

FIND = "find_restaurant"
BOOK = "book_table"


class DateFormatError(ValueError):
    pass


def book_table(restaurant_id, date, party_size=2):
    """A tool with a rule the agent does not know: dates are written YYYY-MM-DD."""
    if not 1 <= party_size <= 20:
        raise ValueError("party_size must be between 1 and 20")
    if len(date) != 10 or date[4] != "-" or date[7] != "-":
        raise DateFormatError("date must be YYYY-MM-DD, got %s" % date)
    return {"booking": "b-%s-%s" % (restaurant_id, date), "party_size": party_size}


def find_restaurant(name):
    return {"restaurant_id": "r-%d" % (sum(map(ord, name)) % 97)}


class EpisodeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_api(cls)
        cls.tenant_id, cls.admin, cls.agent = harness.new_tenant("episode")
        # The first episode: the agent writes the date the wrong way, fails, and recovers.
        ep = cls.agent.episode("book a table at Luigi for 2 on 2027-03-04", agent_id="planner", session_id="s1")
        cls.first_recall = ep.recall()
        found = find_restaurant("Luigi")
        ep.record((FIND, {"name": "Luigi"}), found)
        bad = admem.Call(BOOK, {"restaurant_id": found["restaurant_id"], "date": "04/03/2027", "party_size": 2})
        try:
            book_table(**bad.args)
        except DateFormatError as e:
            ep.record(bad, error=e)
        good = admem.Call(BOOK, {"restaurant_id": found["restaurant_id"], "date": "2027-03-04", "party_size": 2})
        ep.record(good, book_table(**good.args))
        cls.first = ep.close("success")
        cls.first_feedback = ep.feedback()
        cls.first_ep = ep
        cls.agent.wait_for_learning(timeout=60)

    def test_first_episode_was_recorded(self):
        tr = self.agent.get_trajectory(self.first_ep.trajectory_id)
        self.assertEqual(tr["outcome"], "success")
        self.assertEqual([s["action"] for s in tr["steps"]], [FIND, BOOK, BOOK])
        self.assertEqual(tr["steps"][1]["status"], "error")
        self.assertIn("DateFormatError: date must be YYYY-MM-DD", tr["steps"][1]["error"])
        self.assertEqual(tr["steps"][1]["error_type"], "DateFormatError")
        self.assertEqual(tr["scope"], {"agent_id": "planner", "session_id": "s1"})
        self.assertTrue(self.first_ep.recall_id)
        self.assertEqual(self.first_feedback["recall_id"], self.first_ep.recall_id)

    def test_the_lesson_warns_on_the_repeat_with_a_ready_call(self):
        ep = self.agent.episode("book a table at Chez Anne for 4 on 2027-05-06", agent_id="planner")
        recalled = ep.recall()
        self.assertIn("YYYY-MM-DD", recalled["text"])  # the mistake note is in the prompt now
        found = find_restaurant("Chez Anne")
        ep.record((FIND, {"name": "Chez Anne"}), found)
        chk = ep.check(BOOK, {"restaurant_id": found["restaurant_id"], "date": "06/05/2027", "party_size": 4})
        self.assertIn(chk.decision, (admem.WARN, admem.BLOCK), chk)
        self.assertEqual(chk.kind, "deterministic")
        self.assertGreaterEqual(chk.risk, 0.5)
        self.assertTrue(any("YYYY-MM-DD" in n for n in chk.notes), chk.notes)
        # The suggestion is this call fixed, from this call's own values.
        self.assertEqual(chk.suggestion, admem.Call(BOOK, {"restaurant_id": found["restaurant_id"],
                                                           "date": "2027-05-06", "party_size": 4}))
        self.assertIn("Suggested call instead", chk.message())
        ok = ep.check(chk.suggestion)
        self.assertTrue(ok.allowed, ok)
        ep.record(chk.suggestion, book_table(**chk.suggestion.args))
        self.assertEqual(ep.close("success")["outcome"], "success")
        self.assertEqual(ep.feedback()["recall_id"], ep.recall_id)
        with self.assertRaises(admem.ConflictError):
            ep.client.recall_feedback(ep.recall_id, "success")  # once per recall

    def test_guarded_tool_takes_the_suggestion(self):
        ep = self.agent.episode("book a table at Sakura for 3 on 2027-07-08")
        calls = []

        @ep.guarded
        def book_table(restaurant_id, date, party_size=2):  # the function's name is the tool's
            calls.append(date)
            return globals()["book_table"](restaurant_id, date, party_size)

        out = book_table("r-5", date="08/07/2027", party_size=3)  # positional arguments are named too
        self.assertEqual(calls, ["2027-07-08"])  # guard's ready call was made instead
        self.assertEqual(out["booking"], "b-r-5-2027-07-08")
        self.assertEqual(ep.steps[-1]["args"]["date"], "2027-07-08")
        self.assertEqual(ep.steps[-1]["status"], "ok")
        self.assertEqual(book_table.admem_tool, BOOK)
        ep.close("success")

    def test_guarded_tool_raises_when_told_and_records_failures(self):
        ep = self.agent.episode("book a table at Sakura for 3 on 2027-07-09")
        calls = []

        def book(restaurant_id, date, party_size=2):
            calls.append(date)
            return book_table(restaurant_id, date, party_size)

        strict = admem.guarded(ep, book, tool=BOOK, on_warn="raise")
        with self.assertRaises(admem.Flagged) as cm:
            strict(restaurant_id="r-5", date="09/07/2027", party_size=3)
        self.assertEqual(calls, [])  # not called
        self.assertEqual(cm.exception.check.suggestion.args["date"], "2027-07-09")
        self.assertEqual(ep.steps, [])

        # A call guard allows that still fails is recorded as a failed step and raised again.
        loose = admem.guarded(ep, book, tool=BOOK)
        with self.assertRaises(ValueError):
            loose(restaurant_id="r-5", date="2027-07-09", party_size=0)
        self.assertEqual(ep.steps[-1]["status"], "error")
        self.assertEqual(ep.steps[-1]["error_type"], "ValueError")
        self.assertEqual(ep.steps[-1]["args"], {"restaurant_id": "r-5", "date": "2027-07-09", "party_size": 0})
        tr = ep.close()  # the judge scores it: the last step failed
        self.assertEqual(tr["failed_steps"], 1)
        self.assertEqual(tr["outcome"], "failure")

    def test_transient_fault_is_allowed_with_retry(self):
        ep = self.agent.episode("send the weekly report to ops")
        ep.record(("send_report", {"to": "ops"}), error="HTTP 503 Service Unavailable: upstream timed out")
        chk = ep.check("send_report", {"to": "ops"})
        self.assertTrue(chk.transient, chk.result)
        self.assertTrue(chk.allowed)
        self.assertIn("retry", chk.message())
        ep.close("failure")

    def test_context_manager_closes_as_failure_on_exception(self):
        with self.assertRaises(RuntimeError):
            with self.agent.episode("archive last year's invoices") as ep:
                ep.record(("list_invoices", {"year": 2025}), [{"id": 1}])
                raise RuntimeError("the model gave up")
        self.assertEqual(ep.trajectory["outcome"], "failure")
        self.assertFalse(ep.trajectory["open"])
        # An episode that recorded nothing is stored closed in one request.
        empty = self.agent.episode("nothing to do")
        self.assertEqual(empty.close("success")["step_count"], 0)
        self.assertIsNone(empty.feedback())  # no recall to rate


if __name__ == "__main__":
    unittest.main()
