"""Every test session, whichever folder it starts in: Hypothesis at the tier's strength."""

from __future__ import annotations

from hypothesis import settings

from tests.support.examples import FAST_TIER, examples

# Property tests without their own max_examples: Hypothesis's default of 100, or a fifth of it.
settings.register_profile("tier", max_examples=examples(100))
if FAST_TIER:
    settings.load_profile("tier")
