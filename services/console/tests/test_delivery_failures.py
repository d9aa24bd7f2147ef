"""The delivery-failures page's requeue lines: which groups get one, and that a pasted line
runs nothing but `tw deliveries requeue`."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from tenderwire_console.read_models.delivery_failures import (
    FailedDelivery,
    Problem,
    requeue_command,
    requeue_groups,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def failure(tender: str, supplier: str, problem: Problem, **more: Any) -> FailedDelivery:
    fields: dict[str, Any] = {
        "id": f"{tender}/{supplier}/{more.get('revision', 1)}",
        "problem": problem,
        "supplier_id": supplier,
        "tender_id": tender,
        "revision": 1,
        "kind": "new",
        "channel": "email",
        "address": "b***@example.org",
        "state": "failed" if problem is not Problem.RETRYING else "queued",
        "attempts": 3,
        "last_error": "SMTP 451",
        "digest_id": None,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        **more,
    }
    return FailedDelivery.model_validate(fields)


def test_one_line_per_tender_and_supplier_newest_first() -> None:
    rows = [
        failure("T-2", "S-1", Problem.FAILED),
        failure("T-1", "S-1", Problem.FAILED),
        failure("T-2", "S-1", Problem.FAILED, revision=2),
    ]
    groups = requeue_groups(rows)
    assert [(g.tender_id, g.supplier_id, g.failed) for g in groups] == [
        ("T-2", "S-1", 2),
        ("T-1", "S-1", 1),
    ]
    assert groups[0].command == "tw deliveries requeue --tender T-2 --supplier S-1"


def test_bounced_only_digests_and_retrying_get_no_line() -> None:
    rows = [
        failure("T-1", "S-bounced", Problem.BOUNCED),
        failure("T-1", "S-digest", Problem.FAILED, digest_id="dg-1"),
        failure("T-1", "S-retrying", Problem.RETRYING),
        # A group with a bounce and a plain failure still has something worth sending.
        failure("T-2", "S-mixed", Problem.BOUNCED),
        failure("T-2", "S-mixed", Problem.FAILED, revision=2),
    ]
    assert [(g.supplier_id, g.failed) for g in requeue_groups(rows)] == [("S-mixed", 2)]


def test_a_pasted_line_runs_nothing_else() -> None:
    hostile = "T-1'; rm -rf ~; echo '"
    line = requeue_command(hostile, "$(reboot)")
    assert shlex.split(line) == [
        "tw",
        "deliveries",
        "requeue",
        "--tender",
        hostile,
        "--supplier",
        "$(reboot)",
    ]
