"""Runs `tw` as an operator does: its own process and environment; exit code and both streams."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

# Only bounds a run that hangs; no assertion depends on how long a run takes.
CLI_DEADLINE_S = 120.0


async def run_tw(*args: str, env: Mapping[str, str], stdin: bytes = b"") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `tw ARGS...`; `env` is added to this process's own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tenderwire_stack",
        *args,
        # rich wraps tables at 80 columns when it has no terminal; the tests read whole lines.
        env={**os.environ, "COLUMNS": "250", **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), CLI_DEADLINE_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
