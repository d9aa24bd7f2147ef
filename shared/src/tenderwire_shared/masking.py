"""Masking suppliers' contact details wherever operators can read them: logs and the console.

Enough stays to tell two recipients apart (`a***@example.sn`, `+221 *** ** 67`), never enough
to write to one. One implementation, so a log line and a console page show the same mask.
"""

from __future__ import annotations

import re

import phonenumbers

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Phone numbers in the E.164 form the registry stores, optionally spaced the way people write.
_PHONE = re.compile(r"\+\d(?:[\s().-]?\d){6,14}")


def mask_phone(number: str) -> str:
    """`+221771234567` becomes `+221 *** ** 67`: the country code and the last two digits."""
    digits = [c for c in number if c.isdigit()]
    try:
        country = f"+{phonenumbers.parse(number, None).country_code} "
    except phonenumbers.NumberParseException:
        country = ""
    return f"{country}*** ** {''.join(digits[-2:])}"


def mask_email(address: str) -> str:
    local, at, domain = address.partition("@")
    if not at:
        return mask_phone(address)
    return f"{local[:1]}***@{domain}"


def mask_address(address: str) -> str:
    """A delivery's address, whichever channel: an e-mail address or a phone number."""
    return mask_email(address) if "@" in address else mask_phone(address)


def mask_contacts(text: str) -> str:
    """Masks the addresses inside free text: SMTP servers quote the mailbox they refused."""
    # Most values are ids and names: two substring checks spare them both regexes.
    if "@" in text:
        text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    if "+" in text:
        text = _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    return text
