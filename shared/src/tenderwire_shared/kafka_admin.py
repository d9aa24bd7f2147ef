"""Topic creation: explicit partitions, so consumer groups can scale out."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

MAX_MESSAGE_BYTES = "max.message.bytes"
# Set on the topic itself (rather than inherited from the broker or a default): kept when the
# topic's configuration is written back, since AlterConfigs replaces the whole set.
_DYNAMIC_TOPIC_CONFIG = 1


async def ensure_topics(
    bootstrap_servers: str, topics: list[str], *, partitions: int, replication_factor: int = 1
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(
                        name=t, num_partitions=partitions, replication_factor=replication_factor
                    )
                    for t in missing
                ]
            )
    finally:
        await admin.close()


async def ensure_room_for_copies(bootstrap_servers: str, *, source: str, copies: str) -> int:
    """Make sure `copies` takes any record `source` takes, copied with a few more headers.

    The broker measures a batch after compression; the copy may compress worse than the
    original did (gzip against the producer's zstd, or nothing left to compress) and carries
    extra headers, so `copies` gets twice `source`'s max.message.bytes. Creates `copies` with
    `source`'s partitions if it does not exist yet; only ever raises its limit. Returns it.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        source_configs = await _topic_configs(admin, source)
        needed = 2 * int(source_configs[MAX_MESSAGE_BYTES][0])
        if copies not in set(await admin.list_topics()):
            (described,) = await admin.describe_topics([source])
            partitions = described["partitions"]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name=copies,
                            num_partitions=len(partitions),
                            replication_factor=len(partitions[0]["replicas"]),
                            topic_configs={MAX_MESSAGE_BYTES: str(needed)},
                        )
                    ]
                )
                return needed
        configs = await _topic_configs(admin, copies)
        current = int(configs[MAX_MESSAGE_BYTES][0])
        if current >= needed:
            return current
        kept = {
            name: value
            for name, (value, source_kind) in configs.items()
            if source_kind == _DYNAMIC_TOPIC_CONFIG
        }
        await set_topic_configs(admin, copies, {**kept, MAX_MESSAGE_BYTES: str(needed)})
        return needed
    finally:
        await admin.close()


async def _topic_configs(admin: AIOKafkaAdminClient, topic: str) -> dict[str, tuple[str, int]]:
    """Each configuration entry of `topic`: (value, where the value comes from)."""
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    ((error_code, error_message, _type, _name, entries),) = response.resources
    if error_code:
        raise for_code(error_code)(f"describing {topic}: {error_message}")
    return {entry[0]: (entry[1], entry[3]) for entry in entries}


async def set_topic_configs(
    admin: AIOKafkaAdminClient, topic: str, configs: dict[str, str]
) -> None:
    """Replace `topic`'s own configuration with `configs` (what AlterConfigs does)."""
    (response,) = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)]
    )
    for error_code, error_message, *_ in response.resources:
        if error_code:
            raise for_code(error_code)(f"configuring {topic}: {error_message}")
