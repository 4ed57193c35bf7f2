"""Pure logic: calls, their arguments from a function's signature, checks read from guard's answer."""

import inspect
import unittest

import admem
from admem.episode import _call_args


class CallTest(unittest.TestCase):
    def test_of(self):
        want = admem.Call("book_table", {"date": "2027-03-04"})
        for given in (want, ("book_table", {"date": "2027-03-04"}), ["book_table", {"date": "2027-03-04"}],
                      {"tool": "book_table", "args": {"date": "2027-03-04"}},
                      {"action": "book_table", "args": {"date": "2027-03-04"}}):
            self.assertEqual(admem.Call.of(given), want, given)
        self.assertEqual(admem.Call.of("book_table", {"date": "2027-03-04"}), want)
        with self.assertRaises(ValueError):
            admem.Call.of({"args": {}})
        with self.assertRaises(TypeError):
            admem.Call.of(42)

    def test_args_are_json_values(self):
        import datetime

        c = admem.Call("t", {"when": datetime.date(2027, 3, 4), "n": (1, 2)})
        self.assertEqual(c.args, {"when": "2027-03-04", "n": [1, 2]})
        self.assertEqual(repr(c), 't(n=[1, 2], when="2027-03-04")')

    def test_call_args_name_every_argument(self):
        def f(a, b=2, *rest, c, **more):
            pass

        sig = inspect.signature(f)
        self.assertEqual(_call_args(sig, (1,), {"c": 3}), {"a": 1, "c": 3})  # defaults are not sent
        self.assertEqual(_call_args(sig, (1, 5, 6, 7), {"c": 3, "x": 9}), {"a": 1, "b": 5, "rest": [6, 7], "c": 3, "x": 9})
        self.assertEqual(_call_args(sig, (), {"zz": 1}), {"zz": 1})  # unbindable: the keywords as given

    def test_check_reads_guard_result(self):
        call = admem.Call("book_table", {"date": "06/05/2027"})
        chk = admem.Check(call, {
            "decision": "warn", "risk": 0.75, "kind": "deterministic",
            "reasons": [{"kind": "mistake_note", "note": "Mistake (seen 1×): ...", "signature": "s", "count": 1, "match": 0.75}],
            "suggestion": {"call": {"tool": "book_table", "args": {"date": "2027-05-06"}}, "text": "write date as #-#-#",
                           "source": "mistake_note"},
        }, {"adapter": "none"})
        self.assertTrue(chk.warned and not chk.allowed and not chk.blocked and not chk.transient)
        self.assertEqual(chk.suggestion, admem.Call("book_table", {"date": "2027-05-06"}))
        self.assertEqual(chk.advice, "write date as #-#-#")
        self.assertIn('Suggested call instead: book_table(date="2027-05-06")', chk.message())
        words = admem.Check(call, {"decision": "block", "risk": 0.9, "reasons": [],
                                   "suggestion": {"text": "verify the account first", "source": "mistake_note"}}, {})
        self.assertIsNone(words.suggestion)
        self.assertIn("Advice: verify the account first", words.message())
        transient = admem.Check(call, {"decision": "allow", "risk": 0, "kind": "transient", "reasons": []}, {})
        self.assertTrue(transient.transient and transient.allowed)
        self.assertIn("retry", transient.message())

    def test_guarded_options_are_checked(self):
        with self.assertRaises(ValueError):
            admem.guarded(lambda: None, lambda: None, on_warn="ignore")
        with self.assertRaises(ValueError):
            admem.guarded(lambda: None, lambda: None, on_block="proceed")


if __name__ == "__main__":
    unittest.main()
