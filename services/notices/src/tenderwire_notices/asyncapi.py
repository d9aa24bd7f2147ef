"""The notices service's Kafka interface as an AsyncAPI document, made by faststream.

`faststream docs gen tenderwire_notices.asyncapi:app` prints it; `make contracts` writes it
to docs/contracts/. The broker here is never connected: it only describes the topics.
"""

from __future__ import annotations

from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from tenderwire_notices.schemas import CommandEnvelope
from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope
from tenderwire_shared.events.tenders import TenderEventData

broker = KafkaBroker("kafka:9092")


@broker.subscriber(
    topics.NOTICE_COMMANDS,
    group_id="notices-commands",
    title=topics.NOTICE_COMMANDS,
    description=(
        "Commands from Kafka-native agency systems: notice.publish, notice.amend,"
        " notice.cancel, notice.award. Same bodies as the HTTP API. Invalid commands go to"
        f" {topics.dead_letter_topic(topics.NOTICE_COMMANDS, 'notices-commands')} with the"
        " reason in the dlt_reason header."
    ),
)
async def on_command(command: CommandEnvelope) -> None:
    """Documentation only: the running service consumes through its inbox."""


broker.publisher(
    topics.TENDERS,
    title=topics.TENDERS,
    description=(
        "Every change of a tender: tender.published, tender.amended, tender.closed,"
        " tender.cancelled, tender.awarded. Keyed by tender id; revision goes up by one"
        " with each event."
    ),
    schema=Envelope[TenderEventData],
)

specification = AsyncAPI(
    broker,
    title="Tenderwire notices",
    version="1.0.0",
    description="Tender notices and their lifecycle, published through a transactional outbox.",
)
app = FastStream(broker, specification=specification)


def document() -> dict[str, Any]:
    jsonable: dict[str, Any] = specification.to_specification().to_jsonable()
    return jsonable
