"""The body of an import: a release package, or why it is not one. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_RELEASES = 5_000

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


class PackageError(ValueError):
    """The body is not a release package at all; nothing was imported."""

    def __init__(self, message: str, *loc: str) -> None:
        super().__init__(message)
        self.loc = loc


class PackageTooLargeError(PackageError):
    pass


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "a number")


def releases_of(package: object) -> list[Any]:
    """The package's releases array, or PackageError saying what the body is instead."""
    if not isinstance(package, Mapping):
        raise PackageError(f"a release package is a JSON object, not {_json_type(package)}")
    releases = package.get("releases")
    if releases is None:
        if "records" in package:
            raise PackageError(
                "this is a record package; send a release package instead (its releases,"
                " under 'releases'): records are compiled from releases, not imported"
            )
        raise PackageError("a release package needs a 'releases' array", "releases")
    if not isinstance(releases, list):
        raise PackageError(f"'releases' must be an array, not {_json_type(releases)}", "releases")
    if len(releases) > MAX_RELEASES:
        raise PackageTooLargeError(
            f"{len(releases)} releases; send at most {MAX_RELEASES} per package", "releases"
        )
    return releases
