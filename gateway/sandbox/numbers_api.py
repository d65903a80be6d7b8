"""The behaviours of the 2010 IncomingPhoneNumbers endpoints (the account's numbers, and the Local and
TollFree lists) on the spec-driven engine, and the inventory of available numbers they buy from.

The inventory holds, per area code, numbers nobody owns: :data:`LOCAL_AREA_CODES` and
:data:`TOLL_FREE_AREA_CODES`, ``available`` of each (+1 {area} 777 0100 upward). Buying takes one out,
releasing puts it back. An area code outside both lists has none (400, 21452).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import phonenumbers

from gateway.dialect.phone import pretty

from .api import ApiError
from .store import IncomingNumber, Ordered, Store, now
from .values import e164
from .views import rfc2822

API = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers"
NUMBERS = API + ".json"
NUMBER = API + "/{Sid}.json"
LOCAL = API + "/Local.json"
TOLL_FREE = API + "/TollFree.json"

LOCAL_AREA_CODES = ("202", "206", "212", "303", "312", "415", "512", "617", "646", "718")
TOLL_FREE_AREA_CODES = ("800", "833", "844", "855", "866", "877", "888")
FIRST_AVAILABLE = 7770100
"""Available numbers are +1 {area} 777 0100 upward (pre-provisioned ones are 646 555 0000 upward)."""

SETTABLE = (
    "FriendlyName",
    "VoiceUrl",
    "VoiceMethod",
    "VoiceFallbackUrl",
    "VoiceFallbackMethod",
    "VoiceCallerIdLookup",
    "VoiceApplicationSid",
    "StatusCallback",
    "StatusCallbackMethod",
    "SmsUrl",
    "SmsMethod",
    "SmsFallbackUrl",
    "SmsFallbackMethod",
    "SmsApplicationSid",
    "TrunkSid",
)
"""Form parameters an owner sets on a number (2010 names), stored under their JSON names."""
DEFAULTS = {
    "voice_method": "POST",
    "voice_fallback_method": "POST",
    "sms_method": "POST",
    "sms_fallback_method": "POST",
    "status_callback_method": "POST",
    "voice_caller_id_lookup": False,
}


def snake(name: str) -> str:
    """``VoiceFallbackUrl`` → ``voice_fallback_url``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.lru_cache(maxsize=4096)
def toll_free(number: str) -> bool:
    parsed = phonenumbers.parse(number)
    return bool(phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE)


def area_code(number: str) -> str:
    return number[2:5] if number.startswith("+1") else ""


def pattern_test(item: IncomingNumber, value: str) -> bool:
    """2010's filter: partial numbers, ``*`` matching any one digit."""
    wanted = re.escape(value.strip()).replace(r"\*", "[0-9]")
    return re.search(wanted, item.phone_number) is not None


class Inventory:
    """Available numbers by area code, each list in ascending order."""

    def __init__(self, per_area_code: int) -> None:
        self.available: dict[str, list[str]] = {
            code: [f"+1{code}{FIRST_AVAILABLE + i}" for i in range(per_area_code)]
            for code in (*LOCAL_AREA_CODES, *TOLL_FREE_AREA_CODES)
        }

    def take(self, code: str) -> str | None:
        numbers = self.available.get(code)
        return numbers.pop(0) if numbers else None

    def take_number(self, number: str) -> bool:
        numbers = self.available.get(area_code(number), [])
        if number not in numbers:
            return False
        numbers.remove(number)
        return True

    def give_back(self, number: str) -> None:
        numbers = self.available.setdefault(area_code(number), [])
        if number not in numbers:
            numbers.append(number)
            numbers.sort()


class NumbersBehaviour:
    """``IncomingPhoneNumbers.json`` (``kind`` None), ``Local.json`` or ``TollFree.json``."""

    def __init__(self, store: Store, inventory: Inventory, kind: str | None = None) -> None:
        self.store = store
        self.inventory = inventory
        self.kind = kind
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "PhoneNumber": pattern_test,
            "FriendlyName": lambda n, v: n.friendly_name == v,
        }

    def refresh(self) -> None:
        """Numbers have no time-driven state."""

    def _of_kind(self, number: str) -> bool:
        return self.kind is None or (self.kind == "toll-free") == toll_free(number)

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        everything = self.store.incoming.get(path["AccountSid"])
        if everything is None or self.kind is None:
            return everything
        kept = Ordered()
        for number in everything.values():
            if self._of_kind(number.phone_number):
                kept.add(number.seq, number)
        return kept

    def find(self, path: Mapping[str, str]) -> IncomingNumber | None:
        return self.store.incoming_number(path["AccountSid"], path["Sid"])

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> IncomingNumber:
        number = self._pick(form)
        friendly = form.get("FriendlyName") or pretty(number)
        made = self.store.add_incoming(path["AccountSid"], number, friendly)
        return self.update(made, {k: v for k, v in form.items() if k != "FriendlyName"})

    def _pick(self, form: Mapping[str, str]) -> str:
        wanted = form.get("PhoneNumber")
        if wanted:
            number = e164(wanted, 21421, "PhoneNumber")
            if not self._of_kind(number) or not self.inventory.take_number(number):
                raise ApiError(400, 21422, f"PhoneNumber {number} is not available.")
            return number
        code = form.get("AreaCode", "").strip()
        if not code:
            raise ApiError(400, 21451, "An AreaCode or a PhoneNumber is required.")
        picked = self.inventory.take(code)
        if picked is None:
            raise ApiError(400, 21452, f"No phone numbers found in area code {code}.")
        return picked

    def update(self, number: IncomingNumber, form: dict[str, str]) -> IncomingNumber:
        if "FriendlyName" in form:
            if len(form["FriendlyName"]) > 64:
                raise ApiError(400, 21409, "FriendlyName must be 64 characters or fewer")
            number.friendly_name = form["FriendlyName"] or pretty(number.phone_number)
        for name in SETTABLE[1:]:
            if name in form:
                value: object = form[name]
                if name == "VoiceCallerIdLookup":
                    value = str(value).strip().lower() == "true"
                number.extra[snake(name)] = value
        number.date_updated = now()
        return number

    def delete(self, number: IncomingNumber) -> None:
        self.store.release_incoming(number)
        self.inventory.give_back(number.phone_number)

    def render(self, number: IncomingNumber) -> dict[str, Any]:
        account = number.account_sid
        extra = {**DEFAULTS, **number.extra}
        return {
            "account_sid": account,
            "address_requirements": "none",
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": {
                "voice": True,
                "sms": not toll_free(number.phone_number),
                "mms": not toll_free(number.phone_number),
                "fax": False,
            },
            "date_created": rfc2822(number.date_created),
            "date_updated": rfc2822(number.date_updated),
            "friendly_name": number.friendly_name,
            "phone_number": number.phone_number,
            "origin": "twilio",
            "sid": number.sid,
            "uri": f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{number.sid}.json",
            "voice_receive_mode": "voice",
            "emergency_status": "Inactive",
            "emergency_address_status": "unregistered",
            "status": "in-use",
            "type": "toll-free" if toll_free(number.phone_number) else "local",
            **{key: extra.get(key) for key in (*DEFAULTS, *(snake(n) for n in SETTABLE[1:]))},
        }
