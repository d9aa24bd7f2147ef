"""The private feed's use cases: make or revoke a supplier's feed address, and write its feed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from tenderwire_matching.portal.feed import repository
from tenderwire_matching.portal.feed.domain import Entry, Feed, atom
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.i18n import N_, Messages, locale

ENTRIES = 50

# Entry titles, by match kind.
_TITLES = {
    "new": N_("New tender: %(title)s"),
    "amended": N_("Amended: %(title)s"),
    "cancelled": N_("Cancelled: %(title)s"),
}
_SUMMARY = N_("Deadline: %(deadline)s. Reference %(reference)s, from %(agency)s.")
_FEED_TITLE = N_("Tenderwire: tenders matched for you")


@dataclass(frozen=True)
class Links:
    notices_url: str
    portal_url: str


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def renew(db: repository.Db, supplier_id: str) -> str:
    """A new feed address for the supplier; the old one stops working."""
    token = new_token()
    await repository.put_token(db, supplier_id, token)
    return token


async def feed_document(
    db: repository.Db, token: str, messages: Messages, links: Links, now: datetime
) -> bytes | None:
    """The Atom document this token opens, or None (no such feed, or a closed account)."""
    owner = await repository.owner(db, token)
    if owner is None:
        return None
    words = messages(owner["language"])
    zone = ZoneInfo(owner["timezone"])
    cldr = locale(owner["language"])
    entries = []
    for row in await repository.newest_matches(db, owner["id"], ENTRIES):
        tender = TenderSnapshot.model_validate_json(row["snapshot"])
        deadline = format_datetime(tender.deadline, "medium", tzinfo=zone, locale=cldr)
        entries.append(
            Entry(
                id=f"urn:uuid:{row['id']}",
                title=words.gettext(_TITLES.get(row["kind"], _TITLES["new"]))
                % {"title": tender.title},
                link=f"{links.notices_url.rstrip('/')}/v1/notices/{tender.tender_id}",
                updated=row["created_at"],
                summary=words.gettext(_SUMMARY)
                % {"deadline": deadline, "reference": tender.reference, "agency": tender.agency},
            )
        )
    portal = links.portal_url.rstrip("/")
    return atom(
        Feed(
            id=f"urn:tenderwire:feed:{owner['id']}",
            title=words.gettext(_FEED_TITLE),
            self_link=f"{portal}/feed/{token}.atom",
            alternate_link=f"{portal}/alerts",
            language=owner["language"],
            updated=entries[0].updated if entries else now.astimezone(UTC),
            entries=entries,
        )
    )
