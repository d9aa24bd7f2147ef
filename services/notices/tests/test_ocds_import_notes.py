"""What an import report says about a release the notice models refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenderwire_notices.ocds.plain_text import plain_line, plain_paragraphs
from tenderwire_notices.ocds.services import _explain
from tenderwire_notices.schemas import Amendment


def test_a_refused_release_is_explained_without_pydantics_prefix() -> None:
    with pytest.raises(ValidationError) as refused:
        Amendment.model_validate({"reason": "Typo", "title": "x\x00"})

    explained = _explain(refused.value)

    assert "title: must not contain control characters" in explained
    assert "Value error" not in explained


@pytest.mark.parametrize("invisible", ["\u200b\u200b", "\ufeff", "\u00ad"])
def test_text_that_shows_nothing_imports_as_empty_and_says_so(invisible: str) -> None:
    for clean in (plain_line, plain_paragraphs):
        text, notes = clean(invisible, "tender.description", max_length=100)

        assert text == ""
        assert notes == ["tender.description had no visible characters; imported as empty"]


def test_a_bidirectional_override_is_replaced_like_a_control_character() -> None:
    text, notes = plain_line("Laptops \u202eevil", "tender.title", max_length=100)

    assert text == "Laptops evil"
    assert notes == ["tender.title: control characters replaced by spaces"]
