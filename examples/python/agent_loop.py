#!/usr/bin/env python3
"""An agent loop over admem with a scripted stand-in model (no network besides admem).

The agent books restaurant tables through two tools. The booking tool wants dates written
YYYY-MM-DD, which the model does not know: in the first episode it writes 04/03/2027, fails,
reads the error and recovers. The worker learns the mistake from that failure. In the second
episode the model makes the same mistake, and guard warns before the call is made, with the
fixed call ready to make; the agent takes it.

Run it against the local stack after `make run`:

    make example                               # uses .data/dev/platform.key, or ADMEM_KEY
    ADMEM_URL=http://127.0.0.1:8080 ADMEM_KEY=adm_... python3 examples/python/agent_loop.py

With a platform key it makes a fresh tenant for the run (so the first episode always starts
with an empty memory); with a tenant key it works in that tenant. It exits 1 if guard did not
warn about the repeated mistake.
"""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))

import admem  # noqa: E402  (the SDK from this checkout)


# -- the world the agent acts in: two tools ------------------------------------------------

class DateFormatError(ValueError):
    pass


def find_restaurant(name):
    """Look a restaurant up by name."""
    return {"restaurant_id": "r-%d" % (sum(map(ord, name)) % 97), "name": name}


def book_table(restaurant_id, date, party_size):
    """Book a table; the date must be written YYYY-MM-DD."""
    if len(date) != 10 or date[4] != "-" or date[7] != "-":
        raise DateFormatError("date must be YYYY-MM-DD, got %s" % date)
    return {"booking_id": "b-" + uuid.uuid4().hex[:8], "restaurant_id": restaurant_id, "date": date,
            "party_size": party_size}


TOOLS = {"find_restaurant": find_restaurant, "book_table": book_table}


# -- the stand-in model --------------------------------------------------------------------

class ScriptedModel:
    """A stand-in for a language model: it plans the two calls of a booking, writes dates
    day/month/year, and rewrites a date only after a tool told it the format."""

    def __init__(self, restaurant, day, month, year, party):
        self.restaurant, self.party = restaurant, party
        self.ymd = "%04d-%02d-%02d" % (year, month, day)
        self.dmy = "%02d/%02d/%04d" % (day, month, year)

    def next_call(self, history):
        """history: [(call, result, error)]; returns the next admem.Call, or None when done."""
        if not history:
            return admem.Call("find_restaurant", {"name": self.restaurant})
        call, result, error = history[-1]
        if call.tool == "book_table" and error is None:
            return None
        rid = next(r["restaurant_id"] for c, r, e in history if c.tool == "find_restaurant" and r)
        told = any(e and "YYYY-MM-DD" in e for _, _, e in history)
        return admem.Call("book_table", {"restaurant_id": rid, "date": self.ymd if told else self.dmy,
                                         "party_size": self.party})


# -- the loop ------------------------------------------------------------------------------

def run_episode(client, task, model, out):
    ep = client.episode(task, agent_id="booking-agent")
    out("\n== episode: %s" % task)
    memory = ep.recall(budget=400)
    text = memory["text"].strip()
    out("   recall: %s" % (("\n           ".join(text.splitlines()[:4])) if text else "(nothing learnt yet)"))
    history, warned = [], None
    for _ in range(6):
        call = model.next_call(history)
        if call is None:
            break
        check = ep.check(call)
        out("   model wants %r" % (call,))
        if check.transient:
            out("   guard: transient fault last time; retrying after a short wait")
            time.sleep(0.5)
        elif check.blocked or check.warned:
            warned = check
            out("   guard: %s (risk %.2f, %s)" % (check.decision.upper(), check.risk, check.kind))
            for note in check.notes[:1]:
                out("      note: %s" % note)
            if check.suggestion is not None:
                out("      suggestion: %r  <- taking it" % (check.suggestion,))
                call = check.suggestion
            elif check.blocked:
                out("      advice: %s  <- not making the call" % (check.advice or "none"))
                history.append((call, None, "guard blocked: " + check.advice))
                continue
        else:
            out("   guard: allow (risk %.2f)" % check.risk)
        try:
            result, error = TOOLS[call.tool](**call.args), None
            ep.record(call, result)
            out("   -> %s" % json.dumps(result))
        except Exception as e:  # the tool's error goes back to the model and into memory
            result, error = None, "%s: %s" % (type(e).__name__, e)
            ep.record(call, error=e)
            out("   -> ERROR %s" % error)
        history.append((call, result, error))
    ok = bool(history) and history[-1][0].tool == "book_table" and history[-1][2] is None
    tr = ep.close("success" if ok else "failure")
    ep.feedback()
    failed = tr["failed_steps"]
    out("   closed: %s, %d step(s), %d failed; recall rated" % (tr["outcome"], tr["step_count"], failed))
    return warned


def connect(out):
    url = os.environ.get("ADMEM_URL") or admem.DEFAULT_URL
    key = os.environ.get("ADMEM_KEY", "")
    key_file = os.environ.get("ADMEM_KEY_FILE", ".data/dev/platform.key")
    if not key and os.path.exists(key_file):
        with open(key_file) as f:
            key = f.read().strip()
    if not key:
        sys.exit("set ADMEM_KEY to an admem key (the platform admin key the first `make run` printed, "
                 "or a tenant key with write scope)")
    client = admem.Client(url, key)
    try:
        me = client.me()
    except admem.TransportError as e:
        sys.exit("cannot reach admem at %s (is `make run` running?): %s" % (url, e))
    if not me["is_platform"]:
        out("admem at %s, tenant %s" % (url, me["tenant_id"]))
        return client
    tenant = client.create_tenant("example-" + uuid.uuid4().hex[:8], "agent loop example")
    admin_key = client.create_tenant_key(tenant["id"], "example-admin", ["admin"])["key"]
    admin = admem.Client(url, admin_key)
    agent_key = admin.create_key("booking-agent", ["write"])
    # The tenant's one agent: what its key reports may block and teach fixes
    # (several agents would instead confirm each other; see docs/trust.md).
    admin.trust_key_for_learning(agent_key["id"])
    out("admem at %s; a fresh tenant %s for this run" % (url, tenant["name"]))
    return admem.Client(url, agent_key["key"])


def main():
    out = print
    client = connect(out)
    run_episode(client, "book a table at Luigi for 2 on 4 March 2027", ScriptedModel("Luigi", 4, 3, 2027, 2), out)
    start = time.monotonic()
    client.wait_for_learning(timeout=60)
    out("\n-- the worker learnt from the failure in %.1f s" % (time.monotonic() - start))
    warned = run_episode(client, "book a table at Chez Anne for 4 on 6 May 2027",
                         ScriptedModel("Chez Anne", 6, 5, 2027, 4), out)
    if warned is None:
        out("\nguard did not warn about the repeated mistake")
        return 1
    if warned.suggestion is not None:
        out("\nguard warned before the repeated mistake, and its fixed call worked.")
    else:
        out("\nguard warned before the repeated mistake: %s" % warned.advice)
    return 0


if __name__ == "__main__":
    sys.exit(main())
