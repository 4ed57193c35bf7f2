// Episode: the agent loop for one task — recall() before planning, check(call)
// before each tool call, record(call, result) after it, close(outcome) at the
// end, then feedback() on what recall returned.

import type { Client, GuardResponse, GuardResult, GuardStep, Outcome, RecallResult, StepRequest, Trajectory, RecallFeedbackResult } from "./client.js";
import { newIdempotencyKey } from "./client.js";

export const ALLOW = "allow";
export const WARN = "warn";
export const BLOCK = "block";

const OBSERVATION_MAX = 4000; // of a recorded step's observation
const CONTEXT_OBSERVATION_MAX = 1000; // and in a step of guard's context

export type Args = Record<string, unknown>;

/** Call is one tool call: the tool's name and its arguments (JSON values). */
export class Call {
  readonly args: Args;

  constructor(
    readonly tool: string,
    args: Args = {},
  ) {
    if (!tool) throw new TypeError("admem: a call needs a tool name");
    this.args = jsonable(args) as Args;
  }

  /** of accepts a Call, a [tool, args] pair, an {action|tool, args} object, or a tool name with args. */
  static of(call: CallLike, args?: Args): Call {
    if (call instanceof Call) return call;
    if (typeof call === "string") return new Call(call, args);
    if (Array.isArray(call) && call.length === 2) return new Call(String(call[0]), call[1] as Args);
    if (call !== null && typeof call === "object" && !Array.isArray(call)) {
      const o = call as { action?: string; tool?: string; args?: Args };
      return new Call(o.action || o.tool || "", o.args);
    }
    throw new TypeError(`admem: not a call: ${JSON.stringify(call)}`);
  }

  /** toJSON is the call as the API takes it: {action, args}, as in a step. */
  toJSON(): { action: string; args: Args } {
    return { action: this.tool, args: { ...this.args } };
  }

  equals(other: Call | undefined): boolean {
    return other !== undefined && other.tool === this.tool && canonical(other.args) === canonical(this.args);
  }

  toString(): string {
    const inner = Object.keys(this.args)
      .sort()
      .map((k) => `${k}=${JSON.stringify(this.args[k])}`)
      .join(", ");
    return `${this.tool}(${inner})`;
  }
}

export type CallLike = Call | string | [string, Args] | { action?: string; tool?: string; args?: Args };

/**
 * Check is guard's answer for one call: `decision` (allow, warn, block), `risk` (the calibrated
 * probability that the call fails here), `kind` (deterministic, state, transient), the `reasons`,
 * and `suggestion`: the call fixed as the agents' own recoveries fixed it, ready to make
 * (undefined when guard could not build one from this call's values; `advice` then says what to
 * do in words).
 */
export class Check {
  readonly decision: string;
  readonly risk: number;
  readonly kind: string | undefined;
  readonly reasons: GuardResult["reasons"];
  readonly adapter: string;
  readonly suggestion: Call | undefined;
  readonly advice: string;

  constructor(
    readonly call: Call,
    readonly result: GuardResult,
    response: Pick<GuardResponse, "adapter"> | Record<string, never> = {},
  ) {
    this.decision = result.decision ?? ALLOW;
    this.risk = Number(result.risk ?? 0);
    this.kind = result.kind;
    this.reasons = result.reasons ?? [];
    this.adapter = String((response as { adapter?: string }).adapter ?? "none");
    const sug = result.suggestion;
    this.suggestion = sug?.call ? new Call(sug.call.tool, sug.call.args) : undefined;
    this.advice = sug?.text ?? "";
  }

  get allowed(): boolean {
    return this.decision === ALLOW;
  }
  get warned(): boolean {
    return this.decision === WARN;
  }
  get blocked(): boolean {
    return this.decision === BLOCK;
  }
  /** transient: the identical call just failed with a transient fault; retry it with backoff. */
  get transient(): boolean {
    return this.kind === "transient";
  }
  /** notes are the mistake notes guard matched, as text. */
  get notes(): string[] {
    return this.reasons.map((r) => r.note).filter((n): n is string => Boolean(n));
  }

  /** message is the check in words, to show a model instead of the tool's result. */
  message(): string {
    if (this.transient) return `guard: ${this.call} just failed with a transient fault; retry it after a short wait`;
    if (this.allowed) return `guard allows ${this.call} (risk ${this.risk.toFixed(2)})`;
    const parts = [`guard ${this.decision}s ${this.call} (risk ${this.risk.toFixed(2)})`, ...this.notes.slice(0, 2)];
    if (this.suggestion) parts.push(`Suggested call instead: ${this.suggestion}`);
    else if (this.advice) parts.push("Advice: " + this.advice);
    return parts.join("\n");
  }
}

/** Flagged is thrown by a guarded tool that guard warned about (onWarn "raise"); `check` says why. */
export class Flagged extends Error {
  override name = "Flagged";
  constructor(readonly check: Check) {
    super(check.message());
  }
}

/** Blocked is thrown by a guarded tool that guard blocked (onBlock "raise"). */
export class Blocked extends Flagged {
  override name = "Blocked";
}

export interface EpisodeOptions {
  agentId?: string;
  userId?: string;
  sessionId?: string;
  /** contextSteps is how many of the latest steps guard and recall see (default 8). */
  contextSteps?: number;
  metadata?: Record<string, unknown>;
}

export interface RecordOptions {
  /** error is the error the call raised (its name becomes error_type), or the error text. */
  error?: unknown;
  errorType?: string;
  status?: "ok" | "error";
  durationMs?: number;
  reward?: number;
}

/**
 * Episode runs the agent loop for one task. The trajectory is opened on the first recorded step
 * and each step goes to the API at once, so a failure reaches guard within a second. Every create
 * carries an Idempotency-Key derived from the episode's, so retries never duplicate a step.
 */
export class Episode {
  readonly scope: { agent_id?: string; user_id?: string; session_id?: string };
  readonly contextSteps: number;
  readonly metadata: Record<string, unknown>;
  trajectoryId: string | undefined;
  recallId: string | undefined;
  recalled: RecallResult | undefined;
  /** steps are the steps recorded so far, as sent. */
  readonly steps: StepRequest[] = [];
  readonly checks: Check[] = [];
  /** trajectory is the closed trajectory. */
  trajectory: Trajectory | undefined;
  private readonly idem = newIdempotencyKey();

  constructor(
    readonly client: Client,
    readonly task: string,
    opts: EpisodeOptions = {},
  ) {
    if (!task) throw new TypeError("admem: an episode needs a task");
    this.scope = {};
    if (opts.agentId) this.scope.agent_id = opts.agentId;
    if (opts.userId) this.scope.user_id = opts.userId;
    if (opts.sessionId) this.scope.session_id = opts.sessionId;
    this.contextSteps = opts.contextSteps ?? 8;
    this.metadata = { ...(opts.metadata ?? {}) };
  }

  /** recall asks what the tenant knows for this task: put `.text` into the model's prompt. The recall id is kept for feedback(). */
  async recall(opts: { budget?: number; kinds?: string[] } = {}): Promise<RecallResult> {
    const recent = this.steps.slice(-this.contextSteps).map((s) => {
      const { action, args, status, error, error_type, observation } = s;
      return prune({ action, args, status, error, error_type, observation: observation?.slice(0, CONTEXT_OBSERVATION_MAX) });
    });
    const res = await this.client.recall(
      prune({
        task: this.task,
        recent_steps: recent.length > 0 ? recent : undefined,
        scope: hasKeys(this.scope) ? this.scope : undefined,
        kinds: opts.kinds,
        budget: opts.budget,
      }),
    );
    this.recalled = res;
    this.recallId = res.recall_id;
    return res;
  }

  /** check asks guard about one call before making it. */
  async check(call: CallLike, args?: Args): Promise<Check> {
    return (await this.checkMany([Call.of(call, args)]))[0]!;
  }

  /** checkMany asks guard about several candidate calls at once (one result each, in order). */
  async checkMany(calls: CallLike[]): Promise<Check[]> {
    const cands = calls.map((c) => Call.of(c));
    const res = await this.client.guard(
      this.task,
      cands.map((c) => c.toJSON()),
      this.guardContext(),
    );
    const checks = cands.map((c, i) => new Check(c, res.results[i]!, res));
    this.checks.push(...checks);
    return checks;
  }

  /**
   * record appends the step the agent just took: its call and result, or (opts.error) the error it
   * raised. The step goes to the API at once; the trajectory is opened on the first one.
   */
  async record(call: CallLike, result?: unknown, opts: RecordOptions = {}): Promise<StepRequest> {
    const c = Call.of(call);
    const step: StepRequest = { action: c.tool, args: { ...c.args } };
    if (opts.error !== undefined && opts.error !== null) {
      let text: string;
      let type = opts.errorType;
      if (opts.error instanceof Error) {
        type = type ?? opts.error.name;
        text = `${opts.error.name}: ${opts.error.message}`;
      } else {
        text = String(opts.error);
      }
      step.error = text || "error";
      if (type) step.error_type = type;
      step.status = opts.status ?? "error";
    } else {
      step.status = opts.status ?? "ok";
    }
    if (result !== undefined && result !== null) step.observation = observation(result);
    if (opts.durationMs !== undefined) step.duration_ms = Math.round(opts.durationMs);
    if (opts.reward !== undefined) step.reward = opts.reward;
    await this.open();
    await this.client.appendSteps(this.trajectoryId!, [step], `${this.idem}-s${this.steps.length}`);
    this.steps.push(step);
    return step;
  }

  /** close ends the trajectory with its outcome; none lets the tenant's judge rule score it. Closing twice returns the first answer. */
  async close(outcome?: Outcome, score?: number): Promise<Trajectory> {
    if (this.trajectory) return this.trajectory;
    if (this.trajectoryId === undefined) {
      // Nothing recorded: store the (empty) trajectory closed in one request.
      this.trajectory = await this.client.recordTrajectory(
        prune({ task: this.task, outcome, score, scope: hasKeys(this.scope) ? this.scope : undefined, metadata: hasKeys(this.metadata) ? this.metadata : undefined }),
        `${this.idem}-t`,
      );
    } else {
      this.trajectory = await this.client.closeTrajectory(this.trajectoryId, outcome, score, `${this.idem}-c`);
    }
    this.trajectoryId = this.trajectory.id;
    return this.trajectory;
  }

  /**
   * feedback rates the episode's recall, by default with the closed trajectory's outcome. It
   * returns undefined when the episode made no recall (or its outcome is unknown).
   */
  async feedback(outcome?: Outcome, opts: { helpful?: string[]; harmful?: string[] } = {}): Promise<RecallFeedbackResult | undefined> {
    if (!this.recallId) return undefined;
    const o = outcome ?? this.trajectory?.outcome;
    if (o !== "success" && o !== "failure" && o !== "partial") return undefined;
    return this.client.recallFeedback(
      this.recallId,
      prune({
        outcome: o,
        helpful: opts.helpful?.length ? opts.helpful : undefined,
        harmful: opts.harmful?.length ? opts.harmful : undefined,
        agent_id: this.scope.agent_id,
        session_id: this.scope.session_id,
      }),
    );
  }

  /** guarded wraps a tool function so that each call is checked, then made and recorded; see guarded(). */
  guarded<A extends Args, R>(tool: string, fn: (args: A) => R | Promise<R>, opts: GuardOptions = {}): (args: A) => Promise<R> {
    return guarded(this, tool, fn, opts);
  }

  /**
   * run closes the episode after fn: as a failure when fn throws (and the error is thrown again),
   * by the tenant's judge rule otherwise, unless fn closed it itself.
   */
  async run<T>(fn: (ep: Episode) => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await fn(this);
    } catch (e) {
      if (!this.trajectory) await this.close("failure");
      throw e;
    }
    if (!this.trajectory) await this.close();
    return out;
  }

  private async open(): Promise<void> {
    if (this.trajectoryId !== undefined) return;
    const tr = await this.client.recordTrajectory(
      prune({ task: this.task, scope: hasKeys(this.scope) ? this.scope : undefined, metadata: hasKeys(this.metadata) ? this.metadata : undefined, open: true }),
      `${this.idem}-o`,
    );
    this.trajectoryId = tr.id;
  }

  private guardContext(): GuardStep[] {
    const first = Math.max(0, this.steps.length - this.contextSteps);
    return this.steps.slice(first).map((s, i) =>
      prune({
        index: first + i,
        action: s.action,
        args: s.args ?? {},
        status: s.status ?? "ok",
        error: s.error || undefined,
        error_type: s.error_type || undefined,
        observation: s.observation ? s.observation.slice(0, CONTEXT_OBSERVATION_MAX) : undefined,
      }),
    );
  }
}

export interface GuardOptions {
  /**
   * onWarn: "suggest" (default) makes guard's suggested call instead when it is a call of the same
   * tool, and the call as asked otherwise; "proceed" makes the call as asked; "raise" throws Flagged.
   */
  onWarn?: "suggest" | "proceed" | "raise";
  /** onBlock: "raise" (default) throws Blocked without calling; "suggest" makes a same-tool suggestion and throws otherwise. */
  onBlock?: "raise" | "suggest";
}

/**
 * guarded wraps a tool function: every call is checked by guard, made, and recorded as a step.
 * `episode` is an Episode or a function returning the current one (for tools defined once and used
 * across episodes). A transient fault is always allowed. An error from the tool is recorded as a
 * failed step and thrown again.
 */
export function guarded<A extends Args, R>(
  episode: Episode | (() => Episode),
  tool: string,
  fn: (args: A) => R | Promise<R>,
  opts: GuardOptions = {},
): (args: A) => Promise<R> {
  const onWarn = opts.onWarn ?? "suggest";
  const onBlock = opts.onBlock ?? "raise";
  if (!["suggest", "proceed", "raise"].includes(onWarn)) throw new TypeError(`admem: onWarn must be suggest, proceed or raise, not ${onWarn}`);
  if (!["raise", "suggest"].includes(onBlock)) throw new TypeError(`admem: onBlock must be raise or suggest, not ${onBlock}`);
  if (!tool) throw new TypeError("admem: a guarded tool needs a name");
  return async (args: A): Promise<R> => {
    const ep = episode instanceof Episode ? episode : episode();
    const call = new Call(tool, args);
    const chk = await ep.check(call);
    let take: Call | undefined; // a suggested call to make instead
    const sameTool = chk.suggestion !== undefined && chk.suggestion.tool === tool;
    if (chk.blocked && !chk.transient) {
      if (onBlock === "suggest" && sameTool) take = chk.suggestion;
      else throw new Blocked(chk);
    } else if (chk.warned && !chk.transient) {
      if (onWarn === "raise") throw new Flagged(chk);
      if (onWarn === "suggest" && sameTool) take = chk.suggestion;
    }
    const made = take ?? call;
    let out: R;
    try {
      out = await fn((take ? take.args : args) as A);
    } catch (e) {
      await ep.record(made, undefined, { error: e });
      throw e;
    }
    await ep.record(made, out);
    return out;
  };
}

function observation(result: unknown): string {
  const text = typeof result === "string" ? result : JSON.stringify(jsonable(result));
  return text.slice(0, OBSERVATION_MAX);
}

function jsonable(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

function hasKeys(o: object): boolean {
  return Object.keys(o).length > 0;
}

// prune drops the undefined fields of a request body.
function prune<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
