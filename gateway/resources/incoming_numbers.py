"""IncomingPhoneNumbers (incoming-phone-numbers.md): the account's numbers, and the Local and TollFree
factories that buy new ones.

Buying: 2010's ``Local.json``/``TollFree.json`` take only a specific ``PhoneNumber``; the generic
``IncomingPhoneNumbers.json`` takes an ``AreaCode`` and buys one number in it, in one call (nothing to
race between a search and a purchase). So both factories post there, and their ``AreaCode`` must be of
the factory's kind (a toll-free code for TollFree, any other for Local) — otherwise no number of the
asked kind exists: 400 with 2008's code 21452, as when the area code has none left.

Without an ``AreaCode`` (or with a blank one, which a 2008 library sends by default) the page has Twilio
find a number anywhere in the US; 2010 needs an area code or a number, so the factory first lists
``AvailablePhoneNumbers/US/Local.json`` (or ``TollFree.json``) and buys the first number listed by its
``PhoneNumber``; one taken meanwhile (21422) moves on to the next listed, none left is 21452. A
purchase is a POST, which the upstream client never retries (:mod:`gateway.upstream.client`).
"""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import (
    DELETE,
    FETCH,
    LIST,
    AppUrl,
    Operation,
    Param,
    Resource,
    Search,
    Shape,
    field_,
    ops,
)

API = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers"
NO_NUMBER = 21452
"""2008 (and 2010): no phone number matches the request."""
TAKEN = 21422
"""2010: the PhoneNumber asked for is not available (someone bought it since it was listed)."""
AVAILABLE = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/US"
CANDIDATES = 5
"""Available numbers listed for a purchase without an area code: each is tried in turn while the
upstream answers that the one before was taken meanwhile."""
TOLL_FREE_CODES = "8(?:00|33|44|55|66|77|88)"
"""NANP toll-free area codes in service."""

_VOICE = (
    field_("voice_url", "Url"),
    field_("voice_method", "Method"),
)
_SMS = (
    field_("sms_url", "SmsUrl"),
    field_("sms_method", "SmsMethod"),
)
_VOICE_FALLBACK = (
    field_("voice_fallback_url", "VoiceFallbackUrl"),
    field_("voice_fallback_method", "VoiceFallbackMethod"),
)
_SMS_FALLBACK = (
    field_("sms_fallback_url", "SmsFallbackUrl"),
    field_("sms_fallback_method", "SmsFallbackMethod"),
)
_IDENTITY = (
    field_("sid", "Sid"),
    field_("account_sid", "AccountSid"),
    field_("friendly_name", "FriendlyName"),
    field_("phone_number", "PhoneNumber", "phone"),
)
_TAIL = (
    field_("voice_caller_id_lookup", "VoiceCallerIdLookup", "bool"),
    field_("date_created", "DateCreated", "date"),
    field_("date_updated", "DateUpdated", "date"),
)

INCOMING_PHONE_NUMBER = Shape(
    "IncomingPhoneNumber", (*_IDENTITY, *_VOICE, *_SMS, *_VOICE_FALLBACK, *_SMS_FALLBACK, *_TAIL)
)
"""The docs' element order (GET instance and list examples)."""
TOLL_FREE_NUMBER = Shape("IncomingPhoneNumber", (*_IDENTITY, *_VOICE, *_VOICE_FALLBACK, *_TAIL))
"""The TollFree factory's answer, as its example shows it: no SMS on a 2008 toll-free number."""

_VOICE_PARAMS = (
    Param("FriendlyName"),
    Param("Url", upstream="VoiceUrl"),
    Param("Method", upstream="VoiceMethod"),
    Param("VoiceFallbackUrl"),
    Param("VoiceFallbackMethod"),
    Param("VoiceCallerIdLookup"),
)
_SMS_PARAMS = (
    Param("SmsUrl"),
    Param("SmsMethod"),
    Param("SmsFallbackUrl"),
    Param("SmsFallbackMethod"),
)
APP_URLS = (
    AppUrl("Url", "voice", "Method", "voice_url", "voice_method", status="StatusCallback"),
    AppUrl(
        "VoiceFallbackUrl",
        "voice-fallback",
        "VoiceFallbackMethod",
        "voice_fallback_url",
        "voice_fallback_method",
    ),
    AppUrl("SmsUrl", "sms", "SmsMethod", "sms_url", "sms_method"),
    AppUrl("SmsFallbackUrl", "sms-fallback", "SmsFallbackMethod", "sms_fallback_url", "sms_fallback_method"),
)
"""A number's voice status hook brings 2008's request at the end of each call (CallStatus=completed)."""
_UPDATE = Operation("update", "POST", (*_VOICE_PARAMS, *_SMS_PARAMS), writes=True)


def _anywhere(kind: str, path: str) -> Search:
    return Search(
        unless="AreaCode",
        upstream=AVAILABLE + path,
        items_key="available_phone_numbers",
        field="phone_number",
        param="PhoneNumber",
        taken=(TAKEN,),
        code=NO_NUMBER,
        refusal=f"No {kind} phone numbers are available",
        query=(("PageSize", str(CANDIDATES)),),
    )


_NAMED = Param("PhoneNumber", phone=True)
"""Not on the 2008 page: 2010's way to buy one number by name (found by a search elsewhere), declared
so that it reaches the upstream (an undeclared parameter never does); bought as named, no search."""


def _buy(
    kind: str, codes: str, search: Search, params: tuple[Param, ...], shape: Shape | None = None
) -> Operation:
    refusal = f"no {kind} phone numbers are found in area code {{value}}"
    area = Param("AreaCode", blank_absent=True, pattern=codes, code=NO_NUMBER, refusal=refusal)
    return Operation(
        "create",
        "POST",
        (area, _NAMED, *params),
        shape=shape,
        writes=True,
        upstream=API + ".json",
        search=search,
        created="/Accounts/{AccountSid}/IncomingPhoneNumbers",
    )


_FILTERS = (Param("PhoneNumber", phone=True), Param("FriendlyName"))
_LIST = LIST


def _numbers(name: str, path: str, buy: Operation | None, aliases: tuple[str, ...] = ()) -> Resource:
    return Resource(
        name=name,
        legacy_path="/Accounts/{AccountSid}/IncomingPhoneNumbers" + path,
        list_element="IncomingPhoneNumbers",
        item=INCOMING_PHONE_NUMBER,
        host="api",
        upstream_list=API + path + ".json",
        upstream_instance=API + "/{Sid}.json",
        paging=Paging("flat", "incoming_phone_numbers"),
        aliases=aliases,
        filters=_FILTERS,
        app_urls=APP_URLS,
        list_ops=ops({"GET": _LIST} if buy is None else {"GET": _LIST, "POST": buy}),
        instance_ops=ops(
            {}
            if buy is not None
            else {
                "GET": FETCH,
                "POST": _UPDATE,
                "PUT": _UPDATE,
                "DELETE": DELETE,
            }
        ),
    )


LOCAL_NUMBERS = _numbers(
    "local_numbers",
    "/Local",
    _buy(
        "local",
        f"(?!{TOLL_FREE_CODES})[2-9][0-9]{{2}}",
        _anywhere("local", "/Local.json"),
        (*_VOICE_PARAMS, *_SMS_PARAMS),
    ),
)
TOLL_FREE_NUMBERS = _numbers(
    "toll_free_numbers",
    "/TollFree",
    _buy(
        "toll-free",
        TOLL_FREE_CODES,
        _anywhere("toll-free", "/TollFree.json"),
        _VOICE_PARAMS,
        TOLL_FREE_NUMBER,
    ),
)
INCOMING_PHONE_NUMBERS = _numbers(
    "incoming_phone_numbers", "", None, aliases=("/Accounts/{AccountSid}/PhoneNumbers",)
)
"""``/PhoneNumbers``: the name request.md's method-overloading example gives the same resource."""
