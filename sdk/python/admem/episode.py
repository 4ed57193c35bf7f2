"""Episode: the agent loop over admem for one task.

recall() before planning, check(call) before each tool call, record(call, result) after it,
close(outcome) at the end, feedback() on the recall. The episode keeps the trajectory id, the
recall id and the recent steps guard needs, and streams each step as it happens, so a failure
reaches guard within a second.
"""

import functools
import inspect
import json
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .client import Client, new_idempotency_key

__all__ = ["Call", "Check", "Episode", "Flagged", "Blocked", "guarded"]

ALLOW, WARN, BLOCK = "allow", "warn", "block"
_OBSERVATION_MAX = 8000  # characters of a result kept in a step
_CONTEXT_OBSERVATION_MAX = 1000  # and in a step of guard's context


class Call:
    """Call is one tool call: the tool's name and its arguments (JSON values)."""

    __slots__ = ("tool", "args")

    def __init__(self, tool: str, args: Optional[Mapping[str, Any]] = None):
        if not tool:
            raise ValueError("admem: a call needs a tool name")
        self.tool = str(tool)
        self.args: Dict[str, Any] = _jsonable(dict(args or {}))

    @classmethod
    def of(cls, call: "CallLike", args: Optional[Mapping[str, Any]] = None) -> "Call":
        """of accepts a Call, a (tool, args) pair, a {"tool"|"action", "args"} mapping, or a tool name with args."""
        if isinstance(call, Call):
            return call
        if isinstance(call, str):
            return cls(call, args)
        if isinstance(call, Mapping):
            return cls(call.get("tool") or call.get("action") or "", call.get("args"))
        if isinstance(call, (tuple, list)) and len(call) == 2:
            return cls(call[0], call[1])
        raise TypeError("admem: not a call: %r" % (call,))

    def to_dict(self) -> Dict[str, Any]:
        """to_dict is the call as the API takes it: ``{"action": tool, "args": {...}}``, as in a step."""
        return {"action": self.tool, "args": dict(self.args)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Call) and self.tool == other.tool and self.args == other.args

    def __repr__(self) -> str:
        inner = ", ".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(self.args.items()))
        return "%s(%s)" % (self.tool, inner)


CallLike = Union[Call, str, Mapping[str, Any], Sequence[Any]]


class Check:
    """Check is guard's answer for one call.

    ``decision`` is ``allow``, ``warn`` or ``block``; ``risk`` the calibrated probability that the
    call fails here; ``kind`` what the risk is about (``deterministic``, ``state``, ``transient``
    or None); ``reasons`` the evidence; ``suggestion`` the call fixed as the agents' own recoveries
    fixed it, ready to make (None when guard could not build one from this call's values, in which
    case ``advice`` says what to do in words).
    """

    def __init__(self, call: Call, result: Mapping[str, Any], response: Mapping[str, Any]):
        self.call = call
        self.result = dict(result)
        self.decision: str = self.result.get("decision", ALLOW)
        self.risk: float = float(self.result.get("risk", 0.0))
        self.kind: Optional[str] = self.result.get("kind")
        self.reasons: List[Dict[str, Any]] = list(self.result.get("reasons") or [])
        self.adapter: str = str(response.get("adapter", "none"))
        sug = self.result.get("suggestion") or {}
        self.suggestion: Optional[Call] = Call.of(sug["call"]) if sug.get("call") else None
        self.advice: str = sug.get("text", "")

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOW

    @property
    def warned(self) -> bool:
        return self.decision == WARN

    @property
    def blocked(self) -> bool:
        return self.decision == BLOCK

    @property
    def transient(self) -> bool:
        """transient: the identical call just failed with a transient fault; retry it with backoff."""
        return self.kind == "transient"

    @property
    def notes(self) -> List[str]:
        """notes are the mistake notes guard matched, as text."""
        return [r["note"] for r in self.reasons if r.get("note")]

    def message(self) -> str:
        """message is the check in words, to show a model instead of the tool's result."""
        if self.allowed and not self.transient:
            return "guard allows %r (risk %.2f)" % (self.call, self.risk)
        if self.transient:
            return "guard: %r just failed with a transient fault; retry it after a short wait" % (self.call,)
        parts = ["guard %ss %r (risk %.2f)" % (self.decision, self.call, self.risk)]
        parts.extend(self.notes[:2])
        if self.suggestion is not None:
            parts.append("Suggested call instead: %r" % (self.suggestion,))
        elif self.advice:
            parts.append("Advice: " + self.advice)
        return "\n".join(parts)

    def __repr__(self) -> str:
        return "Check(%s, risk=%.2f, call=%r, suggestion=%r)" % (self.decision, self.risk, self.call, self.suggestion)


class Flagged(Exception):
    """Flagged is raised by a guarded tool that guard warned about (on_warn="raise"); ``check`` says why."""

    def __init__(self, check: Check):
        self.check = check
        super().__init__(check.message())


class Blocked(Flagged):
    """Blocked is raised by a guarded tool that guard blocked (on_block="raise")."""


class Episode:
    """Episode runs the agent loop for one task.

    ``agent_id``, ``user_id`` and ``session_id`` scope the trajectory (and feedback's provenance).
    ``context_steps`` is how many of the latest steps guard sees with each check.
    The episode is a context manager: leaving it closes the trajectory, as a failure when an
    exception escaped and by the tenant's judge rule otherwise.
    """

    def __init__(self, client: Client, task: str, *, agent_id: Optional[str] = None,
                 user_id: Optional[str] = None, session_id: Optional[str] = None,
                 context_steps: int = 8, metadata: Optional[Mapping[str, Any]] = None):
        if not task:
            raise ValueError("admem: an episode needs a task")
        self.client = client
        self.task = task
        self.scope = {k: v for k, v in (("agent_id", agent_id), ("user_id", user_id),
                                        ("session_id", session_id)) if v}
        self.context_steps = context_steps
        self.metadata = dict(metadata or {})
        self.trajectory_id: Optional[str] = None
        self.recall_id: Optional[str] = None
        self.recalled: Optional[Dict[str, Any]] = None
        self.steps: List[Dict[str, Any]] = []  # every step recorded, as wire steps
        self.checks: List[Check] = []
        self.trajectory: Optional[Dict[str, Any]] = None  # the closed trajectory
        self._idem = new_idempotency_key()  # per episode; each create adds its own suffix

    # -- the loop ------------------------------------------------------------

    def recall(self, *, budget: Optional[int] = None, kinds: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """recall asks what the tenant knows for this task: put ``["text"]`` into the model's prompt.

        The recall id is kept for :meth:`feedback`.
        """
        recent = [self._recall_step(s) for s in self.steps[-self.context_steps:]]
        res = self.client.recall(self.task, recent_steps=recent or None, scope=self.scope or None,
                                 kinds=kinds, budget=budget)
        self.recalled = res
        self.recall_id = res.get("recall_id")
        return res

    def check(self, call: CallLike, args: Optional[Mapping[str, Any]] = None) -> Check:
        """check asks guard about one call before making it."""
        return self.check_many([Call.of(call, args)])[0]

    def check_many(self, calls: Iterable[CallLike]) -> List[Check]:
        """check_many asks guard about several candidate calls at once (one result each, in order)."""
        cands = [Call.of(c) for c in calls]
        res = self.client.guard(self.task, [c.to_dict() for c in cands], self._guard_context())
        checks = [Check(c, r, res) for c, r in zip(cands, res.get("results", []))]
        self.checks.extend(checks)
        return checks

    def record(self, call: CallLike, result: Any = None, *, error: Union[None, str, BaseException] = None,
               error_type: Optional[str] = None, status: Optional[str] = None,
               duration_ms: Optional[int] = None, reward: Optional[float] = None) -> Dict[str, Any]:
        """record appends the step the agent just took: its call and result, or the error it raised.

        ``error`` may be the exception itself (its class becomes ``error_type``). The step goes to
        the API at once (the trajectory is opened on the first one).
        """
        c = Call.of(call)
        step: Dict[str, Any] = {"action": c.tool, "args": dict(c.args)}
        if error is not None:
            if isinstance(error, BaseException):
                error_type = error_type or type(error).__name__
                text = "%s: %s" % (type(error).__name__, error)
            else:
                text = str(error)
            step["error"] = text or "error"
            if error_type:
                step["error_type"] = error_type
            step["status"] = status or "error"
        else:
            step["status"] = status or "ok"
        if result is not None:
            step["observation"] = _observation(result)
        if duration_ms is not None:
            step["duration_ms"] = int(duration_ms)
        if reward is not None:
            step["reward"] = reward
        self._open()
        self.client.append_steps(self.trajectory_id, [step], idempotency_key="%s-s%d" % (self._idem, len(self.steps)))
        self.steps.append(step)
        return step

    def close(self, outcome: Optional[str] = None, score: Optional[float] = None) -> Dict[str, Any]:
        """close ends the trajectory with its outcome (success, failure, partial); None lets the judge score it."""
        if self.trajectory is not None:
            return self.trajectory
        if self.trajectory_id is None:
            # Nothing recorded: store the (empty) trajectory closed in one request.
            self.trajectory = self.client.record_trajectory(
                self.task, outcome=outcome, score=score, scope=self.scope or None,
                metadata=self.metadata or None, idempotency_key=self._idem + "-t")
        else:
            self.trajectory = self.client.close_trajectory(self.trajectory_id, outcome, score,
                                                           idempotency_key=self._idem + "-c")
        self.trajectory_id = self.trajectory.get("id", self.trajectory_id)
        return self.trajectory

    def feedback(self, outcome: Optional[str] = None, *, helpful: Sequence[str] = (),
                 harmful: Sequence[str] = ()) -> Optional[Dict[str, Any]]:
        """feedback rates the episode's recall: by default with the closed trajectory's outcome.

        It returns None when the episode made no recall (or its outcome is unknown).
        """
        if not self.recall_id:
            return None
        if outcome is None and self.trajectory is not None:
            outcome = self.trajectory.get("outcome")
        if outcome not in ("success", "failure", "partial"):
            return None
        return self.client.recall_feedback(self.recall_id, outcome, helpful=helpful, harmful=harmful,
                                           agent_id=self.scope.get("agent_id"),
                                           session_id=self.scope.get("session_id"))

    def guarded(self, fn: Optional[Callable[..., Any]] = None, **kwargs: Any) -> Any:
        """guarded wraps a tool function so that each call is checked, then made and recorded.

        See :func:`guarded` for the options.
        """
        return guarded(self, fn, **kwargs)

    def __enter__(self) -> "Episode":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.trajectory is None:
            self.close("failure" if exc_type is not None else None)

    # -- internals -----------------------------------------------------------

    def _open(self) -> None:
        if self.trajectory_id is not None:
            return
        tr = self.client.record_trajectory(self.task, scope=self.scope or None, metadata=self.metadata or None,
                                           open=True, idempotency_key=self._idem + "-o")
        self.trajectory_id = tr["id"]

    def _guard_context(self) -> List[Dict[str, Any]]:
        first = max(0, len(self.steps) - self.context_steps)
        out = []
        for i, s in enumerate(self.steps[first:], start=first):
            g: Dict[str, Any] = {"index": i, "action": s["action"], "args": s.get("args", {}),
                                 "status": s.get("status", "ok")}
            for k in ("error", "error_type"):
                if s.get(k):
                    g[k] = s[k]
            if s.get("observation"):
                g["observation"] = s["observation"][:_CONTEXT_OBSERVATION_MAX]
            out.append(g)
        return out

    @staticmethod
    def _recall_step(s: Mapping[str, Any]) -> Dict[str, Any]:
        out = {k: v for k, v in s.items() if k in ("action", "args", "status", "error", "error_type")}
        if s.get("observation"):
            out["observation"] = s["observation"][:_CONTEXT_OBSERVATION_MAX]
        return out


def guarded(episode: Union[Episode, Callable[[], Episode]], fn: Optional[Callable[..., Any]] = None, *,
            tool: Optional[str] = None, on_warn: str = "suggest", on_block: str = "raise") -> Any:
    """guarded wraps a tool function: every call is checked by guard, made, and recorded as a step.

    ``episode`` is an Episode or a function returning the current one (for tools defined once
    and used across episodes). The call's arguments are the ones passed, by parameter name;
    ``tool`` names the tool (default: the function's name).

    On ``warn``: ``"suggest"`` (default) makes guard's suggested call instead when it is a call of
    this same tool, and the call as asked otherwise; ``"proceed"`` makes the call as asked;
    ``"raise"`` raises :class:`Flagged`. On ``block``: ``"raise"`` (default) raises
    :class:`Blocked` without calling the tool; ``"suggest"`` makes the suggested call when it is of
    this tool and raises otherwise. A transient fault is always allowed. An exception from the tool
    is recorded as a failed step and raised again.

    Use it as ``guarded(ep, fn)``, ``@guarded(ep)`` or ``@ep.guarded(on_warn="raise")``.
    """
    for name, v, ok in (("on_warn", on_warn, ("suggest", "proceed", "raise")),
                        ("on_block", on_block, ("raise", "suggest"))):
        if v not in ok:
            raise ValueError("admem: %s must be one of %s, not %r" % (name, ", ".join(ok), v))

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        name = tool or getattr(f, "__name__", "tool")
        sig = inspect.signature(f)

        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            ep = episode() if callable(episode) and not isinstance(episode, Episode) else episode
            call = Call(name, _call_args(sig, args, kwargs))
            chk = ep.check(call)
            take = None  # a suggested call to make instead
            if chk.blocked and not chk.transient:
                if on_block == "suggest" and chk.suggestion is not None and chk.suggestion.tool == name:
                    take = chk.suggestion
                else:
                    raise Blocked(chk)
            elif chk.warned and not chk.transient:
                if on_warn == "raise":
                    raise Flagged(chk)
                if on_warn == "suggest" and chk.suggestion is not None and chk.suggestion.tool == name:
                    take = chk.suggestion
            made = take or call
            try:
                out = f(**take.args) if take is not None else f(*args, **kwargs)
            except Exception as e:
                ep.record(made, error=e)
                raise
            ep.record(made, out)
            return out

        inner.admem_tool = name  # type: ignore[attr-defined]
        return inner

    if fn is not None:
        return wrap(fn)
    return wrap


def _call_args(sig: inspect.Signature, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return dict(kwargs)
    out: Dict[str, Any] = {}
    for pname, value in bound.arguments.items():
        kind = sig.parameters[pname].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                out[pname] = list(value)
        else:
            out[pname] = value
    return out


def _jsonable(v: Any) -> Any:
    return json.loads(json.dumps(v, default=str))


def _observation(result: Any) -> str:
    text = result if isinstance(result, str) else json.dumps(_jsonable(result), ensure_ascii=False)
    return text[:_OBSERVATION_MAX]
