"""Reading a body as publishers write it: every shape ocdskit detects, a string tag, OCDS 1.0
upgraded, an unknown version refused. Pure: no database."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.package import (
    PackageError,
    Releases,
    looks_like_json_lines,
    parse_json_lines,
    read,
    releases_of,
)
from tenderwire_notices.ocds.parties import country_code
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import PublishStep, ReleaseError, ReleaseHeader

FIXTURES = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds"
FICTIONAL = FIXTURES / "fictional-1.1"
OCID = "ocds-213czf-000-00001"


def package(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (FICTIONAL / f"{OCID}-{name}.json").read_text(encoding="utf-8")
    )
    return loaded


def release(name: str) -> dict[str, Any]:
    (only,) = package(name)["releases"]
    assert isinstance(only, dict)
    return only


def version_1_0() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (FIXTURES / "shapes" / "release-package-1.0.json").read_text(encoding="utf-8")
    )
    return loaded


def ids(releases: list[Any]) -> list[str]:
    return [r["id"] for r in releases]


def test_a_release_package_is_read_as_one() -> None:
    releases = read(package("02-tender"))

    assert ids(releases) == [f"{OCID}-02-tender"]
    assert releases.source.shape == "release package"
    assert releases.source.version == "1.1"
    assert not releases.source.upgraded
    assert releases.source.notes == ()


def test_releases_of_is_still_the_list_of_release_mappings() -> None:
    releases = releases_of(package("02-tender"))

    assert isinstance(releases, list)
    assert isinstance(releases, Releases)
    assert releases == package("02-tender")["releases"]


def test_a_bare_release_is_read_as_itself() -> None:
    releases = read(release("02-tender"))

    assert ids(releases) == [f"{OCID}-02-tender"]
    assert releases.source.shape == "release"
    assert releases.source.version == "1.1"  # it has parties, so 1.1 (ocdskit's rule)


def test_an_array_of_releases_is_read_in_order() -> None:
    body = [release("02-tender"), release("04-award")]

    releases = read(body)

    assert ids(releases) == [f"{OCID}-02-tender", f"{OCID}-04-award"]
    assert releases.source.shape == "an array of releases"


def test_an_array_of_release_packages_is_read_as_their_releases() -> None:
    releases = read([package("02-tender"), package("03-tenderAmendment")])

    assert ids(releases) == [f"{OCID}-02-tender", f"{OCID}-03-tenderAmendment"]
    assert releases.source.shape == "an array of release packages"


def record_package(record: dict[str, Any]) -> dict[str, Any]:
    head = {k: v for k, v in package("02-tender").items() if k != "releases"}
    return {**head, "records": [record]}


def test_a_record_package_with_embedded_releases_is_read_as_those_releases() -> None:
    embedded = [release("02-tender"), release("04-award")]
    body = record_package({"ocid": OCID, "releases": embedded, "compiledRelease": {"x": 1}})

    releases = read(body)

    assert ids(releases) == [f"{OCID}-02-tender", f"{OCID}-04-award"]
    assert releases.source.shape == "record package"
    assert releases.source.version == "1.1"


def test_a_record_package_with_linked_releases_is_read_from_its_compiled_release() -> None:
    compiled = copy.deepcopy(release("02-tender"))
    compiled.update(id=f"{OCID}-compiled", tag=["compiled"])
    compiled["awards"] = release("04-award")["awards"]
    linked = [{"url": "https://example.org/r/1.json", "date": "2010-03-15T09:30:00Z"}]
    body = record_package({"ocid": OCID, "releases": linked, "compiledRelease": compiled})

    releases = read(body)

    (read_release,) = releases
    assert read_release["tag"] == ["tender", "award"]
    assert compiled["tag"] == ["compiled"]  # the body itself is not rewritten
    assert "compiledRelease is read, with the tags tender, award" in releases.source.notes[0]
    header = read_header(read_release)
    assert isinstance(header, ReleaseHeader)
    assert any(isinstance(step, PublishStep) for step in plan(header, read_release))


def test_a_cancelled_compiled_release_is_read_as_a_tender_and_its_cancellation() -> None:
    compiled = copy.deepcopy(release("02-tender"))
    compiled["tag"] = ["compiled"]
    compiled["tender"]["status"] = "cancelled"

    (read_release,) = read(record_package({"ocid": OCID, "compiledRelease": compiled}))

    assert read_release["tag"] == ["tender", "tenderCancellation"]


def test_a_record_with_only_linked_releases_is_refused_saying_so() -> None:
    linked = [{"url": "https://example.org/r/1.json", "date": "2010-03-15T09:30:00Z"}]

    with pytest.raises(PackageError, match="links its releases"):
        read(record_package({"ocid": OCID, "releases": linked}))


def test_a_lone_record_is_read_as_its_releases() -> None:
    releases = read({"ocid": OCID, "releases": [release("02-tender")]})

    assert releases.source.shape == "record"
    assert ids(releases) == [f"{OCID}-02-tender"]


def test_json_lines_of_releases_and_packages_are_read_line_by_line() -> None:
    lines = [release("02-tender"), package("03-tenderAmendment")]
    body = b"\n".join(json.dumps(line).encode() for line in lines) + b"\n\n"

    assert looks_like_json_lines(body)
    releases = read(parse_json_lines(body), json_lines=True)

    assert ids(releases) == [f"{OCID}-02-tender", f"{OCID}-03-tenderAmendment"]
    assert releases.source.shape == "JSON Lines of releases and release packages"


def test_a_broken_json_line_is_named_by_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_json_lines(b'{"ocid": "a"}\n{"ocid": \n')


def test_one_json_value_over_several_lines_is_not_json_lines() -> None:
    assert not looks_like_json_lines(json.dumps(package("02-tender"), indent=2).encode())


def test_an_empty_release_package_holds_no_releases_and_is_no_error() -> None:
    body = package("02-tender")
    body["releases"] = []

    releases = read(body)

    assert releases == []
    assert releases.source.shape == "release package"


def test_ocds_1_0_is_upgraded_to_1_1_and_the_report_says_so() -> None:
    releases = read(version_1_0())

    assert releases.source.version == "1.0"
    assert releases.source.upgraded
    assert "OCDS 1.0 data, upgraded to 1.1 as ocdskit does" in releases.source.notes[0]
    (upgraded,) = releases
    (party,) = upgraded["parties"]  # buyer and procuring entity are the same organisation
    assert sorted(party["roles"]) == ["buyer", "procuringEntity"]
    assert upgraded["buyer"] == {"id": party["id"], "name": "London Borough of Barnet"}
    assert upgraded["tender"]["amendments"][0]["rationale"] == "Clarified the lots"


def test_upgraded_1_0_data_plans_a_tender_with_its_buyer_country_and_contact() -> None:
    (upgraded,) = read(version_1_0())
    header = read_header(upgraded)
    assert isinstance(header, ReleaseHeader)

    (step,) = plan(header, upgraded)

    assert isinstance(step, PublishStep)
    assert step.draft.unspsc_codes == ["72141103"]
    assert step.draft.beneficiary_countries == ["GBR"]
    assert step.draft.contacts[0].email == "procurement-team@example.com"


def test_a_release_without_version_or_parties_is_read_as_1_0_as_ocdskit_does() -> None:
    (release_1_0,) = version_1_0()["releases"]

    releases = read(release_1_0)

    assert releases.source.version == "1.0"
    assert "no version is stated" in releases.source.notes[0]
    assert releases[0]["parties"]


@pytest.mark.parametrize("version", ["2.0", "1.2", "", 1.1, None, ["1.1"]])
def test_a_version_tenderwire_does_not_read_is_refused_naming_it(version: object) -> None:
    body = package("02-tender")
    body["version"] = version

    with pytest.raises(PackageError, match="is not one Tenderwire reads") as caught:
        read(body)

    assert caught.value.loc == ("version",)


def test_a_patch_version_is_read_as_its_minor_version() -> None:
    body = package("02-tender")
    body["version"] = "1.1.5"

    assert read(body).source.version == "1.1"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "needs a 'releases' array"),
        ({"publisher": {"name": "x"}}, "has none of them"),
        ([], "nothing in it"),
        ([{"ocid": "a"}, 3], "[1] is a number"),
        ("releases", "not a string"),
        ({"releases": {}}, "must be an array"),
        ({"records": [{"ocid": "x"}]}, "record package holds no releases"),
    ],
)
def test_a_body_with_no_releases_is_refused_saying_what_it_is(body: object, words: str) -> None:
    with pytest.raises(PackageError) as caught:
        read(body)

    assert words in str(caught.value)


def test_a_1_0_release_that_cannot_be_upgraded_is_read_as_it_is_with_a_note() -> None:
    broken = {"ocid": "x", "id": "1", "date": "2014-01-01T00:00:00Z", "tag": ["tender"]}
    broken["tender"] = "not an object but names procuringEntity"

    releases = read({"version": "1.0", "releases": [broken]})

    assert releases == [broken]
    assert "could not be upgraded" in releases.source.notes[1]


# --- tag as a string ---------------------------------------------------------------------------


def test_a_tag_written_as_a_string_is_read_as_that_one_tag() -> None:
    award = release("04-award")
    award["tag"] = "award"

    header = read_header(award)

    assert isinstance(header, ReleaseHeader)
    assert header.tags == ("award",)
    assert "tag is a string, not an array; read as ['award']" in header.notes


@pytest.mark.parametrize("tag", ["", "   ", 7, {"tag": "tender"}])
def test_an_empty_or_non_string_tag_is_still_a_problem(tag: object) -> None:
    tender = release("02-tender")
    tender["tag"] = tag

    header = read_header(tender)

    assert not isinstance(header, ReleaseHeader)
    assert any("tag" in problem for problem in header.problems)


# --- hostile bodies -----------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "buyer",
                    "tender",
                    "procuringEntity",
                    "tenderers",
                    "awards",
                    "suppliers",
                    "parties",
                    "id",
                    "name",
                    "identifier",
                    "address",
                    "amendment",
                    "amendments",
                    "contracts",
                    "implementation",
                    "transactions",
                    "releases",
                    "records",
                    "compiledRelease",
                    "tag",
                    "ocid",
                    "date",
                    "url",
                    "version",
                    "scheme",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(release=_JSON, version=st.sampled_from(["1.0", "1.1", None]))
def test_any_json_in_a_package_is_read_or_refused_never_crashes(
    release: object, version: str | None
) -> None:
    body: dict[str, Any] = {
        "releases": [{"ocid": "x", **release} if isinstance(release, dict) else release]
    }
    if version is not None:
        body["version"] = version

    try:
        releases = read(body)
    except PackageError:
        return
    assert len(releases) == 1
    for document in (release, {"records": [release]}, [release]):
        with contextlib.suppress(PackageError):
            read(copy.deepcopy(document))


def test_a_1_0_release_nested_too_deeply_to_upgrade_is_read_as_it_is() -> None:
    deep: dict[str, Any] = {}
    for _ in range(5_000):
        deep = {"identifier": deep}
    release: dict[str, Any] = {
        "ocid": "x",
        "id": "1",
        "date": "2014-01-01T00:00:00Z",
        "tag": ["tender"],
    }
    release["buyer"] = {"name": "Deep", "address": deep}

    releases = read({"version": "1.0", "releases": [release]})

    assert releases == [release]
    assert "could not be upgraded" in releases.source.notes[1]


# --- real samples (ocdskit's test data: tests/fixtures/ocds/ocdskit-realdata) -------------------

REALDATA = FIXTURES / "ocdskit-realdata"


def real(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REALDATA / name).read_text(encoding="utf-8"))
    return loaded


def test_paraguays_1_0_record_package_is_read_from_its_compiled_release_and_upgraded() -> None:
    releases = read(real("paraguay-record-package-1.0.json"))

    assert releases.source.shape == "record package"
    assert releases.source.version == "1.0"
    assert releases.source.upgraded
    assert "no version is stated" in releases.source.notes[0]
    assert (
        "records[0]: its compiledRelease is read, with the tags tender, award"
        in (releases.source.notes[1])
    )
    (compiled,) = releases
    roles = {party["name"]: sorted(party["roles"]) for party in compiled["parties"]}
    assert roles == {
        "Dirección Nacional de Contrataciones Públicas (DNCP)": ["buyer", "procuringEntity"],
        "MASTER SOFT SRL": ["supplier"],
    }
    header = read_header(compiled)
    assert isinstance(header, ReleaseHeader)
    assert header.tags == ("tender", "award")
    # The compiled tender has no deadline ("endDate": null), so no notice can be made of it.
    with pytest.raises(ReleaseError, match=r"tenderPeriod\.endDate is missing"):
        plan(header, compiled)


def test_mexicos_record_package_is_read_as_its_embedded_releases() -> None:
    releases = read(real("mexico-record-package-1.1.json"))

    assert releases.source.shape == "record package"
    assert releases.source.version == "1.1"
    (release,) = releases
    assert release["id"] == "1542970"
    assert release["tag"] == ["tender", "award"]
    supplier = next(p for p in release["parties"] if "supplier" in p["roles"])
    assert supplier["address"]["countryName"] == "MÉXICO"
    assert country_code(supplier["address"]["countryName"], "es") == "MEX"
