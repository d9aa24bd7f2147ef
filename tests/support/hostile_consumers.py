"""The platform's Kafka consumers as a third-party producer meets them: each one's topic, a
record it must handle, and witnesses of what became of every record sent to it (handled
through the inbox, or on the dead-letter topic byte for byte)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from structlog.testing import capture_logs

from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope, RawEnvelope, new_event_id
from tenderwire_shared.events.matches import Recipient
from tenderwire_shared.events.suppliers import SUPPLIER_DEACTIVATED, SupplierChanged
from tenderwire_shared.events.tenders import (
    TENDER_PUBLISHED,
    TenderPublished,
)
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.topics import dead_letter_topic
from tests.support.eventually import eventually
from tests.support.kafka_reader import group_lag
from tests.support.notices_api import in_days
from tests.support.pipeline_events import a_tender, new_tender_alert
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice, unique

# Enough for a few MB of compressible text; the broker judges the compressed batch.
LARGEST_TEST_REQUEST = 16 * 1024 * 1024

Headers = tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True)
class Outgoing:
    value: bytes | None
    key: bytes | None = b"k"
    headers: Headers = ()


@dataclass(frozen=True)
class Landed:
    sent: Outgoing
    partition: int
    offset: int


@dataclass(frozen=True)
class Letter:
    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> bytes | None:
        # Ours come last: a record that brought its own dlt_* header does not hide them.
        return next((v for k, v in reversed(self.headers) if k == name), None)

    @property
    def original(self) -> tuple[int, int]:
        return int(self.header("dlt_original_partition") or -1), int(
            self.header("dlt_original_offset") or -1
        )


@dataclass
class ConsumerUnderTest:
    name: str
    topic: str
    group: str
    database: str
    service_url: str
    good_record: Callable[[], Outgoing]

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.topic, self.group)


def _structured(event: Envelope[Any]) -> Outgoing:
    return Outgoing(
        event.model_dump_json().encode(),
        key=event.subject.encode(),
        headers=tuple(event.kafka_headers()),
    )


def consumers_of(platform: Platform, agency: str) -> list[ConsumerUnderTest]:
    """Every consumer the platform runs, each with a fresh good record on demand."""
    assert platform.notices is not None
    assert platform.matching is not None
    assert platform.notify is not None
    prefix = platform.topic_prefix
    notify_group = platform.notify_settings().consumer_group

    def good_command() -> Outgoing:
        notice = a_notice(reference=unique("HOSTILE"), deadline=in_days(9))
        return _structured(
            Envelope[dict[str, Any]](
                type="notice.publish",
                source="agency-erp",
                subject="s",
                data={"agency": agency, "notice": notice},
            )
        )

    def good_tender() -> Outgoing:
        tender_id = f"HOSTILE-{new_event_id()[-12:]}"
        return _structured(
            Envelope[TenderPublished](
                type=TENDER_PUBLISHED,
                source="tests",
                subject=tender_id,
                data=TenderPublished(tender=a_tender(tender_id)),
            )
        )

    def good_match() -> Outgoing:
        supplier_id = f"S-{new_event_id()[-12:]}"
        return _structured(
            new_tender_alert(supplier_id, f"{supplier_id}@example.org", f"T-{supplier_id}")
        )

    def good_supplier_event() -> Outgoing:
        supplier_id = f"S-{new_event_id()[-12:]}"
        recipient = Recipient(
            supplier_id=supplier_id,
            legal_name="Gone Ltd",
            email=f"{supplier_id}@example.org",
            language="en",
            timezone="UTC",
        )
        return _structured(
            Envelope[SupplierChanged](
                type=SUPPLIER_DEACTIVATED,
                source="tests",
                subject=supplier_id,
                data=SupplierChanged(
                    supplier=recipient,
                    country="SEN",
                    unspsc_codes=("40141700",),
                    active=False,
                    version=2,
                ),
            )
        )

    return [
        ConsumerUnderTest(
            "notices commands",
            f"{prefix}{topics.NOTICE_COMMANDS}",
            NoticesSettings.model_fields["commands_consumer_group"].default,
            "notices",
            platform.notices.url,
            good_command,
        ),
        ConsumerUnderTest(
            "matching tenders",
            f"{prefix}{topics.TENDERS}",
            platform.matching_settings().consumer_group,
            "matching",
            platform.matching.url,
            good_tender,
        ),
        ConsumerUnderTest(
            "notify matches",
            f"{prefix}{topics.MATCHES}",
            notify_group,
            "notify",
            platform.notify.url,
            good_match,
        ),
        ConsumerUnderTest(
            "notify supplier events",
            f"{prefix}{topics.SUPPLIERS}",
            platform.notify_settings().suppliers_consumer_group,
            "notify",
            platform.notify.url,
            good_supplier_event,
        ),
    ]


@asynccontextmanager
async def producers(kafka: str) -> AsyncIterator[dict[bool, AIOKafkaProducer]]:
    """{compressed?: producer}: a plain one, and one that gzips as a careful integrator would."""
    plain = AIOKafkaProducer(bootstrap_servers=kafka, max_request_size=LARGEST_TEST_REQUEST)
    gzip = AIOKafkaProducer(
        bootstrap_servers=kafka, compression_type="gzip", max_request_size=LARGEST_TEST_REQUEST
    )
    await plain.start()
    await gzip.start()
    try:
        yield {False: plain, True: gzip}
    finally:
        await plain.stop()
        await gzip.stop()


async def send(producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing]) -> list[Landed]:
    """All of `records` in one go: those with the same key land in this order."""
    futures = [
        await producer.send(topic, value=r.value, key=r.key, headers=list(r.headers) or None)
        for r in records
    ]
    metadata = await asyncio.gather(*futures)
    return [Landed(r, m.partition, m.offset) for r, m in zip(records, metadata, strict=True)]


async def committed(platform: Platform, consumer: ConsumerUnderTest) -> None:
    """Until the group's offsets are past every record on the topic."""
    await eventually(
        lambda: group_lag(platform.kafka, consumer.group, consumer.topic),
        until=lambda lag: lag[0] == 0,
    )


@dataclass
class DeadLetterReader:
    """Reads a dead-letter topic from the start, a little more at each call."""

    kafka: str
    topic: str
    _consumer: AIOKafkaConsumer | None = None
    _partitions: list[TopicPartition] = field(default_factory=list)

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka, enable_auto_commit=False, fetch_max_bytes=64 << 20
        )
        await self._consumer.start()
        # As a broker that creates topics on first use would, had nothing been dead-lettered yet.
        await ensure_topics(self.kafka, [self.topic], partitions=3)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        self._partitions = sorted(
            TopicPartition(self.topic, p["partition"]) for p in described["partitions"]
        )
        assert self._partitions, described
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def new_letters(self) -> list[Letter]:
        """Every letter written since the last call (call it after the group committed)."""
        assert self._consumer is not None
        ends = await self._consumer.end_offsets(self._partitions)
        letters: list[Letter] = []
        while [tp for tp, end in ends.items() if await self._position(tp) < end]:
            batch = await self._consumer.getmany(timeout_ms=500)
            for records in batch.values():
                letters += [Letter(r.key, r.value, tuple(r.headers)) for r in records]
        return letters

    async def _position(self, tp: TopicPartition) -> int:
        assert self._consumer is not None
        return int(await self._consumer.position(tp))


async def dead_letters_counted(consumer: ConsumerUnderTest) -> float:
    """tw_dead_letters_total for the consumer's group, as its service's /metrics says."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"{consumer.service_url}/metrics")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (
                sample.name == "tw_dead_letters_total"
                and sample.labels.get("consumer") == consumer.group
            ):
                return float(sample.value)
    return 0.0


def event_id_of(value: bytes | None) -> str | None:
    try:
        return RawEnvelope.model_validate_json(value or b"").id
    except ValidationError:
        return None


@dataclass(frozen=True)
class Inbox:
    """What the consumer's inbox holds of some records: by position, and by event id."""

    at: set[tuple[int, int]]
    ids: set[str]

    def holds(self, one: Landed) -> bool:
        """Handled: applied at its own offset, or dropped as a copy of an event applied."""
        return (one.partition, one.offset) in self.at or event_id_of(one.sent.value) in self.ids


async def inbox_of(
    platform: Platform, consumer: ConsumerUnderTest, landed: Sequence[Landed]
) -> Inbox:
    conn = await asyncpg.connect(platform.dsns[consumer.database])
    try:
        rows = await conn.fetch(
            'SELECT event_id, partition, "offset" FROM inbox WHERE consumer = $1'
            ' AND ((topic = $2 AND "offset" = ANY($3::bigint[])) OR event_id = ANY($4::text[]))',
            consumer.group,
            consumer.topic,
            [one.offset for one in landed],
            [i for one in landed if (i := event_id_of(one.sent.value)) is not None],
        )
    finally:
        await conn.close()
    return Inbox(
        {(row["partition"], row["offset"]) for row in rows if row["offset"] is not None},
        {row["event_id"] for row in rows},
    )


@dataclass(frozen=True)
class Settled:
    hostile: list[Landed]
    good: Landed
    letters: dict[tuple[int, int], Letter]
    counted: float
    logged: list[MutableMapping[str, Any]]
    inbox: Inbox


@dataclass(repr=False)
class HostileScene:
    """A third-party producer's view of the platform's consumers, kept for a whole module."""

    platform: Platform
    consumers: dict[str, ConsumerUnderTest]
    outlet: dict[bool, AIOKafkaProducer]
    readers: dict[str, DeadLetterReader]

    async def sent_and_settled(
        self, consumer: ConsumerUnderTest, records: Sequence[Outgoing], *, gzip: bool = False
    ) -> Settled:
        """Sends `records`, then a good record, and waits for the group to commit them all:
        what was sent, the dead letters that came of it (by original position), the change of
        tw_dead_letters_total, the event_dead_lettered lines, and what the inbox holds."""
        reader = self.readers[consumer.name]
        await reader.new_letters()
        counted_before = await dead_letters_counted(consumer)
        with capture_logs() as logs:
            *hostile, good = await send(
                self.outlet[gzip], consumer.topic, [*records, consumer.good_record()]
            )
            await committed(self.platform, consumer)
        letters = {letter.original: letter for letter in await reader.new_letters()}
        return Settled(
            hostile,
            good,
            letters,
            await dead_letters_counted(consumer) - counted_before,
            [
                line
                for line in logs
                if line["event"] == "event_dead_lettered" and line["consumer"] == consumer.group
            ],
            await inbox_of(self.platform, consumer, [*hostile, good]),
        )


@asynccontextmanager
async def hostile_scene(platform: Platform) -> AsyncIterator[HostileScene]:
    agency, _ = await platform.new_agency()
    consumers = {c.name: c for c in consumers_of(platform, agency)}
    readers = {
        name: DeadLetterReader(platform.kafka, c.dead_letter_topic) for name, c in consumers.items()
    }
    async with producers(platform.kafka) as outlet:
        for reader in readers.values():
            await reader.start()
        try:
            yield HostileScene(platform, consumers, outlet, readers)
        finally:
            for reader in readers.values():
                await reader.stop()


def assert_a_faithful_copy(letter: Letter, of: Landed, consumer: ConsumerUnderTest) -> None:
    """The dead letter is the record byte for byte, with the reason and where it came from."""
    sent = of.sent
    assert letter.value == sent.value
    assert letter.key == sent.key
    assert letter.headers[: len(sent.headers)] == sent.headers
    assert letter.header("dlt_original_topic") == consumer.topic.encode()
    assert letter.original == (of.partition, of.offset)
    assert letter.header("dlt_consumer_group") == consumer.group.encode()
    assert letter.header("dlt_reason")
    assert letter.header("dlt_error_type")


def pretty(value: bytes | None, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(value or b'')} bytes)"


def json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()
