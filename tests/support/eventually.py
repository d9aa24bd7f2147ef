"""Waiting for eventual consistency: poll until a condition holds, with a generous deadline.

The deadline only bounds a hung test; nothing asserts how fast the platform is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool], within: float = 60.0
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {within:.0f}s; last value: {value!r}")
        await asyncio.sleep(0.1)
