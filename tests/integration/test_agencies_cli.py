"""`tw agencies` as an administrator scripts it: JSON out, and exit codes that say what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import asyncpg
import pytest

from tenderwire_notices import agencies
from tests.infrastructure import free_port
from tests.platform import create_database

pytestmark = pytest.mark.integration


def tw(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenderwire_stack", "agencies", *args],
        env={**os.environ, "TW_NOTICES_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_add_issue_and_revoke_keys_with_json_and_exit_codes(postgres_dsn: str) -> None:
    dsn = await create_database(postgres_dsn, "notices_cli")

    added = tw(dsn, "add", "UNOPS", "--name", "UN Office for Project Services", "--json")
    assert added.returncode == 0, added.stderr
    first = json.loads(added.stdout)
    second = json.loads(tw(dsn, "issue-key", "UNOPS", "--json").stdout)
    conn = await asyncpg.connect(dsn)
    try:
        assert await agencies.agency_for_key(conn, first["api_key"]) == "UNOPS"
        assert await agencies.agency_for_key(conn, second["api_key"]) == "UNOPS"
    finally:
        await conn.close()

    duplicate = tw(dsn, "add", "UNOPS")
    assert duplicate.returncode == 1
    assert "UNOPS" in duplicate.stdout + duplicate.stderr
    assert tw(dsn, "issue-key", "NOBODY").returncode == 1

    revoked = tw(dsn, "revoke-keys", "UNOPS", "--json")
    assert json.loads(revoked.stdout) == {"agency": "UNOPS", "revoked": 2}

    unreachable = tw(f"postgresql://postgres@127.0.0.1:{free_port()}/none", "add", "X", "--json")
    assert unreachable.returncode == 8
    assert "cannot reach the notices database" in unreachable.stdout
