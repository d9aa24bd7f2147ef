"""Agency commands arriving over Kafka: the same use cases as the HTTP API.

Each message is an envelope whose `type` names the command and whose `data` holds the same
body the HTTP call takes, plus the agency. The topic's ACLs decide who may write to it.
The envelope id makes a command idempotent: the inbox drops a second delivery. A command
without an id is dead-lettered before it gets here (RawEnvelope requires one).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenderwire_notices import agencies, lifecycle
from tenderwire_notices.domain import NoticeError
from tenderwire_notices.schemas import Amendment, AwardDecision, Cancellation, NoticeDraft
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.inbox import PoisonMessageError

PUBLISH = "notice.publish"
AMEND = "notice.amend"
CANCEL = "notice.cancel"
AWARD = "notice.award"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1, max_length=20)


class PublishCommand(_Command):
    notice: NoticeDraft


class AmendCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    amendment: Amendment


class CancelCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    cancellation: Cancellation


class AwardCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    award: AwardDecision


COMMAND_MODELS: dict[str, type[_Command]] = {
    PUBLISH: PublishCommand,
    AMEND: AmendCommand,
    CANCEL: CancelCommand,
    AWARD: AwardCommand,
}


class CommandHandler:
    def __init__(self, context: Callable[[str | None], lifecycle.Context]) -> None:
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
        if not await agencies.exists(conn, command.agency):
            raise PoisonMessageError(f"unknown agency {command.agency!r}")
        ctx = self._context(event.correlationid or event.id)
        try:
            await self._apply(conn, ctx, command)
        except NoticeError as exc:
            raise PoisonMessageError(f"{type(exc).__name__}: {exc}") from exc

    async def _apply(self, conn: Connection, ctx: lifecycle.Context, command: _Command) -> None:
        match command:
            case PublishCommand():
                await lifecycle.publish(conn, ctx, command.agency, command.notice)
            case AmendCommand():
                await lifecycle.amend(
                    conn, ctx, command.agency, command.notice_id, command.amendment
                )
            case CancelCommand():
                reason = command.cancellation.reason
                await lifecycle.cancel(conn, ctx, command.agency, command.notice_id, reason)
            case AwardCommand():
                await lifecycle.award(conn, ctx, command.agency, command.notice_id, command.award)
