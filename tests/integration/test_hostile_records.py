"""Property: whatever a third party writes to a topic — random bytes, JSON of the wrong shape,
lying or odd headers, text that is not UTF-8, deep nesting, large and gzip-compressed values —
every record ends handled or on the dead-letter topic byte for byte, each dead letter is
counted and logged, and a good record sent after them is handled: the consumer keeps going.

Runs every platform consumer over real Kafka and PostgreSQL; a modest number of examples,
each a batch of records sent in one go.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tenderwire_shared.envelope import new_event_id
from tests.support.hostile_consumers import (
    HostileScene,
    Outgoing,
    assert_a_faithful_copy,
    hostile_scene,
    pretty,
)
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

# Stands for a fresh event id, filled in when the record is sent: ids drawn by Hypothesis
# would repeat across examples, and a repeated id is a duplicate, not a hostile record.
FRESH_ID = "__fresh-event-id__"
PLAIN_LIMIT = 900_000  # below the topic's max.message.bytes, for values that do not compress

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

content_types = st.sampled_from(
    [
        b"application/json",
        b"text/plain",
        b"text/plain; charset=utf-8",
        b"application/cloudevents+json",
        b"application/cloudevents+json; charset=utf-16",
        b"application/octet-stream",
        b"application/avro",
        b"\xff\xfe not a media type",
        b"",
    ]
)
header_names = st.sampled_from(
    [
        "content-type",
        "Content-Type",
        "ce_id",
        "ce_type",
        "ce_specversion",
        "event_id",
        "dlt_reason",
        "dlt_original_offset",
        "correlation_id",
        "",
    ]
) | st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
headers = st.lists(
    st.tuples(header_names, st.none() | content_types | st.binary(max_size=64)), max_size=4
).map(tuple)
keys = st.sampled_from([b"hostile", None, b""]) | st.binary(min_size=1, max_size=16)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            found += _paths(inner, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replaced(value[head], tuple(rest), new)
    return copy


def _without(value: Any, path: tuple[Any, ...]) -> Any:
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        copy[head] = _without(value[head], tuple(rest))
    else:
        del copy[head]
    return copy


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def _deep_bytes(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def envelopes_gone_wrong(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Valid JSON, close to a good event: a field missing, of the wrong shape, nested deep,
    or very long; some are still good events."""
    paths = _paths(template)
    changed = st.one_of(
        st.sampled_from(paths).map(lambda path: _without(template, path)),
        st.tuples(st.sampled_from(paths), json_values).map(
            lambda pair: _replaced(template, pair[0], pair[1])
        ),
        st.tuples(st.sampled_from([*template, "futureattr"]), json_values).map(
            lambda pair: {**template, pair[0]: pair[1]}
        ),
        st.text(max_size=300).map(lambda text: {**template, "type": text}),
        st.integers(150, 260).map(lambda depth: {**template, "data": _nested(depth)}),
        st.tuples(st.sampled_from(paths), st.integers(150, 200)).map(
            lambda pair: _replaced(template, pair[0], _nested(pair[1]))
        ),
    )
    return changed.map(lambda value: json.dumps(value).encode())


def not_utf8(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    accented = json.dumps({**template, "source": "café"}, ensure_ascii=False)
    plain = json.dumps(template).encode()
    return st.one_of(
        st.sampled_from(["utf-16", "utf-32", "latin-1"]).map(accented.encode),
        st.binary(min_size=1, max_size=4)
        .filter(_invalid_utf8)
        .map(lambda junk: plain.replace(b'"source": "', b'"source": "' + junk, 1)),
    )


def _invalid_utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return True
    return False


def _noise(seed_and_size: tuple[int, int]) -> bytes:
    seed, size = seed_and_size
    return random.Random(seed).randbytes(size)


def values(template: dict[str, Any], *, gzip: bool) -> st.SearchStrategy[bytes | None]:
    choices: list[st.SearchStrategy[bytes | None]] = [
        st.none(),
        st.binary(max_size=512),
        json_values.map(lambda value: json.dumps(value).encode()),
        envelopes_gone_wrong(template),
        envelopes_gone_wrong(template),
        not_utf8(template),
        st.sampled_from([300, 50_000]).map(_deep_bytes),
        st.sampled_from([300, 50_000]).map(lambda depth: b"[" * depth + b"]" * depth),
        st.tuples(st.integers(0, 2**32), st.integers(100_000, PLAIN_LIMIT)).map(_noise),
    ]
    if gzip:
        # Compresses to a few kB: the broker takes it, and so must the dead-letter topic.
        choices.append(
            st.integers(1_500_000, 3_000_000).map(
                lambda size: json.dumps({**template, "data": {"pad": "x" * size}}).encode()
            )
        )
    return st.one_of(choices)


def _sendable(record: Outgoing) -> Outgoing:
    # aiokafka refuses a record with neither key nor value (Kafka itself does not).
    if record.key is None and record.value is None:
        return Outgoing(None, b"hostile", record.headers)
    return record


@st.composite
def hostile_batches(draw: st.DrawFn, template: dict[str, Any]) -> tuple[bool, list[Outgoing]]:
    gzip = draw(st.booleans())
    records = draw(
        st.lists(
            st.builds(Outgoing, values(template, gzip=gzip), keys, headers).map(_sendable),
            min_size=1,
            max_size=6,
        )
    )
    return gzip, records


def with_fresh_ids(records: list[Outgoing], fresh: Callable[[], str]) -> list[Outgoing]:
    return [
        Outgoing(
            r.value.replace(FRESH_ID.encode(), fresh().encode()) if r.value else r.value,
            r.key,
            r.headers,
        )
        for r in records
    ]


@pytest_asyncio.fixture(scope="module")
async def scene(platform: Platform) -> AsyncIterator[HostileScene]:
    async with hostile_scene(platform) as running:
        yield running


CONSUMERS = ["notices commands", "matching tenders", "notify matches", "notify supplier events"]


@pytest.mark.parametrize("name", CONSUMERS)
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
async def test_every_hostile_record_ends_handled_or_dead_lettered_and_the_consumer_goes_on(
    scene: HostileScene, name: str, data: st.DataObject
) -> None:
    consumer = scene.consumers[name]
    template = json.loads(consumer.good_record().value or b"")
    template["id"] = FRESH_ID
    gzip, drawn = data.draw(hostile_batches(template), label="gzip, records")
    records = with_fresh_ids(drawn, new_event_id)

    settled = await scene.sent_and_settled(consumer, records, gzip=gzip)

    dead = 0
    for one in settled.hostile:
        letter = settled.letters.get((one.partition, one.offset))
        where = f"{consumer.name}: {pretty(one.sent.value)} with {one.sent.headers!r}"
        if letter is None:
            assert settled.inbox.holds(one), f"lost in silence: {where}"
            event("handled")
        else:
            event("dead-lettered")
            assert (one.partition, one.offset) not in settled.inbox.at, f"both: {where}"
            assert_a_faithful_copy(letter, of=one, consumer=consumer)
            dead += 1
    assert len(settled.letters) == dead
    assert settled.counted == dead
    assert len(settled.logged) == dead
    assert settled.inbox.holds(settled.good)
    assert (settled.good.partition, settled.good.offset) not in settled.letters
