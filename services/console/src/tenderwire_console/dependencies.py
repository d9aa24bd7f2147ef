"""What every console route needs: the operators' guard, the settings, the database pools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from pydantic import SecretStr

from tenderwire_console.settings import ConsoleSettings
from tenderwire_shared.operators import require_operator


@dataclass(frozen=True)
class Pools:
    notices: asyncpg.Pool
    matching: asyncpg.Pool
    notify: asyncpg.Pool


def _operator_token(request: Request) -> SecretStr | None:
    token: SecretStr | None = request.app.state.settings.operator_token
    return token


operators_only = Depends(require_operator(_operator_token))


def get_settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def get_pools(request: Request) -> Pools:
    pools: Pools = request.app.state.pools
    return pools


Settings = Annotated[ConsoleSettings, Depends(get_settings)]
Databases = Annotated[Pools, Depends(get_pools)]
