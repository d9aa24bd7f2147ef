"""The shared environment setting, and the operators' token it guards."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from tenderwire_shared.settings import Environment, ServiceSettings


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TW_ENVIRONMENT", raising=False)
    monkeypatch.delenv("TW_OPERATOR_TOKEN", raising=False)


def test_a_forgotten_environment_is_production() -> None:
    assert ServiceSettings().environment is Environment.PRODUCTION


def test_production_refuses_a_short_operator_token() -> None:
    # docker-compose.yml's fallback, as a deployment that copied it would have it.
    with pytest.raises(ValidationError, match="TW_OPERATOR_TOKEN is shorter than 32"):
        ServiceSettings(operator_token=SecretStr("change-me-local-only"))


def test_production_takes_a_long_token_or_none() -> None:
    assert ServiceSettings(operator_token=SecretStr("t" * 32)).operator_token is not None
    assert ServiceSettings().operator_token is None  # closed, not weak


def test_a_local_stack_may_use_a_short_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_ENVIRONMENT", "local")

    assert ServiceSettings(operator_token=SecretStr("change-me-local-only")).operator_token
