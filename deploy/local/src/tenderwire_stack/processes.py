"""Background processes the stack starts, tracked by pid file and stopped by that pid only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Children started by this process, kept so they are reaped (no zombies, no ResourceWarning)
# when they exit while we are still running.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ManagedProcess:
    """A detached child whose pid lives in `<run_dir>/<name>.pid` and output in `<name>.log`."""

    name: str
    run_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            first, _, started = self.pid_file.read_text().partition("\n")
            pid = int(first)
        except (FileNotFoundError, ValueError):
            return None
        # A recycled pid belongs to someone else's process, which started at another time:
        # never signal it.
        return pid if _alive(pid) and _start_time(pid) == started.strip() else None

    def running(self) -> bool:
        return self.pid() is not None

    def start(self, argv: list[str], *, env: dict[str, str] | None = None) -> int:
        existing = self.pid()
        if existing is not None:
            return existing
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        _children[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n{_start_time(proc.pid)}\n")
        return proc.pid

    def exited_early(self) -> bool:
        """True when a pid file exists but its process is gone (it crashed on start-up)."""
        return self.pid_file.exists() and self.pid() is None

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`. Returns True if a process was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # An exited process that its parent has not reaped yet still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat).

    Unlike the command line, it is fixed at fork and survives exec, so it identifies the
    process from the moment Popen returns.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]
