"""The supplier page's reads: the registry profile with contacts masked, recent matches from
matching, recent deliveries from notify. Operators see enough to tell two addresses apart,
never enough to copy one."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from tenderwire_console.read_models.sql import Database
from tenderwire_matching import repository
from tenderwire_matching.domain.eligibility import classify
from tenderwire_shared.masking import mask_address, mask_contacts, mask_email, mask_phone


class SupplierProfile(BaseModel):
    id: str
    legal_name: str
    country: str
    economy_group: str
    active: bool
    email: str
    phone: str | None
    language: str
    timezone: str
    delivery: str
    digest_hour: int
    quiet_hours: str | None
    unspsc_codes: list[str]
    beneficiary_countries: list[str]
    agencies: list[str]
    notice_types: list[str]
    keywords: list[str]
    version: int
    created_at: datetime
    deactivated_at: datetime | None
    suppressed: list[str] = []


class SupplierMatch(BaseModel):
    tender_id: str
    title: str | None
    revision: int
    kind: str
    still_matches: bool
    codes: list[str]
    created_at: datetime


class SupplierDelivery(BaseModel):
    tender_id: str
    revision: int
    kind: str
    channel: str
    address: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class SupplierPage(BaseModel):
    profile: SupplierProfile
    matches: list[SupplierMatch]
    deliveries: list[SupplierDelivery]


async def supplier_page(
    matching: Database, notify: Database, supplier_id: str, *, limit: int = 50
) -> SupplierPage | None:
    record = await repository.row(matching, supplier_id)
    if record is None:
        return None
    matches = await matching.fetch(
        "SELECT m.tender_id, t.snapshot->>'title' AS title, m.revision, m.kind,"
        " m.still_matches, m.codes, m.created_at FROM matches m"
        " LEFT JOIN tenders t ON t.tender_id = m.tender_id"
        " WHERE m.supplier_id = $1 ORDER BY m.created_at DESC LIMIT $2",
        supplier_id,
        limit,
    )
    deliveries = await notify.fetch(
        "SELECT tender_id, revision, kind, channel, address, state, attempts, last_error,"
        " created_at, sent_at FROM deliveries WHERE supplier_id = $1"
        " ORDER BY created_at DESC LIMIT $2",
        supplier_id,
        limit,
    )
    contacts = [("email", record["email"].lower())]
    if record["phone"]:
        contacts.append(("sms", record["phone"].lower()))
    suppressed = await notify.fetch(
        "SELECT channel, reason FROM suppressions"
        " WHERE (channel, address) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        [channel for channel, _ in contacts],
        [address for _, address in contacts],
    )
    return SupplierPage(
        profile=_profile(
            record, [f"{r['channel']}: {mask_contacts(r['reason'])}" for r in suppressed]
        ),
        matches=[SupplierMatch.model_validate(dict(r)) for r in matches],
        deliveries=[
            SupplierDelivery.model_validate(
                {
                    **dict(r),
                    "address": mask_address(r["address"]),
                    "last_error": r["last_error"] and mask_contacts(r["last_error"]),
                }
            )
            for r in deliveries
        ],
    )


def _profile(r: asyncpg.Record, suppressed: list[str]) -> SupplierProfile:
    quiet = (
        f"{r['quiet_hours_start']:%H:%M}-{r['quiet_hours_end']:%H:%M}"
        if r["quiet_hours_start"] is not None and r["quiet_hours_end"] is not None
        else None
    )
    return SupplierProfile(
        id=r["id"],
        legal_name=r["legal_name"],
        country=r["country"],
        economy_group=classify(r["country"]).group.value,
        active=r["active"],
        email=mask_email(r["email"]),
        phone=mask_phone(r["phone"]) if r["phone"] else None,
        language=r["language"],
        timezone=r["timezone"],
        delivery=r["delivery"],
        digest_hour=r["digest_hour"],
        quiet_hours=quiet,
        unspsc_codes=list(r["codes"]),
        beneficiary_countries=list(r["filter_countries"]),
        agencies=list(r["filter_agencies"]),
        notice_types=list(r["filter_notice_types"]),
        keywords=list(r["keywords"]),
        version=r["version"],
        created_at=r["created_at"],
        deactivated_at=r["deactivated_at"],
        suppressed=suppressed,
    )
