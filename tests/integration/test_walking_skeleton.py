"""One tender, end to end: notices -> outbox -> Kafka -> matching -> Kafka -> notify -> SMTP.

An invalid notice, refused before anything is stored: services/notices/tests/test_api.py.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.platform import OPERATOR_HEADERS, Platform
from tests.support.walkthrough import a_notice, as_agency, mail_to, register, unique

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def agency(platform: Platform) -> tuple[str, str]:
    return await platform.new_agency()


async def test_a_published_tender_reaches_a_matching_supplier_as_exactly_one_email(
    platform: Platform,
    mail_catcher: MailCatcher,
    http: httpx.AsyncClient,
    agency: tuple[str, str],
) -> None:
    assert platform.notices is not None
    assert platform.notify is not None
    email = f"{unique('offres')}@sahel-medical.example"
    supplier = await register(
        http,
        platform,
        legal_name=unique("Sahel Medical Supplies SARL"),
        country="SEN",
        unspsc_codes=["42131600"],  # the class above the tender's commodity: one level up
        email=email,
        language="fr",
        timezone="Africa/Dakar",
    )
    notice = a_notice()

    response = await http.post(
        f"{platform.notices.url}/v1/notices",
        json=notice,
        headers=as_agency(agency[1], **{"X-Correlation-ID": "corr-skeleton-1"}),
    )
    assert response.status_code == 201, response.text
    tender = response.json()
    assert tender["beneficiary_countries"] == ["SEN", "MLI"]
    assert tender["deadline"] == "2027-01-15T16:00:00Z"
    assert response.headers["X-Correlation-ID"] == "corr-skeleton-1"

    messages = await eventually(
        lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) >= 1
    )
    assert len(messages) == 1
    mail = messages[0]
    assert mail["recipients"] == [email]
    assert mail["subject"] == (
        f"[Nouvel appel d'offres] Isolation gowns for health centres"
        f" ({agency[0]}, {notice['reference']})"
    )
    assert mail["message_id"].endswith("@tenderwire.localhost>")
    text = mail["text"]
    assert "Bonjour" in text
    assert "Type\u00a0: Demande de cotations" in text  # French spaces its colons
    assert "Pays bénéficiaires\u00a0: Sénégal, Mali" in text
    assert "Codes UNSPSC\u00a0: 42131606" in text
    # Dakar is on UTC all year; the agency wrote its deadline at UTC+01:00.
    assert "16:00 (votre fuseau horaire, heure moyenne de Greenwich)" in text
    assert "15 janv. 2027 17:00 (heure de l'organisme, UTC+01:00)" in text
    assert f"/v1/notices/{tender['id']}" in text
    assert "Isolation gowns for health centres" in mail["html"]

    deliveries = (
        await http.get(
            f"{platform.notify.url}/v1/deliveries",
            params={"supplier_id": supplier["id"]},
            headers=OPERATOR_HEADERS,
        )
    ).json()
    assert [(d["tender_id"], d["state"], d["attempts"]) for d in deliveries] == [
        (tender["id"], "sent", 1)
    ]
    assert mail["message_id"] == f"<{deliveries[0]['id']}@tenderwire.localhost>"
    # Delivery lists name suppliers' contacts' fates: operators only.
    anonymous = await http.get(
        f"{platform.notify.url}/v1/deliveries", params={"supplier_id": supplier["id"]}
    )
    assert anonymous.status_code == 401


async def test_a_supplier_whose_codes_do_not_match_receives_nothing(
    platform: Platform,
    mail_catcher: MailCatcher,
    http: httpx.AsyncClient,
    agency: tuple[str, str],
) -> None:
    assert platform.notices is not None
    matching_email = f"{unique('tenders')}@andes-salud.example"
    other_email = f"{unique('tenders')}@nairobi-water.example"
    matching = await register(
        http,
        platform,
        legal_name=unique("Andes Salud"),
        country="PE",
        unspsc_codes=["42131606"],
        email=matching_email,
        language="es",
        timezone="America/Lima",
    )
    # Same segment and family, a different class: two levels away, beyond UNGM's one.
    other = await register(
        http,
        platform,
        legal_name=unique("Nairobi Water"),
        country="KE",
        unspsc_codes=["42132200"],
        email=other_email,
    )

    notice = a_notice()
    response = await http.post(
        f"{platform.notices.url}/v1/notices", json=notice, headers=as_agency(agency[1])
    )
    assert response.status_code == 201, response.text
    tender_id = response.json()["id"]

    # Matching writes all of a tender's matches in one transaction, so once the matching
    # supplier's mail about this tender is here the other supplier's fate is decided. (Earlier
    # tests' tenders are still open, so registration alone already brought it other mail.)
    def about_this_tender(messages: list[Any]) -> bool:
        return any(notice["reference"] in m["subject"] for m in messages)

    await eventually(lambda: mail_to(http, mail_catcher, matching_email), until=about_this_tender)
    other_mail = await mail_to(http, mail_catcher, other_email)
    assert other_mail == []  # no tender in this module is within one level of 42132200
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        matched = await conn.fetch(
            "SELECT supplier_id FROM matches WHERE tender_id = $1", tender_id
        )
    finally:
        await conn.close()
    matched_ids = {r["supplier_id"] for r in matched}
    assert matching["id"] in matched_ids
    assert other["id"] not in matched_ids
