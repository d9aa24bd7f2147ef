"""Transitional: the consumer moved to `consumer`, dead letters to `dead_letters`."""

from tenderwire_shared.consumer import *  # noqa: F403
from tenderwire_shared.consumer import (  # noqa: F401
    _INSERT_INBOX_ROWS,
    BatchConsumer,
    BatchHandler,
    EachOnItsOwn,
    Handler,
    Outcome,
    PoisonMessageError,
    consuming,
    consuming_batches,
)
from tenderwire_shared.dead_letters import DeadLetters, Record  # noqa: F401
