// An agent loop over admem with a scripted stand-in model (no network besides admem).
//
// The agent books restaurant tables through two tools. The booking tool wants dates written
// YYYY-MM-DD, which the model does not know: in the first episode it writes 04/03/2027, fails,
// reads the error and recovers. The worker learns the mistake from that failure. In the second
// episode the model makes the same mistake, and guard warns before the call is made, with the
// fixed call ready to make; the agent takes it.
//
// Run it against the local stack after `make run`:
//
//     make example-ts                          # uses .data/dev/platform.key, or ADMEM_KEY
//     ADMEM_URL=http://127.0.0.1:8080 ADMEM_KEY=adm_... scripts/example-ts.sh
//
// With a platform key it makes a fresh tenant for the run (so the first episode always starts
// with an empty memory); with a tenant key it works in that tenant. It exits 1 if guard did not
// warn about the repeated mistake.

import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

import * as admem from "../../sdk/typescript/src/index.js";

// -- the world the agent acts in: two tools -------------------------------------------------

class DateFormatError extends Error {
  override name = "DateFormatError";
}

type Args = Record<string, unknown>;

const TOOLS: Record<string, (args: Args) => unknown> = {
  find_restaurant: ({ name }) => ({ restaurant_id: `r-${[...String(name)].reduce((s, c) => s + c.charCodeAt(0), 0) % 97}`, name }),
  book_table: ({ restaurant_id, date, party_size }) => {
    const d = String(date);
    if (d.length !== 10 || d[4] !== "-" || d[7] !== "-") throw new DateFormatError(`date must be YYYY-MM-DD, got ${d}`);
    return { booking_id: "b-" + randomUUID().slice(0, 8), restaurant_id, date: d, party_size };
  },
};

// -- the stand-in model ---------------------------------------------------------------------

interface Turn {
  call: admem.Call;
  result?: unknown;
  error?: string;
}

/**
 * ScriptedModel stands in for a language model: it plans the two calls of a booking, writes
 * dates day/month/year, and rewrites a date only after a tool told it the format.
 */
class ScriptedModel {
  private readonly ymd: string;
  private readonly dmy: string;

  constructor(
    private readonly restaurant: string,
    day: number,
    month: number,
    year: number,
    private readonly party: number,
  ) {
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    this.ymd = `${p(year, 4)}-${p(month)}-${p(day)}`;
    this.dmy = `${p(day)}/${p(month)}/${p(year, 4)}`;
  }

  nextCall(history: Turn[]): admem.Call | undefined {
    if (history.length === 0) return new admem.Call("find_restaurant", { name: this.restaurant });
    const last = history[history.length - 1]!;
    if (last.call.tool === "book_table" && last.error === undefined) return undefined;
    const found = history.find((t) => t.call.tool === "find_restaurant" && t.result) as { result: { restaurant_id: string } };
    const told = history.some((t) => t.error?.includes("YYYY-MM-DD"));
    return new admem.Call("book_table", { restaurant_id: found.result.restaurant_id, date: told ? this.ymd : this.dmy, party_size: this.party });
  }
}

// -- the loop -------------------------------------------------------------------------------

const out = (s: string) => console.log(s);

async function runEpisode(client: admem.Client, task: string, model: ScriptedModel): Promise<admem.Check | undefined> {
  const ep = client.episode(task, { agentId: "booking-agent" });
  out(`\n== episode: ${task}`);
  const memory = await ep.recall({ budget: 400 });
  const text = memory.text.trim();
  out(`   recall: ${text ? text.split("\n").slice(0, 4).join("\n           ") : "(nothing learnt yet)"}`);
  const history: Turn[] = [];
  let warned: admem.Check | undefined;
  for (let i = 0; i < 6; i++) {
    let call = model.nextCall(history);
    if (!call) break;
    const check = await ep.check(call);
    out(`   model wants ${call}`);
    if (check.transient) {
      out("   guard: transient fault last time; retrying after a short wait");
      await new Promise((r) => setTimeout(r, 500));
    } else if (check.blocked || check.warned) {
      warned = check;
      out(`   guard: ${check.decision.toUpperCase()} (risk ${check.risk.toFixed(2)}, ${check.kind})`);
      for (const note of check.notes.slice(0, 1)) out(`      note: ${note}`);
      if (check.suggestion) {
        out(`      suggestion: ${check.suggestion}  <- taking it`);
        call = check.suggestion;
      } else if (check.blocked) {
        out(`      advice: ${check.advice || "none"}  <- not making the call`);
        history.push({ call, error: "guard blocked: " + check.advice });
        continue;
      }
    } else {
      out(`   guard: allow (risk ${check.risk.toFixed(2)})`);
    }
    try {
      const result = TOOLS[call.tool]!(call.args);
      await ep.record(call, result);
      out(`   -> ${JSON.stringify(result)}`);
      history.push({ call, result });
    } catch (e) {
      // The tool's error goes back to the model and into memory.
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      await ep.record(call, undefined, { error: e });
      out(`   -> ERROR ${error}`);
      history.push({ call, error });
    }
  }
  const last = history[history.length - 1];
  const ok = last !== undefined && last.call.tool === "book_table" && last.error === undefined;
  const tr = await ep.close(ok ? "success" : "failure");
  await ep.feedback();
  out(`   closed: ${tr.outcome}, ${tr.step_count} step(s), ${tr.failed_steps} failed; recall rated`);
  return warned;
}

async function connect(): Promise<admem.Client> {
  const url = process.env.ADMEM_URL || admem.DEFAULT_URL;
  let key = process.env.ADMEM_KEY ?? "";
  const keyFile = process.env.ADMEM_KEY_FILE ?? ".data/dev/platform.key";
  if (!key && existsSync(keyFile)) key = readFileSync(keyFile, "utf8").trim();
  if (!key) {
    throw new Error("set ADMEM_KEY to an admem key (the platform admin key the first `make run` printed, or a tenant key with write scope)");
  }
  const client = new admem.Client({ baseUrl: url, key });
  let me: admem.Me;
  try {
    me = await client.me();
  } catch (e) {
    if (e instanceof admem.TransportError) throw new Error(`cannot reach admem at ${url} (is \`make run\` running?): ${e.message}`);
    throw e;
  }
  if (!me.is_platform) {
    out(`admem at ${url}, tenant ${me.tenant_id}`);
    return client;
  }
  const tenant = await client.createTenant("example-" + randomUUID().slice(0, 8), { displayName: "agent loop example" });
  const adminKey = (await client.createTenantKey(tenant.id, "example-admin", ["admin"])).key;
  const admin = new admem.Client({ baseUrl: url, key: adminKey });
  const agentKey = await admin.createKey("booking-agent", ["write"]);
  // The tenant's one agent: what its key reports may block and teach fixes
  // (several agents would instead confirm each other; see docs/trust.md).
  await admin.trustKeyForLearning(agentKey.id);
  out(`admem at ${url}; a fresh tenant ${tenant.name} for this run`);
  return new admem.Client({ baseUrl: url, key: agentKey.key });
}

async function main(): Promise<number> {
  const client = await connect();
  await runEpisode(client, "book a table at Luigi for 2 on 4 March 2027", new ScriptedModel("Luigi", 4, 3, 2027, 2));
  const start = Date.now();
  await client.waitForLearning(60_000);
  out(`\n-- the worker learnt from the failure in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  const warned = await runEpisode(client, "book a table at Chez Anne for 4 on 6 May 2027", new ScriptedModel("Chez Anne", 6, 5, 2027, 4));
  if (!warned) {
    out("\nguard did not warn about the repeated mistake");
    return 1;
  }
  out(warned.suggestion ? "\nguard warned before the repeated mistake, and its fixed call worked." : `\nguard warned before the repeated mistake: ${warned.advice}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
