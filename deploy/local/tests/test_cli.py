"""`tw` without a platform: which file answers each command, terminal-safe text, and the
answers and exit codes of commands that need no server (a refused ref, a missing filter) or
whose query is replaced here by a fixed answer. tests/integration/ runs them for real."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tenderwire_console.read_models import trace as trace_read_model
from tenderwire_console.read_models import why as why_read_model
from tenderwire_console.read_models.event_feed import FeedEvent
from tenderwire_console.read_models.trace import TenderTrace, TraceStep
from tenderwire_console.read_models.trace_evidence import DatabaseUnreachableError
from tenderwire_console.read_models.why import Check, Explanation, Verdict
from tenderwire_shared.local_ports import LOCAL_PORTS
from tenderwire_stack.cli import app
from tenderwire_stack.cli.common import printable
from tenderwire_stack.cli.events import event_line

# Nothing listens on port 9: a command that reached Kafka or a database would fail there.
NOWHERE = {
    "TW_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "TW_NOTIFY_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/notify",
    "COLUMNS": "250",
}


def tw(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=NOWHERE)
    return result.exit_code, result.stdout, result.stderr


def rendered(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(markup, highlight=False)
    return out.getvalue()


@pytest.mark.parametrize(
    "command",
    [
        ["stack", "up"],
        ["sink", "mailcatcher"],
        ["contracts"],
        ["agencies", "add"],
        ["deliveries", "requeue"],
        ["why"],
        ["trace"],
        ["lag"],
        ["dlq", "replay"],
        ["events", "tail"],
    ],
)
def test_every_command_answers_help(command: list[str]) -> None:
    assert tw(*command, "--help")[0] == 0


def test_the_sinks_default_to_the_local_stacks_ports() -> None:
    _, out, _ = tw("sink", "mailcatcher", "--help")
    assert f"default: {LOCAL_PORTS.smtp}" in out
    assert f"default: {LOCAL_PORTS.mail_http}" in out


def test_text_from_a_record_is_escaped_for_the_terminal() -> None:
    assert printable(None) == ""
    assert printable("[bold]boom[/bold] \x1b[31mred\x07") == (
        "\\[bold]boom\\[/bold] \\x1b[31mred\\x07"
    )
    assert printable("x" * 10, limit=4) == "xxxx…"


def test_a_record_that_is_not_an_envelope_prints_as_text() -> None:
    event = FeedEvent(
        topic="p.late",
        partition=0,
        offset=0,
        timestamp=datetime(2026, 12, 1, 9, 30, 1, 250_000, tzinfo=UTC),
        key=None,
        event_id="",
        event_type="<not an envelope>",
        subject="",
        correlation_id=None,
        tender_id=None,
        supplier_id="[red]s1",
        data={"value": "[bold]boom[/bold] \x1b[31mred\x1b[0m \ufffd"},
    )
    line = rendered(event_line(event, "p."))
    assert line.startswith("09:30:01.250 late <not an envelope> supplier=[red]s1")
    assert "[bold]boom[/bold]" in line  # shown as text, not taken as markup
    assert "\x1b" not in line


def test_a_malformed_ref_exits_2_before_kafka_is_asked() -> None:
    code, _, err = tw("dlq", "show", "tw.tenders.ops-refs.dlt:x:0")
    assert code == 2
    assert "bad ref" in err
    code, _, err = tw("dlq", "replay", "tw.tenders:0:0", "--yes")
    assert code == 2
    assert "is not a dead-letter topic" in err


def test_a_requeue_with_no_filter_is_usage_and_connects_to_nothing() -> None:
    code, out, err = tw("deliveries", "requeue")
    assert (code, out) == (2, "")
    assert "name a tender, a supplier, or a time range" in err
    assert tw("deliveries", "requeue", "--since", "yesterday")[0] == 2


def a_trace() -> TenderTrace:
    return TenderTrace(
        tender_id="T-1",
        found=True,
        title="Gowns [red]urgent[/red]",
        agency="UNICEF",
        status="published",
        revision=1,
        steps=[
            TraceStep(
                at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                service="notify",
                kind="delivery",
                summary="email new alert r1 to supplier S-1: failed after 1 attempt(s)",
                state="failed",
            )
        ],
        problems=["1 delivery failed: email to supplier S-1: SMTP 550"],
        summary="published r1; 1 supplier(s) matched; 0 of 1 deliveries sent, 1 failed",
    )


def test_trace_prints_the_summary_the_steps_and_the_problems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fixed(*args: str) -> TenderTrace:
        return a_trace()

    monkeypatch.setattr(trace_read_model, "trace_tender", fixed)
    code, out, _ = tw("trace", "T-1")
    json_code, json_out, _ = tw("trace", "T-1", "--json")

    assert code == json_code == 3
    assert "Gowns [red]urgent[/red]  UNICEF · published r1  T-1" in out
    assert a_trace().summary in out
    assert "2026-12-01 09:00:00.000" in out
    assert "problem: 1 delivery failed: email to supplier S-1: SMTP 550" in out
    assert TenderTrace.model_validate_json(json_out) == a_trace()


def test_trace_with_a_database_unreachable_exits_8_with_nothing_on_stdout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(*args: str) -> TenderTrace:
        raise DatabaseUnreachableError("cannot reach the matching database: OSError: refused")

    monkeypatch.setattr(trace_read_model, "trace_tender", unreachable)
    code, out, err = tw("trace", "T-1", "--json")
    assert (code, out) == (8, "")
    assert "tw trace: cannot reach the matching database" in err


def test_why_exits_with_its_verdict_and_prints_each_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fixed(*args: str, levels: int) -> Explanation:
        return Explanation(
            Verdict.NOT_DELIVERED,
            "matched (1 alert(s)) but not delivered: email failed",
            [Check("unspsc_code", True, "within 1 level(s)"), Check("keyword", False, "no")],
            deliveries=[
                {
                    "channel": "email",
                    "kind": "new",
                    "revision": "1",
                    "state": "failed",
                    "attempts": "3",
                    "last_error": "SMTP 550",
                }
            ],
        )

    monkeypatch.setattr(why_read_model, "explain", fixed)
    code, out, _ = tw("why", "S-1", "T-1")
    assert code == 3
    assert "pass unspsc_code: within 1 level(s)" in out
    assert "FAIL keyword: no" in out
    assert "email new r1: failed after 3 attempt(s) (SMTP 550)" in out
