"""The release header: the fields every release must have (ocid, id, date, tags), checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenderwire_notices.ocds.release import BrokenRelease, ReleaseHeader
from tenderwire_notices.ocds.untrusted import MAX_TAG_LENGTH, parse_datetime, shown
from tenderwire_shared.text import check_line

MAX_ID_LENGTH = 200  # ocids and release ids become notice references and ledger keys
MAX_TAGS = 20


def _identifier(release: Mapping[str, Any], name: str, problems: list[str]) -> str | None:
    value = release.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} is missing or not a non-empty string")
        return None
    value = value.strip()
    try:
        check_line(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None
    if len(value) > MAX_ID_LENGTH:
        problems.append(f"{name} is longer than {MAX_ID_LENGTH} characters")
        return None
    return value


def _check_tags(tags: tuple[str, ...], problems: list[str]) -> None:
    # Tags are echoed in the report and its notes, which are stored (jsonb cannot hold NUL).
    if len(tags) > MAX_TAGS:
        problems.append(f"tag has {len(tags)} entries; a release has at most {MAX_TAGS}")
        return  # one problem, not one per entry: the report stays small
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            problems.append(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        else:
            try:
                check_line(tag)
            except ValueError as exc:
                problems.append(f"tag {tag!r}: {exc}")


def read_header(release: object) -> ReleaseHeader | BrokenRelease:
    if not isinstance(release, Mapping):
        problem = f"a release must be a JSON object, not {type(release).__name__}"
        return BrokenRelease(None, None, (), (problem,))
    problems: list[str] = []
    notes: list[str] = []
    ocid = _identifier(release, "ocid", problems)
    release_id = _identifier(release, "id", problems)
    moment, naive = parse_datetime(release.get("date"))
    if moment is None:
        problems.append("date is missing or not an ISO 8601 date-time")
    elif naive:
        notes.append("release date has no UTC offset; read as UTC")
    raw_tags = release.get("tag")
    tags: tuple[str, ...] = ()
    if isinstance(raw_tags, str) and raw_tags.strip():
        # Publishers write a single tag as a string ("tag": "award"); the schema wants an array.
        raw_tags = [raw_tags.strip()]
        notes.append(f"tag is a string, not an array; read as [{shown(raw_tags[0])!r}]")
    if isinstance(raw_tags, list) and raw_tags and all(isinstance(t, str) for t in raw_tags):
        tags = tuple(dict.fromkeys(raw_tags))
        _check_tags(tags, problems)
    else:
        problems.append("tag is missing or not a non-empty array of strings")
    if problems or ocid is None or release_id is None or moment is None:
        # Only for the report: kept small, and free of what the report's store cannot hold.
        listed = tuple(shown(t) for t in tags[:MAX_TAGS])
        return BrokenRelease(ocid, release_id, listed, tuple(problems))
    return ReleaseHeader(ocid, release_id, moment, tags, tuple(notes))
