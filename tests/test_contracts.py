"""docs/contracts/ must match the code: a changed event or topic needs `make contracts`."""

from __future__ import annotations

import json

from tenderwire_stack import contracts


def test_the_committed_contracts_are_what_the_code_generates() -> None:
    stale = contracts.stale_files()
    assert stale == [], f"run `make contracts` and commit: {stale}"


def test_every_tender_event_type_has_a_schema_and_the_asyncapi_names_both_topics() -> None:
    files = {p.name: json.loads(t) for p, t in contracts.expected_files().items()}
    for event in ("published", "amended", "closed", "cancelled", "awarded"):
        schema = files[f"tender.{event}.schema.json"]
        assert schema["properties"]["type"]["const"] == f"tender.{event}"
        assert "tender" in json.dumps(schema["$defs"])
    channels = files["notices.asyncapi.json"]["channels"]
    assert set(channels) == {"notices.commands.v1", "tenders.v1"}
