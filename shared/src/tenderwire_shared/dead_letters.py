"""Dead letters: a record no consumer can apply, copied byte for byte to `<topic>.<group>.dlt`
with why it failed in `dlt_*` headers. The consumer that gave up carries on.

`tw dlq` (the console's read side) lists, shows and replays them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from aiokafka.structs import ConsumerRecord

from tenderwire_shared.kafka_admin import ensure_room_for_copies
from tenderwire_shared.topics import dead_letter_topic

log = structlog.get_logger()

# Kafka's size fields are 32-bit. aiokafka checks a record against max_request_size before
# compressing it, the broker checks the compressed batch against the topic's max.message.bytes:
# only the broker's answer is right, so the producer's own check is taken out of the way.
_LARGEST_REQUEST = 2**31 - 1
# Bounds what one bad record can write into a header, a log line or a metric label.
REASON_CHARS = 1000
_TOPIC_ATTEMPTS = 10


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]

    @classmethod
    def from_kafka(cls, record: ConsumerRecord[bytes, bytes]) -> Record:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
        )


class DeadLetters:
    """Publishes unhandleable records, byte for byte, with the reason in headers.

    gzip keeps a large record's copy about as small as the original was on the broker; the
    topic's own limit is raised by `make_room` so that the copy always fits.
    """

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap = bootstrap_servers
        self._producer = self._new_producer()
        self._renew_before_next = False

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            enable_idempotence=True,
            compression_type="gzip",
            max_request_size=_LARGEST_REQUEST,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def make_room(self, source_topic: str, group: str) -> None:
        """Let the DLT of `source_topic` take every record the broker accepts on it."""
        topic = dead_letter_topic(source_topic, group)
        try:
            for attempt in range(1, _TOPIC_ATTEMPTS + 1):
                try:
                    limit = await ensure_room_for_copies(
                        self._bootstrap, source=source_topic, copies=topic
                    )
                    break
                except UnknownTopicOrPartitionError:
                    # A topic created a moment ago is not known to every part of the broker yet.
                    if attempt == _TOPIC_ATTEMPTS:
                        raise
                    await asyncio.sleep(0.1 * attempt)
        except KafkaError as exc:
            # Without the rights to describe or alter topics, the broker's defaults stand; a
            # copy they refuse is retried and reported on /ready, never dropped.
            log.warning("dead_letter_topic_unchecked", dead_letter_topic=topic, error=repr(exc))
            return
        log.info("dead_letter_topic_ready", dead_letter_topic=topic, max_message_bytes=limit)

    async def publish(self, record: Record, *, group: str, reason: str, error_type: str) -> str:
        topic = dead_letter_topic(record.topic, group)
        headers = [
            *record.headers,
            ("dlt_reason", bounded(reason).encode()),
            ("dlt_error_type", error_type.encode()),
            ("dlt_original_topic", record.topic.encode()),
            ("dlt_original_partition", str(record.partition).encode()),
            ("dlt_original_offset", str(record.offset).encode()),
            ("dlt_consumer_group", group.encode()),
        ]
        if self._renew_before_next:
            await self._renew()
        try:
            await self._producer.send_and_wait(
                topic, value=record.value, key=record.key, headers=headers
            )
        except Exception:
            # An idempotent producer whose batch was refused numbers every later batch out
            # of order (OutOfOrderSequenceNumber, for ever); a new one starts afresh.
            self._renew_before_next = True
            raise
        return topic

    async def _renew(self) -> None:
        with contextlib.suppress(Exception):
            await self._producer.stop()
        self._producer = self._new_producer()
        await self._producer.start()
        self._renew_before_next = False


def bounded(text: str, limit: int = REASON_CHARS) -> str:
    # Lone surrogates (from a str() of odd input) would make the encoders of headers and log
    # lines raise, so they are replaced too.
    text = text.encode("utf-8", "replace").decode()
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
