"""Typed errors from admem's application/problem+json answers (RFC 9457)."""

from typing import Any, Dict, List, Optional


class AdmemError(Exception):
    """Base of every error this package raises."""


class TransportError(AdmemError):
    """The request did not get an HTTP answer (connection refused, reset, timeout)."""


class APIError(AdmemError):
    """An HTTP error answer from the API, read from its problem+json body.

    ``status`` is the HTTP status, ``code`` admem's stable error code (``invalid``,
    ``not_found``, ...), ``request_id`` the id to quote when asking about it, and
    ``errors`` the offending fields as ``[{"field": ..., "reason": ...}]``.
    """

    def __init__(self, status: int, problem: Optional[Dict[str, Any]] = None,
                 headers: Optional[Dict[str, str]] = None, body: str = ""):
        self.status = status
        self.problem: Dict[str, Any] = problem or {}
        self.headers: Dict[str, str] = headers or {}
        self.code: str = str(self.problem.get("code", ""))
        self.title: str = str(self.problem.get("title", ""))
        self.detail: str = str(self.problem.get("detail", ""))
        self.request_id: str = str(self.problem.get("request_id", "") or self.headers.get("x-request-id", ""))
        self.errors: List[Dict[str, str]] = list(self.problem.get("errors") or [])
        text = self.detail or self.title or body[:200] or "HTTP %d" % status
        where = ", ".join("%s: %s" % (e.get("field"), e.get("reason")) for e in self.errors)
        msg = "%d %s: %s" % (status, self.code or "error", text)
        if where:
            msg += " (" + where + ")"
        if self.request_id:
            msg += " [request %s]" % self.request_id
        super().__init__(msg)


class BadRequestError(APIError):
    """400: malformed JSON, percent-encoding or HTTP."""


class AuthenticationError(APIError):
    """401: no credential, or a wrong, revoked or expired one."""


class PermissionDeniedError(APIError):
    """403: the credential lacks the scope the route needs."""


class NotFoundError(APIError):
    """404: no such resource in your tenant."""


class ConflictError(APIError):
    """409: a conflicting state (an Idempotency-Key reused with another body, a closed trajectory, a second feedback)."""


class PayloadTooLargeError(APIError):
    """413: the body is over the deployment's limit."""


class ValidationError(APIError):
    """422: a value outside the API's bounds; ``errors`` names the fields."""


class RateLimitError(APIError):
    """429: over the tenant's (or the key's) rate limit; ``retry_after`` is in seconds."""

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers.get("retry-after"))


class UnavailableError(APIError):
    """503: the API could not reach its database; the request did not happen."""

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(APIError):
    """Any other 5xx."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
    503: UnavailableError,
}


def error_for(status: int, problem: Optional[Dict[str, Any]], headers: Dict[str, str], body: str) -> APIError:
    """error_for picks the error class of an HTTP status."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(status, problem, headers, body)


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """parse_retry_after reads a Retry-After header: delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime
        import datetime

        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
