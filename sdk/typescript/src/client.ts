// Client: admem's HTTP API with retries, idempotency keys and typed errors.

import { randomUUID } from "node:crypto";

import type { components } from "./api.gen.js";
import { APIError, TransportError, errorFor, parseRetryAfter } from "./errors.js";
import { Episode, type EpisodeOptions } from "./episode.js";

/** Schemas are the API's wire types, generated from openapi.yaml (src/api.gen.ts). */
export type Schemas = components["schemas"];
export type StepRequest = Schemas["StepRequest"];
export type GuardStep = Schemas["GuardStep"];
export type WireCall = Schemas["Call"];
export type Trajectory = Schemas["Trajectory"];
export type TrajectoryScope = Schemas["TrajectoryScope"];
export type AppendedSteps = Schemas["AppendedSteps"];
export type RecallRequest = Schemas["RecallRequest"];
export type RecallResult = Schemas["RecallResult"];
export type RecallFeedbackRequest = Schemas["RecallFeedbackRequest"];
export type RecallFeedbackResult = Schemas["RecallFeedbackResult"];
export type GuardResponse = Schemas["GuardResponse"];
export type GuardResult = Schemas["GuardResult"];
export type GuardSettings = Schemas["GuardSettings"];
export type LearningStatus = Schemas["LearningStatus"];
export type LearnedItem = Schemas["LearnedItem"];
export type Me = Schemas["Me"];
export type Tenant = Schemas["Tenant"];
export type CreatedAPIKey = Schemas["CreatedAPIKey"];
export type APIKey = Schemas["APIKey"];
export type TokenResponse = Schemas["TokenResponse"];
export type WriteResult = Schemas["WriteResult"];
export type SearchHit = Schemas["SearchHit"];
export type Outcome = "success" | "failure" | "partial";

export const DEFAULT_URL = "http://127.0.0.1:8080";
const VERSION = "0.1.0";
// Methods a transport failure may repeat without an Idempotency-Key:
// repeating them cannot do the work twice.
const SAFE = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** Response is one answer: status, headers and the decoded JSON. */
export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  data: T;
  /** attempts is how many times the request was sent. */
  attempts: number;
  /** requestId is the answer's X-Request-Id. */
  requestId: string;
  /** replayed: the API answered from an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** repeatable says whether a request that got no answer may be sent again (default: reads, PUT, DELETE, and requests with an Idempotency-Key). */
  repeatable?: boolean;
}

export interface ClientOptions {
  /** baseUrl defaults to $ADMEM_URL or http://127.0.0.1:8080 (`make run`). */
  baseUrl?: string;
  /** key defaults to $ADMEM_KEY: an API key (a plain key is a bearer credential) or an access token. */
  key?: string;
  /** timeoutMs bounds each attempt (default 30 s). */
  timeoutMs?: number;
  /** maxRetries bounds the repeats of one request (default 4). */
  maxRetries?: number;
  /** backoffMs is the first backoff when no Retry-After came (default 250 ms, doubling, with jitter). */
  backoffMs?: number;
  /** maxRetryWaitMs: a Retry-After longer than this is not waited for (default 60 s). */
  maxRetryWaitMs?: number;
  /** sleep waits; tests pass their own to see the waits. */
  sleep?: (ms: number) => Promise<void>;
  /** fetch is the transport (default: the global fetch). */
  fetch?: typeof fetch;
  userAgent?: string;
}

/**
 * Client talks to one admem API with one credential.
 *
 * A 429 or 503 answer is retried up to `maxRetries` times after the Retry-After the API sent (or an
 * exponential backoff with jitter when it sent none), unless that wait is over `maxRetryWaitMs`. A
 * 503 means the request did not happen and a 429 is refused before any work, so both are safe to
 * repeat. A request that got no answer at all is repeated only when repeating cannot do its work
 * twice: reads, PUT and DELETE, and creates, which always carry an Idempotency-Key (one is made per
 * call unless you pass yours); the API answers a repeat with the first answer.
 */
export class Client {
  readonly baseUrl: string;
  readonly key: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxRetryWaitMs: number;
  /** retries counts the requests repeated so far (for tests and metrics). */
  retries = 0;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetchFn: typeof fetch;
  private readonly userAgent: string;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? env("ADMEM_URL") ?? DEFAULT_URL).replace(/\/+$/, "");
    this.key = opts.key ?? env("ADMEM_KEY") ?? "";
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxRetries = opts.maxRetries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 60_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.fetchFn = opts.fetch ?? fetch;
    this.userAgent = opts.userAgent ?? `admem-typescript/${VERSION}`;
  }

  /**
   * request sends one API request, retrying as the class describes. An error answer throws the
   * APIError subclass of its status; no answer at all throws TransportError.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<Response<T>> {
    method = method.toUpperCase();
    let url = this.baseUrl + path;
    if (opts.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) q.set(k, String(v));
      const qs = q.toString();
      if (qs) url += "?" + qs;
    }
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": this.userAgent };
    if (this.key) headers.Authorization = "Bearer " + this.key;
    const data = body === undefined ? undefined : JSON.stringify(body);
    if (data !== undefined) headers["Content-Type"] = "application/json";
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    Object.assign(headers, opts.headers);
    const repeatable = opts.repeatable ?? (SAFE.has(method) || Boolean(opts.idempotencyKey));

    for (let attempt = 1; ; attempt++) {
      let res: globalThis.Response;
      try {
        res = await this.fetchFn(url, { method, headers, body: data, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        if (!repeatable || attempt > this.maxRetries) throw new TransportError(`${method} ${url}: ${describe(e)}`, e);
        await this.wait(this.backoff(attempt));
        continue;
      }
      const text = await res.text().catch((e: unknown) => {
        throw new TransportError(`${method} ${url}: reading the answer: ${describe(e)}`, e);
      });
      if ((res.status === 429 || res.status === 503) && attempt <= this.maxRetries) {
        const after = parseRetryAfter(res.headers.get("retry-after"));
        const wait = after === undefined ? this.backoff(attempt) : after * 1000;
        if (wait <= this.maxRetryWaitMs) {
          await this.wait(wait);
          continue;
        }
      }
      return this.answer<T>(res, text, attempt);
    }
  }

  private answer<T>(res: globalThis.Response, text: string, attempts: number): Response<T> {
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (res.status >= 400) {
      const problem = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
      throw errorFor(res.status, problem, res.headers, text);
    }
    if (text && parsed === undefined && (res.headers.get("content-type") ?? "").includes("json")) {
      throw new APIError(res.status, undefined, res.headers, "invalid JSON in the answer: " + text.slice(0, 200));
    }
    return {
      status: res.status,
      headers: res.headers,
      data: parsed as T,
      attempts,
      requestId: res.headers.get("x-request-id") ?? "",
      replayed: (res.headers.get("idempotent-replayed") ?? "").toLowerCase() === "true",
    };
  }

  private backoff(attempt: number): number {
    return this.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
  }

  private async wait(ms: number): Promise<void> {
    this.retries++;
    await this.sleep(ms);
  }

  private async call<T>(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>(method, path, body, opts)).data;
  }

  private create<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T> {
    return this.call<T>("POST", path, body, { idempotencyKey: idempotencyKey ?? newIdempotencyKey() });
  }

  // -- identity and keys -----------------------------------------------------

  /** me says whose the credential is: key_id, tenant_id, scopes, is_platform. */
  me(): Promise<Me> {
    return this.call("GET", "/v1/me");
  }

  /** issueToken exchanges the key for a short-lived access token. */
  issueToken(): Promise<TokenResponse> {
    return this.call("POST", "/v1/auth/token");
  }

  /** createTenant makes a tenant (platform key). */
  createTenant(name: string, opts: { displayName?: string; rateLimit?: Schemas["RateLimit"]; idempotencyKey?: string } = {}): Promise<Tenant> {
    return this.create("/v1/tenants", { name, display_name: opts.displayName, rate_limit: opts.rateLimit }, opts.idempotencyKey);
  }

  /** createTenantKey makes a key in a tenant (platform key); the answer's `key` is shown only once. */
  createTenantKey(tenantId: string, name: string, scopes: string[] = ["admin"], idempotencyKey?: string): Promise<CreatedAPIKey> {
    return this.create(`/v1/tenants/${seg(tenantId)}/keys`, { name, scopes }, idempotencyKey);
  }

  /** createKey makes a key in the caller's tenant (admin scope); `key` is shown only once. */
  createKey(name: string, scopes: string[] = ["write"], idempotencyKey?: string): Promise<CreatedAPIKey> {
    return this.create("/v1/keys", { name, scopes }, idempotencyKey);
  }

  /**
   * trustKeyForLearning marks a key of the tenant trusted for learning (admin scope). What one key
   * reports can make guard warn; blocking and suggested fixes need independent sources (the
   * tenant's learning_quorum) or a trusted key. A tenant with one honest agent trusts its key.
   */
  trustKeyForLearning(keyId: string, trusted = true): Promise<APIKey> {
    return this.call("PUT", `/v1/keys/${seg(keyId)}/learning-trust`, { trusted });
  }

  // -- trajectories ----------------------------------------------------------

  /** recordTrajectory stores a whole trajectory, or opens a streamed one with `open: true`. */
  recordTrajectory(req: Schemas["TrajectoryRequest"], idempotencyKey?: string): Promise<Trajectory> {
    return this.create("/v1/trajectories", req, idempotencyKey);
  }

  /** appendSteps adds steps to an open trajectory; a failed one reaches guard within a second. */
  appendSteps(trajectoryId: string, steps: StepRequest[], idempotencyKey?: string): Promise<AppendedSteps> {
    return this.create(`/v1/trajectories/${seg(trajectoryId)}/steps`, { steps }, idempotencyKey);
  }

  /** closeTrajectory ends an open trajectory; without an outcome the tenant's judge rule scores it. */
  closeTrajectory(trajectoryId: string, outcome?: Outcome, score?: number, idempotencyKey?: string): Promise<Trajectory> {
    return this.create(`/v1/trajectories/${seg(trajectoryId)}/close`, { outcome, score }, idempotencyKey);
  }

  getTrajectory(trajectoryId: string): Promise<Trajectory> {
    return this.call("GET", `/v1/trajectories/${seg(trajectoryId)}`);
  }

  // -- recall, guard, learning -----------------------------------------------

  /** recall returns what matters for a task: `text` for the prompt, `items`, and the `recall_id` to rate. */
  recall(req: RecallRequest): Promise<RecallResult> {
    return this.call("POST", "/v1/recall", req, { repeatable: true }); // changes nothing but a new recall id
  }

  /** recallFeedback rates a recall once (a second time is a ConflictError). */
  recallFeedback(recallId: string, req: RecallFeedbackRequest): Promise<RecallFeedbackResult> {
    return this.call("POST", `/v1/recalls/${seg(recallId)}/feedback`, req);
  }

  /**
   * guard asks, before acting, whether candidate calls (`{action, args}`) repeat a known mistake.
   * `context` is the recent steps, oldest first, in the step shape plus `index`.
   */
  guard(task: string, candidates: WireCall[], context: GuardStep[] = []): Promise<GuardResponse> {
    const body: Schemas["GuardRequest"] = { task, candidates };
    if (context.length > 0) body.context = context;
    return this.call("POST", "/v1/guard", body, { repeatable: true }); // reads only
  }

  guardSettings(): Promise<GuardSettings> {
    return this.call("GET", "/v1/guard/settings");
  }

  /** putGuardSettings sets the tenant's thresholds (admin scope). */
  putGuardSettings(settings: Schemas["GuardSettingsUpdate"]): Promise<GuardSettings> {
    return this.call("PUT", "/v1/guard/settings", settings);
  }

  /** learningStatus says whether the worker has caught up with your tenant's events. */
  learningStatus(): Promise<LearningStatus> {
    return this.call("GET", "/v1/learning/status");
  }

  /** waitForLearning polls learningStatus until no event of the tenant is pending; it throws after timeoutMs. */
  async waitForLearning(timeoutMs = 30_000, pollMs = 200): Promise<LearningStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.learningStatus();
      if (st.pending_events === 0) return st;
      if (Date.now() >= deadline) throw new Error(`admem: ${st.pending_events} events still pending after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** listLearned lists the tenant's active mistakes and procedures. */
  async listLearned(kind?: "mistake" | "procedure", limit?: number): Promise<LearnedItem[]> {
    const r = await this.call<Schemas["LearnedItemList"]>("GET", "/v1/learned", undefined, { query: { kind, limit } });
    return r.items;
  }

  // -- factual memory ----------------------------------------------------------

  /** createEntry writes a fact; the judge decides ADD, UPDATE or NOOP (`operation`). */
  createEntry(req: Schemas["CreateEntryRequest"], idempotencyKey?: string): Promise<WriteResult> {
    return this.create("/v1/entries", req, idempotencyKey);
  }

  /** searchEntries searches factual memory (hybrid lexical + vector) and returns the hits. */
  async searchEntries(req: Schemas["SearchRequest"]): Promise<SearchHit[]> {
    const r = await this.call<Schemas["SearchResult"]>("POST", "/v1/entries/search", req, { repeatable: true });
    return r.items;
  }

  // -- the agent loop ----------------------------------------------------------

  /** episode starts the agent loop for one task; see Episode. */
  episode(task: string, opts: EpisodeOptions = {}): Episode {
    return new Episode(this, task, opts);
  }
}

/** newIdempotencyKey makes a random Idempotency-Key. */
export function newIdempotencyKey(): string {
  return "ts-" + randomUUID().replaceAll("-", "");
}

// env reads an environment variable where there is one (Node), so the
// client also loads in a runtime without process (a browser, a worker).
function env(name: string): string | undefined {
  return typeof process === "undefined" ? undefined : process.env[name];
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
  }
  return String(e);
}
