"""The notices service's Kafka interface, declared once (`INTERFACE`: the commands it consumes,
the tender events it publishes), and its consumer: agency commands, parsed, then the same use
cases as the HTTP API.

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
    CommandEnvelope,
    PublishCommand,
)
from tenderwire_notices.settings import COMMANDS_GROUP
from tenderwire_shared import topics
from tenderwire_shared.broker import KafkaInterface, Publication, Subscription
from tenderwire_shared.consumer import PoisonMessageError
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope
from tenderwire_shared.events.tenders import TenderEventData

COMMANDS = Subscription(
    topic=topics.NOTICE_COMMANDS,
    group=COMMANDS_GROUP,
    message=CommandEnvelope,
    description=(
        "Commands from Kafka-native agency systems: notice.publish, notice.amend,"
        " notice.cancel, notice.award. Same bodies as the HTTP API."
    ),
)

TENDERS = Publication(
    topic=topics.TENDERS,
    message=Envelope[TenderEventData],
    description=(
        "Every change of a tender: tender.published, tender.amended, tender.closed,"
        " tender.cancelled, tender.awarded. Keyed by tender id; revision goes up by one"
        " with each event."
    ),
)

INTERFACE = KafkaInterface(
    title="Tenderwire notices",
    description="Tender notices and their lifecycle, published through a transactional outbox.",
    subscriptions=(COMMANDS,),
    publications=(TENDERS,),
)


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
