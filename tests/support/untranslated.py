"""English left in a translated text: each message's English pieces, between its placeholders,
looked for in what a reader sees. Shared by the alerts' and the portal's language tests."""

from __future__ import annotations

import re
from functools import cache

from tenderwire_shared.i18n import catalogs as babel_catalogs

_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[sdif]")


@cache
def english_fragments(source: babel_catalogs.CatalogSource, language: str) -> frozenset[str]:
    """The English pieces of every message, between its placeholders, that this language's
    translation does not itself contain (a brand, "UNSPSC", a word two languages share)."""
    catalog = babel_catalogs.read_catalog(source.po_path(language), language)
    fragments = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated = " ".join(str(s) for s in strings)
        for msgid in ids:
            for between in _PLACEHOLDER.split(str(msgid)):
                piece = between.strip(" ,.:;()[]/-")
                if re.search(r"[A-Za-z]{3}", piece) and piece not in translated:
                    fragments.add(piece)
    return frozenset(fragments)


def english_left(text: str, source: babel_catalogs.CatalogSource, language: str) -> list[str]:
    """Each English piece found whole in `text`: not inside a longer word, and whole even when
    it ends in punctuation ("Already registered?"), where a word boundary would not be."""
    return sorted(
        f
        for f in english_fragments(source, language)
        if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)
    )
