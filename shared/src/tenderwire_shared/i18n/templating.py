"""Jinja environments that speak a reader's language: gettext from the package's catalogs,
CLDR formats, and the direction of the script.

Every template gets, besides `_`, `gettext`, `ngettext`, `pgettext` and `npgettext`
(new-style: `_("Deadline: %(date)s", date=d)` escapes `d` and fills it in):

- `lang` and `dir` ("ltr" or "rtl"), for `<html lang="{{ lang }}" dir="{{ dir }}">`;
- for codes, references, amounts, dates and URLs inside text that may run right to left,
  the filters `bdi` (HTML: `<bdi dir="ltr">`) and `ltr` (plain text: Unicode's LEFT-TO-RIGHT
  ISOLATE ... POP DIRECTIONAL ISOLATE, and only in a right-to-left language);
- the filters `date`, `datetime`, `number` and `money`, and `zone_name`, all CLDR's for the
  language (Babel).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any

from babel.dates import format_date, format_datetime, get_timezone_name
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from tenderwire_shared.i18n.languages import direction, language_or_fallback, locale
from tenderwire_shared.i18n.translations import Messages

LEFT_TO_RIGHT_ISOLATE = "\u2066"
POP_DIRECTIONAL_ISOLATE = "\u2069"

# Autoescaped: .html; plain text: .txt, .j2 (subjects). Both are extracted (tw catalogs).
HTML_EXTENSIONS = ("html",)
JINJA_OPTIONS: dict[str, Any] = {"trim_blocks": True, "lstrip_blocks": True}


def isolate_ltr(text: str, language: str) -> str:
    """`text` kept left to right inside plain text of `language`."""
    if direction(language) == "ltr" or not text:
        return text
    return f"{LEFT_TO_RIGHT_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"


def _html_ltr(value: Any) -> Markup:
    return Markup('<bdi dir="ltr">{}</bdi>').format(escape(value))


class Templates:
    """A package's templates, one Jinja environment per language."""

    def __init__(self, package: str, messages: Messages, folder: str = "templates") -> None:
        self.package = package
        self.folder = folder
        self.messages = messages

    def environment(self, language: str) -> Environment:
        return _environment(
            self.package, self.folder, self.messages, language_or_fallback(language)
        )

    def render(self, name: str, language: str, **context: Any) -> str:
        return self.environment(language).get_template(name).render(context)


@cache
def _environment(package: str, folder: str, messages: Messages, language: str) -> Environment:
    env = Environment(
        loader=PackageLoader(package, folder),
        autoescape=select_autoescape(enabled_extensions=HTML_EXTENSIONS, default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        # Packaged templates do not change under a running service: no stat() per render.
        auto_reload=False,
        **JINJA_OPTIONS,
    )
    env.install_gettext_translations(messages(language), newstyle=True)  # type: ignore[attr-defined]
    cldr = locale(language)
    text_dir = direction(language)
    env.globals.update(lang=language, dir=text_dir, rtl=text_dir == "rtl")
    if text_dir == "rtl":
        env.filters["ltr"] = lambda value: isolate_ltr(str(value), language)
    else:
        env.filters["ltr"] = str
    env.filters["bdi"] = _html_ltr

    def date_filter(value: date, form: str = "long") -> str:
        return format_date(value, form, locale=cldr)

    def datetime_filter(value: datetime, form: str = "medium", zone: tzinfo | None = None) -> str:
        return format_datetime(value, form, tzinfo=zone, locale=cldr)

    def number_filter(value: int | float | Decimal) -> str:
        return format_decimal(value, locale=cldr)

    def money_filter(value: int | float | Decimal, currency: str) -> str:
        return format_currency(value, currency, locale=cldr)

    def zone_name_filter(moment: datetime, zone: tzinfo) -> str:
        return get_timezone_name(moment.astimezone(zone), width="long", locale=cldr)

    env.filters.update(
        date=date_filter,
        datetime=datetime_filter,
        number=number_filter,
        money=money_filter,
        zone_name=zone_name_filter,
    )
    return env
