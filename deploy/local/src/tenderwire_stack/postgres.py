"""The project's own PostgreSQL cluster, made with initdb and run with pg_ctl."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVICE_DATABASES = ("notices", "matching", "notify")


class PostgresStartError(RuntimeError):
    pass


def _bin_dir() -> Path:
    configured = os.environ.get("TW_PG_BINDIR")
    if configured:
        return Path(configured)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for version in ("17", "16", "15", "14"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    raise PostgresStartError("PostgreSQL server binaries (initdb, pg_ctl) not found")


def _as_root() -> bool:
    return os.geteuid() == 0


def _traversable_by_postgres(path: Path) -> bool:
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-w", str(path)], check=False
    )
    return result.returncode == 0


@dataclass(frozen=True)
class PostgresCluster:
    home: Path
    port: int
    # On, PostgreSQL's own durable defaults: what benchmarks compare against production.
    durable: bool = False

    @property
    def data_dir(self) -> Path:
        return self._cluster_root() / "data"

    @property
    def log_file(self) -> Path:
        return self._cluster_root() / "postgres.log"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _cluster_root(self) -> Path:
        if not _as_root():
            return self.home
        # initdb refuses to run as root, so the cluster belongs to the `postgres` user. When
        # that user cannot reach the state folder (a private home), the files go under /tmp.
        marker = self.home / "cluster-root"
        if marker.exists():
            return Path(marker.read_text().strip())
        if not self.home.exists():
            # Nothing made yet: report where it would be, and create nothing just to look.
            return self.home
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.home, user="postgres")
        if _traversable_by_postgres(self.home):
            root = self.home
        else:
            digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
            root = Path("/tmp") / f"tenderwire-pg-{digest}"  # noqa: S108
            root.mkdir(mode=0o700, exist_ok=True)
            shutil.chown(root, user="postgres")
        marker.write_text(str(root))
        return root

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / argv[0]), *argv[1:]]
        if _as_root():
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", check=False).returncode == 0

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                *("-D", str(self.data_dir)),
                *("-U", "postgres"),
                *("-A", "trust"),
                *("-E", "UTF8"),
                "--locale=C.UTF-8",
                "--no-sync",
            )
        if self.running():
            return
        # fsync and synchronous_commit are off because this cluster is throwaway local
        # state; a production server keeps both on.
        durability = (
            ""
            if self.durable
            else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        options = (
            f"-p {self.port} -k {self._cluster_root()} -c listen_addresses=127.0.0.1"
            f"{durability} -c max_connections=200"
        )
        result = self._run(
            "pg_ctl",
            *("-D", str(self.data_dir)),
            *("-l", str(self.log_file)),
            *("-w", "-t", "60"),
            *("-o", options),
            "start",
            check=False,
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"pg_ctl start failed: {result.stderr.strip()}; see {self.log_file}"
            )

    def create_databases(self, names: tuple[str, ...] = SERVICE_DATABASES) -> None:
        for name in names:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"unsafe database name {name!r}")
            exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608
            if not exists:
                self.psql(f'CREATE DATABASE "{name}"')

    def psql(self, sql: str, database: str = "postgres") -> str:
        psql = shutil.which("psql") or str(_bin_dir() / "psql")
        result = subprocess.run(
            [psql, "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-d", self.dsn(database), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    def destroy(self) -> None:
        """Delete the cluster's files; it must be stopped first."""
        root = self._cluster_root()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    def stop(self) -> bool:
        if not self.running():
            return False
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        return True
