"""`tw stack`: up twice is harmless, status tells the truth, down leaves no process behind."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tenderwire_shared.local_ports import LocalPorts
from tenderwire_stack.stack import Stack
from tests.support.infrastructure import free_port

pytestmark = pytest.mark.integration


def pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] != "Z":
            alive.append(pid)
    return alive


def test_the_whole_stack_comes_up_idempotently_and_goes_down_completely(
    tmp_path: Path,
) -> None:
    ports = LocalPorts(**{name: free_port() for name in LocalPorts.__dataclass_fields__})
    stack = Stack(home=tmp_path / "state", ports=ports)
    try:
        stack.up(say=lambda _: None)
        first = {c.name: c.pid for c in stack.status()}
        stack.up(say=lambda _: None)  # a second `up` must not start anything twice
        components = stack.status()
        assert all(c.running for c in components), components
        assert {c.name: c.pid for c in components} == first
        ready = httpx.get(f"http://127.0.0.1:{ports.notices}/ready", timeout=5)
        assert ready.json() == {"status": "ready"}
        caught = httpx.get(f"http://127.0.0.1:{ports.mail_http}/api/messages", timeout=5)
        assert caught.json() == []
        pids = [c.pid for c in components if c.pid is not None]
        postmaster = (stack.postgres.data_dir / "postmaster.pid").read_text().split()[0]
        pids.append(int(postmaster))
    finally:
        stack.down(say=lambda _: None)
        stack.postgres.destroy()

    assert pids_alive(pids) == []
    assert not any(c.running for c in stack.status())
