"""Per-message CPU and send rate of notify's e-mail path, old (render + EmailMessage + flatten
per message) against new (prepared content, bytes filled in per recipient).

    .state/tools/bin/uv run --frozen python services/notify/tests/bench_email_bytes.py cpu
    .state/tools/bin/uv run --frozen python services/notify/tests/bench_email_bytes.py rate

`rate` sends to a minimal aiosmtpd sink in a child process that accepts and discards every
message: it costs the sender nothing to parse or store, so it flatters every sender alike and
shows what the client side can do. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib
from aiosmtplib.email import flatten_message
from pydantic import AnyHttpUrl

from tenderwire_notify.channels import Job
from tenderwire_notify.domain import content_key
from tenderwire_notify.email_messages import EmailComposer
from tenderwire_notify.mailer import Mailer
from tenderwire_notify.rendering import render
from tenderwire_notify.schemas import Subscriber, link_for
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot
from tenderwire_shared.settings import Environment
from tests.support.infrastructure import free_port

# The old path's oracle lives with the tests that compare against it.
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_email_messages import old_build_message  # type: ignore[import-not-found]

ROUNDS = 7


def a_match(revision: int = 1) -> MatchCreated:
    return MatchCreated(
        match_id="m1",
        kind=MatchKind.NEW,
        recipient=Recipient(
            supplier_id="s1",
            legal_name="Société Générale & Fils",
            email="a@example.org",
            language="fr",
            timezone="Africa/Dakar",
        ),
        tender=TenderSnapshot(
            tender_id="t1",
            revision=revision,
            agency="UNICEF",
            reference="RFQ-2026-0042",
            title="Blouses d'isolation jetables pour centres de santé",
            description="",
            language="fr",
            notice_type=NoticeType.INVITATION_TO_BID,
            unspsc_codes=("42131606", "42132203"),
            beneficiary_countries=("SEN", "MLI", "NER"),
            deadline=datetime(2027, 1, 15, 16, 0, tzinfo=UTC),
            deadline_utc_offset_minutes=60,
            published_at=datetime(2026, 11, 1, tzinfo=UTC),
            url=AnyHttpUrl("https://www.ungm.org/Public/Notice/250042"),
        ),
        matched_codes=("42131600",),
    )


def jobs(count: int, *, distinct_contents: bool) -> list[Job]:
    shared = a_match()
    out = []
    for i in range(count):
        match = a_match(revision=i + 1) if distinct_contents else shared
        out.append(
            Job(
                id=f"01JD{i:022d}",
                channel="email",
                supplier_id=f"s{i}",
                address=f"buyer-{i}@example.org",
                language="fr",
                timezone="Africa/Dakar",
                recipient_name=f"Fournisseur n°{i} & Fils",
                attempt=1,
                match=match,
                content_key=content_key(match, language="fr", timezone="Africa/Dakar"),
            )
        )
    return out


SETTINGS = NotifySettings(environment=Environment.TEST)


def old_message_bytes(job: Job) -> bytes:
    """What notify did per message before: render, link, EmailMessage, send_message's flatten."""
    assert job.match is not None
    recipient = job.match.recipient.model_copy(update={"legal_name": job.recipient_name})
    match = job.match.model_copy(update={"recipient": recipient})
    rendered = render(match, language=job.language, timezone_name=job.timezone)
    link = link_for(
        SETTINGS,
        Subscriber(
            supplier_id=job.supplier_id, channel="email", address=job.address, language=job.language
        ),
    )
    message = old_build_message(
        to=job.address, delivery_id=job.id, rendered=rendered, unsubscribe_link=link
    )
    return flatten_message(message, cte_type="8bit")


def cpu_per_message(work: Callable[[Job], object], batch: list[Job]) -> list[float]:
    """Microseconds of process CPU per message, one figure per round."""
    figures = []
    for _ in range(ROUNDS):
        start = time.process_time_ns()
        for job in batch:
            work(job)
        figures.append((time.process_time_ns() - start) / len(batch) / 1000)
    return figures


def cpu() -> None:
    now = datetime.now(UTC)
    shared, distinct = jobs(500, distinct_contents=False), jobs(500, distinct_contents=True)

    warm, cold = EmailComposer(SETTINGS), EmailComposer(SETTINGS, cache_size=1)

    def new_warm(job: Job) -> object:
        return warm.compose(job, now=now)

    def new_cold(job: Job) -> object:
        return cold.compose(job, now=now)

    composer = EmailComposer(SETTINGS)
    content = composer.content(shared[0])

    def bytes_only(job: Job) -> object:  # without link_for's signing
        return composer.message(
            content,
            to=job.address,
            message_id=job.id,
            date=now,
            unsubscribe_link="http://127.0.0.1:18003/v1/unsubscribe/x",
            supplier=job.recipient_name,
        )

    def link_only(job: Job) -> object:
        return link_for(
            SETTINGS,
            Subscriber(
                supplier_id=job.supplier_id,
                channel="email",
                address=job.address,
                language=job.language,
            ),
        )

    for label, work, batch in [
        ("old: render+build_message+flatten", old_message_bytes, shared),
        ("new: compose, content cached (same words)", new_warm, shared),
        ("new: compose, every content new (cache miss)", new_cold, distinct),
        ("new: message bytes only (no link signing)", bytes_only, shared),
        ("schemas.link_for alone", link_only, shared),
    ]:
        figures = cpu_per_message(work, batch)
        print(
            f"{label:48s} median {statistics.median(figures):8.1f} us/msg"
            f"  rounds {' '.join(f'{f:.0f}' for f in figures)}"
        )


# --- Send rate -------------------------------------------------------------------------------

SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Discard()), "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


@dataclass(frozen=True)
class Figures:
    rate: float
    """messages a second, wall clock"""
    cpu_us: float
    """the sending process's CPU per message (the sink runs in another process)"""


MESSAGES = 2000
RATE_ROUNDS = 5
CONNECTIONS = 4


async def bare_loop(port: int, payloads: list[tuple[str, bytes]]) -> Figures:
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(CONNECTIONS)]
    for client in clients:
        await client.connect()
    queue = iter(payloads)

    async def lane(client: aiosmtplib.SMTP) -> None:
        for to, data in queue:
            await client.sendmail("alerts@tenderwire.localhost", [to], data)

    start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane(c) for c in clients))
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu_start
    for client in clients:
        await client.quit()
    return Figures(len(payloads) / elapsed, cpu_used / len(payloads) * 1e6)


async def mailer_loop(port: int, payloads: list[tuple[str, bytes]]) -> Figures:
    mailer = Mailer(
        NotifySettings(environment=Environment.TEST, smtp_port=port, smtp_pool_size=CONNECTIONS)
    )
    queue = iter(payloads)

    async def lane() -> None:
        for to, data in queue:
            await mailer.send(to=to, data=data)

    await mailer.send(to=payloads[0][0], data=payloads[0][1])  # connections opened outside
    start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(CONNECTIONS)))
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu_start
    await mailer.close()
    return Figures(len(payloads) / elapsed, cpu_used / len(payloads) * 1e6)


async def composing_mailer_loop(port: int, batch: list[Job]) -> Figures:
    """Mailer.send with each message composed on the way (cache warm after the first)."""
    mailer = Mailer(
        NotifySettings(environment=Environment.TEST, smtp_port=port, smtp_pool_size=CONNECTIONS)
    )
    composer = EmailComposer(SETTINGS)
    queue = iter(batch)

    async def lane() -> None:
        for job in queue:
            email = composer.compose(job, now=datetime.now(UTC))
            await mailer.send(to=job.address, data=email.data)

    start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(CONNECTIONS)))
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu_start
    await mailer.close()
    return Figures(len(batch) / elapsed, cpu_used / len(batch) * 1e6)


async def old_path_loop(port: int, batch: list[Job]) -> Figures:
    """The old EmailChannel's work per message over the same 4 connections."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(CONNECTIONS)]
    for client in clients:
        await client.connect()
    queue = iter(batch)

    async def lane(client: aiosmtplib.SMTP) -> None:
        for job in queue:
            assert job.match is not None
            rendered = render(job.match, language=job.language, timezone_name=job.timezone)
            link = link_for(
                SETTINGS,
                Subscriber(
                    supplier_id=job.supplier_id,
                    channel="email",
                    address=job.address,
                    language=job.language,
                ),
            )
            message = old_build_message(
                to=job.address, delivery_id=job.id, rendered=rendered, unsubscribe_link=link
            )
            await client.send_message(message)

    start, cpu_start = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane(c) for c in clients))
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu_start
    for client in clients:
        await client.quit()
    return Figures(len(batch) / elapsed, cpu_used / len(batch) * 1e6)


async def rate(port: int) -> None:
    batch = jobs(MESSAGES, distinct_contents=False)
    composer = EmailComposer(SETTINGS)
    now = datetime.now(UTC)
    payloads = [(j.address, composer.compose(j, now=now).data) for j in batch]
    runs: list[tuple[str, Callable[[], Awaitable[Figures]]]] = [
        ("bare aiosmtplib sendmail(bytes), 4 conns", lambda: bare_loop(port, payloads)),
        ("Mailer.send(bytes), pool of 4", lambda: mailer_loop(port, payloads)),
        ("compose + Mailer.send, pool of 4", lambda: composing_mailer_loop(port, batch)),
        ("old: render+build_message+send_message", lambda: old_path_loop(port, batch[:500])),
    ]
    results: dict[str, list[Figures]] = {}
    for _ in range(RATE_ROUNDS):
        for label, run in runs:
            results.setdefault(label, []).append(await run())
    bare = statistics.median(f.rate for f in results[runs[0][0]])
    for label, figures in results.items():
        median = statistics.median(f.rate for f in figures)
        cpu_us = statistics.median(f.cpu_us for f in figures)
        print(
            f"{label:40s} median {median:5.0f} msg/s ({median / bare:4.2f}x bare),"
            f" {cpu_us:5.0f} us CPU/msg; rounds {' '.join(f'{f.rate:.0f}' for f in figures)}"
        )


def rate_against_a_sink() -> None:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sink.stdout is not None
        assert sink.stdout.readline().strip() == "ready"
        asyncio.run(rate(port))
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["cpu"]:
        cpu()
    elif sys.argv[1:] == ["rate"]:
        rate_against_a_sink()
    else:
        sys.exit(__doc__)
