"""`tw lag`, `tw dlq` and `tw events tail`, run as the operator runs them, against the platform."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tenderwire_console.read_models.dlq import (
    DeadLetter,
    get_dead_letter,
    list_dead_letters,
    replay,
)
from tenderwire_console.read_models.kafka_io import admin_client, existing_partitions, topic_names
from tenderwire_console.read_models.lag import consumer_lag
from tenderwire_shared import topics
from tenderwire_shared.dead_letters import DeadLetters, Record
from tenderwire_shared.envelope import Envelope, new_event_id
from tests.support.eventually import eventually
from tests.support.kafka_reader import read_until
from tests.support.matching_helpers import matched_ids, publish, register, seen_by_matching
from tests.support.notices_api import Agency, command, in_days, publish_raw
from tests.support.platform import Platform
from tests.support.tw_cli import CLI_DEADLINE_S, run_tw
from tests.support.walkthrough import a_notice, unique

pytestmark = pytest.mark.integration


def tw_env(platform: Platform) -> dict[str, str]:
    return {
        **os.environ,
        **platform.operator_env(),
        "COLUMNS": "250",  # rich's tables would wrap long names at its default of 80
    }


async def tw(platform: Platform, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `tw ARGS...`."""
    return await run_tw(*args, env=tw_env(platform), stdin=stdin)


async def tw_json(platform: Platform, *args: str) -> tuple[int, Any]:
    code, out, err = await tw(platform, *args, "--json")
    assert out.strip(), err
    return code, json.loads(out)


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def produce(
    bootstrap: str, topic: str, *records: tuple[bytes | None, bytes], partition: int | None = None
) -> None:
    """(key, value) records, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def commit_at_end(bootstrap: str, group: str, topic: str) -> None:
    """Make `group` a consumer that has read everything on `topic` so far."""
    async with admin_client(bootstrap) as admin:
        partitions = await existing_partitions(admin, [topic])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(dict(await consumer.end_offsets(partitions)))
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    async with admin_client(bootstrap) as admin:
        partitions = await existing_partitions(admin, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def notices_with_reference(platform: Platform, reference: str) -> int:
    conn = await asyncpg.connect(platform.dsns["notices"])
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM notices WHERE reference = $1", reference
        )
    finally:
        await conn.close()
    return count


async def test_lag_shows_every_partition_a_group_reads_and_what_it_has_not_committed(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    tenders = f"{platform.topic_prefix}{topics.TENDERS}"
    behind = unique("ops-lag")  # a group of our own that stops reading, unlike the services
    await commit_at_end(platform.kafka, behind, tenders)
    code, key = await platform.new_agency()
    notice = await publish(Agency(http, platform, code, key))
    await seen_by_matching(platform, notice["id"], 1)

    def services_caught_up(answer: tuple[int, Any]) -> bool:
        return all(r["lag"] == 0 for r in answer[1] if r["group"] != behind)

    exit_code, rows = await eventually(lambda: tw_json(platform, "lag"), until=services_caught_up)

    assert exit_code == 5
    assert {r["partition"] for r in rows if (r["group"], r["topic"]) == ("matching", tenders)} == {
        0,
        1,
        2,
    }
    # A group shows once it has committed under the prefix: notify has read nothing yet.
    assert {r["group"] for r in rows} >= {"matching", behind}
    assert all(r["topic"].startswith(platform.topic_prefix) for r in rows)
    mine = [r for r in rows if r["group"] == behind]
    assert sum(r["lag"] for r in mine) == 1
    assert all(r["lag"] == r["end"] - r["committed"] for r in mine)

    exit_code, out, _ = await tw(platform, "lag")
    assert exit_code == 5
    assert behind in out
    assert (await tw_json(platform, "lag", "--group", behind, "--max-lag", "1"))[0] == 0
    await commit_at_end(platform.kafka, behind, tenders)
    exit_code, rows = await tw_json(platform, "lag", "--group", behind)
    assert exit_code == 0
    assert rows
    assert all(r["group"] == behind and r["lag"] == 0 for r in rows)
    assert (await tw(platform, "lag", "--group", unique("nobody")))[0] == 1


async def test_dlq_list_and_show_find_a_poison_message_with_its_reason(
    platform: Platform,
) -> None:
    tenders = f"{platform.topic_prefix}{topics.TENDERS}"
    marker = unique("poison")
    await produce(
        platform.kafka, tenders, (marker.encode(), b"\xff\xfe not json " + marker.encode())
    )

    async def listed() -> tuple[int, list[Any]]:
        exit_code, letters = await tw_json(platform, "dlq", "list")
        return exit_code, [d for d in letters if d["key"] == marker]

    exit_code, found = await eventually(listed, until=lambda answer: bool(answer[1]))

    assert exit_code == 6
    (letter,) = found
    assert letter["topic"] == f"{tenders}.matching.dlt"
    assert letter["ref"] == f"{letter['topic']}:{letter['partition']}:{letter['offset']}"
    assert letter["consumer_group"] == "matching"
    assert letter["original_topic"] == tenders
    assert letter["reason"].startswith("invalid envelope")
    assert letter["error_type"] == "ValidationError"
    assert letter["value"] == f"\ufffd\ufffd not json {marker}"
    assert letter["event_id"] is None

    assert (await tw(platform, "dlq", "list"))[0] == 6
    exit_code, shown = await tw_json(platform, "dlq", "show", letter["ref"])
    assert (exit_code, shown) == (0, letter)
    exit_code, out, _ = await tw(platform, "dlq", "show", letter["ref"])
    assert exit_code == 0
    assert "invalid envelope" in out
    assert marker in out


async def test_bad_refs_exit_2_and_refs_to_nothing_exit_1_without_creating_topics(
    platform: Platform,
) -> None:
    prefix = platform.topic_prefix
    dlt = f"{prefix}{topics.TENDERS}.ops-refs.dlt"
    await produce(platform.kafka, dlt, (b"k", b"v"), partition=0)
    missing_topic = f"{prefix}{unique('missing')}.dlt"
    not_dlt = f"{prefix}{topics.TENDERS}:0:0"

    for ref in ("nonsense", not_dlt, f"{dlt}:x:0", f"{dlt}:0:-1", "a b.dlt:0:0", f"{dlt}:0"):
        with pytest.raises(ValueError, match="bad ref"):
            await get_dead_letter(platform.kafka, ref)
    for ref in (f"{dlt}:0:1000000", f"{dlt}:7:0", f"{missing_topic}:0:0"):
        assert await get_dead_letter(platform.kafka, ref) is None, ref

    assert (await tw(platform, "dlq", "show", f"{dlt}:x:0"))[0] == 2
    assert (await tw(platform, "dlq", "show", f"{missing_topic}:0:0"))[0] == 1
    code, _, err = await tw(platform, "dlq", "replay", not_dlt, "--yes")
    assert code == 2
    assert "is not a dead-letter topic" in err
    assert (await tw(platform, "dlq", "replay", f"{dlt}:0:1000000", "--yes"))[0] == 1
    # Written by hand, so its (missing) headers do not vouch for any topic to replay to.
    assert (await tw(platform, "dlq", "replay", f"{dlt}:0:0", "--yes"))[0] == 2

    async with admin_client(platform.kafka) as admin:
        assert missing_topic not in await topic_names(admin)


async def dead_letter_of(platform: Platform, event_id: str) -> DeadLetter | None:
    letters = await list_dead_letters(platform.kafka, topic_prefix=platform.topic_prefix)
    return next((d for d in letters if d.event_id == event_id), None)


async def test_a_replayed_command_is_applied_once_however_often_it_is_replayed(
    platform: Platform,
) -> None:
    commands = f"{platform.topic_prefix}{topics.NOTICE_COMMANDS}"
    agency = f"AG{new_event_id()[-10:].upper()}"  # not created yet: the command fails for now
    reference = unique("REPLAY-RFQ")
    value = command(
        "notice.publish",
        {"agency": agency, "notice": a_notice(reference=reference, deadline=in_days(9))},
    )
    event_id = json.loads(value)["id"]
    await publish_raw(platform, value)
    letter = await eventually(lambda: dead_letter_of(platform, event_id), until=bool)
    assert letter is not None
    assert "unknown agency" in letter.reason

    await platform.new_agency(agency)
    before = await end_offsets(platform.kafka, commands)
    assert (await tw(platform, "dlq", "replay", letter.ref, stdin=b"n\n"))[0] == 3
    assert await end_offsets(platform.kafka, commands) == before

    exit_code, first = await tw_json(platform, "dlq", "replay", letter.ref, "--yes")
    assert exit_code == 0
    assert first["to_topic"] == commands
    assert await eventually(lambda: notices_with_reference(platform, reference), until=bool) == 1

    exit_code, second = await tw_json(platform, "dlq", "replay", letter.ref, "--yes")
    assert exit_code == 0
    assert (second["partition"], second["offset"]) != (first["partition"], first["offset"])

    async def consumed_past_second() -> bool:
        rows = await consumer_lag(
            platform.kafka, topic_prefix=platform.topic_prefix, groups=["notices-commands"]
        )
        row = next(r for r in rows if (r.topic, r.partition) == (commands, second["partition"]))
        return row.committed is not None and row.committed > second["offset"]

    await eventually(consumed_past_second, until=bool)
    assert await notices_with_reference(platform, reference) == 1

    replayed = await read_until(
        platform.kafka,
        commands,
        lambda seen: len(seen) >= 2,
        keep=lambda s: s.headers.get("dlt_replayed_from") == letter.ref.encode(),
    )
    for record in replayed:
        assert record.value == value
        assert not [h for h in record.headers if h.startswith("dlt_") and h != "dlt_replayed_from"]


async def test_a_dead_letter_published_by_the_consumers_own_code_replays_to_its_topic(
    platform: Platform,
) -> None:
    # The consumers' own DeadLetters.publish writes it; the console's functions replay it.
    suppliers = f"{platform.topic_prefix}{topics.SUPPLIERS}"
    value = b'{"not": "an envelope"}'
    dead_letters = DeadLetters(platform.kafka)
    await dead_letters.start()
    try:
        dlt = await dead_letters.publish(
            Record(suppliers, 1, 41, b"key", value, (("ce_type", b"supplier.x"),)),
            group="ops-direct",
            reason="testing",
            error_type="PoisonMessageError",
        )
    finally:
        await dead_letters.stop()
    letters = await list_dead_letters(platform.kafka, topic_prefix=platform.topic_prefix)
    letter = next(d for d in letters if d.topic == dlt)
    assert (letter.original_partition, letter.original_offset) == (1, 41)
    assert letter.event_type == "supplier.x"
    assert await get_dead_letter(platform.kafka, letter.ref) == letter

    done = await replay(platform.kafka, letter.ref)

    (seen,) = await read_until(
        platform.kafka,
        suppliers,
        lambda s: len(s) >= 1,
        keep=lambda s: s.headers.get("dlt_replayed_from") == letter.ref.encode(),
    )
    assert (seen.partition, seen.offset) == (done.partition, done.offset)
    assert (seen.key, seen.value) == (b"key", value)
    assert seen.headers["ce_type"] == b"supplier.x"


async def test_events_tail_returns_exactly_the_events_the_filters_ask_for(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    await publish(agency)  # earlier on the topics, and about another tender
    supplier = await register(http, platform)
    notice = await publish(agency)
    await seen_by_matching(platform, notice["id"], 1)
    matched = await matched_ids(platform, notice["id"])
    assert supplier["id"] in matched

    exit_code, out, err = await tw(
        platform,
        *("events", "tail", "--from-beginning", "--tender", notice["id"]),
        *("--json", "--count", str(1 + len(matched))),
    )

    assert exit_code == 0, err
    events = json_lines(out)
    assert sorted(e["event_type"] for e in events) == [
        *["match.new"] * len(matched),
        "tender.published",
    ]
    assert all(e["tender_id"] == notice["id"] for e in events)
    assert {e["supplier_id"] for e in events if e["event_type"] == "match.new"} == matched

    exit_code, out, err = await tw(
        platform,
        *("events", "tail", "--from-beginning", "--type", "match.*", "--type", "x.*"),
        *("--supplier", supplier["id"], "--tender", notice["id"], "--json", "--count", "1"),
    )
    assert exit_code == 0, err
    (only,) = json_lines(out)
    assert (only["event_type"], only["tender_id"]) == ("match.new", notice["id"])
    assert only["supplier_id"] == supplier["id"]
    assert only["topic"] == f"{platform.topic_prefix}{topics.MATCHES}"


def envelope_bytes(type_: str, subject: str, data: dict[str, Any]) -> bytes:
    envelope = Envelope[dict[str, Any]](type=type_, source="tests", subject=subject, data=data)
    return envelope.model_dump_json().encode()


async def start_tail(platform: Platform, *args: str) -> asyncio.subprocess.Process:
    """`tw events tail ARGS...`, once it has fixed where it starts reading."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tenderwire_stack", "events", "tail", *args),
        env=tw_env(platform),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    line = await asyncio.wait_for(process.stderr.readline(), CLI_DEADLINE_S)
    assert b"tailing" in line, line
    return process


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """Exit code and stdout, once the tail stops by itself; it must stop cleanly."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_DEADLINE_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    assert b"Traceback" not in err, err.decode()
    assert b"Unclosed" not in err, err.decode()
    return process.returncode, out.decode()


async def test_a_live_tail_shows_garbage_as_not_an_envelope_and_keeps_going(
    platform: Platform,
) -> None:
    tenders = f"{platform.topic_prefix}{topics.TENDERS}"
    tender_id = unique("T-hostile")
    valid = envelope_bytes("tender.published", tender_id, {"tender": {"tender_id": tender_id}})
    tail = await start_tail(platform, "--topic", topics.TENDERS, "--json", "--count", "2")

    await produce(
        platform.kafka, tenders, (b"\xfe\xff", b"\x00\xff{[bold]"), (None, valid), partition=0
    )

    exit_code, out = await finish(tail)
    assert exit_code == 0
    garbage, event = json_lines(out)
    assert garbage["event_type"] == "<not an envelope>"
    assert garbage["key"] == "\ufffd\ufffd"
    assert garbage["data"]["value"] == "\x00\ufffd{[bold]"
    assert (event["event_type"], event["tender_id"]) == ("tender.published", tender_id)


async def test_a_tail_picks_up_a_topic_created_after_it_started_and_prints_garbage_safely(
    platform: Platform,
) -> None:
    late = unique("ops-late")  # no such topic yet
    tail = await start_tail(platform, "--topic", late, "--count", "2")
    hostile = b"[bold]boom[/bold] \x1b[31mred\x1b[0m \xff"
    valid = envelope_bytes("supplier.registered", "s1", {"supplier": {"supplier_id": "s1"}})

    await produce(
        platform.kafka,
        f"{platform.topic_prefix}{late}",
        (None, hostile),
        (None, valid),
        partition=0,
    )

    exit_code, out = await finish(tail)
    assert exit_code == 0
    garbage_line, event_line = out.splitlines()
    assert "<not an envelope>" in garbage_line
    assert "[bold]boom[/bold]" in garbage_line  # shown as text, not taken as markup
    assert "\x1b" not in out
    assert "supplier.registered" in event_line
    assert "supplier=s1" in event_line


async def test_ctrl_c_stops_a_tail_cleanly(platform: Platform) -> None:
    tail = await start_tail(platform)

    tail.send_signal(signal.SIGINT)

    assert (await finish(tail))[0] == 0
