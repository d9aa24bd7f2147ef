"""The languages and how a reader's is chosen, CLDR's plural rules in gettext form, text
direction, and the catalog checks (on a throw-away package, so each check is seen failing)."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel import Locale
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderwire_shared.i18n import (
    LANGUAGES,
    direction,
    isolate_ltr,
    language_or_fallback,
    negotiate,
    supported,
)
from tenderwire_shared.i18n import catalogs as babel_catalogs
from tenderwire_shared.i18n.languages import PLURAL_FORMS, locale
from tests.support.examples import examples


def test_the_six_un_languages_and_portuguese() -> None:
    assert set(LANGUAGES) == {"ar", "zh", "en", "fr", "ru", "es", "pt"}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("pt-BR", "pt"), ("zh_Hans_CN", "zh"), ("AR", "ar"), ("de", None), ("", None), (None, None)],
)
def test_a_language_tag_counts_as_its_base_language(tag: str | None, expected: str | None) -> None:
    assert supported(tag) == expected
    assert language_or_fallback(tag) == (expected or "en")


@pytest.mark.parametrize(
    ("accept", "registered", "expected"),
    [
        (None, None, "en"),
        ("fr-CH, fr;q=0.9, en;q=0.8", None, "fr"),
        ("de-DE, pt-BR;q=0.7, ar;q=0.5", None, "pt"),
        ("en;q=0.2, ar;q=0.9", None, "ar"),
        ("de, *;q=0.5", None, "en"),
        ("ru;q=0, zh", None, "zh"),
        ("fr", "ar", "ar"),  # the supplier's own choice wins over its browser
        ("fr", "xx", "fr"),
        ("q=;;;,,,", None, "en"),
        ("es;q=abc", None, "en"),
    ],
)
def test_pages_follow_the_registered_language_then_accept_language_then_english(
    accept: str | None, registered: str | None, expected: str
) -> None:
    assert negotiate(accept, registered) == expected


@given(st.text(max_size=200))
@settings(max_examples=examples(200))
def test_any_accept_language_header_gives_a_supported_language(header: str) -> None:
    assert negotiate(header) in LANGUAGES


def test_arabic_reads_right_to_left_and_the_others_left_to_right() -> None:
    assert {lang: direction(lang) for lang in LANGUAGES} == {
        **{lang: "ltr" for lang in LANGUAGES},
        "ar": "rtl",
    }


def test_codes_are_isolated_left_to_right_only_in_right_to_left_text() -> None:
    assert isolate_ltr("RFQ-1", "ar") == "\u2066RFQ-1\u2069"
    assert isolate_ltr("RFQ-1", "fr") == "RFQ-1"
    assert isolate_ltr("", "ar") == ""


def _cldr_category(language: str, n: int) -> str:
    cldr = Locale.parse("pt_PT") if language == "pt" else locale(language)
    return str(cldr.plural_form(n))


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogs_plural_forms_follow_cldr_for_every_count(language: str) -> None:
    """gettext's form index for n must mean the same CLDR category for every n: each index
    stands for exactly one category, and there are as many indices as categories."""
    count, expression = PLURAL_FORMS[language]
    form_of = gettext.c2py(expression)
    seen: dict[int, set[str]] = {}
    for n in range(10_001):
        index = int(form_of(n))
        assert 0 <= index < count
        seen.setdefault(index, set()).add(_cldr_category(language, n))
    assert all(len(categories) == 1 for categories in seen.values()), seen
    assert len(seen) == count


def test_arabic_has_six_forms_and_russian_three() -> None:
    assert PLURAL_FORMS["ar"][0] == 6
    assert PLURAL_FORMS["ru"][0] == 3
    assert PLURAL_FORMS["zh"][0] == 1


# --- The catalog checks, on a package made here -------------------------------------------


def _package(tmp_path: Path, template: str, code: str = "") -> babel_catalogs.CatalogSource:
    package = tmp_path / "pkg"
    (package / "templates").mkdir(parents=True)
    (package / "templates" / "page.html").write_text(template)
    (package / "words.py").write_text(code)
    return babel_catalogs.CatalogSource(package)


def _translate(source: babel_catalogs.CatalogSource, language: str, **strings: str) -> None:
    path = source.po_path(language)
    catalog = babel_catalogs.read_catalog(path, language)
    for message in catalog:
        if message.id and not isinstance(message.id, tuple):
            message.string = strings.get(str(message.id), f"«{message.id}»")
        elif message.id:
            forms = PLURAL_FORMS[language][0]
            message.string = tuple(f"«{message.id[0]}» %(num)d" for _ in range(forms))
    babel_catalogs.write_catalog(catalog, path)
    path.with_suffix(".mo").write_bytes(
        babel_catalogs.compiled(babel_catalogs.read_catalog(path, language))
    )


def _complete(source: babel_catalogs.CatalogSource) -> None:
    babel_catalogs.update(source)
    for language in source.translated_languages:
        _translate(source, language)


def test_a_complete_current_catalog_has_no_problems(tmp_path: Path) -> None:
    source = _package(
        tmp_path,
        '{{ _("Hello %(name)s", name=n) }} {{ ngettext("%(num)d alert", "%(num)d alerts", k) }}',
        'from tenderwire_shared.i18n import NP_\nLABEL = NP_("sms", "New tender")\n',
    )
    _complete(source)
    assert babel_catalogs.check(source) == []


def test_a_message_without_a_translation_is_named(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ _("Hello") }} {{ _("Goodbye") }}')
    _complete(source)
    _translate(source, "ru", Goodbye="")
    problems = babel_catalogs.check(source)
    assert problems == ["ru: 'Goodbye' has no translation"]


def test_a_translation_that_drops_a_placeholder_is_named(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ _("Deadline %(date)s", date=d) }}')
    _complete(source)
    _translate(source, "fr", **{"Deadline %(date)s": "Date limite"})
    [problem] = babel_catalogs.check(source)
    assert problem.startswith("fr: 'Deadline %(date)s': translation 'Date limite' has placeholders")


def test_a_catalog_behind_its_templates_is_stale(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ _("Hello") }}')
    _complete(source)
    (source.package_dir / "templates" / "page.html").write_text('{{ _("Hello") }}{{ _("New") }}')
    problems = babel_catalogs.check(source)
    assert "zh: stale, lacks 'New'" in problems
    (source.package_dir / "templates" / "page.html").write_text("")
    assert "zh: stale, holds 'Hello', which the code no longer uses" in babel_catalogs.check(source)


def test_a_compiled_catalog_behind_its_po_is_named(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ _("Hello") }}')
    _complete(source)
    catalog = babel_catalogs.read_catalog(source.po_path("es"), "es")
    catalog["Hello"].string = "Hola"
    babel_catalogs.write_catalog(catalog, source.po_path("es"))
    assert babel_catalogs.check(source) == [
        "es: " + str(source.mo_path("es")) + " is not what messages.po compiles to"
    ]


def test_an_arabic_plural_needs_its_six_forms(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ ngettext("%(num)d alert", "%(num)d alerts", k) }}')
    _complete(source)
    catalog = babel_catalogs.read_catalog(source.po_path("ar"), "ar")
    [message] = [m for m in catalog if m.id]
    message.string = ("a", "b %(num)d")
    babel_catalogs.write_catalog(catalog, source.po_path("ar"))
    problems = babel_catalogs.check(source)
    assert "ar: '%(num)d alert' has no translation for plural form 2" in problems, problems
    assert "ar: '%(num)d alert' has no translation for plural form 5" in problems, problems


def test_updating_twice_changes_nothing(tmp_path: Path) -> None:
    source = _package(tmp_path, '{{ _("Hello") }}')
    _complete(source)
    before = {p: p.read_bytes() for p in source.locale_dir.rglob("*.*")}
    babel_catalogs.update(source)
    assert {p: p.read_bytes() for p in source.locale_dir.rglob("*.*")} == before
