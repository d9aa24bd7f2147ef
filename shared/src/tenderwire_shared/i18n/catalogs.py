"""Building and checking a package's catalogs with Babel: extract the messages from its code
and templates, merge them into each language's `.po`, compile the `.mo`, and say what is
wrong with them (`tw catalogs update` and `tw catalogs check`; a test runs the check).

A catalog is wrong when a message has no translation, or a fuzzy one; when a translation's
placeholders are not the message's; when an Arabic, Russian, ... plural lacks a form; when it
holds a message the code no longer has, or lacks one it has (stale); or when its `.mo` is
not what the `.po` compiles to.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from tenderwire_shared.i18n.languages import LANGUAGES, PLURAL_FORMS, locale
from tenderwire_shared.i18n.templating import HTML_EXTENSIONS, JINJA_OPTIONS
from tenderwire_shared.i18n.translations import DOMAIN, KEYWORDS, SOURCE_LANGUAGE

PROJECT = "Tenderwire"
COPYRIGHT = "Tenderwire contributors"
BUGS = "the project's issue tracker"
# A fixed creation date: re-extracting unchanged sources must not change a file.
_EPOCH = datetime(2026, 12, 1, tzinfo=UTC)

_TEMPLATE_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "newstyle_gettext": "true",
    **{name: str(value).lower() for name, value in JINJA_OPTIONS.items()},
}
_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[sdif]")
# A plural form may say its number in words ("تنبيهان", two alerts) rather than in figures.
_COUNT = "%(num)d"


@dataclass(frozen=True)
class CatalogSource:
    """A package folder whose messages make one catalog per language."""

    package_dir: Path

    @property
    def locale_dir(self) -> Path:
        return self.package_dir / "locale"

    def po_path(self, language: str) -> Path:
        return self.locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"

    def mo_path(self, language: str) -> Path:
        return self.po_path(language).with_suffix(".mo")

    @property
    def translated_languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE)


def _method_map() -> list[tuple[str, str]]:
    # A package's templates folder, or a part's own (the portal's `portal/templates`).
    templates = [
        (f"{folder}templates/**.{ext}", "jinja2")
        for folder in ("", "**/")
        for ext in (*HTML_EXTENSIONS, "txt", "j2")
    ]
    return [*templates, ("**.py", "python")]


def extract(source: CatalogSource) -> Catalog:
    """Every message the package's code and templates use, with where and the translators'
    comments (`# Translators:` in Python, `{# Translators: #}` in templates)."""
    template = Catalog(
        project=PROJECT,
        copyright_holder=COPYRIGHT,
        creation_date=_EPOCH,
        fuzzy=False,
    )
    options = {
        pattern: dict(_TEMPLATE_OPTIONS) for pattern, method in _method_map() if method == "jinja2"
    }
    found = extract_from_dir(
        source.package_dir,
        method_map=_method_map(),
        options_map=options,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def _new_catalog(language: str) -> Catalog:
    name = locale(language).english_name
    catalog = Catalog(
        locale=language,
        domain=DOMAIN,
        header_comment=(
            f"# {name} translations of what Tenderwire's suppliers read.\n"
            f"# Copyright (C) {_EPOCH.year} {COPYRIGHT}\n"
            "# This file is distributed under the same licence as the Tenderwire project.\n"
            "# Written with `tw catalogs update`; see the README's Languages section."
        ),
        project=PROJECT,
        version="1",
        copyright_holder=COPYRIGHT,
        msgid_bugs_address=BUGS,
        last_translator=COPYRIGHT,
        language_team=f"{name} ({COPYRIGHT})",
        creation_date=_EPOCH,
        revision_date=_EPOCH,
        fuzzy=False,
    )
    _cldr_plurals(catalog, language)
    return catalog


def _cldr_plurals(catalog: Catalog, language: str) -> None:
    # Babel takes Plural-Forms from its own table (an older Arabic rule, Brazilian
    # Portuguese); the catalog's header and checks must follow CLDR's (languages.PLURAL_FORMS).
    count, expression = PLURAL_FORMS[language]
    setattr(catalog, "_num_plurals", count)  # noqa: B010 - Babel has no public setter
    setattr(catalog, "_plural_expr", expression)  # noqa: B010


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=language, domain=DOMAIN)
    _cldr_plurals(catalog, language)
    return catalog


def write_catalog(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=100,
        omit_header=False,
        sort_output=False,
        include_previous=False,
        include_lineno=False,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != buffer.getvalue():
        path.write_bytes(buffer.getvalue())


def compiled(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update(source: CatalogSource, languages: Iterable[str] | None = None) -> list[Path]:
    """Extract, merge into each language's catalog (new messages untranslated, removed ones
    dropped), and compile. Returns the catalogs it went through."""
    template = extract(source)
    written = []
    wanted = source.translated_languages if languages is None else tuple(languages)
    for language in wanted:
        po = source.po_path(language)
        catalog = read_catalog(po, language) if po.exists() else _new_catalog(language)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        _cldr_plurals(catalog, language)
        catalog.revision_date = _EPOCH
        write_catalog(catalog, po)
        mo = source.mo_path(language)
        data = compiled(read_catalog(po, language))
        if not mo.exists() or mo.read_bytes() != data:
            mo.write_bytes(data)
        written += [po, mo]
    return written


def _key(message: Message) -> tuple[str, str | None]:
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return str(msgid), message.context


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text.replace("%%", "")))


def _problems_with(message: Message, language: str) -> Iterator[str]:
    where = f"{language}: {_key(message)[0]!r}" + (
        f" (context {message.context!r})" if message.context else ""
    )
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    if message.fuzzy:
        yield f"{where} is marked fuzzy"
    if isinstance(message.id, tuple) and len(strings) != PLURAL_FORMS[language][0]:
        forms = PLURAL_FORMS[language][0]
        yield f"{where} has {len(strings)} plural forms where {language} has {forms}"
    expected = set().union(*(_placeholders(str(i)) for i in ids))
    for index, string in enumerate(strings):
        if not string:
            yield f"{where} has no translation" + (
                f" for plural form {index}" if len(strings) > 1 else ""
            )
            continue
        got = _placeholders(str(string))
        optional = {_COUNT} if len(strings) > 1 else set()
        if not (expected - optional <= got <= expected):
            yield (
                f"{where}: translation {string!r} has placeholders {sorted(got)},"
                f" the message {sorted(expected)}"
            )


def check(source: CatalogSource) -> list[str]:
    """Everything wrong with the package's catalogs; empty when they are complete and current."""
    template = extract(source)
    wanted = {_key(m) for m in template if m.id}
    problems: list[str] = []
    for language in source.translated_languages:
        po = source.po_path(language)
        if not po.exists():
            problems.append(f"{language}: no catalog at {po}")
            continue
        catalog = read_catalog(po, language)
        have = {_key(m) for m in catalog if m.id}
        for msgid, context in sorted(wanted - have, key=str):
            problems.append(
                f"{language}: stale, lacks {msgid!r}"
                + (f" (context {context!r})" if context else "")
            )
        for msgid, context in sorted(have - wanted, key=str):
            problems.append(
                f"{language}: stale, holds {msgid!r}, which the code no longer uses"
                + (f" (context {context!r})" if context else "")
            )
        for message in catalog:
            if message.id:
                problems.extend(_problems_with(message, language))
        mo = source.mo_path(language)
        if not mo.exists():
            problems.append(f"{language}: not compiled ({mo} is missing)")
        elif _messages(mo.read_bytes()) != _messages(compiled(catalog)):
            problems.append(f"{language}: {mo} is not what {po.name} compiles to")
    return problems


def _messages(mo: bytes) -> dict[tuple[str, str | None], object]:
    return {_key(m): m.string for m in read_mo(io.BytesIO(mo)) if m.id}


def sources(package_dirs: Iterable[Path]) -> list[CatalogSource]:
    return [CatalogSource(Path(p)) for p in package_dirs]
