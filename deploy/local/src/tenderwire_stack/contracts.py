"""docs/contracts/: the JSON Schema of every event and each service's AsyncAPI document.

Generated from the code; `make contracts` rewrites them and a test fails when they are stale.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenderwire_matching.handlers import INTERFACE as MATCHING
from tenderwire_notices.handlers import INTERFACE as NOTICES
from tenderwire_notify.handlers import INTERFACE as NOTIFY
from tenderwire_shared.contracts import all_event_json_schemas
from tenderwire_stack.paths import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "docs" / "contracts"

ASYNCAPI: dict[str, Callable[[], dict[str, Any]]] = {
    "notices": NOTICES.asyncapi,
    "matching": MATCHING.asyncapi,
    "notify": NOTIFY.asyncapi,
}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    files = {
        CONTRACTS_DIR / "events" / f"{event_type}.schema.json": render(schema)
        for event_type, schema in all_event_json_schemas().items()
    }
    for service, build in ASYNCAPI.items():
        files[CONTRACTS_DIR / "asyncapi" / f"{service}.asyncapi.json"] = render(build())
    return files


def stale_files() -> list[Path]:
    return [
        path
        for path, text in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write() -> list[Path]:
    written = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
