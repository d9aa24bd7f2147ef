from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import httpx
import pytest
import pytest_asyncio

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.infrastructure import free_port, kafka_server, postgres_server
from tests.support.platform import Platform


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped with SIGTERM (a CI timeout, `kill`) still tears its fixtures down, so the
    # Kafka and PostgreSQL it started do not outlive it.
    signal.signal(signal.SIGTERM, _interrupt)


# The fixtures that start a server. `make test-unit` deselects `integration` tests; one that
# starts a server without the marker would make the fast tier slow, or hang without Kafka.
SERVER_FIXTURES = frozenset({"kafka_bootstrap", "postgres_dsn", "mail_catcher", "platform"})


def pytest_runtest_setup(item: pytest.Item) -> None:
    needs = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if needs and item.get_closest_marker("integration") is None:
        pytest.fail(
            f"{item.nodeid} starts a server ({', '.join(sorted(needs))}): mark it integration"
        )


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafka_server(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as dsn:
        yield dsn


@pytest_asyncio.fixture(scope="session")
async def mail_catcher() -> AsyncIterator[MailCatcher]:
    catcher = MailCatcher(smtp_port=free_port(), http_port=free_port())
    await catcher.start()
    yield catcher
    await catcher.stop()


@pytest_asyncio.fixture(scope="module")
async def platform(
    kafka_bootstrap: str, postgres_dsn: str, mail_catcher: MailCatcher
) -> AsyncIterator[Platform]:
    running = Platform(kafka_bootstrap, postgres_dsn, mail_catcher.smtp_port)
    await running.start()
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client
