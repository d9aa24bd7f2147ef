"""Notify's Kafka interface, declared once in `handlers`: the consumer groups in the settings
are the declared ones, `create_app` registers a consumer per declaration, real records fit the
declared messages (faststream's TestKafkaBroker), and the handlers route records without a
database."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from pydantic import ValidationError

from tenderwire_notify.bootstrap import create_app
from tenderwire_notify.handlers import (
    ACCOUNT_MESSAGES,
    INTERFACE,
    MATCHES,
    SUPPLIERS,
    MatchHandler,
    on_supplier_event,
)
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared import topics
from tenderwire_shared.broker import Broker
from tenderwire_shared.clock import ManualClock
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.suppliers import SUPPLIER_UPDATED
from tenderwire_shared.settings import Environment
from tests.support.pipeline_events import new_tender_alert

SETTINGS = NotifySettings(environment=Environment.TEST, topic_prefix="t1.")


def test_the_settings_consumer_groups_are_the_declared_ones() -> None:
    assert SETTINGS.consumer_group == MATCHES.group
    assert SETTINGS.suppliers_consumer_group == SUPPLIERS.group
    assert SETTINGS.accounts_consumer_group == ACCOUNT_MESSAGES.group
    assert {s.topic for s in INTERFACE.subscriptions} == {
        topics.MATCHES,
        topics.SUPPLIERS,
        topics.ACCOUNT_MESSAGES,
    }
    assert INTERFACE.publications == ()


def test_create_app_registers_a_consumer_per_declaration_on_the_broker_it_is_given() -> None:
    broker = Broker("kafka.invalid:9092", topic=SETTINGS.topic)

    app = create_app(SETTINGS, ManualClock(), broker=broker)

    assert app.state.broker is broker
    assert sorted(broker.topics) == [
        "t1.account-messages.v1",
        "t1.matches.v1",
        "t1.suppliers.v1",
    ]


async def test_a_real_match_record_fits_the_declared_message() -> None:
    documented = INTERFACE.documentation_broker()
    alert = new_tender_alert("S-1", "s1@example.org", "T-1")

    async with TestKafkaBroker(documented) as broker:
        await broker.publish(alert.model_dump(mode="json"), topic=MATCHES.topic)


def raw(event_type: str, data: dict[str, Any]) -> RawEnvelope:
    return RawEnvelope(id="e-1", type=event_type, source="tests", subject="s", data=data)


def test_a_match_is_parsed_and_another_event_type_ignored() -> None:
    handler = MatchHandler(ManualClock())
    alert = new_tender_alert("S-1", "s1@example.org", "T-1")

    assert handler.parse(raw("match.new", alert.data.model_dump(mode="json"))) == alert.data
    assert handler.parse(raw("match.unknown", {})) is None
    with pytest.raises(ValidationError):
        handler.parse(raw("match.new", {"kind": "new"}))


class NoDatabase:
    async def execute(self, *args: Any) -> str:
        raise AssertionError("no statement expected")

    async def fetch(self, *args: Any) -> list[Any]:
        raise AssertionError("no statement expected")


async def test_only_a_deactivation_touches_the_ledger() -> None:
    conn: Any = NoDatabase()
    recipient = new_tender_alert("S-1", "s1@example.org", "T-1").data.recipient
    updated = {
        "supplier": recipient.model_dump(mode="json"),
        "country": "SEN",
        "unspsc_codes": [],
        "active": True,
        "version": 2,
    }

    await on_supplier_event(conn, raw(SUPPLIER_UPDATED, updated))
    await MatchHandler(ManualClock()).apply(conn, [(raw("match.unknown", {}), None)])
