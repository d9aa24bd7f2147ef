"""`python -m benchmarks.smtp_sink`: an SMTP server that accepts everything and notes when.

The end-to-end bench's relay stand-in, in its own process so its CPU is not the bench's.
Per message it writes one tab-separated line: the CLOCK_MONOTONIC time (`time.monotonic()`,
system-wide on Linux, so the bench compares it with its own clock) taken as DATA is accepted,
the bench's token found in the headers (empty if none), the first recipient, the Message-ID
and the size. Nothing is parsed beyond a regex over the header block, so the sink costs far
less per message than the senders it measures. Lines are flushed every 50 ms. The first
message carrying a token is also saved whole, as the bare-loop baseline's payload.

It prints `ready` once it listens and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
from pathlib import Path
from typing import TextIO

from aiosmtpd.smtp import SMTP, Envelope, Session

# The end-to-end bench puts this in each tender's reference, which notify's subject carries.
TOKEN = re.compile(rb"TWB-[0-9A-Za-z]+-\d+")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
HEADER_END = re.compile(rb"\r?\n\r?\n")
FLUSH_EVERY_S = 0.05


class RecordingHandler:
    def __init__(self, records: TextIO, sample_path: Path) -> None:
        self._records = records
        self._sample_path = sample_path
        self._sampled = False
        self.accepted = 0

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        headers = HEADER_END.split(raw, maxsplit=1)[0]
        token = TOKEN.search(headers)
        message_id = MESSAGE_ID.search(headers)
        if token is not None and not self._sampled:
            self._sampled = True
            self._sample_path.write_bytes(raw)
        recipient = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        self._records.write(
            f"{time.monotonic():.6f}\t{token.group().decode() if token else ''}\t{recipient}\t"
            f"{message_id.group(1).decode() if message_id else ''}\t{len(raw)}\n"
        )
        self.accepted += 1
        return "250 OK"


async def _flush_forever(records: TextIO) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        records.flush()


async def serve(port: int, records_path: Path, sample_path: Path) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    with records_path.open("a", encoding="utf-8") as records:
        handler = RecordingHandler(records, sample_path)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.localhost", ident="bench sink"), "127.0.0.1", port
        )
        flusher = asyncio.create_task(_flush_forever(records))
        print("ready", flush=True)
        try:
            await stopping.wait()
        finally:
            flusher.cancel()
            # Not wait_closed(): it would wait for the senders' pooled connections to hang up.
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.smtp_sink")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--records", type=Path, required=True, help="tab-separated, appended")
    parser.add_argument("--sample", type=Path, required=True, help="first tokened message")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.records, args.sample))


if __name__ == "__main__":
    main()
