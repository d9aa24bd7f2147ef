from __future__ import annotations

from tenderwire_shared.envelope import Envelope, RawEnvelope, supplier_id_of, tender_id_of


def test_an_envelope_round_trips_and_readers_ignore_unknown_attributes() -> None:
    sent = Envelope[dict[str, int]](
        type="tender.published", source="tenderwire/notices", subject="t1",
        correlationid="c1", data={"n": 1},
    )  # fmt: skip
    wire = sent.model_dump_json().replace('"specversion"', '"futureattr":1,"specversion"')

    received = RawEnvelope.model_validate_json(wire)

    assert received.id == sent.id
    assert received.data == {"n": 1}
    assert dict(sent.kafka_headers()) == {
        "ce_id": sent.id.encode(),
        "ce_type": b"tender.published",
        "correlation_id": b"c1",
    }


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
