"""The body of an import: the releases it holds, whatever shape the publisher wrote it in, or
why it holds none. Pure.

Shapes are told apart by what they contain, as ocdskit's `detect_format` does, never by a
declared type: a release package (`releases`, no `ocid`), a record package (`records`), a
record (`releases` and `ocid`), a bare release (an `ocid`, or a `date` and a `tag`), a JSON
array of any of these, and JSON Lines of any of these (`json_lines`). OCDS 1.0 data is
upgraded to 1.1 with ocdskit's own upgrade; a version that is neither is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocdskit.upgrade import (  # type: ignore[import-untyped]  # ocdskit ships no types
    upgrade_record_10_11,
    upgrade_release_10_11,
)

MAX_RELEASES = 5_000
MAX_NOTES = 50  # package notes stay small, whatever the body

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
_VERSION = re.compile(r"1\.[01](\.[0-9]+)?")

RELEASE_PACKAGE = "release package"
RECORD_PACKAGE = "record package"
RECORD = "record"
RELEASE = "release"


class PackageError(ValueError):
    """The body holds no releases at all; nothing was imported."""

    def __init__(self, message: str, *loc: str) -> None:
        super().__init__(message)
        self.loc = loc


class PackageTooLargeError(PackageError):
    pass


@dataclass(frozen=True)
class Source:
    """What the body was: its shape, the OCDS version it was read as, and what reading it did."""

    shape: str
    version: str  # "1.1", or "1.0" when the data was read as 1.0 and upgraded
    upgraded: bool = False
    notes: tuple[str, ...] = ()


class Releases(list[Any]):
    """The release mappings a body holds, as a list, with the `Source` they were read from."""

    def __init__(self, releases: list[Any], source: Source) -> None:
        super().__init__(releases)
        self.source = source


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "a number")


def _kind(value: Mapping[str, Any]) -> str:
    if "records" in value:
        return RECORD_PACKAGE
    if "releases" in value:
        return RECORD if "ocid" in value else RELEASE_PACKAGE
    return RELEASE


def _stated_version(package: Mapping[str, Any]) -> str | None:
    """The package's `version` as "1.0" or "1.1"; None if it states none; PackageError if it
    states one Tenderwire does not read."""
    if "version" not in package:
        return None
    version = package["version"]
    if isinstance(version, str) and _VERSION.fullmatch(version.strip()):
        return version.strip()[:3]
    shown = json.dumps(version)[:40] if not isinstance(version, str) else repr(version[:40])
    raise PackageError(
        f"OCDS version {shown} is not one Tenderwire reads: send 1.1 (or 1.0, which is upgraded)",
        "version",
    )


def _has_parties(release: object) -> bool:
    return isinstance(release, Mapping) and "parties" in release


@dataclass
class _Reading:
    """Releases gathered from one body, and what was done to them."""

    releases: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    guessed: bool = False  # a release read as 1.0 because no version was stated

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def add(self, release: object, version: str | None, *, upgraded: bool = False) -> None:
        """One release; `version` as its package states it, None if none is stated (then, as
        ocdskit says, a release with `parties` is 1.1 and one without is 1.0)."""
        if version is None:
            version = "1.1" if _has_parties(release) else "1.0"
            self.guessed = self.guessed or version == "1.0"
        if version == "1.0" and isinstance(release, dict) and not upgraded:
            try:
                upgrade_release_10_11(release, reorder=False)
            except (TypeError, KeyError, AttributeError, ValueError, RecursionError) as exc:
                self.note(
                    f"release {len(self.releases)} could not be upgraded from OCDS 1.0"
                    f" ({type(exc).__name__}); read as it is"
                )
        self.versions.add(version)
        self.releases.append(release)
        if len(self.releases) > MAX_RELEASES:
            raise PackageTooLargeError(
                f"more than {MAX_RELEASES} releases; send at most {MAX_RELEASES} at once",
                "releases",
            )

    def record(self, record: object, where: str, version: str | None) -> None:
        """A record's embedded releases, if it has them all; else its compiled release."""
        if not isinstance(record, Mapping):
            self.note(f"{where} is {_json_type(record)}, not a record; skipped")
            return
        embedded = record.get("releases")
        compiled = record.get("compiledRelease")
        if isinstance(embedded, list) and embedded and all(map(_is_embedded, embedded)):
            if version is None:
                version = "1.1" if any(map(_has_parties, embedded)) else "1.0"
                self.guessed = self.guessed or version == "1.0"
            for release in embedded:
                self.add(release, version)
            return
        if isinstance(compiled, dict):
            if version is None:
                version = "1.1" if _has_parties(compiled) else "1.0"
                self.guessed = self.guessed or version == "1.0"
            if version == "1.0":
                try:
                    upgrade_record_10_11({"compiledRelease": compiled}, reorder=False)
                except (TypeError, KeyError, AttributeError, ValueError, RecursionError):
                    self.note(f"{where}.compiledRelease could not be upgraded from OCDS 1.0")
            self._compiled(compiled, where, version)
            return
        if isinstance(embedded, list) and embedded:
            self.note(
                f"{where} links its releases (url and date only) and has no compiledRelease:"
                " nothing in it can be read; send its releases"
            )
        else:
            self.note(f"{where} has neither embedded releases nor a compiledRelease; skipped")

    def _compiled(self, compiled: dict[str, Any], where: str, version: str) -> None:
        """A compiled release says what is, not what happened: its tags are read from what it
        holds (a tender, a cancellation, awards), as its lifecycle steps."""
        tags: list[str] = []
        tender = compiled.get("tender")
        if isinstance(tender, Mapping) and tender:
            tags.append("tender")
            if tender.get("status") == "cancelled":
                tags.append("tenderCancellation")
        if isinstance(compiled.get("awards"), list) and compiled["awards"]:
            tags.append("award")
        release = dict(compiled)
        release["tag"] = tags or compiled.get("tag")
        self.note(
            f"{where}: its compiledRelease is read, with the tags {', '.join(tags) or 'none'}"
            " from what it holds"
        )
        self.add(release, version, upgraded=True)  # upgraded above, if it was 1.0

    def document(self, document: Mapping[str, Any], where: str) -> str:
        kind = _kind(document)
        if kind == RELEASE and "ocid" not in document:
            raise PackageError(
                f"{where}a release package needs a 'releases' array, a record package"
                " 'records' and a release an 'ocid': this object has none of them",
                *(() if where else ("releases",)),
            )
        if kind == RELEASE:
            self.add(document, None)
            return kind
        version = _stated_version(document) if kind != RECORD else None
        if kind == RECORD:
            self.record(document, where, None)
            return kind
        key = "records" if kind == RECORD_PACKAGE else "releases"
        items = document.get(key)
        if not isinstance(items, list):
            loc = () if where else (key,)
            raise PackageError(f"{where}'{key}' must be an array, not {_json_type(items)}", *loc)
        for index, item in enumerate(items):
            if kind == RECORD_PACKAGE:
                self.record(item, f"{where}records[{index}]", version)
            else:
                self.add(item, version)
        return kind


def _is_embedded(release: object) -> bool:
    # ocdskit's rule: a linked release has a url and a date (and maybe a tag), nothing more.
    return isinstance(release, Mapping) and not (
        "url" in release and len(release) <= 3 and "ocid" not in release
    )


def _shape(kinds: list[str], container: str | None) -> str:
    if container is None:
        return kinds[0]
    distinct = list(dict.fromkeys(kinds))  # in the order they came
    plural = {RELEASE_PACKAGE: "release packages", RECORD_PACKAGE: "record packages"}
    named = " and ".join(plural.get(k, f"{k}s") for k in distinct) or "nothing"
    return f"{container} of {named}"


def read(document: object, *, json_lines: bool = False) -> Releases:
    """The releases `document` holds, with what it was. `json_lines`: the document is the list
    of values read from a JSON Lines body (`parse_json_lines`)."""
    reading = _Reading()
    container = "JSON Lines" if json_lines else None
    if isinstance(document, list):
        container = container or "an array"
        if not document:
            raise PackageError(f"{container} with nothing in it holds no releases")
        kinds: list[str] = []
        for index, item in enumerate(document):
            where = f"line {index + 1}" if json_lines else f"[{index}]"
            if not isinstance(item, Mapping):
                raise PackageError(
                    f"{where} is {_json_type(item)}; each value must be a release, a release"
                    " package or a record package (a JSON object)"
                )
            kinds.append(reading.document(item, f"{where}: "))
    elif isinstance(document, Mapping):
        kinds = [reading.document(document, "")]
    else:
        raise PackageError(
            f"an OCDS body is a JSON object or array (a release package, record package,"
            f" release, or releases), not {_json_type(document)}"
        )
    shape = _shape(kinds, container)
    if not reading.releases and reading.notes:  # an empty package is a page with nothing new
        loc = () if container else ("releases",)
        raise PackageError(f"this {shape} holds no releases: {reading.notes[0]}", *loc)
    versions = reading.versions
    upgraded = "1.0" in versions
    version = "1.0" if upgraded else "1.1"
    notes = list(reading.notes)
    if upgraded:
        mixed = " (some of it; the rest was 1.1)" if len(versions) > 1 else ""
        why = (
            ": no version is stated and a release without 'parties' is 1.0"
            if reading.guessed
            else ""
        )
        notes.insert(0, f"OCDS 1.0 data{mixed}, upgraded to 1.1 as ocdskit does{why}")
    return Releases(reading.releases, Source(shape, version, upgraded, tuple(notes)))


def releases_of(document: object, *, json_lines: bool = False) -> list[Any]:
    """The release mappings a body holds (a `Releases`, which carries its `Source`), or
    PackageError saying why it holds none."""
    return read(document, json_lines=json_lines)


def parse_json_lines(body: bytes, loads: Callable[[str], object] = json.loads) -> list[object]:
    """The values of a JSON Lines body, one per non-blank line; ValueError names the line."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc}") from exc
    values: list[object] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                values.append(loads(line))
            except ValueError as exc:
                raise ValueError(f"line {number}: {str(exc)[:200]}") from exc
    return values


def looks_like_json_lines(body: bytes) -> bool:
    """Whether a body that is not one JSON value is several, one per line (ocdskit reads
    concatenated JSON the same way)."""
    lines = [line for line in body.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip()[:1] in (b"{", b"[") for line in lines)
