"""The end-to-end bench's clock and counter: the sink must tie each message to its tender.

Real SMTP over loopback, under a second; run with
`uv run --frozen pytest benchmarks/test_smtp_sink.py -q` (not in the default test paths).
"""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP

from benchmarks.pipeline import SinkLog
from benchmarks.smtp_sink import RecordingHandler
from tests.support.infrastructure import free_port


def _alert(token: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Tenderwire alerts <alerts@tenderwire.localhost>"
    message["To"] = to
    # Long enough to be folded, as real subjects with a title, agency and reference are.
    message["Subject"] = (
        "[New tender] Supply and delivery of disposable isolation gowns for district health"
        f" centres (E2E0123ABCD, {token})"
    )
    message["Message-ID"] = f"<{token.lower()}@tenderwire.localhost>"
    message.set_content("Body mentioning TWB-NOTTHISONE-9 is never read.")
    return message


async def test_each_accepted_message_is_recorded_with_its_tender_token(tmp_path: Path) -> None:
    records = tmp_path / "records.tsv"
    sample = tmp_path / "sample.eml"
    port = free_port()
    with records.open("a", encoding="utf-8") as out:
        handler = RecordingHandler(out, sample)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", port)
        try:
            before = time.monotonic()
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
                await client.send_message(_alert("TWB-R1S-7", "a@bench.example"))
                await client.send_message(_alert("TWB-R1S-7", "b@bench.example"))
                await client.sendmail(
                    "x@bench.example", ["c@bench.example"], b"Subject: hi\r\n\r\n"
                )
                await client.send_message(_alert("TWB-R1S-12", "d@bench.example"))
            after = time.monotonic()
        finally:
            server.close()
    log = SinkLog(records)
    log.refresh()

    assert log.total == 4
    assert log.count(["TWB-R1S-7"]) == 2
    assert log.count(["TWB-R1S-12"]) == 1
    assert log.count([""]) == 1  # no token in the headers: counted, tied to no tender
    assert all(before <= a.at <= after for a in log.by_token["TWB-R1S-7"])
    assert b"TWB-R1S-7" in sample.read_bytes()  # the first tokened message, kept whole
