"""How many examples a property test tries: every one in `make test`, a fifth in the fast tier.

`make test-unit` sets TW_TEST_TIER=unit, so the edit-and-rerun loop stays a matter of seconds;
`make test` (and CI) runs each property test at the strength its author chose.
"""

from __future__ import annotations

import os

FAST_TIER = os.environ.get("TW_TEST_TIER") == "unit"


def examples(thorough: int) -> int:
    return max(10, thorough // 5) if FAST_TIER else thorough
