// Episode against the real API and worker: the agent loop learns from a
// failure and warns next time.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import * as admem from "../src/index.js";
import * as harness from "./harness.js";

const FIND = "find_restaurant";
const BOOK = "book_table";

class DateFormatError extends Error {
  override name = "DateFormatError";
}

interface BookArgs extends Record<string, unknown> {
  restaurant_id: string;
  date: string;
  party_size: number;
}

/** bookTable is a tool with a rule the agent does not know: dates are written YYYY-MM-DD. */
function bookTable({ restaurant_id, date, party_size }: BookArgs): { booking: string; party_size: number } {
  if (party_size < 1 || party_size > 20) throw new RangeError("party_size must be between 1 and 20");
  if (date.length !== 10 || date[4] !== "-" || date[7] !== "-") throw new DateFormatError(`date must be YYYY-MM-DD, got ${date}`);
  return { booking: `b-${restaurant_id}-${date}`, party_size };
}

function findRestaurant(name: string): { restaurant_id: string } {
  return { restaurant_id: `r-${[...name].reduce((s, c) => s + c.charCodeAt(0), 0) % 97}` };
}

describe("episode", { skip: harness.skip() }, () => {
  let agent: admem.Client;
  let first: admem.Episode;
  let firstFeedback: admem.RecallFeedbackResult | undefined;

  before(async () => {
    ({ agent } = await harness.newTenant("ts-episode"));
    // The first episode: the agent writes the date the wrong way, fails, and recovers.
    const ep = agent.episode("book a table at Luigi for 2 on 2027-03-04", { agentId: "planner", sessionId: "s1" });
    await ep.recall();
    const found = findRestaurant("Luigi");
    await ep.record([FIND, { name: "Luigi" }], found);
    const bad = new admem.Call(BOOK, { restaurant_id: found.restaurant_id, date: "04/03/2027", party_size: 2 });
    try {
      bookTable(bad.args as BookArgs);
    } catch (e) {
      await ep.record(bad, undefined, { error: e });
    }
    const good = new admem.Call(BOOK, { restaurant_id: found.restaurant_id, date: "2027-03-04", party_size: 2 });
    await ep.record(good, bookTable(good.args as BookArgs));
    await ep.close("success");
    firstFeedback = await ep.feedback();
    first = ep;
    await agent.waitForLearning(60_000);
  });

  test("the first episode was recorded", async () => {
    const tr = await agent.getTrajectory(first.trajectoryId!);
    assert.equal(tr.outcome, "success");
    assert.deepEqual(tr.steps?.map((s) => s.action), [FIND, BOOK, BOOK]);
    assert.equal(tr.steps?.[1]?.status, "error");
    assert.match(tr.steps?.[1]?.error ?? "", /DateFormatError: date must be YYYY-MM-DD/);
    assert.equal(tr.steps?.[1]?.error_type, "DateFormatError");
    assert.deepEqual(tr.scope, { agent_id: "planner", session_id: "s1" });
    assert.ok(first.recallId);
    assert.equal(firstFeedback?.recall_id, first.recallId);
  });

  test("the lesson warns on the repeat, with a ready call", async () => {
    const ep = agent.episode("book a table at Chez Anne for 4 on 2027-05-06", { agentId: "planner" });
    const recalled = await ep.recall();
    assert.match(recalled.text, /YYYY-MM-DD/); // the mistake note is in the prompt now
    const found = findRestaurant("Chez Anne");
    await ep.record([FIND, { name: "Chez Anne" }], found);
    const chk = await ep.check(BOOK, { restaurant_id: found.restaurant_id, date: "06/05/2027", party_size: 4 });
    assert.ok(chk.warned || chk.blocked, chk.message());
    assert.equal(chk.kind, "deterministic");
    assert.ok(chk.risk >= 0.5);
    assert.ok(chk.notes.some((n) => n.includes("YYYY-MM-DD")), JSON.stringify(chk.notes));
    // The suggestion is this call fixed, from this call's own values.
    assert.ok(chk.suggestion?.equals(new admem.Call(BOOK, { restaurant_id: found.restaurant_id, date: "2027-05-06", party_size: 4 })), String(chk.suggestion));
    assert.match(chk.message(), /Suggested call instead/);
    const ok = await ep.check(chk.suggestion!);
    assert.ok(ok.allowed, ok.message());
    await ep.record(chk.suggestion!, bookTable(chk.suggestion!.args as BookArgs));
    assert.equal((await ep.close("success")).outcome, "success");
    assert.equal((await ep.feedback())?.recall_id, ep.recallId);
    await assert.rejects(agent.recallFeedback(ep.recallId!, { outcome: "success" }), admem.ConflictError); // once per recall
  });

  test("a guarded tool takes the suggestion", async () => {
    const ep = agent.episode("book a table at Sakura for 3 on 2027-07-08");
    const calls: string[] = [];
    const book = ep.guarded(BOOK, (args: BookArgs) => {
      calls.push(args.date);
      return bookTable(args);
    });
    const out = await book({ restaurant_id: "r-5", date: "08/07/2027", party_size: 3 });
    assert.deepEqual(calls, ["2027-07-08"]); // guard's ready call was made instead
    assert.equal(out.booking, "b-r-5-2027-07-08");
    assert.equal(ep.steps.at(-1)?.args?.date, "2027-07-08");
    assert.equal(ep.steps.at(-1)?.status, "ok");
    await ep.close("success");
  });

  test("a guarded tool throws when told, and records failures", async () => {
    const ep = agent.episode("book a table at Sakura for 3 on 2027-07-09");
    const calls: string[] = [];
    const book = (args: BookArgs) => {
      calls.push(args.date);
      return bookTable(args);
    };
    const strict = admem.guarded(ep, BOOK, book, { onWarn: "raise" });
    const flagged = await strict({ restaurant_id: "r-5", date: "09/07/2027", party_size: 3 }).catch((e: unknown) => e);
    assert.ok(flagged instanceof admem.Flagged, String(flagged));
    assert.deepEqual(calls, []); // not called
    assert.equal(flagged.check.suggestion?.args.date, "2027-07-09");
    assert.equal(ep.steps.length, 0);

    // A call guard allows that still fails is recorded as a failed step and thrown again.
    const loose = admem.guarded(() => ep, BOOK, book);
    await assert.rejects(loose({ restaurant_id: "r-5", date: "2027-07-09", party_size: 0 }), RangeError);
    assert.equal(ep.steps.at(-1)?.status, "error");
    assert.equal(ep.steps.at(-1)?.error_type, "RangeError");
    assert.deepEqual(ep.steps.at(-1)?.args, { restaurant_id: "r-5", date: "2027-07-09", party_size: 0 });
    const tr = await ep.close(); // the judge scores it: the last step failed
    assert.equal(tr.failed_steps, 1);
    assert.equal(tr.outcome, "failure");
  });

  test("a transient fault is allowed, with a retry", async () => {
    const ep = agent.episode("send the weekly report to ops");
    await ep.record(["send_report", { to: "ops" }], undefined, { error: "HTTP 503 Service Unavailable: upstream timed out" });
    const chk = await ep.check("send_report", { to: "ops" });
    assert.ok(chk.transient, JSON.stringify(chk.result));
    assert.ok(chk.allowed);
    assert.match(chk.message(), /retry/);
    await ep.close("failure");
  });

  test("run closes as a failure on an error; an empty episode is stored closed", async () => {
    const ep = agent.episode("archive last year's invoices");
    await assert.rejects(
      ep.run(async (e) => {
        await e.record(["list_invoices", { year: 2025 }], [{ id: 1 }]);
        throw new Error("the model gave up");
      }),
      /the model gave up/,
    );
    assert.equal(ep.trajectory?.outcome, "failure");
    assert.equal(ep.trajectory?.open, false);
    const empty = agent.episode("nothing to do");
    assert.equal((await empty.close("success")).step_count, 0);
    assert.equal(await empty.feedback(), undefined); // no recall to rate
  });
});
