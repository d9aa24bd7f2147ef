"""The SQL's states are the domain's: every state word the repository's SQL writes or compares
is a `DeliveryState`, and the SMS status callback ranks rows by `domain.SMS_RANKS` itself."""

from __future__ import annotations

import inspect
import re

from tenderwire_notify import repository
from tenderwire_notify.domain import FINAL_RANK, SMS_RANKS, DeliveryState

SOURCE = inspect.getsource(repository)


def test_every_state_the_sql_names_is_a_delivery_state() -> None:
    compared = re.findall(r"state\s*(?:=|<>)\s*'(\w+)'", SOURCE)
    listed = [
        word
        for group in re.findall(r"state\s+IN\s+\(([^)]*)\)", SOURCE)
        for word in re.findall(r"'(\w+)'", group)
    ]
    written = re.findall(r"THEN '(\w+)' ELSE '(\w+)' END", SOURCE)
    set_to = re.findall(r"SET state = '(\w+)'", SOURCE)
    words = {*compared, *listed, *set_to, *(w for pair in written for w in pair)}

    assert len(words) >= 6, words  # the patterns still find the SQL
    assert words <= {s.value for s in DeliveryState}, words - {s.value for s in DeliveryState}


def test_the_sms_rank_case_is_built_from_the_one_table() -> None:
    whens = dict(re.findall(r"WHEN '(\w+)' THEN (\d+)", repository.SMS_RANK_SQL))

    assert {state: int(rank) for state, rank in whens.items()} == {
        s.value: r for s, r in SMS_RANKS.items()
    }
    assert repository.SMS_RANK_SQL.endswith(f"ELSE {FINAL_RANK} END")
    assert repository.SMS_RANK_SQL in repository._APPLY_SMS_STATUS
