"""The portal's rules, pure: signed links, phone codes, rate limits, where a link may lead.

A link is signed (itsdangerous, salted with its purpose, so a sign-in link never verifies an
address) over a random id; the id's hash is stored beside what it stands for, which makes the
link single use and lets deleting an account void it. The signature's age is the link's
expiry, checked again against the stored row.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from itsdangerous import BadData, URLSafeTimedSerializer


class LinkPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"  # the supplier's own address
    VERIFY_CONTACT = "verify_contact"  # one of its further alert contacts
    SIGN_IN = "sign_in"  # also how a deactivated supplier proves it and reactivates


LINK_LIFETIME = {
    LinkPurpose.VERIFY_EMAIL: timedelta(hours=48),
    LinkPurpose.VERIFY_CONTACT: timedelta(hours=48),
    LinkPurpose.SIGN_IN: timedelta(minutes=15),
}
PHONE_CODE_LIFETIME = timedelta(minutes=15)
MAX_CODE_TRIES = 5
MAX_CONTACTS = 5
# Far longer than any link this portal signs: anything longer is not one, and is not parsed.
MAX_LINK_TOKEN = 300
CODE_DIGITS = 6


class LinkSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def _serializer(self, purpose: LinkPurpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"tenderwire-portal-{purpose.value}")

    def sign(self, purpose: LinkPurpose, link_id: str) -> str:
        return self._serializer(purpose).dumps(link_id)

    def read(self, purpose: LinkPurpose, token: str | None) -> str | None:
        """The link id `token` was signed over, or None for anything forged, mangled, expired
        or meant for another purpose."""
        if not token or len(token) > MAX_LINK_TOKEN or not token.isascii():
            return None
        max_age = int(LINK_LIFETIME[purpose].total_seconds())
        try:
            link_id = self._serializer(purpose).loads(token, max_age=max_age)
        except (BadData, UnicodeError, ValueError):
            return None
        return link_id if isinstance(link_id, str) and 0 < len(link_id) <= 100 else None


def new_link_id() -> str:
    return secrets.token_urlsafe(24)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# Phone codes: six digits, HMAC'd with the portal secret and the supplier, so a copy of the
# table cannot be searched offline in a million tries.


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(secret: str, supplier_id: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{supplier_id}:{code}".encode(), hashlib.sha256).hexdigest()


def typed_code(value: str | None) -> str | None:
    """The six digits the supplier typed, allowing spaces and dashes; None if it is no code."""
    if value is None or len(value) > 40:
        return None
    digits = "".join(ch for ch in value if ch not in " -\u00a0")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def code_matches(stored_hash: str, secret: str, supplier_id: str, typed: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_code(secret, supplier_id, typed))


# Rate limits: fixed windows, counted in the database so every replica shares them.


class Action(StrEnum):
    REGISTER = "register"
    SIGN_IN = "sign_in"
    RESEND = "resend"
    PHONE_CODE = "phone_code"


@dataclass(frozen=True)
class RateLimit:
    per_address: int  # messages to one address or phone in a window
    per_client: int  # requests from one client address in a window
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: int = 0


def window_start(now: datetime, window: timedelta) -> datetime:
    size = int(window.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % size, UTC)


def rate_decision(
    *, address_count: int, client_count: int, limit: RateLimit, now: datetime
) -> RateDecision:
    """Counts include the request being decided. Over either limit: refused until the window
    ends, whatever else is asked meanwhile."""
    if address_count <= limit.per_address and client_count <= limit.per_client:
        return RateDecision(allowed=True)
    ends = window_start(now, limit.window) + limit.window
    return RateDecision(
        allowed=False, retry_after_s=max(1, math.ceil((ends - now).total_seconds()))
    )


def address_key(action: Action, address: str, secret: str) -> str:
    # Lower-cased: the registry treats e-mail addresses without case, so must the limit. Keyed
    # by an HMAC, so the counters hold no address (nor client IP) a copy could be read for, and
    # rows left after an account is deleted name no one.
    return f"{action.value}:address:{_keyed(secret, address.strip().lower())}"


def client_key(action: Action, client: str, secret: str) -> str:
    return f"{action.value}:client:{_keyed(secret, client)}"


def _keyed(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


PORTAL_PREFIX = "/portal/"


def safe_next(path: str | None) -> str:
    """Where a sign-in may lead: a path of the portal's own, else its home. Not `//host`, not
    a scheme, not a backslash some browsers read as a slash, nothing unprintable."""
    if (
        not path
        or len(path) > 500
        or not path.startswith(PORTAL_PREFIX)
        or path.startswith("//")
        or "\\" in path
        or not path.isascii()
        or not path.isprintable()
        or ".." in path
    ):
        return PORTAL_PREFIX
    return path
