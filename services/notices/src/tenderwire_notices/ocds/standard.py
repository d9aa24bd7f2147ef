"""The bundled OCDS 1.1.5 schemas and codelists (see schema/README.md), read from this package.

Validation never goes to the network: the release package schema's `$ref` to the release
schema's URL resolves to the local copy through a `referencing` registry.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource

VERSION = "1.1"
RELEASE_SCHEMA = "release-schema.json"
RELEASE_PACKAGE_SCHEMA = "release-package-schema.json"
DEREFERENCED_RELEASE_SCHEMA = "dereferenced-release-schema.json"

_SCHEMA_DIR = resources.files("tenderwire_notices.ocds") / "schema"


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((_SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of one bundled codelist, e.g. codelist("releaseTag")."""
    text = (_SCHEMA_DIR / "codelists" / f"{name}.csv").read_text(encoding="utf-8")
    return frozenset(row["Code"] for row in csv.DictReader(io.StringIO(text)))


def _is_date_time(value: object) -> bool:
    # RFC 3339 wants a date, a time and an offset; fromisoformat accepts the "Z" form on 3.11.
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and not any(c.isspace() for c in value)


def format_checker() -> FormatChecker:
    """jsonschema only checks `date-time` with an optional package installed; this checker
    does not depend on one, so a malformed date fails validation everywhere alike."""
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    checker.checks("uri")(_is_uri)
    return checker


@cache
def _registry() -> Registry[Any]:
    release = schema(RELEASE_SCHEMA)
    registry: Registry[Any] = Registry().with_resource(
        release["id"], Resource.from_contents(release)
    )
    return registry


def release_validator() -> Draft4Validator:
    return Draft4Validator(schema(RELEASE_SCHEMA), format_checker=format_checker())


def release_package_validator() -> Draft4Validator:
    return Draft4Validator(
        schema(RELEASE_PACKAGE_SCHEMA), registry=_registry(), format_checker=format_checker()
    )
