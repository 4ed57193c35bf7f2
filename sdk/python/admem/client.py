"""Client: admem's HTTP API with retries, idempotency keys and typed errors."""

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from .errors import APIError, TransportError, error_for, parse_retry_after

__all__ = ["Client", "Response", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8080"
_VERSION = "0.1.0"
# Methods a transport failure may repeat without an Idempotency-Key: repeating
# them cannot do the work twice.
_SAFE = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


class Response:
    """Response is one answer: ``status``, ``headers`` (lower-case names) and ``data`` (the decoded JSON)."""

    def __init__(self, status: int, headers: Dict[str, str], data: Any, attempts: int):
        self.status = status
        self.headers = headers
        self.data = data
        self.attempts = attempts

    @property
    def request_id(self) -> str:
        return self.headers.get("x-request-id", "")

    @property
    def replayed(self) -> bool:
        """replayed is true when the API answered from an earlier request with the same Idempotency-Key."""
        return self.headers.get("idempotent-replayed", "").lower() == "true"


class Client:
    """Client talks to one admem API with one credential.

    ``base_url`` defaults to ``$ADMEM_URL`` or ``http://127.0.0.1:8080`` (``make run``), ``key``
    to ``$ADMEM_KEY``. A plain API key works as the bearer credential; so does an access token
    from :meth:`issue_token`.

    A ``429`` or ``503`` answer is retried up to ``max_retries`` times, after the ``Retry-After``
    the API sent (or an exponential backoff with jitter when it sent none), unless that wait is over
    ``max_retry_wait`` seconds. A ``503`` means the request did not happen, and a ``429`` is refused
    before any work, so both are safe to repeat. A request that got no answer at all (connection
    reset, timeout) is repeated only when repeating cannot do its work twice: reads, PUT and DELETE,
    and creates, which always carry an ``Idempotency-Key`` (one is made per call unless you pass
    yours); the API answers a repeat with the first answer.
    """

    def __init__(self, base_url: Optional[str] = None, key: Optional[str] = None, *,
                 timeout: float = 30.0, max_retries: int = 4, backoff: float = 0.25,
                 max_retry_wait: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                 user_agent: Optional[str] = None):
        self.base_url = (base_url or os.environ.get("ADMEM_URL") or DEFAULT_URL).rstrip("/")
        self.key = key if key is not None else os.environ.get("ADMEM_KEY", "")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.user_agent = user_agent or "admem-python/" + _VERSION
        self.retries = 0  # requests repeated so far, for tests and metrics

    # -- transport -----------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *,
                query: Optional[Mapping[str, Any]] = None,
                idempotency_key: Optional[str] = None,
                headers: Optional[Mapping[str, str]] = None, repeatable: Optional[bool] = None) -> Response:
        """request sends one API request, retrying as the class describes, and returns its Response.

        An error answer raises the APIError subclass of its status; no answer at all raises
        TransportError. ``repeatable`` says whether a request that got no answer may be sent again
        (default: for reads, PUT, DELETE and requests with an Idempotency-Key).
        """
        method = method.upper()
        url = self.base_url + path
        if query:
            q = {k: _query_value(v) for k, v in query.items() if v is not None}
            if q:
                url += "?" + urllib.parse.urlencode(q)
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        hdrs = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.key:
            hdrs["Authorization"] = "Bearer " + self.key
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        if headers:
            hdrs.update(headers)
        if repeatable is None:
            repeatable = method in _SAFE or bool(idempotency_key)

        attempt = 0
        while True:
            attempt += 1
            try:
                status, rh, raw = self._send(method, url, data, hdrs)
            except TransportError:
                if not repeatable or attempt > self.max_retries:
                    raise
                self._wait(self._backoff(attempt))
                continue
            if status in (429, 503) and attempt <= self.max_retries:
                wait = parse_retry_after(rh.get("retry-after"))
                if wait is None:
                    wait = self._backoff(attempt)
                if wait <= self.max_retry_wait:
                    self._wait(wait)
                    continue
            return self._answer(status, rh, raw, attempt)

    def _send(self, method: str, url: str, data: Optional[bytes], headers: Dict[str, str]):
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, _lower(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as e:
            try:
                raw = e.read()
            finally:
                e.close()
            return e.code, _lower(e.headers.items() if e.headers else []), raw
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # refused, reset, cut, timed out
            raise TransportError("%s %s: %s" % (method, url, getattr(e, "reason", e))) from e

    def _answer(self, status: int, headers: Dict[str, str], raw: bytes, attempts: int) -> Response:
        text = raw.decode("utf-8", errors="replace") if raw else ""
        parsed: Any = None
        if text:
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        if status >= 400:
            raise error_for(status, parsed if isinstance(parsed, dict) else None, headers, text)
        if text and parsed is None and "json" in headers.get("content-type", ""):
            raise APIError(status, None, headers, "invalid JSON in the answer: " + text[:200])
        return Response(status, headers, parsed, attempts)

    def _backoff(self, attempt: int) -> float:
        return self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())

    def _wait(self, seconds: float) -> None:
        self.retries += 1
        self.sleep(seconds)

    def _call(self, method: str, path: str, body: Any = None, *, query: Optional[Mapping[str, Any]] = None,
              idempotency_key: Optional[str] = None, repeatable: Optional[bool] = None) -> Any:
        return self.request(method, path, body, query=query, idempotency_key=idempotency_key,
                            repeatable=repeatable).data

    def _create(self, path: str, body: Any, idempotency_key: Optional[str]) -> Any:
        return self._call("POST", path, body, idempotency_key=idempotency_key or new_idempotency_key())

    # -- identity and keys ---------------------------------------------------

    def me(self) -> Dict[str, Any]:
        """me says whose the credential is: key_id, tenant_id, scopes, is_platform."""
        return self._call("GET", "/v1/me")

    def issue_token(self) -> Dict[str, Any]:
        """issue_token exchanges the key for a short-lived access token (``access_token``, ``expires_at``)."""
        return self._call("POST", "/v1/auth/token")

    def create_tenant(self, name: str, display_name: Optional[str] = None, *,
                      rate_limit: Optional[Mapping[str, Any]] = None,
                      idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """create_tenant makes a tenant (platform key)."""
        body: Dict[str, Any] = {"name": name}
        if display_name is not None:
            body["display_name"] = display_name
        if rate_limit is not None:
            body["rate_limit"] = dict(rate_limit)
        return self._create("/v1/tenants", body, idempotency_key)

    def create_tenant_key(self, tenant_id: str, name: str, scopes: Sequence[str] = ("admin",), *,
                          idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """create_tenant_key makes a key in a tenant (platform key); the answer's ``key`` is shown only once."""
        return self._create("/v1/tenants/%s/keys" % _seg(tenant_id), {"name": name, "scopes": list(scopes)},
                            idempotency_key)

    def create_key(self, name: str, scopes: Sequence[str] = ("write",), *,
                   idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """create_key makes a key in the caller's tenant (admin scope); ``key`` is shown only once."""
        return self._create("/v1/keys", {"name": name, "scopes": list(scopes)}, idempotency_key)

    def trust_key_for_learning(self, key_id: str, trusted: bool = True) -> Dict[str, Any]:
        """trust_key_for_learning marks a key of the tenant trusted for learning (admin scope).

        What one key reports can make guard warn; blocking and suggested fixes need
        independent sources (the tenant's ``learning_quorum``) or a trusted key. A tenant
        with one honest agent trusts that agent's key.
        """
        return self._call("PUT", "/v1/keys/%s/learning-trust" % urllib.parse.quote(key_id, safe=""), {"trusted": trusted})

    # -- trajectories --------------------------------------------------------

    def record_trajectory(self, task: str, steps: Iterable[Mapping[str, Any]] = (), *,
                          outcome: Optional[str] = None, score: Optional[float] = None,
                          scope: Optional[Mapping[str, str]] = None, metadata: Optional[Mapping[str, Any]] = None,
                          open: bool = False, idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """record_trajectory stores a whole trajectory, or opens a streamed one with ``open=True``.

        Steps are wire steps: ``{"action": tool, "args": {...}, "observation": ..., "error": ...,
        "status": "ok"|"error"}``.
        """
        body: Dict[str, Any] = {"task": task}
        steps = [dict(s) for s in steps]
        if steps:
            body["steps"] = steps
        if outcome is not None:
            body["outcome"] = outcome
        if score is not None:
            body["score"] = score
        if scope:
            body["scope"] = dict(scope)
        if metadata:
            body["metadata"] = dict(metadata)
        if open:
            body["open"] = True
        return self._create("/v1/trajectories", body, idempotency_key)

    def append_steps(self, trajectory_id: str, steps: Iterable[Mapping[str, Any]], *,
                     idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """append_steps adds steps to an open trajectory; a failed one reaches guard within a second."""
        return self._create("/v1/trajectories/%s/steps" % _seg(trajectory_id),
                            {"steps": [dict(s) for s in steps]}, idempotency_key)

    def close_trajectory(self, trajectory_id: str, outcome: Optional[str] = None, score: Optional[float] = None, *,
                         idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """close_trajectory ends an open trajectory; without an outcome the tenant's judge rule scores it."""
        body: Dict[str, Any] = {}
        if outcome is not None:
            body["outcome"] = outcome
        if score is not None:
            body["score"] = score
        return self._create("/v1/trajectories/%s/close" % _seg(trajectory_id), body, idempotency_key)

    def get_trajectory(self, trajectory_id: str) -> Dict[str, Any]:
        return self._call("GET", "/v1/trajectories/%s" % _seg(trajectory_id))

    # -- recall, guard, learning --------------------------------------------

    def recall(self, task: Optional[str] = None, *, context: Optional[str] = None,
               recent_steps: Optional[Iterable[Mapping[str, Any]]] = None,
               scope: Optional[Mapping[str, str]] = None, kinds: Optional[Sequence[str]] = None,
               budget: Optional[int] = None) -> Dict[str, Any]:
        """recall returns the mistake notes, procedures and facts that matter for a task: ``text`` for the prompt,
        ``items``, and the ``recall_id`` to rate with :meth:`recall_feedback`."""
        body: Dict[str, Any] = {}
        if task is not None:
            body["task"] = task
        if context is not None:
            body["context"] = context
        if recent_steps:
            body["recent_steps"] = [dict(s) for s in recent_steps]
        if scope:
            body["scope"] = dict(scope)
        if kinds:
            body["kinds"] = list(kinds)
        if budget is not None:
            body["budget"] = budget
        return self._call("POST", "/v1/recall", body, repeatable=True)  # changes nothing but a new recall id

    def recall_feedback(self, recall_id: str, outcome: str, *, helpful: Sequence[str] = (),
                        harmful: Sequence[str] = (), agent_id: Optional[str] = None,
                        session_id: Optional[str] = None) -> Dict[str, Any]:
        """recall_feedback rates a recall once (a second time is a ConflictError)."""
        body: Dict[str, Any] = {"outcome": outcome}
        if helpful:
            body["helpful"] = list(helpful)
        if harmful:
            body["harmful"] = list(harmful)
        if agent_id:
            body["agent_id"] = agent_id
        if session_id:
            body["session_id"] = session_id
        return self._call("POST", "/v1/recalls/%s/feedback" % _seg(recall_id), body)

    def guard(self, task: str, candidates: Sequence[Mapping[str, Any]],
              context: Sequence[Mapping[str, Any]] = ()) -> Dict[str, Any]:
        """guard asks, before acting, whether candidate calls (``{"action", "args"}``) repeat a known mistake.

        ``context`` is the recent steps, oldest first, in the step shape (``action``, ``args``,
        ``status``, ``error``, ``observation``, ``index``). The answer has one result per candidate.
        """
        body: Dict[str, Any] = {"task": task, "candidates": [dict(c) for c in candidates]}
        if context:
            body["context"] = [dict(s) for s in context]
        return self._call("POST", "/v1/guard", body, repeatable=True)  # reads only

    def guard_settings(self) -> Dict[str, Any]:
        return self._call("GET", "/v1/guard/settings")

    def put_guard_settings(self, warn: float, block: float, use_adapter: Optional[bool] = None) -> Dict[str, Any]:
        """put_guard_settings sets the tenant's thresholds (admin scope)."""
        body: Dict[str, Any] = {"warn": warn, "block": block}
        if use_adapter is not None:
            body["use_adapter"] = use_adapter
        return self._call("PUT", "/v1/guard/settings", body)

    def learning_status(self) -> Dict[str, Any]:
        """learning_status says whether the worker has caught up with your tenant's events."""
        return self._call("GET", "/v1/learning/status")

    def wait_for_learning(self, timeout: float = 30.0, poll: float = 0.2) -> Dict[str, Any]:
        """wait_for_learning polls learning_status until no event of the tenant is pending.

        It raises TimeoutError after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            st = self.learning_status()
            if st.get("pending_events", 0) == 0:
                return st
            if time.monotonic() >= deadline:
                raise TimeoutError("admem: %d events still pending after %.0fs" % (st["pending_events"], timeout))
            time.sleep(poll)

    def list_learned(self, kind: Optional[str] = None, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """list_learned lists the tenant's active mistakes and procedures (``kind``: mistake or procedure)."""
        return self._call("GET", "/v1/learned", query={"kind": kind, "limit": limit}).get("items", [])

    # -- factual memory ------------------------------------------------------

    def create_entry(self, content: str, *, kind: Optional[str] = None, key: Optional[str] = None,
                     scope: Optional[Mapping[str, str]] = None, tags: Optional[Sequence[str]] = None,
                     metadata: Optional[Mapping[str, Any]] = None,
                     idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """create_entry writes a fact; the judge decides ADD, UPDATE or NOOP (``operation``)."""
        body: Dict[str, Any] = {"content": content}
        for name, value in (("kind", kind), ("key", key)):
            if value is not None:
                body[name] = value
        if scope:
            body["scope"] = dict(scope)
        if tags:
            body["tags"] = list(tags)
        if metadata:
            body["metadata"] = dict(metadata)
        return self._create("/v1/entries", body, idempotency_key)

    def search_entries(self, query: str, *, limit: Optional[int] = None,
                       filter: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
        """search_entries searches factual memory (hybrid lexical + vector) and returns the hits."""
        body: Dict[str, Any] = {"query": query}
        if limit is not None:
            body["limit"] = limit
        if filter:
            body["filter"] = dict(filter)
        return self._call("POST", "/v1/entries/search", body, repeatable=True).get("items", [])

    # -- the agent loop ------------------------------------------------------

    def episode(self, task: str, **kwargs: Any) -> "Episode":
        """episode starts the agent loop for one task; see :class:`admem.Episode`."""
        from .episode import Episode

        return Episode(self, task, **kwargs)


def new_idempotency_key() -> str:
    """new_idempotency_key makes a random Idempotency-Key."""
    return "py-" + uuid.uuid4().hex


def _seg(s: str) -> str:
    return urllib.parse.quote(str(s), safe="")


def _lower(items: Iterable) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for k, v in items:
        out[k.lower()] = v
    return out


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
