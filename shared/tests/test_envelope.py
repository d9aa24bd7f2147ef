from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tenderwire_shared.envelope import Envelope, RawEnvelope, supplier_id_of, tender_id_of


def test_an_envelope_round_trips_and_readers_ignore_unknown_attributes() -> None:
    sent = Envelope[dict[str, int]](
        type="tender.published",
        source="tenderwire/notices",
        subject="t1",
        correlationid="c1",
        data={"n": 1},
    )
    wire = sent.model_dump_json().replace('"specversion"', '"futureattr":1,"specversion"')

    received = RawEnvelope.model_validate_json(wire)

    assert received.id == sent.id
    assert received.data == {"n": 1}


def test_headers_announce_structured_cloudevents_and_carry_what_tools_filter_on() -> None:
    sent = Envelope[dict[str, int]](
        type="tender.published",
        source="tenderwire/notices",
        subject="t1",
        correlationid="c1",
        data={"n": 1},
    )
    headers = sent.kafka_headers()
    assert dict(headers) == {
        "content-type": b"application/cloudevents+json; charset=utf-8",
        "event_id": sent.id.encode(),
        "event_type": b"tender.published",
        "correlation_id": b"c1",
    }
    # A ce_ header means binary mode, where the value would be the data alone.
    assert not [name for name, _ in headers if name.startswith("ce_")]


def test_unset_attributes_are_left_out_as_cloudevents_json_wants_but_null_data_is_kept() -> None:
    sent = Envelope[dict[str, None]](type="x", source="s", subject="s", data={"award": None})
    wire = json.loads(sent.model_dump_json())
    assert not {"dataschema", "correlationid", "causationid"} & set(wire)
    assert wire["data"] == {"award": None}


def test_an_event_without_an_id_is_refused_rather_than_given_one_per_delivery() -> None:
    wire = '{"type": "notice.publish", "source": "agency", "subject": "n1", "data": {}}'
    with pytest.raises(ValidationError) as refused:
        RawEnvelope.model_validate_json(wire)
    assert [error["loc"] for error in refused.value.errors()] == [("id",)]
    # The same bytes delivered twice are the same event: nothing made up differs between them.
    sent = Envelope[dict[str, int]](type="x", source="s", subject="s", data={})
    wire = sent.model_dump_json()
    assert RawEnvelope.model_validate_json(wire) == RawEnvelope.model_validate_json(wire)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("id", ""), ("id", "a\u0000b"), ("type", "x\ny"), ("subject", "s" * 257), ("source", 7)],
)
def test_attributes_that_could_not_be_stored_or_logged_are_refused_naming_the_field(
    attribute: str, value: object
) -> None:
    fields = {"id": "e1", "type": "x", "source": "s", "subject": "s", "data": {}}
    wire = json.dumps({**fields, attribute: value})
    with pytest.raises(ValidationError) as refused:
        RawEnvelope.model_validate_json(wire)
    assert [error["loc"] for error in refused.value.errors()] == [(attribute,)]
    assert not any(e["msg"].startswith("Value error") for e in refused.value.errors())


def test_event_ids_sort_by_creation_time() -> None:
    ids = [Envelope[int](type="x", source="s", subject="s", data=i).id for i in range(50)]
    assert ids == sorted(ids)


def test_the_tender_and_supplier_an_event_is_about_are_found_wherever_its_type_keeps_them() -> None:
    match = {"tender": {"tender_id": "T1"}, "recipient": {"supplier_id": "S1"}}
    assert (tender_id_of(match), supplier_id_of(match)) == ("T1", "S1")
    assert supplier_id_of({"supplier": {"supplier_id": "S2"}}) == "S2"
    assert tender_id_of({"notice_id": "N1", "agency": "UNICEF"}) == "N1"
    assert (tender_id_of({"tender": "not a dict"}), supplier_id_of({"supplier_id": 7})) == (
        None,
        None,
    )
