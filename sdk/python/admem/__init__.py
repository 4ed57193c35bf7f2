"""admem: the Python SDK of admem, the memory service for LLM agents that learns from failure.

Standard library only, Python 3.9 or newer::

    import admem

    client = admem.Client("http://127.0.0.1:8080", key)
    with client.episode("book a table for 2 at Luigi on 2027-03-04", agent_id="planner") as ep:
        prompt_memory = ep.recall()["text"]
        check = ep.check("book_table", {"restaurant_id": "r-17", "date": "04/03/2027"})
        if check.warned and check.suggestion:
            ...  # make check.suggestion instead
        ep.record(("book_table", {...}), result)
        ep.close("success")
    ep.feedback()
"""

from .client import DEFAULT_URL, Client, Response, new_idempotency_key
from .episode import ALLOW, BLOCK, WARN, Blocked, Call, Check, Episode, Flagged, guarded
from .errors import (
    AdmemError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    UnavailableError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "ALLOW", "WARN", "BLOCK", "DEFAULT_URL",
    "Client", "Response", "Episode", "Call", "Check", "Flagged", "Blocked", "guarded", "new_idempotency_key",
    "AdmemError", "APIError", "TransportError", "BadRequestError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "ConflictError", "PayloadTooLargeError",
    "ValidationError", "RateLimitError", "UnavailableError", "ServerError",
]
