"""The log contract, line by line: keys, service tags, masking, library lines, errors."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog

from tenderwire_shared.logging import CONTRACT_KEYS, configure_logging, service_context
from tenderwire_shared.masking import mask_contacts


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("fallback", stream=stream)
    yield stream
    configure_logging("fallback")


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_has_the_contract_keys_first_and_a_utc_timestamp(lines: io.StringIO) -> None:
    structlog.get_logger().info("tender_closed", tender_id="T-1", revision=3)
    (line,) = parsed(lines)
    assert tuple(line)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert line["event"] == "tender_closed"
    assert line["tender_id"] == "T-1"
    assert line["revision"] == 3
    assert line["supplier_id"] is None
    assert line["level"] == "info"
    assert line["service"] == "fallback"
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)


async def test_services_sharing_a_process_each_tag_their_own_lines(lines: io.StringIO) -> None:
    async def as_service(name: str) -> None:
        with service_context(name):
            await asyncio.sleep(0)
            structlog.get_logger().info("tick")

    await asyncio.gather(as_service("notices"), as_service("notify"), as_service("matching"))
    assert sorted(line["service"] for line in parsed(lines)) == ["matching", "notices", "notify"]


def test_contact_details_are_masked_everywhere_in_a_line(lines: io.StringIO) -> None:
    structlog.get_logger().warning(
        "notification_failed",
        error="550 5.1.1 <amina.diallo@example.sn>: Recipient address rejected",
        to=["+221 77 000 11 22", "+221770001122"],
        detail={"reply_to": "bids@coop.org.pe"},
    )
    text = lines.getvalue()
    for secret in ("amina.diallo", "77 000 11", "770001122", "bids@coop"):
        assert secret not in text
    (line,) = parsed(lines)
    assert line["error"] == "550 5.1.1 <a***@example.sn>: Recipient address rejected"
    # The same mask the console shows: country code and last two digits.
    assert line["to"] == ["+221 *** ** 22", "+221 *** ** 22"]
    assert line["detail"] == {"reply_to": "b***@coop.org.pe"}


def test_masking_leaves_ids_times_and_numbers_alone() -> None:
    text = "tender 0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b at 2026-11-25T10:00:00+00:00, 42 codes"
    assert mask_contacts(text) == text


def test_library_lines_follow_the_contract_under_a_stable_event_name(lines: io.StringIO) -> None:
    with service_context("matching"):
        logging.getLogger("aiokafka.consumer").warning("Heartbeat failed for %s", "group-x")
    (line,) = parsed(lines)
    assert line["event"] == "library_log"
    assert line["logger"] == "aiokafka.consumer"
    assert line["message"] == "Heartbeat failed for group-x"
    assert line["service"] == "matching"
    assert line["level"] == "warning"
    assert set(CONTRACT_KEYS) <= set(line)


def test_an_exception_fills_error(lines: io.StringIO) -> None:
    try:
        raise ConnectionRefusedError("kafka is down")
    except ConnectionRefusedError:
        structlog.get_logger().exception("outbox_relay_failed")
    (line,) = parsed(lines)
    assert line["error"] == "ConnectionRefusedError: kafka is down"
    assert line["level"] == "error"


def test_an_error_line_has_no_frame_locals_and_stays_small(lines: io.StringIO) -> None:
    def handle(body: str) -> None:
        raise ValueError(f"cannot handle {body}")

    try:
        handle("B" * 1_000_000)
    except ValueError:
        structlog.get_logger().exception("handler_failed")
    (line,) = parsed(lines)
    text = json.dumps(line)
    assert len(text) < 16_000
    assert '"locals"' not in text
    assert line["exception"][-1]["frames"]
    assert line["error"].startswith("ValueError: cannot handle BBB")
