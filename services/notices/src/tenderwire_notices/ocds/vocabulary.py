"""Where Tenderwire's words and OCDS 1.1 codelists meet, in both directions.

Every decision about translating one vocabulary into the other lives here, so import and
export cannot drift apart.
"""

from __future__ import annotations

import re

from tenderwire_shared.events.tenders import NOTICE_TYPE_LABELS as UNGM_LABELS
from tenderwire_shared.events.tenders import (
    TENDER_AMENDED,
    TENDER_AWARDED,
    TENDER_CANCELLED,
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    NoticeType,
    TenderStatus,
)

# OCDS ocids start with a prefix the Open Contracting Partnership registers ("ocds-" plus six
# characters). Tenderwire has none registered yet; "tw0000" has the registered shape and is
# used for notices published here. Imported notices keep their publisher's ocid.
OCID_PREFIX = "ocds-tw0000"

# tender.procurementMethod (closed `method` codelist) -> UNGM notice type, on import.
# open: anyone may bid, as in a formal invitation to bid; selective: only qualified or invited
# suppliers, as in a request for proposal; limited and direct: the buyer approaches chosen
# suppliers, which is how a request for quotation works. No method: an invitation to bid.
NOTICE_TYPE_BY_METHOD: dict[str, NoticeType] = {
    "open": NoticeType.INVITATION_TO_BID,
    "selective": NoticeType.REQUEST_FOR_PROPOSAL,
    "limited": NoticeType.REQUEST_FOR_QUOTATION,
    "direct": NoticeType.REQUEST_FOR_QUOTATION,
}
DEFAULT_NOTICE_TYPE = NoticeType.INVITATION_TO_BID

# On export the notice type goes to tender.procurementMethodDetails, the free-text name of the
# procedure, and procurementMethod is left out: a UNGM notice type does not say whether the
# competition is open, selective or limited, and the mapping above cannot be run backwards
# (limited and direct both become requests for quotation). Import reads the label back.
NOTICE_TYPE_LABELS = UNGM_LABELS


def _folded(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


_NOTICE_TYPE_BY_DETAILS: dict[str, NoticeType] = {
    **{_folded(t.value): t for t in NoticeType},
    **{_folded(label): t for t, label in NOTICE_TYPE_LABELS.items()},
}


def notice_type_named(details: str) -> NoticeType | None:
    """The notice type a procurementMethodDetails text names exactly, if any."""
    return _NOTICE_TYPE_BY_DETAILS.get(_folded(details))


# Our status -> tender.status (closed `tenderStatus` codelist), on export. "active" means "a
# tender process is currently taking place": that holds while bids are invited and also after
# the deadline, while they are evaluated (tender.tenderPeriod.endDate in the past says that
# submissions are closed). "complete" ("the tender process is complete") waits for the award.
TENDER_STATUS: dict[TenderStatus, str] = {
    TenderStatus.PUBLISHED: "active",
    TenderStatus.AMENDED: "active",
    TenderStatus.CLOSED: "active",
    TenderStatus.AWARDED: "complete",
    TenderStatus.CANCELLED: "cancelled",
}

# Our event -> the release tag (closed `releaseTag` codelist) of the release exported for it.
# A notice's first release is always tagged "tender", even when an import of a tender whose
# deadline had passed stored it closed straight away.
RELEASE_TAG: dict[str, str] = {
    TENDER_PUBLISHED: "tender",
    TENDER_AMENDED: "tenderAmendment",
    TENDER_CLOSED: "tenderUpdate",
    TENDER_CANCELLED: "tenderCancellation",
    TENDER_AWARDED: "award",
}

# Release tags on import, by what they do to a notice.
TENDER_TAG = "tender"
AMENDING_TAGS = ("tenderAmendment", "tenderUpdate")
CANCELLING_TAG = "tenderCancellation"
AWARDING_TAGS = ("award", "awardUpdate")

# Award statuses (closed `awardStatus` codelist) that mean no supplier won.
NO_AWARD_STATUSES = frozenset({"cancelled", "unsuccessful"})

# documentType (open `documentType` codelist) for the reasons a tender was cancelled.
CANCELLATION_DETAILS = "cancellationDetails"
