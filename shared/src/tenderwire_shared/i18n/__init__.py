"""Everything a supplier reads, in its language: the languages and how one is chosen
(`languages`), a package's gettext catalogs at run time (`translations`), Jinja templates
that use them with CLDR formats and script direction (`templating`), and the Babel build and
checks behind `tw catalogs` (`catalogs`)."""

from tenderwire_shared.i18n.languages import (
    FALLBACK_LANGUAGE,
    LANGUAGES,
    Language,
    direction,
    language_or_fallback,
    locale,
    negotiate,
    supported,
)
from tenderwire_shared.i18n.templating import Templates, isolate_ltr
from tenderwire_shared.i18n.translations import N_, NP_, Gettext, Messages

__all__ = [
    "FALLBACK_LANGUAGE",
    "LANGUAGES",
    "NP_",
    "N_",
    "Gettext",
    "Language",
    "Messages",
    "Templates",
    "direction",
    "isolate_ltr",
    "language_or_fallback",
    "locale",
    "negotiate",
    "supported",
]
