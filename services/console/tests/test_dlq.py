"""`tw dlq` and the dead-letter pages without Kafka: which refs are refused before any
request, and how a dead-letter record reads (tests/integration/test_ops_kafka.py reads real
ones)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tenderwire_console.read_models.dlq import get_dead_letter, parse_ref, to_dead_letter

DLT = "tw-unit.tenders.ops-refs.dlt"
NOWHERE = "127.0.0.1:9"  # nothing listens: a ref that reached Kafka would fail differently


@pytest.mark.parametrize(
    "ref",
    ["nonsense", "tw-unit.tenders:0:0", f"{DLT}:x:0", f"{DLT}:0:-1", "a b.dlt:0:0", f"{DLT}:0"],
)
async def test_a_bad_ref_is_refused_before_kafka_is_asked(ref: str) -> None:
    with pytest.raises(ValueError, match="bad ref"):
        await get_dead_letter(NOWHERE, ref)


def test_a_ref_splits_on_its_last_two_colons() -> None:
    assert parse_ref(f"{DLT}:2:41") == (DLT, 2, 41)
    with pytest.raises(ValueError, match="is not a dead-letter topic"):
        parse_ref("tw-unit.tenders:0:0")
    with pytest.raises(ValueError, match="is not a partition number"):
        parse_ref(f"{DLT}:{2**31}:0")
    with pytest.raises(ValueError, match="is not an offset"):
        parse_ref(f"{DLT}:0:{2**63}")


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def test_a_dead_letter_reads_its_headers_and_shows_bytes_that_are_not_utf8() -> None:
    letter = to_dead_letter(
        FakeRecord(
            DLT,
            1,
            9,
            1_764_579_600_000,
            b"\xfe",
            b"\xff\xfe not json",
            [
                ("dlt_original_topic", b"tw-unit.tenders"),
                ("dlt_original_partition", b"2"),
                ("dlt_original_offset", b"x"),  # not a number: left out, not guessed
                ("dlt_consumer_group", b"matching"),
                ("dlt_reason", b"invalid envelope: not JSON"),
                ("dlt_error_type", b"ValidationError"),
            ],
        )
    )
    assert letter.ref == f"{DLT}:1:9"
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "tw-unit.tenders",
        2,
        None,
    )
    assert (letter.consumer_group, letter.error_type) == ("matching", "ValidationError")
    assert letter.reason.startswith("invalid envelope")
    assert (letter.key, letter.value) == ("\ufffd", "\ufffd\ufffd not json")
    assert (letter.event_id, letter.event_type) == (None, None)
    assert letter.timestamp.isoformat() == "2025-12-01T09:00:00+00:00"


def test_a_dead_letters_event_is_named_by_its_headers_or_else_by_its_envelope() -> None:
    envelope = b'{"id": "e-1", "type": "tender.published"}'
    by_value = to_dead_letter(FakeRecord(DLT, 0, 0, 0, None, envelope, []))
    by_old_headers = to_dead_letter(
        FakeRecord(DLT, 0, 1, 0, None, envelope, [("ce_id", b"e-2"), ("ce_type", b"supplier.x")])
    )
    by_headers = to_dead_letter(
        FakeRecord(DLT, 0, 2, 0, None, envelope, [("event_id", b"e-3"), ("event_type", b"t.y")])
    )
    nested = to_dead_letter(FakeRecord(DLT, 0, 3, 0, None, b"[" * 100_000, []))
    assert (by_value.event_id, by_value.event_type) == ("e-1", "tender.published")
    assert (by_old_headers.event_id, by_old_headers.event_type) == ("e-2", "supplier.x")
    assert (by_headers.event_id, by_headers.event_type) == ("e-3", "t.y")
    assert (nested.event_id, nested.event_type) == (None, None)
