"""Publishers' free text made into the plain text the notice API accepts.

The API refuses markup and control characters rather than cleaning them, because an agency
typing a notice can fix it. An imported release cannot be fixed by its importer, so here the
text is cleaned instead, and every change is reported.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tenderwire_shared.text import (
    CONTROL_MULTI_LINE,
    CONTROL_ONE_LINE,
    check_line,
    check_paragraphs,
    has_visible,
)

# What tenderwire_shared.text reads as the start of a tag.
_TAG_START = re.compile(r"<(?=\s*[a-zA-Z!/?])")
_BLANK_LINES = re.compile(r"\n{3,}")

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_INVISIBLE_TAGS = frozenset({"head", "script", "style", "template", "title"})


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._invisible = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible = max(0, self._invisible - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._invisible:
            self.parts.append(data)


def _without_markup(value: str) -> str:
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts)


def _tidy_paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _clean(value: str, field: str, *, multi_line: bool, max_length: int) -> tuple[str, list[str]]:
    notes: list[str] = []
    check = check_paragraphs if multi_line else check_line
    text = value
    try:
        check(text)
    except ValueError:
        if _TAG_START.search(text):
            text = _without_markup(text)
            notes.append(f"{field} contained HTML; imported as plain text")
        control = CONTROL_MULTI_LINE if multi_line else CONTROL_ONE_LINE
        if control.search(text):
            text = control.sub(" ", text)
            notes.append(f"{field}: control characters replaced by spaces")
        text = _tidy_paragraphs(text) if multi_line else " ".join(text.split())
        # Escaped markup ("&lt;b&gt;") is markup again once unescaped; keep it as text.
        if _TAG_START.search(text):
            text = _TAG_START.sub("\u2039", text)
            notes.append(f"{field}: '<' before a letter written as '\u2039' so it reads as text")
    text = text.strip()
    if text and not has_visible(text):
        # Nothing in it shows (zero-width spaces, a lone BOM): as good as not given, and
        # refused as it is, it would fail the whole release over an optional field.
        text = ""
        notes.append(f"{field} had no visible characters; imported as empty")
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "\u2026"
        notes.append(f"{field} shortened to {max_length} characters")
    return text, notes


def plain_line(value: str, field: str, *, max_length: int) -> tuple[str, list[str]]:
    """One line of plain text (a title, a name), and notes on what had to change."""
    return _clean(value, field, multi_line=False, max_length=max_length)


def plain_paragraphs(value: str, field: str, *, max_length: int) -> tuple[str, list[str]]:
    """Plain text that may have line breaks (a description, a reason), and notes."""
    return _clean(value, field, multi_line=True, max_length=max_length)
