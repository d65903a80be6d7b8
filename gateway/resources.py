"""The registry: one declaration per legacy resource. A new resource is a table entry, not a code path.

A declaration says where the resource lives in the legacy URL space and upstream, which methods it takes
and what they become, how each upstream field is named and ordered in the legacy document and how it is
converted (phone, date, bool, nested), and how the upstream pages its lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

LEGACY_PREFIX = "/2008-08-01"

SID_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "AccountSid": re.compile(r"AC[0-9a-fA-F]{32}"),
        "Sid": re.compile(r"PN[0-9a-fA-F]{32}"),
        "TrunkSid": re.compile(r"TK[0-9a-fA-F]{32}"),
    }
)

Kind = Literal["text", "phone", "date", "bool", "nested", "self_uri"]
Action = Literal["fetch", "update", "delete", "list", "create"]


@dataclass(frozen=True)
class Field:
    upstream: str
    legacy: str
    kind: Kind = "text"
    children: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Shape:
    """A legacy element and its fields, in legacy order."""

    element: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Param:
    name: str
    required: bool = False
    phone: bool = False
    split_extension_to: str | None = None


@dataclass(frozen=True)
class Operation:
    action: Action
    upstream_method: str
    params: tuple[Param, ...] = ()
    shape: Shape | None = None
    writes: bool = False


@dataclass(frozen=True)
class Paging:
    """How the upstream pages a list: 2010's flat body or v1's ``meta`` object."""

    style: Literal["flat", "meta"]
    items_key: str

    def items(self, body: Mapping[str, object]) -> object:
        return body.get(self.items_key)

    def next_url(self, body: Mapping[str, object]) -> object:
        if self.style == "flat":
            return body.get("next_page_uri")
        meta = body.get("meta")
        return meta.get("next_page_url") if isinstance(meta, Mapping) else None


@dataclass(frozen=True, eq=False)
class Resource:
    name: str
    legacy_path: str
    list_element: str
    item: Shape
    host: Literal["api", "trunking"]
    upstream_list: str
    upstream_instance: str
    paging: Paging
    list_ops: Mapping[str, Operation]
    instance_ops: Mapping[str, Operation]
    filters: tuple[Param, ...] = ()
    owner_field: str | None = None
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.legacy_path)
        object.__setattr__(self, "_pattern", re.compile(regex + r"(?:/(?P<Sid>[^/]+))?"))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._pattern.fullmatch(path)
        if found is None:
            return None
        return {key: value for key, value in found.groupdict().items() if value is not None}

    def instance_uri(self, params: Mapping[str, str]) -> str:
        return LEGACY_PREFIX + self.legacy_path.format(**params) + "/" + params["Sid"]


def _f(upstream: str, legacy: str, kind: Kind = "text") -> Field:
    return Field(upstream, legacy, kind)


OUTGOING_CALLER_ID = Shape(
    "OutgoingCallerId",
    (
        _f("sid", "Sid"),
        _f("account_sid", "AccountSid"),
        _f("friendly_name", "FriendlyName"),
        _f("phone_number", "PhoneNumber", "phone"),
        _f("date_created", "DateCreated", "date"),
        _f("date_updated", "DateUpdated", "date"),
    ),
)

VALIDATION_REQUEST = Shape(
    "ValidationRequest",
    (
        _f("account_sid", "AccountSid"),
        _f("phone_number", "PhoneNumber", "phone"),
        _f("friendly_name", "FriendlyName"),
        _f("validation_code", "ValidationCode"),
    ),
)

TRUNK_PHONE_NUMBER = Shape(
    "TrunkPhoneNumber",
    (
        _f("sid", "Sid"),
        _f("account_sid", "AccountSid"),
        _f("trunk_sid", "TrunkSid"),
        _f("friendly_name", "FriendlyName"),
        _f("phone_number", "PhoneNumber", "phone"),
        _f("api_version", "ApiVersion"),
        _f("voice_caller_id_lookup", "VoiceCallerIdLookup", "bool"),
        _f("voice_url", "VoiceUrl"),
        _f("voice_method", "VoiceMethod"),
        _f("voice_fallback_url", "VoiceFallbackUrl"),
        _f("voice_fallback_method", "VoiceFallbackMethod"),
        _f("voice_application_sid", "VoiceApplicationSid"),
        _f("status_callback", "StatusCallback"),
        _f("status_callback_method", "StatusCallbackMethod"),
        _f("sms_url", "SmsUrl"),
        _f("sms_method", "SmsMethod"),
        _f("sms_fallback_url", "SmsFallbackUrl"),
        _f("sms_fallback_method", "SmsFallbackMethod"),
        _f("sms_application_sid", "SmsApplicationSid"),
        _f("address_requirements", "AddressRequirements"),
        _f("beta", "Beta", "bool"),
        Field(
            "capabilities",
            "Capabilities",
            "nested",
            (
                _f("voice", "Voice", "bool"),
                _f("sms", "Sms", "bool"),
                _f("mms", "Mms", "bool"),
                _f("fax", "Fax", "bool"),
            ),
        ),
        _f("date_created", "DateCreated", "date"),
        _f("date_updated", "DateUpdated", "date"),
        _f("url", "Uri", "self_uri"),
    ),
)

_ops = MappingProxyType

RESOURCES: tuple[Resource, ...] = (
    Resource(
        name="outgoing_caller_ids",
        legacy_path="/Accounts/{AccountSid}/OutgoingCallerIds",
        list_element="OutgoingCallerIds",
        item=OUTGOING_CALLER_ID,
        host="api",
        upstream_list="/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json",
        upstream_instance="/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json",
        paging=Paging("flat", "outgoing_caller_ids"),
        filters=(Param("PhoneNumber", phone=True), Param("FriendlyName")),
        list_ops=_ops(
            {
                "GET": Operation("list", "GET"),
                "POST": Operation(
                    "create",
                    "POST",
                    (
                        Param("PhoneNumber", required=True, phone=True, split_extension_to="Extension"),
                        Param("FriendlyName"),
                        Param("CallDelay"),
                    ),
                    shape=VALIDATION_REQUEST,
                    writes=True,
                ),
            }
        ),
        instance_ops=_ops(
            {
                "GET": Operation("fetch", "GET"),
                "POST": Operation("update", "POST", (Param("FriendlyName", required=True),), writes=True),
                "PUT": Operation("update", "POST", (Param("FriendlyName", required=True),), writes=True),
                "DELETE": Operation("delete", "DELETE", writes=True),
            }
        ),
    ),
    Resource(
        name="trunk_phone_numbers",
        legacy_path="/Accounts/{AccountSid}/Trunks/{TrunkSid}/PhoneNumbers",
        list_element="TrunkPhoneNumbers",
        item=TRUNK_PHONE_NUMBER,
        host="trunking",
        upstream_list="/v1/Trunks/{TrunkSid}/PhoneNumbers",
        upstream_instance="/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}",
        paging=Paging("meta", "phone_numbers"),
        owner_field="account_sid",
        list_ops=_ops(
            {
                "GET": Operation("list", "GET"),
                "POST": Operation("create", "POST", (Param("PhoneNumberSid", required=True),), writes=True),
            }
        ),
        instance_ops=_ops(
            {
                "GET": Operation("fetch", "GET"),
                "DELETE": Operation("delete", "DELETE", writes=True),
            }
        ),
    ),
)


def match(path: str) -> tuple[Resource, dict[str, str]] | None:
    """``/Accounts/AC…/OutgoingCallerIds/PN…`` (legacy prefix and suffix already removed)."""
    for resource in RESOURCES:
        params = resource.match(path)
        if params is not None:
            return resource, params
    return None
