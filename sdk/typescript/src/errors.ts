// Typed errors from admem's application/problem+json answers (RFC 9457).

/** AdmemError is the base of every error this package throws. */
export class AdmemError extends Error {
  override name = "AdmemError";
}

/** TransportError: the request got no HTTP answer (refused, reset, timed out). */
export class TransportError extends AdmemError {
  override name = "TransportError";
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/** FieldError names an offending field of a request. */
export interface FieldError {
  field: string;
  reason: string;
}

/**
 * APIError is an HTTP error answer, read from its problem+json body: `status`, admem's stable
 * `code` (`invalid`, `not_found`, …), the `requestId` to quote when asking about it, and the
 * offending fields in `errors`.
 */
export class APIError extends AdmemError {
  override name = "APIError";
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string;
  readonly errors: FieldError[];

  constructor(
    readonly status: number,
    readonly problem: Record<string, unknown> | undefined,
    readonly headers: Headers,
    body = "",
  ) {
    const p = problem ?? {};
    const code = str(p.code);
    const title = str(p.title);
    const detail = str(p.detail);
    const requestId = str(p.request_id) || headers.get("x-request-id") || "";
    const errors = Array.isArray(p.errors) ? (p.errors as FieldError[]) : [];
    let msg = `${status} ${code || "error"}: ${detail || title || body.slice(0, 200) || `HTTP ${status}`}`;
    if (errors.length > 0) msg += ` (${errors.map((e) => `${e.field}: ${e.reason}`).join(", ")})`;
    if (requestId) msg += ` [request ${requestId}]`;
    super(msg);
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.requestId = requestId;
    this.errors = errors;
  }

  /** retryAfter is the answer's Retry-After in seconds, or undefined. */
  get retryAfter(): number | undefined {
    return parseRetryAfter(this.headers.get("retry-after"));
  }
}

/** 400: malformed JSON, percent-encoding or HTTP. */
export class BadRequestError extends APIError {
  override name = "BadRequestError";
}
/** 401: no credential, or a wrong, revoked or expired one. */
export class AuthenticationError extends APIError {
  override name = "AuthenticationError";
}
/** 403: the credential lacks the scope the route needs. */
export class PermissionDeniedError extends APIError {
  override name = "PermissionDeniedError";
}
/** 404: no such resource in your tenant. */
export class NotFoundError extends APIError {
  override name = "NotFoundError";
}
/** 409: a conflicting state (an Idempotency-Key reused with another body, a closed trajectory, a second feedback). */
export class ConflictError extends APIError {
  override name = "ConflictError";
}
/** 413: the body is over the deployment's limit. */
export class PayloadTooLargeError extends APIError {
  override name = "PayloadTooLargeError";
}
/** 422: a value outside the API's bounds; `errors` names the fields. */
export class ValidationError extends APIError {
  override name = "ValidationError";
}
/** 429: over the tenant's (or the key's) rate limit; `retryAfter` is in seconds. */
export class RateLimitError extends APIError {
  override name = "RateLimitError";
}
/** 503: the API could not reach its database; the request did not happen. */
export class UnavailableError extends APIError {
  override name = "UnavailableError";
}
/** Any other 5xx. */
export class ServerError extends APIError {
  override name = "ServerError";
}

const byStatus: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: ValidationError,
  429: RateLimitError,
  503: UnavailableError,
};

/** errorFor makes the error of an HTTP status. */
export function errorFor(status: number, problem: Record<string, unknown> | undefined, headers: Headers, body: string): APIError {
  const cls = byStatus[status] ?? (status >= 500 ? ServerError : APIError);
  return new cls(status, problem, headers, body);
}

/** parseRetryAfter reads a Retry-After header (delay seconds or an HTTP date) as seconds. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const when = Date.parse(v);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, (when - now) / 1000);
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : String(v);
}
