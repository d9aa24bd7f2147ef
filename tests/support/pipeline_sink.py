"""An SMTP sink for the pipeline's fault tests: it can refuse a recipient's first attempts, hold
messages before accepting them, and go down (refusing connections, dropping open ones) and
come back on the same port.

The mail catcher's own faults (`tempfail-once`, `bounce`) are too coarse for these tests: they
need several refusals per recipient, acceptance that waits for the test, and a real outage.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, Envelope, Session

from tenderwire_stack.mailcatcher import CaughtMessage, parse

# `refuse3-...@example.org` gets 451 for its first three RCPT attempts, then is accepted.
_REFUSE_FIRST = re.compile(r"^refuse(\d+)-")
# `slow-...@example.org`: the first message to it waits for `release_slow()` before it is
# accepted, so a test can make later revisions arrive while it is still on its way.
_SLOW_FIRST = "slow-"
# `datafail-...@example.org`: every message to it gets 451 at the end of DATA, as a content
# filter's soft reject would: the relay is fine, this one message is not welcome yet.
_DATA_FAIL = "datafail-"


@dataclass(frozen=True)
class Accepted:
    to: str
    message_id: str
    subject: str

    @property
    def ledger_id(self) -> str:
        """Notify's Message-ID is `<ledger row id@domain>`."""
        return self.message_id.strip("<>").split("@", 1)[0]


class FaultySink:
    def __init__(self, port: int, *, jitter_s: float = 0.0) -> None:
        self.port = port
        self.jitter_s = jitter_s
        """Each DATA waits up to this long, so concurrent sends finish out of start order."""
        self.slowed: set[str] = set()
        self.slow_held = 0
        self.slow_gate = asyncio.Event()
        self.slow_gate.set()
        self.accepted: list[Accepted] = []
        self.refusals: Counter[str] = Counter()
        self.held = 0
        """Messages whose DATA has arrived and waits for `allow()` or `release()`."""
        self._allowance: int | None = None  # None: nothing is held
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            smtp = _TrackedSMTP(self, _Handler(self), hostname="faulty-sink.localhost")
            self._sessions.add(smtp)
            return smtp

        self._server = await loop.create_server(session, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Down for real: the port refuses connections and open ones are dropped."""
        if self._server is not None:
            self._server.close()
            for smtp in list(self._sessions):
                if isinstance(smtp.transport, asyncio.Transport):
                    smtp.transport.abort()
            await self._server.wait_closed()
            self._server = None

    def hold(self) -> None:
        """From now on, messages wait at the end of DATA until `allow()` or `release()`."""
        self._allowance = 0

    async def allow(self, count: int) -> None:
        """Let `count` more messages through, and hold the ones after them."""
        async with self._changed:
            self._allowance = (self._allowance or 0) + count
            self._changed.notify_all()

    async def release(self) -> None:
        """Hold nothing any more."""
        async with self._changed:
            self._allowance = None
            self._changed.notify_all()

    async def wait_for_turn(self) -> None:
        async with self._changed:
            if self._allowance == 0:
                self.held += 1
                try:
                    await self._changed.wait_for(lambda: self._allowance != 0)
                finally:
                    self.held -= 1
            if self._allowance is not None:
                self._allowance -= 1

    def to(self, address: str) -> list[Accepted]:
        return [m for m in self.accepted if m.to == address.lower()]

    def copies(self, prefix: str) -> Counter[str]:
        """How many messages each recipient whose address starts with `prefix` got."""
        return Counter(m.to for m in self.accepted if m.to.startswith(prefix.lower()))

    def forget(self, smtp: SMTP) -> None:
        self._sessions.discard(smtp)


class _TrackedSMTP(SMTP):
    def __init__(self, sink: FaultySink, handler: _Handler, *, hostname: str) -> None:
        super().__init__(handler, hostname=hostname)
        self._sink = sink

    def connection_lost(self, error: Exception | None) -> None:
        self._sink.forget(self)
        super().connection_lost(error)


class _Handler:
    def __init__(self, sink: FaultySink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        wanted = _REFUSE_FIRST.match(address.lower())
        if wanted and self._sink.refusals[address.lower()] < int(wanted.group(1)):
            self._sink.refusals[address.lower()] += 1
            return "451 4.3.0 Mailbox busy, try again (asked for by the address)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        caught: CaughtMessage = parse(
            envelope.original_content or b"", str(envelope.mail_from), list(envelope.rcpt_tos)
        )
        if any(to.lower().startswith(_DATA_FAIL) for to in caught.recipients):
            return "451 4.7.1 Try again later (asked for by the address)"
        first_slow = [
            to
            for to in caught.recipients
            if to.lower().startswith(_SLOW_FIRST) and to.lower() not in self._sink.slowed
        ]
        if first_slow:
            self._sink.slowed.update(to.lower() for to in first_slow)
            self._sink.slow_held += 1
            try:
                await self._sink.slow_gate.wait()
            finally:
                self._sink.slow_held -= 1
        if self._sink.jitter_s:
            await asyncio.sleep(random.uniform(0, self._sink.jitter_s))
        await self._sink.wait_for_turn()
        for to in caught.recipients:
            self._sink.accepted.append(Accepted(to.lower(), caught.message_id, caught.subject))
        return "250 Message accepted for delivery"
