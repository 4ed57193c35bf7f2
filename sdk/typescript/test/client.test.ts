// Client against the real API: credentials, typed errors, idempotency keys, retries.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { before, describe, test } from "node:test";

import * as admem from "../src/index.js";
import * as harness from "./harness.js";

/** sleeps records each wait the client asks for, and waits it. */
function sleeps(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: (ms) => (waits.push(ms), new Promise((r) => setTimeout(r, ms))) };
}

describe("client", { skip: harness.skip() }, () => {
  let tenantId: string;
  let admin: admem.Client;
  let agent: admem.Client;
  before(async () => {
    ({ tenantId, admin, agent } = await harness.newTenant("ts-client"));
  });

  test("a plain key is a bearer credential, and so is a token", async () => {
    const me = await agent.me();
    assert.equal(me.tenant_id, tenantId);
    assert.deepEqual(me.scopes, ["write"]);
    assert.equal(me.is_platform, false);
    const tok = await agent.issueToken();
    assert.equal((await new admem.Client({ baseUrl: harness.URL, key: tok.access_token }).me()).tenant_id, tenantId);
  });

  test("errors are typed from problem+json", async () => {
    const e401 = await new admem.Client({ baseUrl: harness.URL, key: "adm_wrong" }).me().catch((e: unknown) => e);
    assert.ok(e401 instanceof admem.AuthenticationError, String(e401));
    assert.equal(e401.status, 401);
    assert.ok(e401.code && e401.requestId);
    assert.ok(e401.message.includes(e401.requestId));

    const e403 = await agent.createKey("not-allowed", ["read"]).catch((e: unknown) => e);
    assert.ok(e403 instanceof admem.PermissionDeniedError && e403.status === 403, String(e403));

    const e404 = await agent.getTrajectory(randomUUID()).catch((e: unknown) => e);
    assert.ok(e404 instanceof admem.NotFoundError, String(e404));

    const e422 = await agent
      .recordTrajectory({ task: "book a table", steps: [{ action: "book_table", status: "maybe" as "ok" }] })
      .catch((e: unknown) => e);
    assert.ok(e422 instanceof admem.ValidationError && e422 instanceof admem.APIError, String(e422));
    assert.equal(e422.status, 422);
    assert.ok(e422.errors.some((f) => f.field.includes("status")), JSON.stringify(e422.errors));
  });

  test("creates carry idempotency keys", async () => {
    const key = "ts-test-" + randomUUID();
    const first = await admin.request<admem.CreatedAPIKey>("POST", "/v1/keys", { name: "k1", scopes: ["read"] }, { idempotencyKey: key });
    const again = await admin.request<admem.CreatedAPIKey>("POST", "/v1/keys", { name: "k1", scopes: ["read"] }, { idempotencyKey: key });
    assert.equal(first.status, 201);
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(first.data.id, again.data.id);
    assert.ok(first.requestId);
    await assert.rejects(admin.createKey("k2", ["read"], key), admem.ConflictError); // same key, another body
    // Without a key of yours, each call gets its own: two calls make two trajectories.
    const body = { task: "look up an order", steps: [{ action: "get_order", args: { id: 1 } }], outcome: "success" as const };
    const [a, b] = [await agent.recordTrajectory(body), await agent.recordTrajectory(body)];
    assert.notEqual(a.id, b.id);
  });

  test("a 429 is retried after Retry-After", async () => {
    const { agent: limited } = await harness.newTenant("ts-limited", { requests_per_second: 1, burst: 2 });
    const noRetry = new admem.Client({ baseUrl: harness.URL, key: limited.key, maxRetries: 0 });
    let seen: admem.RateLimitError | undefined;
    for (let i = 0; i < 6 && !seen; i++) {
      try {
        await noRetry.learningStatus();
      } catch (e) {
        if (!(e instanceof admem.RateLimitError)) throw e;
        seen = e;
      }
    }
    assert.ok(seen, "six requests at once never met the limit of 1/s, burst 2");
    assert.ok((seen.retryAfter ?? 0) >= 1);
    const s = sleeps();
    const patient = new admem.Client({ baseUrl: harness.URL, key: limited.key, sleep: s.sleep });
    for (let i = 0; i < 3; i++) await patient.learningStatus(); // each may wait, none fails
    assert.ok(patient.retries > 0);
    assert.ok(s.waits.every((w) => w >= 500 && w <= 5000), JSON.stringify(s.waits));
  });

  test("a 503 is retried after Retry-After", async (t) => {
    const adminUrl = process.env.ADMEM_TEST_ADMIN_URL;
    const db = process.env.ADMEM_SDK_DATABASE;
    if (!adminUrl || !db) {
      t.skip("needs ADMEM_TEST_ADMIN_URL and ADMEM_SDK_DATABASE (scripts/sdk-test.sh)");
      return;
    }
    const s = sleeps();
    const c = new admem.Client({ baseUrl: harness.URL, key: agent.key, sleep: s.sleep });
    let retried = 0;
    for (let i = 0; i < 5 && retried === 0; i++) {
      await c.request("GET", "/v1/trajectories"); // the pool's connections in use
      // Kill the API's connections, as a database restart or failover does: the next request
      // meets a dead connection and is answered 503 with Retry-After.
      execFileSync("psql", ["-X", "-q", "-tA", adminUrl, "-c",
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'admem'`]);
      const r = await c.request("GET", "/v1/trajectories");
      assert.equal(r.status, 200);
      if (r.attempts > 1) retried++;
    }
    assert.ok(retried > 0, "no request met a killed connection: the test tested nothing");
    assert.ok(s.waits.every((w) => w >= 1000), JSON.stringify(s.waits)); // Retry-After, not the backoff
  });
});

test("no answer is a TransportError, repeated only when safe", async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p)); // nothing listens there now
    });
  });
  const s = sleeps();
  const c = new admem.Client({ baseUrl: `http://127.0.0.1:${port}`, key: "adm_x", maxRetries: 2, backoffMs: 10, sleep: s.sleep });
  await assert.rejects(c.me(), admem.TransportError);
  assert.equal(s.waits.length, 2); // a GET is repeated
  s.waits.length = 0;
  await assert.rejects(c.request("POST", "/v1/trajectories/x/close"), admem.TransportError); // no Idempotency-Key: never repeated
  assert.equal(s.waits.length, 0);
  await assert.rejects(c.closeTrajectory(randomUUID()), admem.TransportError); // creates carry a key: repeated
  assert.equal(s.waits.length, 2);
});
