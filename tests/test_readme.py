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
