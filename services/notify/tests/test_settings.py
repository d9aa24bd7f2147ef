"""Notify refuses to start on a development unsubscribe secret unless the environment says it
is local or a test: whoever knows the secret can unsubscribe any address."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from tenderwire_notify.bootstrap import create_app
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsProvider
from tenderwire_shared.settings import Environment

STRONG_SECRET = SecretStr("x" * 32)


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("TW_ENVIRONMENT", "TW_NOTIFY_UNSUBSCRIBE_SECRET", "TW_OPERATOR_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_an_environment_notify_will_not_build_on_the_default_secret(
    production_env: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError) as refused:
        create_app()

    message = str(refused.value)
    assert "TW_NOTIFY_UNSUBSCRIBE_SECRET is still its development default" in message
    assert "TW_ENVIRONMENT" in message


@pytest.mark.integration  # starts uvicorn in a process of its own
def test_uvicorn_exits_with_the_reason_instead_of_serving(
    production_env: pytest.MonkeyPatch,
) -> None:
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tenderwire_notify.bootstrap:create_app",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert started.returncode != 0
    assert "TW_NOTIFY_UNSUBSCRIBE_SECRET" in started.stderr


@pytest.mark.parametrize("secret", ["local-development-only", "short-but-not-default"])
def test_production_refuses_the_default_or_a_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="TW_NOTIFY_UNSUBSCRIBE_SECRET"):
        NotifySettings(environment=Environment.PRODUCTION, unsubscribe_secret=SecretStr(secret))


def test_production_takes_a_long_secret() -> None:
    settings = NotifySettings(environment=Environment.PRODUCTION, unsubscribe_secret=STRONG_SECRET)

    assert settings.unsubscribe_secret == STRONG_SECRET


@pytest.mark.parametrize("environment", ["local", "test"])
def test_local_and_test_run_on_the_default(
    environment: str, production_env: pytest.MonkeyPatch
) -> None:
    production_env.setenv("TW_ENVIRONMENT", environment)

    assert NotifySettings().environment == Environment(environment)


def test_an_unknown_environment_is_refused_by_name(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("TW_ENVIRONMENT", "staging")

    with pytest.raises(ValidationError, match="environment"):
        NotifySettings(unsubscribe_secret=STRONG_SECRET)


def _provider(name: str, token: str = "a-token") -> SmsProvider:  # noqa: S107
    return SmsProvider(
        name=name,
        base_url="https://sms.example.org",
        account_sid="AC1",
        auth_token=SecretStr(token),
        sender="TENDERS",
    )


def test_sms_providers_need_distinct_names_and_a_token() -> None:
    # A callback names its provider to have its signature checked with that provider's token,
    # and an empty token would let anyone sign.
    with pytest.raises(ValidationError, match="unique"):
        NotifySettings(
            environment=Environment.TEST, sms_providers=[_provider("one"), _provider("one")]
        )
    with pytest.raises(ValidationError, match="auth_token"):
        _provider("one", token="")


def test_the_suppliers_group_follows_a_renamed_matches_group_unless_set_itself() -> None:
    def groups(**fields: str) -> tuple[str, str]:
        settings = NotifySettings(environment=Environment.TEST, **fields)  # type: ignore[arg-type]
        return settings.consumer_group, settings.suppliers_consumer_group

    assert groups() == ("notify", "notify-suppliers")
    assert groups(consumer_group="notify-eu") == ("notify-eu", "notify-eu-suppliers")
    assert groups(consumer_group="a", suppliers_consumer_group="b") == ("a", "b")
