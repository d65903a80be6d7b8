"""The parameters of the sandbox's requests to applications, with 2010's names: a call's (``CallSid``,
``From``, ``To``, their ``Caller``/``Called`` aliases, ``CallStatus``, ``Direction``, the geographic
``FromCity`` … ``CalledCountry``) and a message's (``MessageSid``, ``SmsSid``, ``SmsMessageSid``,
``Body``, ``NumSegments`` …).

Where a number is comes from :data:`PLACES`, by North American area code (the sandbox's numbers and a
few more); elsewhere only the country is known (from the number), the rest is sent empty, as Twilio does
when its lookup finds nothing.
"""

from __future__ import annotations

import functools

import phonenumbers

from .messaging import Message, segments
from .voice import Call

PLACES = {
    "202": ("WASHINGTON", "DC", "20004"),
    "206": ("SEATTLE", "WA", "98101"),
    "212": ("NEW YORK", "NY", "10001"),
    "303": ("DENVER", "CO", "80202"),
    "312": ("CHICAGO", "IL", "60601"),
    "415": ("SAN FRANCISCO", "CA", "94103"),
    "500": ("", "", ""),
    "512": ("AUSTIN", "TX", "78701"),
    "617": ("BOSTON", "MA", "02108"),
    "646": ("NEW YORK", "NY", "10011"),
    "718": ("BROOKLYN", "NY", "11201"),
    "800": ("", "", ""),
}
"""City, state, zip by area code."""
API_VERSION = "2010-04-01"


@functools.lru_cache(maxsize=4096)
def place(number: str) -> tuple[str, str, str, str]:
    """(city, state, zip, country) of a number, as far as the sandbox knows."""
    try:
        country = phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    except phonenumbers.NumberParseException:
        return "", "", "", ""
    city, state, zip_code = PLACES.get(number[2:5], ("", "", "")) if number.startswith("+1") else ("", "", "")
    return city, state, zip_code, country


def geography(prefix: str, number: str) -> dict[str, str]:
    city, state, zip_code, country = place(number)
    return {
        f"{prefix}City": city,
        f"{prefix}State": state,
        f"{prefix}Zip": zip_code,
        f"{prefix}Country": country,
    }


def call_params(call: Call, status: str) -> dict[str, str]:
    """What every request about a call carries."""
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": status,
        "Direction": call.direction,
        "From": call.from_,
        "To": call.to,
        "Caller": call.from_,
        "Called": call.to,
        **geography("From", call.from_),
        **geography("To", call.to),
        **geography("Caller", call.from_),
        **geography("Called", call.to),
    }
    if call.parent_call_sid:
        params["ParentCallSid"] = call.parent_call_sid
    if call.answered_by:
        params["AnsweredBy"] = call.answered_by
    return params


def message_params(message: Message, status: str) -> dict[str, str]:
    """What every request about a message carries."""
    return {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsMessageSid": message.sid,
        "From": message.from_,
        "To": message.to,
        "Body": message.body,
        "NumMedia": "0",
        "NumSegments": str(segments(message.body)),
        "MessageStatus": status,
        "SmsStatus": status,
        **geography("From", message.from_),
        **geography("To", message.to),
    }
