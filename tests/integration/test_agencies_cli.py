"""`tw agencies` as an administrator scripts it: JSON out, and exit codes that say what failed."""

from __future__ import annotations

import json

import asyncpg
import pytest

from tenderwire_notices import services as notices_services
from tests.support.infrastructure import free_port
from tests.support.platform import create_database
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration


async def tw(database_url: str, *args: str) -> tuple[int, str, str]:
    return await run_tw("agencies", *args, env={"TW_NOTICES_DATABASE_URL": database_url})


async def test_add_issue_and_revoke_keys_with_json_and_exit_codes(postgres_dsn: str) -> None:
    dsn = await create_database(postgres_dsn, "notices_cli")

    code, out, err = await tw(
        dsn, "add", "UNOPS", "--name", "UN Office for Project Services", "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    second = json.loads((await tw(dsn, "issue-key", "UNOPS", "--json"))[1])
    conn = await asyncpg.connect(dsn)
    try:
        assert await notices_services.agency_for_key(conn, first["api_key"]) == "UNOPS"
        assert await notices_services.agency_for_key(conn, second["api_key"]) == "UNOPS"
    finally:
        await conn.close()

    code, out, err = await tw(dsn, "add", "UNOPS")
    assert code == 1
    assert "UNOPS" in out + err
    assert (await tw(dsn, "issue-key", "NOBODY"))[0] == 1

    _, out, _ = await tw(dsn, "revoke-keys", "UNOPS", "--json")
    assert json.loads(out) == {"agency": "UNOPS", "revoked": 2}

    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    code, out, _ = await tw(nowhere, "add", "X", "--json")
    assert code == 8
    assert "cannot reach the notices database" in out
