"""The portal's account use cases: registration with double opt-in, verification links and
phone codes, sign-in by e-mail link (and reactivation through it), further contacts, API
tokens, following tenders, and deleting the account.

Every message (a link or a code) is an account.message event put in matching's outbox in the
transaction that made it, so a change and the message asking to prove it commit together,
and notify sends it. Registry changes go through `tenderwire_matching.services`, under the
matching lock, like the API's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlencode

import asyncpg

from tenderwire_matching import repository as registry
from tenderwire_matching import services as matching
from tenderwire_matching.domain.eligibility import check_eligible
from tenderwire_matching.domain.matching import check_codes_can_match
from tenderwire_matching.match_events import SOURCE
from tenderwire_matching.portal import repository
from tenderwire_matching.portal.domain import (
    LINK_LIFETIME,
    MAX_CODE_TRIES,
    MAX_CONTACTS,
    PHONE_CODE_LIFETIME,
    Action,
    LinkPurpose,
    LinkSigner,
    RateLimit,
    address_key,
    client_key,
    code_matches,
    hash_code,
    hash_secret,
    new_code,
    new_link_id,
    rate_decision,
    safe_next,
    typed_code,
    window_start,
)
from tenderwire_matching.schemas import (
    RegisteredSupplier,
    SupplierRegistration,
    SupplierUpdate,
)
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.accounts import (
    ACCOUNT_MESSAGE,
    AccountChannel,
    AccountMessage,
    AccountPurpose,
)
from tenderwire_shared.outbox import add_to_outbox

MAX_LIVE_TOKENS = 10


@dataclass(frozen=True)
class Accounts:
    """What the account use cases need from settings."""

    signer: LinkSigner
    secret: str
    portal_url: str
    topic: str
    limit: RateLimit


class RateLimitedError(Exception):
    """Too many messages to this address, or requests from this client: nothing was sent."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s)
        self.retry_after_s = retry_after_s


async def check_rate(
    conn: Connection,
    accounts: Accounts,
    action: Action,
    *,
    client: str | None,
    address: str | None,
) -> None:
    """Counts this request against the limits, in the caller's transaction; raises
    RateLimitedError (so the transaction, and the message it would send, rolls back) when it is
    one too many."""
    now = datetime.now(UTC)
    start = window_start(now, accounts.limit.window)
    keys = [
        key
        for key in (
            address_key(action, address, accounts.secret) if address else None,
            client_key(action, client, accounts.secret) if client else None,
        )
        if key
    ]
    await repository.drop_counts_before(conn, keys, start)
    address_count = (
        await repository.count(conn, address_key(action, address, accounts.secret), start)
        if address
        else 0
    )
    client_count = (
        await repository.count(conn, client_key(action, client, accounts.secret), start)
        if client
        else 0
    )
    decision = rate_decision(
        address_count=address_count, client_count=client_count, limit=accounts.limit, now=now
    )
    if not decision.allowed:
        raise RateLimitedError(decision.retry_after_s)


# Messages.


async def _message(
    conn: Connection,
    accounts: Accounts,
    supplier: asyncpg.Record,
    purpose: AccountPurpose,
    address: str,
    expires_at: datetime,
    correlation_id: str,
    *,
    link: str | None = None,
    code: str | None = None,
) -> None:
    event = Envelope[AccountMessage](
        type=ACCOUNT_MESSAGE,
        source=SOURCE,
        subject=supplier["id"],
        correlationid=correlation_id,
        data=AccountMessage(
            message_id=new_event_id(),
            supplier_id=supplier["id"],
            purpose=purpose,
            channel=AccountChannel.SMS if code else AccountChannel.EMAIL,
            address=address,
            legal_name=supplier["legal_name"],
            language=supplier["language"],
            timezone=supplier["timezone"],
            link=link,
            code=code,
            expires_at=expires_at,
        ),
    )
    await add_to_outbox(conn, topic=accounts.topic, key=supplier["id"], event=event)


_PAGES = {
    LinkPurpose.VERIFY_EMAIL: "verify-email",
    LinkPurpose.VERIFY_CONTACT: "verify-contact",
    LinkPurpose.SIGN_IN: "sign-in/link",
}


async def send_link(
    conn: Connection,
    accounts: Accounts,
    supplier: asyncpg.Record,
    purpose: LinkPurpose,
    address: str,
    correlation_id: str,
    *,
    contact_id: str | None = None,
    next_path: str | None = None,
) -> None:
    link_id = new_link_id()
    expires_at = datetime.now(UTC) + LINK_LIFETIME[purpose]
    await repository.add_link(
        conn, hash_secret(link_id), purpose.value, supplier["id"], address, expires_at, contact_id
    )
    query = {"token": accounts.signer.sign(purpose, link_id)}
    if next_path and safe_next(next_path) != "/portal/":
        query["next"] = safe_next(next_path)
    await _message(
        conn,
        accounts,
        supplier,
        AccountPurpose.SIGN_IN if purpose is LinkPurpose.SIGN_IN else AccountPurpose.VERIFY_EMAIL,
        address,
        expires_at,
        correlation_id,
        link=f"{accounts.portal_url}/{_PAGES[purpose]}?{urlencode(query)}",
    )


async def send_phone_code(
    conn: Connection, accounts: Accounts, supplier: asyncpg.Record, correlation_id: str
) -> None:
    code = new_code()
    expires_at = datetime.now(UTC) + PHONE_CODE_LIFETIME
    await repository.set_phone_code(
        conn,
        supplier["id"],
        supplier["phone"],
        hash_code(accounts.secret, supplier["id"], code),
        expires_at,
    )
    await _message(
        conn,
        accounts,
        supplier,
        AccountPurpose.VERIFY_PHONE,
        supplier["phone"],
        expires_at,
        correlation_id,
        code=code,
    )


def verifications(
    accounts: Accounts, *, client: str | None, correlation_id: str, action: Action
) -> matching.ContactsChanged:
    """The hook a registration or profile change runs: a new, unproven address gets a link,
    a new, unproven phone a code, each counted against the rate limits."""

    async def send(conn: Connection, before: asyncpg.Record | None, after: asyncpg.Record) -> None:
        new_email = before is None or before["email"].lower() != after["email"].lower()
        if after["email_verified_at"] is None and new_email:
            await check_rate(conn, accounts, action, client=client, address=after["email"])
            await send_link(
                conn, accounts, after, LinkPurpose.VERIFY_EMAIL, after["email"], correlation_id
            )
        new_phone = before is None or before["phone"] != after["phone"]
        if after["phone"] and after["phone_verified_at"] is None and new_phone:
            await check_rate(
                conn, accounts, Action.PHONE_CODE, client=client, address=after["phone"]
            )
            await send_phone_code(conn, accounts, after, correlation_id)

    return send


# Registration.


class Registered(StrEnum):
    NEW = "new"  # registered, the verification link is on its way
    KNOWN = "known"  # the address was registered: a link went to it (or nothing, if raced)


async def register(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    registration: SupplierRegistration,
    *,
    client: str | None,
    correlation_id: str,
) -> tuple[Registered, RegisteredSupplier | None]:
    """A portal registration: unverified until the link sent is opened. An address already
    registered gets what it needs instead, and the page says the same either way: a
    verification link again if it is still unproven, a sign-in link if it is (which offers
    reactivation when the supplier was deactivated)."""
    # Refused before the address is looked up: a refusal then says the same for any address.
    check_codes_can_match(registration.unspsc_codes or [], policy.levels)
    check_eligible(registration.country, refuse_developed=policy.refuse_developed)
    existing = await repository.supplier_by_email(pool, str(registration.email))
    if existing is None:
        try:
            created = await matching.register(
                pool,
                registration,
                policy,
                correlation_id,
                verified=False,
                contacts_changed=verifications(
                    accounts, client=client, correlation_id=correlation_id, action=Action.REGISTER
                ),
            )
        except registry.DuplicateSupplierError as exc:
            if exc.field != "email":
                raise
        else:
            return Registered.NEW, created
    await resend_for(pool, accounts, str(registration.email), client, correlation_id)
    return Registered.KNOWN, None


async def resend_for(
    pool: asyncpg.Pool, accounts: Accounts, email: str, client: str | None, correlation_id: str
) -> None:
    async with unit_of_work(pool) as conn:
        await check_rate(conn, accounts, Action.RESEND, client=client, address=email)
        supplier = await repository.supplier_by_email(conn, email)
        if supplier is None:
            return
        if supplier["active"] and supplier["email_verified_at"] is None:
            purpose = LinkPurpose.VERIFY_EMAIL
        else:
            purpose = LinkPurpose.SIGN_IN
        await send_link(conn, accounts, supplier, purpose, supplier["email"], correlation_id)


async def resend_verification(
    pool: asyncpg.Pool,
    accounts: Accounts,
    supplier_id: str,
    client: str | None,
    correlation_id: str,
) -> None:
    """A signed-in supplier asks again for the link to its own unproven address."""
    async with unit_of_work(pool) as conn:
        supplier = await repository.supplier(conn, supplier_id)
        if supplier is None or supplier["email_verified_at"] is not None:
            return
        await check_rate(conn, accounts, Action.RESEND, client=client, address=supplier["email"])
        await send_link(
            conn, accounts, supplier, LinkPurpose.VERIFY_EMAIL, supplier["email"], correlation_id
        )


# Links.


@dataclass(frozen=True)
class Link:
    purpose: LinkPurpose
    id_hash: str
    supplier: asyncpg.Record
    address: str
    contact_id: str | None


async def peek(
    pool: asyncpg.Pool, accounts: Accounts, purpose: LinkPurpose, token: str | None
) -> Link | None:
    """What a link stands for, without using it (its page shows a button first: mail scanners
    open links, and must not verify or sign in by doing so); None if it is no live link."""
    link_id = accounts.signer.read(purpose, token)
    if link_id is None:
        return None
    row = await repository.live_link(pool, hash_secret(link_id), purpose.value)
    if row is None:
        return None
    supplier = await repository.supplier(pool, row["supplier_id"])
    if supplier is None:
        return None
    return Link(purpose, row["id_hash"], supplier, row["address"], row["contact_id"])


async def verify_email(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    token: str | None,
    correlation_id: str,
) -> str | None:
    """Uses the link and marks the address it was sent to verified; the supplier's id, or None
    if the link is not live, or the supplier's address changed since it was sent."""
    link = await peek(pool, accounts, LinkPurpose.VERIFY_EMAIL, token)
    if link is None:
        return None
    async with unit_of_work(pool) as conn:
        await registry.matching_lock(conn)
        used = await repository.use_link(conn, link.id_hash, link.purpose.value)
        if used is None or not await repository.verify_email(
            conn, used["supplier_id"], used["address"]
        ):
            return None
        await matching.changed(conn, used["supplier_id"], policy, correlation_id)
        supplier_id: str = used["supplier_id"]
        return supplier_id


async def verify_contact(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    token: str | None,
    correlation_id: str,
) -> str | None:
    link = await peek(pool, accounts, LinkPurpose.VERIFY_CONTACT, token)
    if link is None or link.contact_id is None:
        return None
    async with unit_of_work(pool) as conn:
        await registry.matching_lock(conn)
        used = await repository.use_link(conn, link.id_hash, link.purpose.value)
        if used is None or not await repository.verify_contact(
            conn, used["contact_id"], used["supplier_id"], used["address"]
        ):
            return None
        await matching.changed(conn, used["supplier_id"], policy, correlation_id)
        return link.address


# Signing in.


async def request_sign_in(
    pool: asyncpg.Pool,
    accounts: Accounts,
    email: str,
    next_path: str | None,
    *,
    client: str | None,
    correlation_id: str,
) -> None:
    """Sends a sign-in link if `email` is a verified address of an active supplier, or the
    address of a deactivated one (the link proves it, and offers reactivation). Says nothing
    either way: the page is the same, so it tells no one whether an address is registered."""
    async with unit_of_work(pool) as conn:
        await check_rate(conn, accounts, Action.SIGN_IN, client=client, address=email)
        supplier = await repository.supplier_by_email(conn, email)
        if supplier is None:
            return
        if supplier["active"] and supplier["email_verified_at"] is None:
            return
        await send_link(
            conn,
            accounts,
            supplier,
            LinkPurpose.SIGN_IN,
            supplier["email"],
            correlation_id,
            next_path=next_path,
        )


class SignIn(StrEnum):
    SIGNED_IN = "signed_in"
    REACTIVATE_FIRST = "reactivate_first"  # deactivated: the page asks before reactivating
    INVALID = "invalid"


async def use_sign_in_link(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    token: str | None,
    *,
    reactivate: bool,
    correlation_id: str,
) -> tuple[SignIn, str | None]:
    """Uses the link: (SIGNED_IN, supplier id) to start a session with. A deactivated
    supplier's link is kept unused unless `reactivate`, which reactivates it first."""
    link = await peek(pool, accounts, LinkPurpose.SIGN_IN, token)
    if link is None:
        return SignIn.INVALID, None
    if not link.supplier["active"] and not reactivate:
        return SignIn.REACTIVATE_FIRST, link.supplier["id"]
    async with unit_of_work(pool) as conn:
        await registry.matching_lock(conn)
        used = await repository.use_link(conn, link.id_hash, link.purpose.value)
        if used is None:
            return SignIn.INVALID, None
        supplier_id: str = used["supplier_id"]
        # The link reached the address: it is proven, whatever it was before. If the account
        # moved to another address since, the old one opens nothing.
        if not await repository.verify_email(conn, supplier_id, used["address"]):
            return SignIn.INVALID, None
        if not link.supplier["active"]:
            await matching.reactivate(conn, supplier_id, policy, correlation_id)
        elif link.supplier["email_verified_at"] is None:
            await matching.changed(conn, supplier_id, policy, correlation_id)
        return SignIn.SIGNED_IN, supplier_id


# The phone.


async def change_phone(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    supplier_id: str,
    phone: str | None,
    *,
    client: str | None,
    correlation_id: str,
) -> asyncpg.Record:
    return await matching.update(
        pool,
        supplier_id,
        SupplierUpdate(phone=phone),
        policy,
        correlation_id,
        contacts_changed=verifications(
            accounts, client=client, correlation_id=correlation_id, action=Action.RESEND
        ),
    )


async def change_email(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    supplier_id: str,
    email: str,
    *,
    client: str | None,
    correlation_id: str,
) -> asyncpg.Record:
    return await matching.update(
        pool,
        supplier_id,
        SupplierUpdate.model_validate({"email": email}),
        policy,
        correlation_id,
        contacts_changed=verifications(
            accounts, client=client, correlation_id=correlation_id, action=Action.RESEND
        ),
    )


async def resend_phone_code(
    pool: asyncpg.Pool,
    accounts: Accounts,
    supplier_id: str,
    *,
    client: str | None,
    correlation_id: str,
) -> None:
    async with unit_of_work(pool) as conn:
        supplier = await repository.supplier(conn, supplier_id)
        if supplier is None or not supplier["phone"] or supplier["phone_verified_at"]:
            return
        await check_rate(
            conn, accounts, Action.PHONE_CODE, client=client, address=supplier["phone"]
        )
        await send_phone_code(conn, accounts, supplier, correlation_id)


class CodeCheck(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    NO_CODE = "no_code"  # none sent, expired, or used up: ask for a new one


async def check_phone_code(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    supplier_id: str,
    typed: str | None,
    correlation_id: str,
) -> tuple[CodeCheck, int]:
    """(outcome, tries left). Every try counts, a malformed one too; the fifth wrong one
    voids the code."""
    code = typed_code(typed)
    async with unit_of_work(pool) as conn:
        await registry.matching_lock(conn)
        live = await repository.try_phone_code(conn, supplier_id)
        if live is None or live["tries"] > MAX_CODE_TRIES:
            await repository.drop_phone_code(conn, supplier_id)
            return CodeCheck.NO_CODE, 0
        if code is not None and code_matches(live["code_hash"], accounts.secret, supplier_id, code):
            await repository.drop_phone_code(conn, supplier_id)
            if not await repository.verify_phone(conn, supplier_id, live["phone"]):
                return CodeCheck.NO_CODE, 0
            await matching.changed(conn, supplier_id, policy, correlation_id)
            return CodeCheck.VERIFIED, 0
        left = MAX_CODE_TRIES - live["tries"]
        if left <= 0:
            await repository.drop_phone_code(conn, supplier_id)
            return CodeCheck.NO_CODE, 0
        return CodeCheck.WRONG, left


# Further contacts.


class ContactAdded(StrEnum):
    SENT = "sent"
    TOO_MANY = "too_many"
    ALREADY = "already"


async def add_contact(
    pool: asyncpg.Pool,
    accounts: Accounts,
    supplier_id: str,
    address: str,
    *,
    client: str | None,
    correlation_id: str,
) -> ContactAdded:
    async with unit_of_work(pool) as conn:
        supplier = await repository.supplier(conn, supplier_id)
        assert supplier is not None
        existing = await repository.contacts(conn, supplier_id)
        known = {c["address"].lower() for c in existing} | {supplier["email"].lower()}
        if address.lower() in known:
            return ContactAdded.ALREADY
        if len(existing) >= MAX_CONTACTS:
            return ContactAdded.TOO_MANY
        await check_rate(conn, accounts, Action.RESEND, client=client, address=address)
        contact_id = new_event_id()
        await repository.add_contact(conn, contact_id, supplier_id, address)
        await send_link(
            conn,
            accounts,
            supplier,
            LinkPurpose.VERIFY_CONTACT,
            address,
            correlation_id,
            contact_id=contact_id,
        )
        return ContactAdded.SENT


async def remove_contact(
    pool: asyncpg.Pool,
    policy: matching.Policy,
    supplier_id: str,
    contact_id: str,
    correlation_id: str,
) -> bool:
    async with unit_of_work(pool) as conn:
        await registry.matching_lock(conn)
        if not await repository.remove_contact(conn, supplier_id, contact_id):
            return False
        await matching.changed(conn, supplier_id, policy, correlation_id)
        return True


# API tokens.


class TooManyTokensError(Exception):
    pass


async def make_token(pool: asyncpg.Pool, supplier_id: str, label: str) -> str:
    """A new API token, returned once: only its hash is kept."""
    async with unit_of_work(pool) as conn:
        # Serialises two tabs making tokens at once, so the cap holds.
        await conn.execute("SELECT 1 FROM suppliers WHERE id = $1 FOR UPDATE", supplier_id)
        if await repository.count_live_tokens(conn, supplier_id) >= MAX_LIVE_TOKENS:
            raise TooManyTokensError(supplier_id)
        token = secrets.token_urlsafe(32)
        await repository.add_token(conn, new_event_id(), supplier_id, token, label)
        return token


# Following tenders.


async def tender(pool: asyncpg.Pool, tender_id: str) -> asyncpg.Record | None:
    return await repository.tender(pool, tender_id)


# Leaving.


async def delete_account(
    pool: asyncpg.Pool,
    accounts: Accounts,
    policy: matching.Policy,
    supplier_id: str,
    correlation_id: str,
) -> bool:
    """Erases the account in one transaction (see `matching.erase`) with the rate-limit
    counters keyed by its addresses; False if there was none to erase."""
    async with unit_of_work(pool) as conn:
        before = await matching.erase(conn, supplier_id, policy, correlation_id)
        if before is None:
            return False
        addresses = [before["email"], *before["contacts"]]
        if before["phone"]:
            addresses.append(before["phone"])
        await repository.forget_counts(
            conn, [address_key(a, addr, accounts.secret) for a in Action for addr in addresses]
        )
        return True
