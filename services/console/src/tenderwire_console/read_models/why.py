"""`tw why SUPPLIER TENDER`: why a supplier heard about a tender, or why it did not.

Reads matching's and notify's databases (TW_MATCHING_DATABASE_URL, TW_NOTIFY_DATABASE_URL)
and names the rule that passed or failed, then what happened to each alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any

import asyncpg

from tenderwire_matching import repository
from tenderwire_matching.domain.eligibility import classify
from tenderwire_matching.domain.matching import (
    code_distance,
    cpv_code_distance,
    facts_of,
    filter_verdicts,
)
from tenderwire_shared.events.tenders import TenderSnapshot


class Verdict(IntEnum):
    """Also the command's exit code."""

    ALERTED = 0
    NOT_FOUND = 1
    NOT_DELIVERED = 3
    NOT_MATCHED = 4


@dataclass
class Check:
    rule: str
    passed: bool
    detail: str


@dataclass
class Explanation:
    verdict: Verdict
    summary: str
    checks: list[Check] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.name.lower()
        return data


def code_check(codes: tuple[str, ...], tender: TenderSnapshot, levels: int) -> Check:
    distances = [
        (s, t, d)
        for s in codes
        for t in tender.unspsc_codes
        if (d := code_distance(s, t)) is not None
    ]
    close = [f"{s}~{t} ({d} level{'s' if d != 1 else ''})" for s, t, d in distances if d <= levels]
    if close:
        return Check("unspsc_code", True, f"within {levels} level(s): {', '.join(close)}")
    nearest = min(distances, key=lambda x: x[2], default=None)
    detail = (
        f"supplier codes {list(codes)} vs tender codes {list(tender.unspsc_codes)}: "
        + (
            f"nearest {nearest[0]}~{nearest[1]} is {nearest[2]} levels apart"
            if nearest
            else "not on the same branch of the hierarchy"
        )
        + f"; the limit is {levels}"
    )
    return Check("unspsc_code", False, detail)


def _levels(n: int) -> str:
    return f"{n} level{'s' if n != 1 else ''}"


def _where(distance: int) -> str:
    if distance == 0:
        return "the same code"
    if distance > 0:
        return f"under it, {_levels(distance)} down"
    return f"{_levels(-distance)} above it"


def cpv_check(codes: tuple[str, ...], tender: TenderSnapshot, levels: int) -> Check:
    """CPV's rule: a tender code at or under a supplier's code matches at any depth; one above
    it, at most `levels` above (TW_MATCHING_CPV_HIERARCHY_LEVELS)."""
    if not tender.cpv_codes:
        return Check("cpv_code", False, f"supplier CPV codes {list(codes)}; the tender has none")
    # cpv_code_distance: levels from the supplier's code down to the tender's, negative up.
    pairs = [
        (s, t, d)
        for s in codes
        for t in tender.cpv_codes
        if (d := cpv_code_distance(s, t)) is not None
    ]
    close = [f"{s}~{t} ({_where(d)})" for s, t, d in pairs if d >= -levels]
    if close:
        return Check(
            "cpv_code",
            True,
            f"CPV codes under the supplier's, or at most {_levels(levels)} above: "
            + ", ".join(close),
        )
    nearest = max(pairs, key=lambda x: x[2], default=None)
    detail = (
        f"supplier CPV codes {list(codes)} vs tender CPV codes {list(tender.cpv_codes)}: "
        + (
            f"nearest {nearest[1]} is {_levels(-nearest[2])} above {nearest[0]}"
            if nearest
            else "not on the same branch of CPV"
        )
        + f"; at most {_levels(levels)} above is matched"
    )
    return Check("cpv_code", False, detail)


def scheme_checks(
    codes: tuple[str, ...],
    cpv_codes: tuple[str, ...],
    tender: TenderSnapshot,
    *,
    levels: int,
    cpv_levels: int,
) -> list[Check]:
    """The UNSPSC check, the CPV check, or both for a supplier holding both: either matching is
    enough, so the other is then marked passed, saying it was not needed."""
    checks = []
    if codes or not cpv_codes:
        checks.append(code_check(codes, tender, levels))
    if cpv_codes:
        checks.append(cpv_check(cpv_codes, tender, cpv_levels))
    matched = [c.rule for c in checks if c.passed]
    if matched:
        checks = [
            c if c.passed else Check(c.rule, True, f"not needed, {matched[0]} matched: {c.detail}")
            for c in checks
        ]
    return checks


def eligibility_check(country: str) -> Check:
    classification = classify(country)
    if classification.eligible:
        return Check("eligible_country", True, f"{country} is {classification.group.value}")
    # Eligibility gates registration, not matching: a supplier admitted before its country was
    # reclassified (or with the refusal turned off) is still matched. Say so rather than
    # name a rule that did not decide anything.
    return Check(
        "eligible_country",
        True,
        f"{country} is {classification.group.value} now; eligibility is checked at"
        " registration only, so matching still alerts this supplier",
    )


def contact_checks(supplier: Any, today: date) -> list[Check]:
    """What decides whether a matched alert is sent, beside matching's rules: notify sends
    to confirmed contacts only (double opt-in), and nothing while the supplier paused alerts.
    A row from before the portal has none of these columns, and nothing held it back."""
    checks = []
    if "email_verified_at" in supplier:
        confirmed = supplier["email_verified_at"] is not None
        checks.append(
            Check(
                "email_confirmed",
                confirmed,
                "the e-mail address is confirmed"
                if confirmed
                else "the e-mail address is not confirmed yet: notify withholds e-mail alerts"
                " until the supplier opens the link sent to it",
            )
        )
    if supplier.get("phone") and "phone_verified_at" in supplier:
        confirmed = supplier["phone_verified_at"] is not None
        checks.append(
            Check(
                "phone_confirmed",
                confirmed,
                "the phone is confirmed"
                if confirmed
                else "the phone is not confirmed yet: notify withholds texts until the"
                " supplier types the code sent to it",
            )
        )
    paused = supplier.get("paused_until")
    if paused is not None and paused > today:
        checks.append(Check("not_paused", False, f"the supplier paused alerts until {paused}"))
    return checks


async def explain(
    matching_dsn: str,
    notify_dsn: str,
    supplier_id: str,
    tender_id: str,
    *,
    levels: int,
    cpv_levels: int | None = None,
) -> Explanation:
    matching = await asyncpg.connect(matching_dsn)
    try:
        supplier = await repository.row(matching, supplier_id)
        stored = await matching.fetchrow(
            "SELECT snapshot FROM tenders WHERE tender_id = $1", tender_id
        )
        alerts = await matching.fetch(
            "SELECT kind, revision, still_matches, codes, created_at FROM matches"
            " WHERE supplier_id = $1 AND tender_id = $2 ORDER BY created_at",
            supplier_id,
            tender_id,
        )
    finally:
        await matching.close()
    if supplier is None:
        return Explanation(Verdict.NOT_FOUND, f"no supplier {supplier_id!r} in the registry")
    if stored is None:
        return Explanation(
            Verdict.NOT_FOUND,
            f"matching has not seen tender {tender_id!r}: not published, or not consumed yet",
        )
    tender = TenderSnapshot.model_validate_json(stored["snapshot"])
    if not alerts:
        # Not matched: notify has nothing on it, so its database is not asked.
        return judge(supplier, tender, alerts, [], levels=levels, cpv_levels=cpv_levels)
    notify = await asyncpg.connect(notify_dsn)
    try:
        rows = await notify.fetch(
            "SELECT kind, revision, channel, state, attempts, last_error, sent_at FROM deliveries"
            " WHERE supplier_id = $1 AND tender_id = $2 ORDER BY created_at",
            supplier_id,
            tender_id,
        )
    finally:
        await notify.close()
    return judge(supplier, tender, alerts, rows, levels=levels, cpv_levels=cpv_levels)


def _delivery_state(row: Any) -> str:
    # A suppression says why (unsubscribed, address not verified, paused until ...).
    held = row["state"] == "suppressed" and row["last_error"]
    return f"{row['channel']} {row['state']}" + (f" ({row['last_error']})" if held else "")


def judge(
    supplier: asyncpg.Record,
    tender: TenderSnapshot,
    alerts: Sequence[asyncpg.Record],
    deliveries: Sequence[asyncpg.Record],
    *,
    levels: int,
    cpv_levels: int | None = None,
    today: date | None = None,
) -> Explanation:
    """The answer from the rows read: the supplier's registry row, the tender matching holds,
    the alerts matching decided and notify's deliveries of them. No I/O. `cpv_levels`
    defaults to `levels`, as TW_MATCHING_CPV_HIERARCHY_LEVELS does."""
    profile = repository.profile(supplier)
    facts = facts_of(tender)
    matching_checks = [
        Check("active", supplier["active"], "active" if supplier["active"] else "deactivated"),
        eligibility_check(supplier["country"]),
        *scheme_checks(
            profile.codes,
            profile.cpv_codes,
            tender,
            levels=levels,
            cpv_levels=levels if cpv_levels is None else cpv_levels,
        ),
        *(Check(v.rule, v.passed, v.detail) for v in filter_verdicts(profile, facts)),
    ]
    checks = [*matching_checks, *contact_checks(supplier, today or datetime.now(UTC).date())]
    explanation = Explanation(
        Verdict.NOT_MATCHED,
        "",
        checks,
        alerts=[{k: str(v) for k, v in dict(a).items()} for a in alerts],
    )
    if not alerts:
        # Confirmation and pauses hold back sending, not matching: not the reason here.
        failed = [c.rule for c in matching_checks if not c.passed]
        why = (
            f"failed {', '.join(failed)}"
            if failed
            else "matches now, but did not when the alerts went out"
        )
        if tender.status.value in ("closed", "awarded") and not failed:
            why = f"the tender was already {tender.status.value}: closed tenders alert no one"
        explanation.summary = f"not alerted: {why}"
        return explanation
    explanation.deliveries = [{k: str(v) for k, v in dict(r).items()} for r in deliveries]
    reached = [r for r in deliveries if r["state"] in ("sent", "delivered")]
    if reached:
        explanation.verdict = Verdict.ALERTED
        explanation.summary = f"alerted: {len(reached)} of {len(deliveries)} deliveries sent"
    else:
        states = (
            ", ".join(
                f"{r['channel']} {r['state']}"
                + (
                    f" ({r['last_error']})"
                    if r["state"] == "suppressed" and r["last_error"]
                    else ""
                )
                for r in deliveries
            )
            or "none queued yet"
        )
        explanation.verdict = Verdict.NOT_DELIVERED
        explanation.summary = f"matched ({len(alerts)} alert(s)) but not delivered: {states}"
    return explanation
