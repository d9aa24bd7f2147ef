"""The operators' tools find the databases under the console's names or the services' own."""

from __future__ import annotations

import pytest

from tenderwire_console.settings import ConsoleSettings


def test_reads_the_services_own_database_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_MATCHING_DATABASE_URL", "postgresql://m/matching")
    monkeypatch.setenv("TW_MATCHING_CODE_HIERARCHY_LEVELS", "2")
    settings = ConsoleSettings()
    assert settings.matching_database_url == "postgresql://m/matching"
    assert settings.code_hierarchy_levels == 2


def test_the_consoles_own_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_NOTIFY_DATABASE_URL", "postgresql://service/notify")
    monkeypatch.setenv("TW_CONSOLE_NOTIFY_DATABASE_URL", "postgresql://replica/notify")
    assert ConsoleSettings().notify_database_url == "postgresql://replica/notify"
