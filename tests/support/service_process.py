"""Services run as separate processes in tests that must crash them for real."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from tenderwire_stack.processes import ManagedProcess


class ServiceProcess:
    """A service run as its own process, so a test can SIGKILL it like a crash would."""

    def __init__(self, app: str, run_dir: Path, port: int, env: dict[str, str]) -> None:
        self.app = app
        self.process = ManagedProcess(app.split(".", maxsplit=1)[0], run_dir)
        self.port = port
        self.env = env
        self.url = f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        self.process.start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            # A test's service may run on development secrets unless the test says otherwise.
            env={"TW_ENVIRONMENT": "test", **self.env},
        )
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"{self.url}/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert not self.process.exited_early(), self.process.log_file.read_text()[-3000:]
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.app} did not become ready")

    def kill(self) -> None:
        pid = self.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while self.process.running():
            time.sleep(0.01)
