"""OCDS releases -> lifecycle steps: the fixtures, and what publishers get wrong."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

from tenderwire_notices.domain import snapshot_from_draft
from tenderwire_notices.ocds import standard, vocabulary
from tenderwire_notices.ocds.amending import amendment_against, as_amendment
from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import (
    AmendStep,
    AwardStep,
    BrokenRelease,
    CancelStep,
    ImportStep,
    PublishStep,
    ReleaseError,
    ReleaseHeader,
    SkipStep,
)
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot

T = TypeVar("T", bound=ImportStep)

FIXTURES = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds"
FICTIONAL = FIXTURES / "fictional-1.1"


def releases_in(path: Path) -> list[dict[str, Any]]:
    package = json.loads(path.read_text(encoding="utf-8"))
    releases: list[dict[str, Any]] = package["releases"]
    return releases


def fictional(stage: str) -> dict[str, Any]:
    (release,) = releases_in(FICTIONAL / f"ocds-213czf-000-00001-{stage}.json")
    return release


def paraguay() -> dict[str, Any]:
    (release,) = releases_in(FIXTURES / "paraguay" / "releases.json")
    return release


def header_of(release: dict[str, Any]) -> ReleaseHeader:
    header = read_header(release)
    assert isinstance(header, ReleaseHeader), header
    return header


def steps_of(release: dict[str, Any]) -> list[ImportStep]:
    return plan(header_of(release), release)


def only(steps: list[ImportStep], kind: type[T]) -> T:
    found = [s for s in steps if isinstance(s, kind)]
    assert len(found) == 1, steps
    return found[0]


def a_tender(**tender: Any) -> dict[str, Any]:
    """The fictional tender release with some tender fields replaced (None removes one)."""
    release = copy.deepcopy(fictional("02-tender"))
    for key, value in tender.items():
        if value is None:
            release["tender"].pop(key, None)
        else:
            release["tender"][key] = value
    return release


def an_item(*classifications: tuple[str, object], **extra: Any) -> dict[str, Any]:
    first, *rest = [{"scheme": scheme, "id": code} for scheme, code in classifications]
    return {"id": "1", "classification": first, "additionalClassifications": rest, **extra}


def test_every_scheme_is_kept_in_classifications_and_cpvs_is_no_cpv_code() -> None:
    item = an_item(
        ("CPV", "33141100-7"), ("CPVS", "TA10"), ("GSIN", "N6515"), ("UNSPSC", "42131606")
    )
    item["classification"]["description"] = "Medical <b>consumables</b>"
    step = only(steps_of(a_tender(items=[item, an_item(("cpv", "33141100"))])), PublishStep)

    assert step.draft.cpv_codes == ["33141100"]
    assert step.draft.unspsc_codes == ["42131606"]
    kept = [(c.scheme, c.code) for c in step.draft.classifications]
    # Once per scheme and code, whatever the case the scheme is written in.
    assert kept == [
        ("CPV", "33141100-7"),
        ("CPVS", "TA10"),
        ("GSIN", "N6515"),
        ("UNSPSC", "42131606"),
        ("cpv", "33141100"),
    ]
    assert step.draft.classifications[0].description == "Medical consumables"


def test_an_update_carrying_items_brings_their_cpv_codes() -> None:
    release = a_tender(items=[an_item(("CPV", "33100000-1"))])
    release["tag"] = ["tenderUpdate"]
    step = only(steps_of(release), AmendStep)

    assert step.proposed.cpv_codes == ["33100000"]
    assert [c.code for c in step.proposed.classifications or []] == ["33100000-1"]


def test_an_imported_notice_keeps_new_cpv_codes_beside_its_own() -> None:
    first = only(steps_of(fictional("02-tender")), PublishStep)
    notice = snapshot_from_draft(
        first.draft, tender_id="T-1", agency="UKGOV", published_at=datetime(2010, 3, 1, tzinfo=UTC)
    )
    again = only(steps_of(a_tender(items=[an_item(("CPV", "33100000"))])), PublishStep)

    change = amendment_against(notice, as_amendment(again))

    assert change is not None
    assert change.cpv_codes == ["45233162", "33100000"]


# --- the fixtures -----------------------------------------------------------------------------


def test_paraguay_takes_unspsc_codes_from_additional_classifications() -> None:
    steps = steps_of(paraguay())

    assert [type(s) for s in steps] == [SkipStep, PublishStep]
    assert only(steps, SkipStep).tag == "planning"
    draft = only(steps, PublishStep).draft
    # The items' main scheme is Paraguay's own catalogue; UNSPSC comes second, per item.
    assert draft.unspsc_codes == ["25172503", "25172504"]
    assert draft.reference == "ocds-03ad3f-394282-1"
    assert draft.language == "es"
    assert draft.notice_type is NoticeType.INVITATION_TO_BID
    assert draft.deadline == datetime(2021, 5, 26, 9, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert draft.deadline.utcoffset() == timedelta(hours=-4)
    assert len(draft.documents) == 7
    assert draft.contacts[0].email == "uocannp@gmail.com"
    # Its buyer gives no address, so no country: the notice is for unspecified countries.
    assert draft.beneficiary_countries == []
    assert any(
        "no delivery, buyer or procuring entity country" in n
        for n in only(steps, PublishStep).notes
    )


def test_a_cpv_only_tender_imports_its_cpv_codes_and_no_unspsc_and_says_so() -> None:
    step = only(steps_of(fictional("02-tender")), PublishStep)

    assert step.draft.unspsc_codes == []
    assert any("only with CPV" in note and "without UNSPSC" in note for note in step.notes)
    assert any("matched to it by its CPV codes" in note for note in step.notes)
    # "45233130.0" is no CPV code (a spreadsheet's number): dropped, with a note; the
    # additional classification's check digit is dropped.
    assert step.draft.cpv_codes == ["45233162"]
    assert any("'45233130.0'" in note and "dropped" in note for note in step.notes)
    assert [(c.scheme, c.code, c.description) for c in step.draft.classifications] == [
        ("CPV", "45233130.0", "Construction work for highways"),
        ("CPV", "45233162-2", "Cycle path construction work"),
    ]
    assert step.draft.title == "Planned cycle lane improvements"
    assert step.draft.deadline == datetime(2010, 4, 1, 18, 0, tzinfo=UTC)
    assert step.draft.beneficiary_countries == ["GBR"]
    assert any("from the buyer's address (United Kingdom)" in n for n in step.notes)
    assert [str(d.url) for d in step.draft.documents] == [
        "http://example.com/tender-notices/ocds-213czf-000-00001-01.html"
    ]
    assert step.draft.contacts[0].name == "Procurement Team"
    # Written nationally in the release; read with the buyer's country (GB), stored in E.164.
    assert step.draft.contacts[0].phone == "+441234345346"
    assert (step.release_id, step.ocid) == (
        "ocds-213czf-000-00001-02-tender",
        "ocds-213czf-000-00001",
    )


def test_every_release_of_the_fictional_process_becomes_the_right_step() -> None:
    package = releases_in(FICTIONAL / "ocds-213czf-000-00001.json")

    kinds = [[type(s).__name__ for s in steps_of(r)] for r in package]

    assert kinds == [
        ["SkipStep"],  # planning
        ["PublishStep"],  # tender
        ["AmendStep"],  # tenderAmendment
        ["AwardStep"],  # award
        ["SkipStep"],  # contract
        ["SkipStep"],  # implementation
    ]


def test_a_tender_amendment_carries_its_rationale_and_new_deadline() -> None:
    step = only(steps_of(fictional("03-tenderAmendment")), AmendStep)

    assert step.proposed.reason == (
        "The tender period has been extended in accordance with council guidelines"
    )
    assert step.proposed.deadline == datetime(2010, 4, 8, 18, 0, tzinfo=UTC)
    assert step.proposed.documents is not None
    assert len(step.proposed.documents) == 2
    # CPV-only items leave the notice's codes alone rather than clearing them.
    assert "unspsc_codes" not in step.proposed.model_fields_set


def test_an_award_names_the_supplier_its_country_value_and_date() -> None:
    step = only(steps_of(fictional("04-award")), AwardStep)

    decision = step.decision
    assert decision.supplier_name == "AnyCorp Cycle Provision"
    assert decision.supplier_country == "GBR"  # from the supplier's entry in parties
    assert decision.amount == Decimal("11000000")
    assert decision.currency == "GBP"
    assert decision.date.isoformat() == "2010-05-10"
    assert any("pending" in note for note in step.notes)


@pytest.mark.parametrize("stage", ["01-planning", "05-contract", "06-implementation"])
def test_stages_tenderwire_does_not_track_are_skipped_with_a_reason(stage: str) -> None:
    step = only(steps_of(fictional(stage)), SkipStep)

    assert step.tag == stage.split("-")[1]
    assert "imports tenders" in step.reason


# --- tags -------------------------------------------------------------------------------------


def test_an_unknown_tag_is_skipped_as_not_ocds() -> None:
    release = fictional("02-tender")
    release["tag"] = ["tender", "bogus"]

    steps = steps_of(release)

    assert isinstance(steps[1], PublishStep)
    skipped = only(steps, SkipStep)
    assert skipped.tag == "bogus"
    assert "not an OCDS 1.1 release tag" in skipped.reason


def test_steps_follow_the_lifecycle_whatever_order_the_tags_are_in() -> None:
    release = fictional("04-award")
    release["tag"] = ["award", "tenderCancellation", "planning"]

    steps = steps_of(release)

    assert [type(s) for s in steps] == [SkipStep, CancelStep, AwardStep]


def test_a_release_tagged_tender_and_tender_update_applies_its_tender_data_once() -> None:
    release = fictional("02-tender")
    release["tag"] = ["tender", "tenderUpdate"]

    steps = steps_of(release)

    assert [type(s) for s in steps] == [SkipStep, PublishStep]
    assert only(steps, SkipStep).tag == "tenderUpdate"


def test_every_release_tag_in_the_codelist_has_a_step_or_a_reason_to_skip() -> None:
    for tag in standard.codelist("releaseTag"):
        release = fictional("04-award")
        release["tender"]["tenderPeriod"] = {"endDate": "2030-01-01T00:00:00Z"}
        release["tag"] = [tag]
        (step,) = steps_of(release)
        if isinstance(step, SkipStep):
            assert "not an OCDS" not in step.reason, tag


def test_an_update_without_fields_a_notice_records_is_skipped() -> None:
    release = fictional("03-tenderAmendment")
    release["tag"] = ["tenderUpdate"]
    release["tender"] = {"id": "t", "value": {"amount": 1, "currency": "GBP"}}
    release["parties"] = []

    step = only(steps_of(release), SkipStep)

    assert step.tag == "tenderUpdate"
    assert "none of the fields" in step.reason


# --- notice fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("open", NoticeType.INVITATION_TO_BID),
        ("selective", NoticeType.REQUEST_FOR_PROPOSAL),
        ("limited", NoticeType.REQUEST_FOR_QUOTATION),
        ("direct", NoticeType.REQUEST_FOR_QUOTATION),
        (None, NoticeType.INVITATION_TO_BID),
        ("auction", NoticeType.INVITATION_TO_BID),
    ],
)
def test_the_procurement_method_decides_the_notice_type(
    method: str | None, expected: NoticeType
) -> None:
    release = a_tender(procurementMethod=method, procurementMethodDetails=None)

    step = only(steps_of(release), PublishStep)

    assert step.draft.notice_type is expected
    assert any("procurementMethod" in n for n in step.notes) == (
        method not in ("open", "selective", "limited", "direct")
    )


def test_every_method_in_the_codelist_has_a_notice_type() -> None:
    assert set(vocabulary.NOTICE_TYPE_BY_METHOD) == standard.codelist("method")


def test_a_notice_type_named_in_the_method_details_is_read_back() -> None:
    release = a_tender(procurementMethod=None, procurementMethodDetails="Request for quotation")

    assert (
        only(steps_of(release), PublishStep).draft.notice_type is NoticeType.REQUEST_FOR_QUOTATION
    )


def test_html_in_title_and_description_becomes_plain_text_and_is_reported() -> None:
    release = a_tender(
        title="<b>Cycle</b> lanes &amp; paths",
        description="<p>First&nbsp;part.</p><script>alert(1)</script><ul><li>Lot 1</li></ul>",
    )

    step = only(steps_of(release), PublishStep)

    assert step.draft.title == "Cycle lanes & paths"
    assert step.draft.description == "First part.\n\nLot 1"
    assert "tender.title contained HTML; imported as plain text" in step.notes
    assert "tender.description contained HTML; imported as plain text" in step.notes


def test_control_characters_and_escaped_markup_do_not_reach_the_notice() -> None:
    release = a_tender(title="Nul\x00byte &lt;b&gt;", description="ok\x07 text")

    step = only(steps_of(release), PublishStep)

    assert "\x00" not in step.draft.title
    assert "<b" not in step.draft.title
    assert step.draft.description == "ok text"
    assert any("control characters" in n for n in step.notes)


def test_c1_controls_and_line_separators_are_cleaned_like_other_control_characters() -> None:
    release = a_tender(title="Cycle\x85lanes\u2028phase 1", description="ok\x9b text")

    step = only(steps_of(release), PublishStep)

    assert step.draft.title == "Cycle lanes phase 1"
    assert step.draft.description == "ok text"


def test_a_contact_keeps_its_name_when_its_email_or_phone_is_not_real() -> None:
    release = fictional("02-tender")
    release["parties"][0]["contactPoint"].update(email="not-an-email", telephone="call me maybe")

    step = only(steps_of(release), PublishStep)

    assert [(c.name, c.email, c.phone) for c in step.draft.contacts] == [
        ("Procurement Team", None, None)
    ]
    assert any("'not-an-email' is not a valid e-mail address" in n for n in step.notes)
    assert any("'call me maybe' is not a phone number" in n for n in step.notes)


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        (["tender", "x\x00"], "control characters"),
        (["tender", "t" * 51], "longer than 50"),
        (["tender", *[f"t{i}" for i in range(100)]], "at most 20"),
    ],
)
def test_tags_the_report_cannot_hold_make_the_release_broken(tags: list[str], words: str) -> None:
    release = fictional("02-tender")
    release["tag"] = tags

    header = read_header(release)

    assert isinstance(header, BrokenRelease)
    assert len(header.problems) == 1
    assert words in header.problems[0]
    assert all("\x00" not in t and len(t) <= 50 for t in header.tags)


def test_a_deadline_without_offset_is_read_as_utc_and_reported() -> None:
    release = a_tender(tenderPeriod={"endDate": "2031-02-03T10:00:00"})

    step = only(steps_of(release), PublishStep)

    assert step.draft.deadline == datetime(2031, 2, 3, 10, 0, tzinfo=UTC)
    assert any("no UTC offset; read as UTC" in n for n in step.notes)


@pytest.mark.parametrize(
    ("tender", "words"),
    [
        ({"tenderPeriod": None}, "tenderPeriod.endDate is missing"),
        ({"tenderPeriod": {"endDate": "soon"}}, "not an ISO 8601"),
        ({"title": None}, "tender.title is missing"),
        ({"title": "   "}, "tender.title is missing"),
    ],
)
def test_a_tender_without_deadline_or_title_fails(tender: dict[str, Any], words: str) -> None:
    release = a_tender(**tender)

    with pytest.raises(ReleaseError, match=words):
        steps_of(release)


def test_unspsc_codes_are_read_from_any_scheme_spelling_and_bad_ones_reported() -> None:
    items = [
        an_item(("CPV", "45233130-9"), ("unspsc", "43211503")),
        an_item(("UNSPSC", "43211503"), ("Unspsc", "1234"), ("UNSPSC", "05000000")),
        an_item(("UNSPSC", 42131606)),  # a number, as some publishers write it
    ]
    step = only(steps_of(a_tender(items=items)), PublishStep)

    assert step.draft.unspsc_codes == ["43211503", "42131606"]
    assert any("'1234' must be exactly 8 digits; dropped" in n for n in step.notes)
    assert any("'05000000'" in n and "dropped" in n for n in step.notes)
    assert not any("CPV" in n for n in step.notes)  # codes were found, CPV does not matter


def test_delivery_countries_win_over_the_buyer_and_unknown_ones_are_reported() -> None:
    items = [
        an_item(("UNSPSC", "43211503"), deliveryAddress={"countryName": "Senegal"}),
        an_item(("UNSPSC", "43211503"), deliveryAddress={"countryName": "Atlantis"}),
        an_item(("UNSPSC", "43211503"), deliveryAddress={"countryName": "ML"}),
    ]
    step = only(steps_of(a_tender(items=items)), PublishStep)

    assert step.draft.beneficiary_countries == ["SEN", "MLI"]
    assert any("'Atlantis' is not a country" in n for n in step.notes)


def test_documents_without_an_http_url_are_dropped_and_reported() -> None:
    documents = [
        {"id": "1", "title": "ToR", "url": "https://example.org/tor.pdf"},
        {"id": "2", "title": "Script", "url": "javascript:alert(1)"},
        {"id": "3", "title": "No link"},
        {"id": "4", "description": "Untitled annex", "url": "http://example.org/annex.pdf"},
    ]
    step = only(steps_of(a_tender(documents=documents)), PublishStep)

    assert [(d.title, str(d.url)) for d in step.draft.documents] == [
        ("ToR", "https://example.org/tor.pdf"),
        ("Untitled annex", "http://example.org/annex.pdf"),
    ]
    assert sum("no http(s) url; dropped" in n for n in step.notes) == 2


def test_an_unknown_language_imports_as_english_and_a_regional_one_as_its_language() -> None:
    release = a_tender()
    release["language"] = "klingon"
    regional = a_tender()
    regional["language"] = "fr-CA"

    step = only(steps_of(release), PublishStep)

    assert step.draft.language == "en"
    assert any("not an ISO 639-1 code" in n for n in step.notes)
    assert only(steps_of(regional), PublishStep).draft.language == "fr"


# --- awards and cancellations -----------------------------------------------------------------


def test_a_supplier_without_country_gets_the_buyers_and_the_report_says_so() -> None:
    release = fictional("04-award")
    release["parties"] = [p for p in release["parties"] if "supplier" not in p["roles"]]

    step = only(steps_of(release), AwardStep)

    assert step.decision.supplier_country == "GBR"
    assert any(
        "supplier country not given; the buyer's (United Kingdom) used" in n for n in step.notes
    )


def test_an_award_without_any_country_or_value_fails() -> None:
    no_country = fictional("04-award")
    for party in no_country["parties"]:
        party.pop("address")
    no_value = fictional("04-award")
    del no_value["awards"][0]["value"]

    with pytest.raises(ReleaseError, match="country"):
        steps_of(no_country)
    with pytest.raises(ReleaseError, match=r"value\.amount"):
        steps_of(no_value)


def test_cancelled_or_unsuccessful_awards_are_not_imported() -> None:
    release = fictional("04-award")
    release["awards"][0]["status"] = "unsuccessful"

    step = only(steps_of(release), SkipStep)

    assert step.tag == "award"
    assert "pending or active" in step.reason


def test_a_cancellation_reason_comes_from_the_cancellation_details() -> None:
    release = fictional("03-tenderAmendment")
    release["tag"] = ["tenderCancellation"]
    release["tender"]["documents"].append(
        {"id": "9", "documentType": "cancellationDetails", "description": "Budget withdrawn"}
    )
    bare = fictional("02-tender")
    bare["tag"] = ["tenderCancellation"]

    assert only(steps_of(release), CancelStep).reason == "Budget withdrawn"
    fallback = only(steps_of(bare), CancelStep)
    assert "ocds-213czf-000-00001-02-tender" in fallback.reason
    assert "no reason" in fallback.notes[0]


# --- the release header -----------------------------------------------------------------------


def test_a_release_missing_its_identity_is_broken_naming_every_missing_field() -> None:
    header = read_header({"tag": 42, "ocid": "", "date": "2020-13-45"})

    assert isinstance(header, BrokenRelease)
    problems = " | ".join(header.problems)
    for field in ("ocid", "id", "date", "tag"):
        assert field in problems


@pytest.mark.parametrize("release", [[], "tender", None, 42])
def test_a_release_that_is_not_an_object_is_broken(release: object) -> None:
    header = read_header(release)

    assert isinstance(header, BrokenRelease)
    assert "must be a JSON object" in header.problems[0]


def test_an_ocid_with_a_nul_byte_never_reaches_the_database() -> None:
    release = fictional("02-tender")
    release["ocid"] = "ocds-x\x00"

    header = read_header(release)

    assert isinstance(header, BrokenRelease)
    assert "control characters" in header.problems[0]


def test_a_naive_release_date_is_read_as_utc() -> None:
    release = fictional("02-tender")
    release["date"] = "2010-03-15T09:30:00"

    header = header_of(release)

    assert header.date == datetime(2010, 3, 15, 9, 30, tzinfo=UTC)
    assert header.notes == ("release date has no UTC offset; read as UTC",)


# --- a release against a notice already imported ----------------------------------------------


def notice_from(step: PublishStep, **changes: Any) -> TenderSnapshot:
    snapshot = snapshot_from_draft(
        step.draft, tender_id="n-1", agency="UNDP", published_at=step.date, ocid=step.ocid
    )
    return snapshot.model_copy(update=changes)


def test_the_same_tender_again_changes_nothing() -> None:
    step = only(steps_of(fictional("02-tender")), PublishStep)

    assert amendment_against(notice_from(step), as_amendment(step)) is None


def test_an_amendment_keeps_only_what_changed_and_adds_documents_without_dropping_any() -> None:
    tender = only(steps_of(fictional("02-tender")), PublishStep)
    amendment = only(steps_of(fictional("03-tenderAmendment")), AmendStep)
    current = notice_from(tender, unspsc_codes=("72141100",))

    changed = amendment_against(current, amendment.proposed)

    assert changed is not None
    assert changed.model_fields_set == {"reason", "deadline", "documents"}
    assert changed.documents is not None
    assert [d.title for d in changed.documents] == ["Tender Notice", "Enquiry Responses"]


def test_a_deadline_written_with_another_offset_is_the_same_deadline() -> None:
    tender = only(steps_of(fictional("02-tender")), PublishStep)
    later = a_tender(tenderPeriod={"endDate": "2010-04-01T20:00:00+02:00"})
    same_instant = only(steps_of(later), PublishStep)

    assert amendment_against(notice_from(tender), as_amendment(same_instant)) is None


# --- anything at all --------------------------------------------------------------------------

HOSTILE_VALUES: list[object] = [
    *(None, True, 0, -1.5, 1e308),
    *("", " ", "\x00", "<b>x</b>", "x" * 30_000),
    *([], [None], {}, {"id": None}),
    *("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "http://[::1"),
]


def paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found += paths(child, (*prefix, index))
    return found


def replaced(release: dict[str, Any], path: tuple[str | int, ...], value: object) -> Any:
    mutated = copy.deepcopy(release)
    parent: Any = mutated
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return mutated


@pytest.mark.parametrize("stage", ["02-tender", "03-tenderAmendment", "04-award"])
def test_any_field_of_any_type_fails_cleanly_or_imports(stage: str) -> None:
    """Every field replaced by every hostile value: the mapping either plans steps or says
    why not with ReleaseError or a validation error, which the importer reports per release.
    Anything else would be a 500 for the agency."""
    release = fictional(stage)
    release["tag"] = ["tender", "tenderCancellation", "award"]
    release.setdefault("awards", fictional("04-award")["awards"])
    release["tender"].setdefault("tenderPeriod", {"endDate": "2030-01-01T00:00:00Z"})
    tried = planned = 0
    for path in paths(release):
        for value in HOSTILE_VALUES:
            mutated = replaced(release, path, value)
            header = read_header(mutated)
            tried += 1
            if isinstance(header, BrokenRelease):
                continue
            with contextlib.suppress(ReleaseError, ValidationError):
                plan(header, mutated)
                planned += 1
    assert tried > 1000
    assert planned > tried // 2  # most damage is repaired or ignored, not refused


def test_a_classification_s_scheme_and_id_are_kept_as_plain_text() -> None:
    item = an_item(("C\x00PV", "45233130"), ("GSIN", "<b>N6515</b>"), ("\u200b", "x"))
    step = only(steps_of(a_tender(items=[item])), PublishStep)

    kept = [(c.scheme, c.code) for c in step.draft.classifications]
    assert kept == [("C PV", "45233130"), ("GSIN", "N6515")]
    assert "item classification scheme: control characters replaced by spaces" in step.notes
    assert step.draft.cpv_codes == []  # "C PV" is no CPV
