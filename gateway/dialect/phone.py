"""Phone numbers, both directions.

In: any readable format the 2008 docs allow (``415-555-1212``, ``(415) 555.1212``, ``1-415-555-1212``,
``+14155551212``, vanity letters) becomes E.164 through ``phonenumbers`` with a default region. Numbers
that do not parse, or parse but are impossible, raise :class:`InvalidPhoneNumber` and are never forwarded.

Out: a NANP number in E.164 (``+1`` and ten digits) becomes its ten digits, with no decoration. Anything
else, including what does not parse (the 2010-04-01 Outgoing Caller IDs page shows
``+141586753096``), is emitted unchanged: the legacy client sees what the upstream said rather than an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from gateway.errors import InvalidPhoneNumber

_NANP_E164 = re.compile(r"\+1(\d{10})")


@dataclass(frozen=True, slots=True)
class Parsed:
    e164: str
    extension: str | None


def parse(value: str, *, region: str = "US", name: str = "PhoneNumber") -> Parsed:
    text = value.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(name, value) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(name, value)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Parsed(e164=e164, extension=number.extension or None)


def to_e164(value: str, *, region: str = "US", name: str = "PhoneNumber") -> str:
    return parse(value, region=region, name=name).e164


def to_legacy(value: str | None) -> str | None:
    """``+14158675309`` → ``4158675309``; anything else unchanged."""
    if value is None:
        return None
    match = _NANP_E164.fullmatch(value)
    return match.group(1) if match else value


def pretty(e164: str) -> str:
    """The "nicely formatted" default FriendlyName: ``(415) 867-5309`` for NANP numbers."""
    number = phonenumbers.parse(e164, None)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, fmt))
