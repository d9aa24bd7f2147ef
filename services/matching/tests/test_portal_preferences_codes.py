"""The code catalogue's rules (both hierarchies, which title wins, searches, what a tender
teaches, the operator's CSV) and the code picker through the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from tenderwire_matching.portal.catalogue.domain import (
    MAX_TITLE,
    Query,
    Scheme,
    Source,
    TitleRow,
    best_titles,
    child_under,
    children,
    clean_title,
    level_name,
    read_licensed_list,
    read_query,
    significant,
    titles_in,
)
from tenderwire_shared.events.tenders import Classification, NoticeType, TenderSnapshot
from tests.support.portal_pages import FakeCatalogue, Portal, portal, titles

U, C = Scheme.UNSPSC, Scheme.CPV


# --- The hierarchies --------------------------------------------------------------------


def test_unspsc_browses_segment_family_class_commodity() -> None:
    known = ["42131606", "42131607", "42140000", "43211500", "42131600"]
    assert children(U, None, known) == ["42000000", "43000000"]
    assert children(U, "42000000", known) == ["42130000", "42140000"]
    assert children(U, "42130000", known) == ["42131600"]
    assert children(U, "42131600", known) == ["42131606", "42131607"]
    assert children(U, "42131606", known) == []
    assert [level_name(U, c) for c in ("42000000", "42130000", "42131600", "42131606")] == [
        "segment",
        "family",
        "class",
        "commodity",
    ]
    assert significant(U, "42131600") == "421316"


def test_cpv_browses_division_group_class_category_and_finer() -> None:
    known = ["45233162", "45233000", "33141100", "45100000"]
    assert children(C, None, known) == ["33000000", "45000000"]
    assert children(C, "45000000", known) == ["45100000", "45200000"]
    assert children(C, "45200000", known) == ["45230000"]
    assert children(C, "45230000", known) == ["45233000"]
    assert children(C, "45233000", known) == ["45233100"]
    assert children(C, "45233100", known) == ["45233160"]
    assert children(C, "45233160", known) == ["45233162"]
    assert [level_name(C, c) for c in ("45000000", "45200000", "45230000", "45233000")] == [
        "division",
        "group",
        "class",
        "category",
    ]
    assert child_under(C, "33000000", "45233162") is None


def test_the_readers_language_wins_then_the_licensed_list_then_the_most_seen() -> None:
    rows = [
        TitleRow("42131606", "en", "Gowns", Source.NOTICES, 9),
        TitleRow("42131606", "fr", "Blouses", Source.NOTICES, 1),
        TitleRow("42131606", "fr", "Blouses d'isolement", Source.NOTICES, 4),
        TitleRow("42131607", "en", "Aprons", Source.NOTICES, 9),
        TitleRow("42131607", "en", "Isolation aprons", Source.LICENSED, 0),
    ]
    best = best_titles(rows, "fr")
    assert best["42131606"].title == "Blouses d'isolement"
    assert best["42131607"].title == "Isolation aprons"
    assert best_titles(rows, "en")["42131606"].title == "Gowns"


@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("4213", Query("4213", ())),
        (" 45233162-2 ", Query("45233162", ())),
        ("Blouses  MÉDICALES", Query(None, ("blouses", "medicales"))),
        ("", None),
        ("   ", None),
    ],
)
def test_a_search_is_a_code_prefix_or_words_without_case_or_accents(
    typed: str, query: Query | None
) -> None:
    assert read_query(typed) == query


def test_a_title_is_one_plain_line_cut_at_a_word() -> None:
    assert clean_title("  Isolation\n gowns ") == "Isolation gowns"
    assert clean_title("bad\x00title") is None
    assert clean_title("   ") is None
    long = clean_title("word " * 100)
    assert long is not None
    assert len(long) <= MAX_TITLE + 1
    assert long.endswith("word…")


def a_tender(*classifications: Classification, language: str = "fr") -> TenderSnapshot:
    return TenderSnapshot(
        tender_id="t1",
        revision=1,
        agency="UNICEF",
        reference="RFQ-1",
        title="Blouses",
        description="",
        language=language,
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=("42131606",),
        classifications=classifications,
        beneficiary_countries=("SEN",),
        deadline=datetime(2027, 1, 15, tzinfo=UTC),
        deadline_utc_offset_minutes=0,
        published_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_a_tender_teaches_the_descriptions_beside_its_unspsc_and_cpv_codes() -> None:
    tender = a_tender(
        Classification(scheme="UNSPSC", code="42131606", description="Blouses d'isolement"),
        Classification(scheme="unspsc", code="42131606", description="Blouses d'isolement"),
        Classification(scheme="CPV", code="33141100-7", description="Pansements"),
        Classification(scheme="CPVS", code="TA10", description="Supplementary"),
        Classification(scheme="UNSPSC", code="4213", description="Not a code"),
        Classification(scheme="UNSPSC", code="42131607", description=None),
    )
    assert titles_in(tender) == [
        (U, "42131606", "fr", "Blouses d'isolement"),
        (C, "33141100", "fr", "Pansements"),
    ]
    assert titles_in(a_tender(*tender.classifications, language="de")) == []


# --- The operator's licensed list -------------------------------------------------------


def test_a_licensed_list_is_read_row_by_row_and_bad_rows_say_why() -> None:
    text = (
        "\ufeffcode,title,language\n"
        "42131606,Isolation gowns\n"
        "42131607,Blouses,fr\n"
        "4213,Too short\n"
        "42131608,,en\n"
        "42131609,Gowns,de\n"
        "42131610\n"
        "42131611,ok,en,extra\n"
        "42131612,bad\x01title\n"
        "\n"
        "42131606,Isolation gowns (2nd edition)\n"
    )
    parsed = read_licensed_list(text, U, "en")

    assert [(t.code, t.language, t.title) for t in parsed.titles] == [
        ("42131606", "en", "Isolation gowns (2nd edition)"),
        ("42131607", "fr", "Blouses"),
    ]
    assert [(b.line, b.reason.split(" ")[0]) for b in parsed.bad] == [
        (4, "UNSPSC"),
        (5, "the"),
        (6, "language"),
        (7, "expected"),
        (8, "expected"),
        (9, "the"),
    ]
    assert "must be exactly 8 digits" in parsed.bad[0].reason


def test_a_cpv_list_drops_the_check_digit_and_refuses_what_is_no_cpv_code() -> None:
    parsed = read_licensed_list("45233162-2,Travaux\n00000000,Nothing\n", C, "fr")
    assert [(t.code, t.language) for t in parsed.titles] == [("45233162", "fr")]
    assert "division 00" in parsed.bad[0].reason


def test_a_file_that_is_not_csv_is_one_bad_row_not_a_crash() -> None:
    parsed = read_licensed_list('42131606,Gowns\n42131607,"unterminated\n', U, "en")
    assert [t.code for t in parsed.titles] == ["42131606"]
    assert [b.reason.split(":")[0] for b in parsed.bad] == ["not CSV, reading stopped here"]


# --- The picker -------------------------------------------------------------------------


CATALOGUE = FakeCatalogue(
    {
        U: titles(
            ("42131606", "en", "Isolation gowns"),
            ("42131600", "fr", "Vêtements médicaux"),
            ("42000000", "en", "Medical equipment"),
        ),
        C: titles(("33141100", "fr", "Pansements")),
    }
)


@pytest_asyncio.fixture
async def picker() -> AsyncIterator[Portal]:
    async for state in portal(CATALOGUE, unspsc_codes=["42131606"], cpv_codes=["33141100"]):
        yield state


async def test_the_picker_shows_the_selected_codes_with_their_titles(picker: Portal) -> None:
    page = await picker.http.get("/portal/codes")
    assert page.status_code == 200
    mine = page.text.split('id="mine"')[1].split('id="search"')[0]
    assert "Isolation gowns" in mine
    assert '<span lang="fr" dir="auto">Pansements</span>' in mine
    assert mine.count(">Remove</button>") == 2


async def test_a_search_finds_titles_by_word_without_accents_and_codes_by_prefix(
    picker: Portal,
) -> None:
    by_word = await picker.http.get("/portal/codes", params={"q": "MEDICAUX"})
    assert "42131600" in by_word.text
    assert "Vêtements médicaux" in by_word.text
    by_prefix = await picker.http.get("/portal/codes", params={"q": "4213"})
    found = by_prefix.text.split('id="search"')[1].split('id="browse"')[0]
    assert "42131600" in found
    assert "42131606" in found
    nothing = await picker.http.get("/portal/codes", params={"q": "zzz"})
    assert "No code found" in nothing.text


async def test_a_typed_code_with_no_title_is_its_number_and_level(picker: Portal) -> None:
    page = await picker.http.get("/portal/codes", params={"q": "43211500"})
    assert "UNSPSC class 432115" in page.text
    cpv = await picker.http.get("/portal/codes", params={"q": "03000000-1", "scheme": "cpv"})
    assert "CPV division 03" in cpv.text


async def test_browsing_goes_down_one_level_at_a_time(picker: Portal) -> None:
    top = await picker.http.get("/portal/codes")
    assert "under=42000000" in top.text
    assert "Medical equipment" in top.text
    segment = await picker.http.get("/portal/codes", params={"under": "42000000"})
    assert "under=42130000" in segment.text
    assert "UNSPSC family 4213" in segment.text
    family = await picker.http.get("/portal/codes", params={"under": "42130000"})
    assert "Vêtements médicaux" in family.text
    hostile = await picker.http.get("/portal/codes", params={"under": "<script>", "q": "<b>"})
    assert hostile.status_code == 200
    assert "<b>" not in hostile.text
    # Control characters in a query are refused before any page (the shared HTTP rules).
    nul = await picker.http.get("/portal/codes", params={"q": "\x00"})
    assert nul.status_code == 422
    huge = await picker.http.get(
        "/portal/codes", params={"q": "gowns " * 5_000, "under": "9" * 5_000, "scheme": "x" * 99}
    )
    assert huge.status_code == 200


async def test_adding_and_removing_a_code_saves_the_whole_list(picker: Portal) -> None:
    added = await picker.post("/portal/codes/add", {"scheme": "unspsc", "code": "42131600"})
    assert added.status_code == 303
    assert added.headers["location"] == "/portal/codes?scheme=unspsc&done=added"
    assert picker.profile.unspsc_codes == ["42131606", "42131600"]

    removed = await picker.post(
        "/portal/codes/remove", {"scheme": "cpv", "code": "33141100", "q": "gowns"}
    )
    assert removed.headers["location"] == "/portal/codes?scheme=cpv&done=removed&q=gowns"
    assert picker.profile.cpv_codes == []
    assert [c.model_dump(exclude_unset=True) for c in picker.saved] == [
        {"unspsc_codes": ["42131606", "42131600"]},
        {"cpv_codes": []},
    ]


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("add", {"scheme": "unspsc", "code": "42000000"}, "too general"),
        ("add", {"scheme": "unspsc", "code": "42130000"}, "too general"),
        ("add", {"scheme": "unspsc", "code": "<script>"}, "not a code"),
        ("add", {"scheme": "unspsc", "code": "٤٢١٣١٦٠٦"}, "not a code"),
        ("add", {"scheme": "cpv", "code": "x" * 10_000}, "not a code"),
        ("add", {"scheme": "unspsc"}, "not a code"),
        ("remove", {"scheme": "unspsc", "code": "42131606"}, "cannot all be removed"),
    ],
)
async def test_a_code_that_cannot_be_added_or_removed_gets_the_picker_again(
    picker: Portal, action: str, fields: dict[str, str], message: str
) -> None:
    answer = await picker.post(f"/portal/codes/{action}", fields)
    assert answer.status_code == 422
    assert message in answer.text
    assert "<script>" not in answer.text
    assert picker.saved == []


async def test_the_last_code_cannot_be_removed() -> None:
    async for only in portal(CATALOGUE, unspsc_codes=[], cpv_codes=["33141100"]):
        answer = await only.post("/portal/codes/remove", {"scheme": "cpv", "code": "33141100"})
        assert answer.status_code == 422
        assert "Keep at least one code" in answer.text
        assert only.saved == []


async def test_the_picker_without_a_form_token_changes_nothing(picker: Portal) -> None:
    await picker.form_token("/portal/codes")
    answer = await picker.http.post(
        "/portal/codes/add", data={"scheme": "unspsc", "code": "42131600"}
    )
    assert answer.status_code == 403
    assert picker.saved == []
