"""Runs an ASGI app with uvicorn as a task on the current event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            # Embedded in a larger process (a test run): SIGTERM and Ctrl-C belong to it.
            yield


class BackgroundServer:
    def __init__(self, app: ASGIApp, *, port: int, handle_signals: bool = False) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = _Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"),
            handle_signals=handle_signals,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Return once the app's lifespan start-up has finished and the port listens."""
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError(f"server on port {self.port} stopped during start-up")
            await asyncio.sleep(0.02)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        self._server.should_exit = True
        await self.wait_closed()
