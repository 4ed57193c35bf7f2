// The tests' connection to a real admem API and worker (scripts/sdk-test.sh
// starts them). ADMEM_URL and ADMEM_PLATFORM_KEY name the API and its
// platform key. Without them the tests skip, except under CI=true, where they
// fail: a test that needs the service never passes silently.

import { randomUUID } from "node:crypto";

import { Client, type Schemas } from "../src/index.js";

export const URL = process.env.ADMEM_URL ?? "";
export const PLATFORM_KEY = process.env.ADMEM_PLATFORM_KEY ?? "";

/** skip is the reason to skip a test that needs the API, or false when it is there. */
export function skip(): string | false {
  if (URL && PLATFORM_KEY) return false;
  const msg = "ADMEM_URL and ADMEM_PLATFORM_KEY are not set (scripts/sdk-test.sh sets them)";
  if (process.env.CI === "true") throw new Error(msg);
  return msg;
}

export function platform(): Client {
  return new Client({ baseUrl: URL, key: PLATFORM_KEY });
}

/** newTenant makes a fresh tenant and returns its id, an admin client and a write client whose key is trusted for learning. */
export async function newTenant(prefix: string, rateLimit?: Schemas["RateLimit"]): Promise<{ tenantId: string; admin: Client; agent: Client }> {
  const p = platform();
  const t = await p.createTenant(`${prefix}-${randomUUID().slice(0, 10)}`, { displayName: "SDK test " + prefix, rateLimit });
  const adminKey = (await p.createTenantKey(t.id, "admin", ["admin"])).key;
  const admin = new Client({ baseUrl: URL, key: adminKey });
  const writeKey = await admin.createKey("agent", ["write"]);
  // One honest agent per tenant: its key is trusted for learning.
  await admin.trustKeyForLearning(writeKey.id);
  return { tenantId: t.id, admin, agent: new Client({ baseUrl: URL, key: writeKey.key }) };
}
