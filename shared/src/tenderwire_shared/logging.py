"""The log contract: every line from every service is one JSON object with the same keys.

docs/operations/log-contract.md describes the keys; `CONTRACT_KEYS` is the list tests check.
Libraries that log through the standard `logging` module (aiokafka, uvicorn, asyncpg) are
rendered by the same processors, so no line escapes the contract.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO, cast

import orjson
import structlog
import structlog.tracebacks
from starlette.types import ASGIApp, Receive, Scope, Send

from tenderwire_shared.masking import mask_contacts

CONTRACT_KEYS: tuple[str, ...] = (
    "timestamp",
    "level",
    "service",
    "event",
    "event_id",
    "event_type",
    "tender_id",
    "supplier_id",
    "notification_id",
    "correlation_id",
    "duration_ms",
    "error",
)

# Which service a line comes from. A context variable rather than a process-wide value, so
# several services in one process (the tests, a combined dev server) each tag their own lines.
_service: ContextVar[str | None] = ContextVar("tw_service", default=None)
_process_service = "tenderwire"


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_contacts(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def _mask(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key != "timestamp":
            event_dict[key] = _mask_value(value)
    return event_dict


def _add_service(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict.setdefault("service", _service.get() or _process_service)
    return event_dict


def _errors_and_libraries(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    record = event_dict.get("_record")
    if isinstance(record, logging.LogRecord):
        # A library's message is free text: keep it as data under one stable event name.
        event_dict["message"] = event_dict.get("event")
        event_dict["event"] = "library_log"
        event_dict["logger"] = record.name
    if event_dict.get("error") is None and "exception" in event_dict:
        exception = event_dict["exception"]
        if isinstance(exception, list) and exception:
            last = exception[-1]
            event_dict["error"] = f"{last.get('exc_type')}: {last.get('exc_value')}"
    return event_dict


def _contract_order(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    ordered: dict[str, Any] = {key: event_dict.pop(key, None) for key in CONTRACT_KEYS}
    ordered.update(event_dict)
    return ordered


# An error line is for finding the fault, not for replaying the request: no frame locals (they
# hold request bodies, secrets and whole data structures; one 500 once wrote 350 KB), a few
# frames per exception, and no string longer than this anywhere in the line.
MAX_TRACEBACK_FRAMES = 12
MAX_STRING_CHARS = 2000
_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(
        show_locals=False, max_frames=MAX_TRACEBACK_FRAMES, use_rich=False
    )
)


def _bounded_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING_CHARS else f"{value[: MAX_STRING_CHARS - 1]}…"
    if isinstance(value, Mapping):
        return {k: _bounded_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded_value(v) for v in value]
    return value


def _bounded(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _bounded_value(value)
    return event_dict


def _shared_processors() -> list[structlog.types.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service,
    ]


def _dumps(value: Any, *, default: Callable[[Any], Any] | None = None, **_: Any) -> str:
    # orjson: every service writes a line per event, and the standard library's encoder was a
    # tenth of the outbox relay's time at INFO (benchmarks/log_lines.py measures the line).
    return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()


class _CurrentStderr:
    """Whatever sys.stderr is at write time: test runners and CLI runners swap it, and a
    stream captured at configure time would be closed under later lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    service: str, *, level: str = "INFO", json: bool = True, stream: TextIO | None = None
) -> None:
    """Send structlog and standard-library logging to stderr under the log contract.

    `service` tags lines logged outside any service's context; `service_context` tags the rest.
    """
    # PrintLogger and StreamHandler only ever call write() and flush().
    stream = stream or cast(TextIO, _CurrentStderr())
    global _process_service  # noqa: PLW0603 - one process-wide fallback, set at start-up
    _process_service = service
    numeric_level = logging.getLevelName(level.upper())
    finishing: list[structlog.types.Processor] = [
        _tracebacks,
        _errors_and_libraries,
        _bounded,
        _mask,
        _contract_order,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*_shared_processors(), *finishing, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(),
            processors=[
                *finishing,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            pass_foreign_args=False,
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    # uvicorn installs its own handlers before it builds the app; send its lines through ours.
    for name in ("uvicorn", "uvicorn.error"):
        library_logger = logging.getLogger(name)
        library_logger.handlers = []
        library_logger.propagate = True
    # Our `http_request` line already says it all, with the correlation id and no query string
    # (which may hold a supplier's address), so uvicorn's access line is never written.
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    # aiokafka reports every reconnect attempt at INFO; operators need its warnings only.
    logging.getLogger("aiokafka").setLevel(max(numeric_level, logging.WARNING))


@contextmanager
def service_context(service: str) -> Iterator[None]:
    token = _service.set(service)
    try:
        yield
    finally:
        _service.reset(token)


class ServiceLogContext:
    """ASGI middleware: everything the app does, and every task it starts, logs as `service`.

    It wraps the lifespan too, so consumers and workers started there inherit the tag.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with service_context(self.service):
            await self.app(scope, receive, send)
