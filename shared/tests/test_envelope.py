from __future__ import annotations

from tenderwire_shared.envelope import Envelope, RawEnvelope


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
