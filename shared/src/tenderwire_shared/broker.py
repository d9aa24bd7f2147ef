"""Each service's Kafka interface, declared once: what it consumes, what it publishes.

A service's `handlers.py` declares its `Subscription`s and `Publication`s in a
`KafkaInterface`; its `bootstrap.py` builds a `Broker`, registers a handler on each subscription
and runs them. The AsyncAPI document (`make contracts`) is made from the same declarations, so
the documented topics, groups and payloads are the ones that run.

The consumers are `tenderwire_shared.consumer.BatchConsumer`s over aiokafka rather than
faststream subscribers: a record must reach the dead-letter topic byte for byte whatever its
headers claim, and its offset may only move once its inbox row and effects have committed.
faststream serves here as the AsyncAPI generator.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from tenderwire_shared.consumer import (
    BatchConsumer,
    BatchHandler,
    Handler,
    consuming,
    consuming_batches,
)
from tenderwire_shared.settings import DEFAULT_STALL_AFTER_S
from tenderwire_shared.topics import dead_letter_topic

if TYPE_CHECKING:
    from faststream.kafka import KafkaBroker


@dataclass(frozen=True)
class Subscription:
    """One topic a service consumes, with the consumer group it consumes it in by default.

    `batched`: the handler is a `BatchHandler` that applies a whole poll in one transaction;
    otherwise a `Handler` gets each record in a transaction of its own.
    """

    topic: str
    group: str
    message: Any
    description: str
    batched: bool = False

    def documented(self) -> str:
        dlt = dead_letter_topic(self.topic, self.group)
        return (
            f"{self.description} Each record is applied once (an inbox row per event id); one"
            f" that cannot be applied goes byte for byte to {dlt}, its reason in the dlt_reason"
            " header, and the consumer carries on."
        )


@dataclass(frozen=True)
class Publication:
    """One topic a service writes, always through its transactional outbox."""

    topic: str
    message: Any
    description: str


@dataclass(frozen=True)
class KafkaInterface:
    title: str
    description: str
    subscriptions: tuple[Subscription, ...] = ()
    publications: tuple[Publication, ...] = ()
    version: str = "1.0.0"

    def documentation_broker(self) -> KafkaBroker:
        """A faststream broker holding these declarations; never connected.

        Its subscribers only validate what they receive against the declared message, so
        faststream's TestKafkaBroker can check that a topic's real records fit its declaration.
        """
        # Imported here: only contracts and their tests need faststream.
        from faststream.kafka import KafkaBroker

        # The address is what the AsyncAPI document names as the server.
        broker = KafkaBroker("kafka:9092")
        for subscription in self.subscriptions:
            broker.subscriber(
                subscription.topic,
                group_id=subscription.group,
                title=subscription.topic,
                description=subscription.documented(),
            )(_documentation_only(subscription))
        for publication in self.publications:
            broker.publisher(
                publication.topic,
                title=publication.topic,
                description=publication.description,
                schema=publication.message,
            )
        return broker

    def asyncapi(self) -> dict[str, Any]:
        """The interface as an AsyncAPI 3 document, made by faststream from these declarations."""
        from faststream.specification import AsyncAPI

        specification = AsyncAPI(
            self.documentation_broker(),
            title=self.title,
            version=self.version,
            description=self.description,
        )
        document: dict[str, Any] = specification.to_specification().to_jsonable()
        return document


def _documentation_only(subscription: Subscription) -> Callable[..., Any]:
    async def consumes(message: Any) -> None:
        """Documentation only: the running service consumes through its inbox."""

    # faststream reads the payload's schema from the handler's signature.
    consumes.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "message", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=subscription.message
            )
        ],
        return_annotation=None,
    )
    consumes.__annotations__ = {"message": subscription.message, "return": None}
    consumes.__name__ = f"on_{subscription.topic.replace('.', '_')}"
    return consumes


@dataclass(frozen=True)
class _Registered:
    subscription: Subscription
    handler: Handler | BatchHandler[Any]
    group: str
    max_records: int | None


class Broker:
    """The consumers one service runs, built in its composition root.

    `topic` maps a declared topic name to the deployed one (the settings' topic prefix);
    `stall_after_s` is how long a consumer with records waiting may finish no batch before
    its readiness check fails.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: Callable[[str], str] = str,
        stall_after_s: float = DEFAULT_STALL_AFTER_S,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._stall_after_s = stall_after_s
        self._registered: list[_Registered] = []
        self.consumers: dict[str, BatchConsumer] = {}

    def subscribe(
        self,
        subscription: Subscription,
        handler: Handler | BatchHandler[Any],
        *,
        group: str | None = None,
        max_records: int | None = None,
    ) -> None:
        """Consume `subscription` with `handler`, in `group` if the deployment names another."""
        self._registered.append(
            _Registered(subscription, handler, group or subscription.group, max_records)
        )

    @property
    def topics(self) -> list[str]:
        """The deployed names of every subscribed topic, for `ensure_topics`."""
        return [self._topic(r.subscription.topic) for r in self._registered]

    @asynccontextmanager
    async def running(self, pool: asyncpg.Pool) -> AsyncIterator[dict[str, BatchConsumer]]:
        """Every registered consumer running for the block, keyed by declared topic."""
        async with AsyncExitStack() as stack:
            for registered in self._registered:
                topic = self._topic(registered.subscription.topic)
                if registered.subscription.batched:
                    batch_handler: BatchHandler[Any] = registered.handler  # type: ignore[assignment]
                    running = consuming_batches(
                        self.bootstrap_servers,
                        topic,
                        pool=pool,
                        group=registered.group,
                        handler=batch_handler,
                        stall_after_s=self._stall_after_s,
                        **_limits(registered),
                    )
                else:
                    handler: Handler = registered.handler  # type: ignore[assignment]
                    running = consuming(
                        self.bootstrap_servers,
                        topic,
                        pool=pool,
                        group=registered.group,
                        handler=handler,
                        stall_after_s=self._stall_after_s,
                        **_limits(registered),
                    )
                self.consumers[registered.subscription.topic] = await stack.enter_async_context(
                    running
                )
            try:
                yield self.consumers
            finally:
                self.consumers = {}

    def readiness_checks(self) -> Sequence[Callable[[], str | None]]:
        """One check per running consumer, for `health_router(checks=...)`."""
        return [consumer.readiness for consumer in self.consumers.values()]


def _limits(registered: _Registered) -> dict[str, int]:
    return {} if registered.max_records is None else {"max_records": registered.max_records}
