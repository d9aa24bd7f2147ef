"""The README is the newcomer's way in: it must show the two set-up commands, and every
`make` target and `tw` command it mentions must exist."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tenderwire_stack.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_shows_the_two_set_up_commands() -> None:
    assert "make run" in README
    assert "make test" in README
    assert len(README.splitlines()) > 100


def test_every_make_target_it_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", README))
    assert named
    assert named <= targets, named - targets


def test_every_tw_command_it_names_exists() -> None:
    runner = CliRunner()
    named = re.findall(
        r"`tw ((?:stack|agencies|dlq|events|deliveries) [a-z-]+|why|trace|lag)\b", README
    )
    assert {"why", "trace", "lag", "dlq list", "dlq replay", "events tail"} <= set(named)
    for command in sorted(set(named)):
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, (command, result.output)


def _layout_rows() -> list[tuple[str, str, str]]:
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    table = section.split("Where to look first:", 1)[1].split("```", 1)[0]
    rows = []
    for line in table.splitlines()[3:]:
        if not line.startswith("| "):
            continue
        found = re.match(r"\| (.+?) \| `([\w/.<>-]+\.py|[\w/]+/)`(?: \((.+)\))?", line)
        assert found, f"a row the test cannot read: {line}"
        for symbol in re.findall(r"`(\w+)`", found[3] or "") or [""]:
            rows.append((found[1], found[2], symbol))
    return rows


def test_the_layout_table_names_each_behaviours_file_and_the_file_holds_it() -> None:
    rows = _layout_rows()
    asked = {
        "550",
        "UNSPSC ±1",
        "amendment diff",
        "dead letters are written",
        "SMS failover",
        "digest hour",
        "Idempotency-Key replay",
        "local ports",
    }
    assert {a for a in asked for behaviour, _, _ in rows if a in behaviour} == asked
    for behaviour, pattern, symbol in rows:
        if pattern.endswith("/X.py"):
            # One file per `tw` command.
            for command in ("stack", "agencies", "deliveries", "why", "trace", "lag", "dlq"):
                assert (ROOT / pattern.replace("X", command)).is_file(), command
        elif pattern.endswith("/") and not symbol:
            assert (ROOT / pattern).is_dir(), (behaviour, pattern)
        elif pattern.endswith("/"):
            assert (ROOT / pattern / f"{symbol}.py").is_file(), (behaviour, pattern, symbol)
        else:
            services = ("notices", "matching", "notify") if "<name>" in pattern else ("",)
            for path in (pattern.replace("<name>", service) for service in services):
                source = (ROOT / path).read_text(encoding="utf-8")
                defined = rf"^(class|def|async def) {symbol}\b|^{symbol}\b.* ="
                assert not symbol or re.search(defined, source, re.M), (behaviour, path, symbol)


def test_no_test_module_imports_another_test_module() -> None:
    """Shared helpers live in tests/support/, so deleting one test never breaks another."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "services", "shared", "deploy", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts
        and re.search(r"^from (?:[\w.]+\.)?tests\S*\.test_\w+ import", path.read_text(), re.M)
    ]
    assert offenders == []
