"""Where the local stack keeps its files: one gitignored folder, `.state/` at the repo root."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
KAFKA_BUILD_DIR = REPO_ROOT / "deploy" / "local" / "kafka"


def state_dir() -> Path:
    configured = os.environ.get("TW_STATE_DIR")
    path = Path(configured) if configured else REPO_ROOT / ".state"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
