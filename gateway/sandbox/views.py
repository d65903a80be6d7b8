"""The sandbox's JSON representations, field for field as the specs' schemas and the Trunking
PhoneNumber resource page give them."""

from __future__ import annotations

import functools
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from .store import CallerId, TrunkNumber


@functools.lru_cache(maxsize=4096)
def rfc2822(stamp: datetime) -> str:
    """Cached: a seeded list shares a handful of timestamps, and formatting is the page's main cost."""
    return format_datetime(stamp)


def iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def caller_id(item: CallerId) -> dict[str, Any]:
    return {
        "sid": item.sid,
        "account_sid": item.account_sid,
        "friendly_name": item.friendly_name,
        "phone_number": item.phone_number,
        "date_created": rfc2822(item.date_created),
        "date_updated": rfc2822(item.date_updated),
        "uri": f"/2010-04-01/Accounts/{item.account_sid}/OutgoingCallerIds/{item.sid}.json",
    }


def trunk_number(item: TrunkNumber, base: str) -> dict[str, Any]:
    number = item.number
    account = number.account_sid
    hooks = f"https://webhooks.twilio.com/v1/Accounts/{account}/Proxy/KS{'0' * 32}/Webhooks"
    return {
        "sid": item.sid,
        "date_created": iso(item.date_created),
        "date_updated": iso(item.date_updated),
        "friendly_name": number.friendly_name,
        "account_sid": account,
        "phone_number": number.phone_number,
        "api_version": "2010-04-01",
        "voice_caller_id_lookup": None,
        "voice_url": f"{hooks}/Call",
        "voice_method": "POST",
        "voice_fallback_url": None,
        "voice_fallback_method": "POST",  # the resource page shows null; OAS 3.0 nullable+enum forbids it
        "status_callback": "",
        "status_callback_method": "POST",
        "voice_application_sid": None,  # the resource page shows "", which the spec forbids
        "trunk_sid": item.trunk_sid,
        "sms_url": f"{hooks}/Message",
        "sms_method": "POST",
        "sms_fallback_url": "",
        "sms_fallback_method": "POST",
        "sms_application_sid": None,
        "address_requirements": "none",
        "beta": False,
        "url": f"{base}/v1/Trunks/{item.trunk_sid}/PhoneNumbers/{item.sid}",
        "capabilities": {"voice": True, "sms": True, "mms": True},
        "links": {
            "phone_number": f"https://api.twilio.com/2010-04-01/Accounts/{account}"
            f"/IncomingPhoneNumbers/{item.sid}.json"
        },
    }
