"""The commands consumer without Kafka or a database: what the declared interface accepts
(faststream's TestKafkaBroker over the same declarations the AsyncAPI document is made from),
and what the handler refuses before it touches the connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from faststream.kafka import TestKafkaBroker
from pydantic import ValidationError

from tenderwire_notices.handlers import COMMANDS, INTERFACE, CommandHandler
from tenderwire_notices.services import Context
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared.clock import SystemClock
from tenderwire_shared.consumer import PoisonMessageError
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope

DEADLINE = (datetime.now(UTC) + timedelta(days=10)).isoformat()
NOTICE = {
    "reference": "UNDP-SEN-1",
    "title": "Isolation gowns",
    "notice_type": "request_for_quotation",
    "unspsc_codes": ["42131606"],
    "deadline": DEADLINE,
}
COMMAND_BODIES: dict[str, dict[str, Any]] = {
    "notice.publish": {"agency": "UNDP", "notice": NOTICE},
    "notice.amend": {
        "agency": "UNDP",
        "notice_id": "T-1",
        "amendment": {"reason": "r", "title": "t"},
    },
    "notice.cancel": {"agency": "UNDP", "notice_id": "T-1", "cancellation": {"reason": "r"}},
    "notice.award": {
        "agency": "UNDP",
        "notice_id": "T-1",
        "award": {
            "supplier_name": "Sahel Medical Supplies SARL",
            "supplier_country": "SN",
            "amount": "125000.50",
            "currency": "USD",
            "date": "2026-11-20",
        },
    },
}


def record(command_type: str, data: dict[str, Any]) -> bytes:
    envelope = Envelope[dict[str, Any]](
        type=command_type, source="agency-erp", subject="s", data=data
    )
    return envelope.model_dump_json().encode()


def test_the_consumer_group_is_written_once_in_the_subscription() -> None:
    assert NoticesSettings.model_fields["commands_consumer_group"].default == COMMANDS.group
    assert [s.topic for s in INTERFACE.subscriptions] == [COMMANDS.topic]


@pytest.mark.parametrize("command_type", list(COMMAND_BODIES))
async def test_every_command_as_an_agency_system_sends_it_fits_the_declared_interface(
    command_type: str,
) -> None:
    async with TestKafkaBroker(INTERFACE.documentation_broker()) as broker:
        await broker.publish(
            record(command_type, COMMAND_BODIES[command_type]), topic=COMMANDS.topic
        )


async def test_a_command_without_its_body_does_not_fit_the_declared_interface() -> None:
    async with TestKafkaBroker(INTERFACE.documentation_broker()) as broker:
        with pytest.raises(ValidationError, match="notice_id"):
            await broker.publish(record("notice.cancel", {"agency": "UNDP"}), topic=COMMANDS.topic)


class UntouchedConnection:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was reached (conn.{name})")


UNTOUCHED = cast(Connection, UntouchedConnection())


def handler() -> CommandHandler:
    return CommandHandler(
        lambda correlation_id: Context(
            tenders_topic="tenders.v1",
            public_base_url="http://notices.test",
            clock=SystemClock(),
            correlation_id=correlation_id,
        )
    )


def raw(command_type: str, data: dict[str, Any]) -> RawEnvelope:
    return RawEnvelope.model_validate_json(record(command_type, data))


async def test_an_unknown_command_type_is_poison_naming_the_known_ones() -> None:
    with pytest.raises(
        PoisonMessageError, match=r"unknown command type 'notice\.explode'"
    ) as refused:
        await handler()(UNTOUCHED, raw("notice.explode", {"agency": "UNDP"}))

    assert "notice.publish, notice.amend, notice.cancel, notice.award" in str(refused.value)


async def test_a_command_with_a_bad_field_is_refused_naming_it_before_the_database() -> None:
    bad = {"agency": "UNDP", "notice": {**NOTICE, "title": "<img src=x onerror=alert(1)>"}}

    with pytest.raises(ValidationError, match=r"notice\.title"):
        await handler()(UNTOUCHED, raw("notice.publish", bad))
