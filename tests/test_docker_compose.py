"""docker-compose.yml must describe the same platform that `make run` starts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tenderwire_console.settings import ConsoleSettings
from tenderwire_matching.settings import MatchingSettings
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.local_ports import LOCAL_PORTS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_cli_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not compose_cli_available(), reason="the docker CLI here has no compose plugin")
def test_docker_compose_parses_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("service", "settings", "package"),
    [
        ("notices", NoticesSettings, "tenderwire-notices"),
        ("matching", MatchingSettings, "tenderwire-matching"),
        ("notify", NotifySettings, "tenderwire-notify"),
    ],
)
def test_each_service_is_built_from_its_package_and_configured_through_real_settings(
    service: str, settings: type[NoticesSettings | MatchingSettings | NotifySettings], package: str
) -> None:
    spec = compose()["services"][service]
    build = spec["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert build["args"]["PACKAGE"] == package
    assert (ROOT / package.replace("tenderwire-", "services/") / "pyproject.toml").is_file()

    environment = {k: str(v) for k, v in spec["environment"].items()}
    assert set(environment) <= env_names(settings), "a variable the service never reads"
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment.items():
            env.setenv(name, value)
        parsed = settings()
    assert parsed.kafka_bootstrap_servers == "kafka:9092"
    assert parsed.database_url.endswith(f"@postgres:5432/{service}")


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(c) for c in field.validation_alias.choices if str(c).startswith("TW_"))
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def test_postgres_gets_one_database_per_service() -> None:
    init = (ROOT / "deploy/docker/postgres-init.sql").read_text()
    for database in ("notices", "matching", "notify"):
        assert f"CREATE DATABASE {database};" in init
    mounts = compose()["services"]["postgres"]["volumes"]
    assert any("postgres-init.sql" in mount for mount in mounts)


def test_kafka_runs_in_kraft_mode() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env


def test_the_console_reads_each_services_database_and_has_the_operators_token() -> None:
    spec = compose()["services"]["console"]
    assert spec["build"]["args"]["PACKAGE"] == "tenderwire-console"
    assert (ROOT / "services/console/pyproject.toml").is_file()
    environment = {k: str(v) for k, v in spec["environment"].items()}
    assert set(environment) <= env_names(ConsoleSettings), "a variable the console never reads"
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment.items():
            env.setenv(name, value)
        parsed = ConsoleSettings()
    for service in ("notices", "matching", "notify"):
        assert getattr(parsed, f"{service}_database_url").endswith(f"@postgres:5432/{service}")
    assert parsed.operator_token is not None


def test_docker_compose_publishes_the_local_ports() -> None:
    """Ports live in tenderwire_shared.local_ports; compose, being YAML, repeats them."""
    expected = {
        "kafka": [LOCAL_PORTS.kafka],
        "postgres": [LOCAL_PORTS.postgres],
        "mailcatcher": [LOCAL_PORTS.mail_http, LOCAL_PORTS.smtp],
        "notices": [LOCAL_PORTS.notices],
        "matching": [LOCAL_PORTS.matching],
        "notify": [LOCAL_PORTS.notify],
        "console": [LOCAL_PORTS.console],
    }
    published = {
        name: [int(mapping.split(":")[1]) for mapping in service.get("ports", [])]
        for name, service in compose()["services"].items()
        if service.get("ports")
    }
    assert published == expected
    notices_env = compose()["services"]["notices"]["environment"]
    assert notices_env["TW_NOTICES_PUBLIC_BASE_URL"] == LOCAL_PORTS.url(LOCAL_PORTS.notices)
