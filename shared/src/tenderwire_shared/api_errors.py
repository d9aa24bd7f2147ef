"""The one error format every service's HTTP API answers with.

Every 4xx and 5xx body is FastAPI's own shape, used everywhere:

    {"detail": [{"loc": ["body", "contacts", 0, "email"], "msg": "...", "type": "..."}]}

- `loc` names where the problem is: ["body", ...field path], ["query", name], ["path", name],
  ["header", name]; [] when it is about no one field (a database outage, a server error).
- `msg` says what is wrong in plain words, with no "Value error, " prefix.
- `type` is a stable machine-readable code (pydantic's, or one of ours: "not_found",
  "conflict", "unauthorized", "too_large", "unavailable", "internal_error").
- The body is bounded: no error echoes the caller's input back in full.

Use cases raise `ApiError` (or a subclass of it); `install_api_errors` renders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    loc: Loc
    msg: str
    type: str = "value_error"

    def as_json(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


@dataclass
class ApiError(Exception):
    """An answer other than success, naming the field(s) at fault."""

    status_code: int
    errors: Sequence[FieldError]
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def one(
        cls,
        status_code: int,
        loc: Loc,
        msg: str,
        type: str = "value_error",
        headers: Mapping[str, str] | None = None,
    ) -> ApiError:
        return cls(status_code, [FieldError(loc, msg, type)], dict(headers or {}))

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, e.loc)) or '<root>'}: {e.msg}" for e in self.errors)

    def body(self) -> dict[str, Any]:
        return {"detail": [e.as_json() for e in self.errors]}
