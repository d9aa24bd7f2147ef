"""Agency commands arriving over Kafka: parsed, then the same use cases as the HTTP API.

Each message is an envelope whose `type` names the command and whose `data` holds the same
body the HTTP call takes, plus the agency (`schemas.COMMAND_MODELS`). The topic's ACLs decide
who may write to it. The envelope id makes a command idempotent: the inbox drops a second
delivery. A command without an id is dead-lettered before it gets here (RawEnvelope requires
one).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from tenderwire_notices import repository, services
from tenderwire_notices.domain import NoticeError
from tenderwire_notices.schemas import (
    COMMAND_MODELS,
    AmendCommand,
    AwardCommand,
    CancelCommand,
    Command,
    PublishCommand,
)
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.inbox import PoisonMessageError


class CommandHandler:
    def __init__(self, context: Callable[[str | None], services.Context]) -> None:
        self._context = context

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        model = COMMAND_MODELS.get(event.type)
        if model is None:
            known = ", ".join(COMMAND_MODELS)
            raise PoisonMessageError(
                f"unknown command type {event.type!r}; expected one of {known}"
            )
        try:
            command = model.model_validate(event.data)
        except ValidationError:
            raise  # the consumer dead-letters it, naming each bad field
        if not await repository.agency_exists(conn, command.agency):
            raise PoisonMessageError(f"unknown agency {command.agency!r}")
        ctx = self._context(event.correlationid or event.id)
        try:
            await self._apply(conn, ctx, command)
        except NoticeError as exc:
            raise PoisonMessageError(f"{type(exc).__name__}: {exc}") from exc

    async def _apply(self, conn: Connection, ctx: services.Context, command: Command) -> None:
        match command:
            case PublishCommand():
                await services.publish(conn, ctx, command.agency, command.notice)
            case AmendCommand():
                await services.amend(
                    conn, ctx, command.agency, command.notice_id, command.amendment
                )
            case CancelCommand():
                reason = command.cancellation.reason
                await services.cancel(conn, ctx, command.agency, command.notice_id, reason)
            case AwardCommand():
                await services.award(conn, ctx, command.agency, command.notice_id, command.award)
