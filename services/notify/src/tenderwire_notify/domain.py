"""Notify's pure rules: which alert a supplier gets when several wait, when to try again,
and when a relay counts as down. No I/O here; the worker and the handlers call these."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import FieldChange

# --- Folding -------------------------------------------------------------------------------


def fold(
    earlier: Sequence[MatchCreated], later: MatchCreated, *, never_told: bool = False
) -> MatchCreated | None:
    """What to send instead of `earlier` (unsent alerts about one tender to one supplier on
    one channel, oldest first) and `later`, the newest of them. None means send nothing.

    `never_told`: a new-tender alert was meant for this supplier but nothing about the tender
    has left for it (an earlier fold came to nothing), so it still counts as never told.

    - Nothing waits before it and the supplier was told of the tender: `later` as it is.
    - The supplier was never told of the tender (a new-tender alert waits, or `never_told`):
      - a cancellation: nothing at all;
      - an amendment the supplier no longer matches: nothing at all;
      - otherwise: a new-tender alert for the tender as it now stands.
    - Amendments wait (the supplier knows the tender):
      - a cancellation: the cancellation alone;
      - an amendment: one amendment, each field from its first "before" to its last "after";
        a field changed and changed back is left out.
    """
    if never_told or any(m.kind is MatchKind.NEW for m in earlier):
        if later.kind is MatchKind.CANCELLED:
            return None
        if later.kind is MatchKind.AMENDED and not later.still_matches:
            return None
        return later.model_copy(
            update={"kind": MatchKind.NEW, "changes": (), "reason": None, "still_matches": True}
        )
    if not earlier:
        return later
    if later.kind is MatchKind.AMENDED:
        return later.model_copy(update={"changes": merged_changes([*earlier, later])})
    return later


def merged_changes(alerts: Sequence[MatchCreated]) -> tuple[FieldChange, ...]:
    first_before: dict[str, object] = {}
    last_after: dict[str, object] = {}
    for alert in alerts:
        for change in alert.changes:
            first_before.setdefault(change.field, change.before)
            last_after[change.field] = change.after
    return tuple(
        FieldChange(field=name, before=before, after=last_after[name])
        for name, before in first_before.items()
        if before != last_after[name]
    )


def content_key(match: MatchCreated, *, language: str, timezone: str) -> str:
    """Alerts with the same key read exactly the same, apart from the recipient's address,
    name, Message-ID and unsubscribe link.

    A tender revision never changes once published, so (tender id, revision) stands for the
    whole snapshot and only what differs between alerts about it needs hashing.
    """
    changes = (
        "[" + ",".join(c.model_dump_json() for c in match.changes) + "]" if match.changes else ""
    )
    words = (
        f"{match.tender.tender_id}|{match.tender.revision}|{match.kind.value}"
        f"|{int(match.still_matches)}|{match.reason or ''}|{changes}|{language}|{timezone}"
    )
    return hashlib.blake2b(words.encode(), digest_size=16).hexdigest()


# --- Retries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, until a horizon counted from `retry_since`."""

    base_delay: timedelta
    max_delay: timedelta
    horizon: timedelta

    def next_attempt(
        self,
        attempts: int,
        *,
        now: datetime,
        retry_since: datetime,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after `attempts` failed tries, or None to give up."""
        give_up_at = retry_since + self.horizon
        if now >= give_up_at:
            return None
        exponent = min(max(attempts - 1, 0), 30)
        delay = min(self.base_delay * 2**exponent, self.max_delay)
        delay *= float((rng or random).uniform(0.5, 1.5))
        # The last try falls on the horizon itself rather than being skipped.
        retry_at: datetime = min(now + delay, give_up_at)
        return retry_at


# --- Circuit breaker -----------------------------------------------------------------------


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Per relay or provider. `threshold` relay failures in a row open it; while open nothing
    is sent; after the cool-down one probe goes through (half-open): success closes it, failure
    opens it again for twice as long, up to `max_cooldown`."""

    name: str
    threshold: int = 3
    cooldown: timedelta = timedelta(seconds=1)
    max_cooldown: timedelta = timedelta(seconds=60)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_until: datetime | None = None
    _current_cooldown: timedelta | None = field(default=None, repr=False)
    _probe_out: bool = field(default=False, repr=False)
    _probe_since: datetime | None = field(default=None, repr=False)

    def allows(self, now: datetime) -> bool:
        """May a send start now? In half-open state only one probe is let through."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            assert self.opened_until is not None
            if now < self.opened_until:
                return False
            self.state = BreakerState.HALF_OPEN
            self._probe_out = False
        if self._probe_out and not self._probe_lost(now):
            return False
        self._probe_out = True
        self._probe_since = now
        return True

    def _probe_lost(self, now: datetime) -> bool:
        # A probe whose result never came back (its task died) must not pause the channel for
        # good: after a cool-down another probe may go.
        since = self._probe_since
        return since is not None and now - since >= (self._current_cooldown or self.cooldown)

    def is_open(self, now: datetime) -> bool:
        """True while sends would be refused (open and cooling down, or a probe is out)."""
        if self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN:
            assert self.opened_until is not None
            return now < self.opened_until
        return self._probe_out and not self._probe_lost(now)

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_until = None
        self._current_cooldown = None
        self._probe_out = False

    def failed(self, now: datetime) -> bool:
        """Record a relay failure; True when this failure opened the circuit."""
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            cooldown = min((self._current_cooldown or self.cooldown) * 2, self.max_cooldown)
        elif self.state is BreakerState.CLOSED and self.failures >= self.threshold:
            cooldown = self.cooldown
        else:
            return False
        self.state = BreakerState.OPEN
        self._current_cooldown = cooldown
        self.opened_until = now + cooldown
        self._probe_out = False
        return True
