"""docs/contracts/ must match the code: a changed event or topic needs `make contracts`."""

from __future__ import annotations

import json

from tenderwire_stack import contracts


def test_the_committed_contracts_are_what_the_code_generates() -> None:
    stale = contracts.stale_files()
    assert stale == [], f"run `make contracts` and commit: {stale}"


def test_every_tender_event_type_has_a_schema_and_each_asyncapi_names_its_topics() -> None:
    files = {p.name: json.loads(t) for p, t in contracts.expected_files().items()}
    for event in ("published", "amended", "closed", "cancelled", "awarded"):
        schema = files[f"tender.{event}.schema.json"]
        assert schema["properties"]["type"]["const"] == f"tender.{event}"
        assert "tender" in json.dumps(schema["$defs"])
    channels = {
        service: set(files[f"{service}.asyncapi.json"]["channels"])
        for service in ("notices", "matching", "notify")
    }
    assert channels == {
        "notices": {"notices.commands.v1", "tenders.v1"},
        "matching": {"tenders.v1", "matches.v1", "suppliers.v1", "account-messages.v1"},
        "notify": {"matches.v1", "suppliers.v1", "account-messages.v1"},
    }
