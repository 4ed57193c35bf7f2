// Pure logic: calls, checks read from guard's answer, Retry-After.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Call, Check, guarded, parseRetryAfter, Client, type GuardResult } from "../src/index.js";

test("Call.of accepts every call shape", () => {
  const want = new Call("book_table", { date: "2027-03-04" });
  for (const given of [
    want,
    ["book_table", { date: "2027-03-04" }] as [string, Record<string, unknown>],
    { action: "book_table", args: { date: "2027-03-04" } },
    { tool: "book_table", args: { date: "2027-03-04" } },
  ]) {
    assert.ok(Call.of(given).equals(want), JSON.stringify(given));
  }
  assert.ok(Call.of("book_table", { date: "2027-03-04" }).equals(want));
  assert.throws(() => Call.of({ args: {} }), TypeError);
  assert.throws(() => Call.of(42 as never), TypeError);
  // The wire form is the step shape: action, not tool.
  assert.deepEqual(JSON.parse(JSON.stringify(want)), { action: "book_table", args: { date: "2027-03-04" } });
});

test("Call args are JSON values, and equality ignores key order", () => {
  const c = new Call("t", { when: new Date(Date.UTC(2027, 2, 4)), n: [1, 2] });
  assert.deepEqual(c.args, { when: "2027-03-04T00:00:00.000Z", n: [1, 2] });
  assert.equal(String(c), 't(n=[1,2], when="2027-03-04T00:00:00.000Z")');
  assert.ok(new Call("t", { a: 1, b: { c: 2, d: 3 } }).equals(new Call("t", { b: { d: 3, c: 2 }, a: 1 })));
  assert.ok(!new Call("t", { a: 1 }).equals(new Call("t", { a: 2 })));
});

test("Check reads guard's result", () => {
  const call = new Call("book_table", { date: "06/05/2027" });
  const result = {
    tool: "book_table", action: "book_table(date=06/05/2027)", risk: 0.75, adapter_risk: null, note_risk: 0.75,
    decision: "warn", kind: "deterministic",
    reasons: [{ kind: "mistake_note", note: "Mistake (seen 1×): ...", signature: "s", count: 1, match: 0.75 }],
    suggestion: { call: { tool: "book_table", args: { date: "2027-05-06" } }, text: "write date as #-#-#", source: "mistake_note" },
  } as GuardResult;
  const chk = new Check(call, result, { adapter: "none" });
  assert.ok(chk.warned && !chk.allowed && !chk.blocked && !chk.transient);
  assert.ok(chk.suggestion?.equals(new Call("book_table", { date: "2027-05-06" })));
  assert.equal(chk.advice, "write date as #-#-#");
  assert.match(chk.message(), /Suggested call instead: book_table\(date="2027-05-06"\)/);

  const words = new Check(call, { ...result, decision: "block", risk: 0.9, reasons: [], suggestion: { text: "verify the account first", source: "mistake_note" } });
  assert.equal(words.suggestion, undefined);
  assert.match(words.message(), /Advice: verify the account first/);
  const transient = new Check(call, { ...result, decision: "allow", risk: 0, kind: "transient", reasons: [], suggestion: undefined });
  assert.ok(transient.transient && transient.allowed);
  assert.match(transient.message(), /retry/);
});

test("guarded checks its options", () => {
  const ep = new Client({ baseUrl: "http://127.0.0.1:1", key: "adm_x" }).episode("t");
  assert.throws(() => guarded(ep, "t", () => 1, { onWarn: "ignore" as never }), TypeError);
  assert.throws(() => guarded(ep, "t", () => 1, { onBlock: "proceed" as never }), TypeError);
  assert.throws(() => guarded(ep, "", () => 1), TypeError);
});

test("parseRetryAfter reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3);
  assert.equal(parseRetryAfter(" 0 "), 0);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0); // in the past
  const now = Date.UTC(2027, 0, 1, 12, 0, 0);
  assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30);
});
