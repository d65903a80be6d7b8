"""Short Codes (short-codes.md): the list (``ShortCode`` with ``*`` wildcards, ``FriendlyName``), one
short code, and updating it → 2010 ``SMS/ShortCodes``, whose filters take the same patterns."""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import FETCH, LIST_ONLY, Operation, Param, Resource, Shape, field_, ops

API = "/2010-04-01/Accounts/{AccountSid}"

SHORT_CODE = Shape(
    "ShortCode",
    (
        field_("sid", "Sid"),
        field_("account_sid", "AccountSid"),
        field_("friendly_name", "FriendlyName"),
        field_("short_code", "ShortCode"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        field_("sms_url", "SmsUrl"),
        field_("sms_method", "SmsMethod"),
        field_("sms_fallback_url", "SmsFallbackUrl"),
        field_("sms_fallback_method", "SmsFallbackMethod"),
    ),
)
"""The docs' XML examples (their order, which differs from the property table's: the examples win)."""

UPDATE = Operation(
    "update",
    "POST",
    (
        Param("FriendlyName"),
        Param("ApiVersion"),
        Param("SmsUrl"),
        Param("SmsMethod"),
        Param("SmsFallbackUrl"),
        Param("SmsFallbackMethod"),
    ),
    writes=True,
)

SHORT_CODES = Resource(
    name="short_codes",
    legacy_path="/Accounts/{AccountSid}/SMS/ShortCodes",
    list_element="ShortCodes",
    item=SHORT_CODE,
    host="api",
    upstream_list=API + "/SMS/ShortCodes.json",
    upstream_instance=API + "/SMS/ShortCodes/{Sid}.json",
    paging=Paging("flat", "short_codes"),
    sid_prefix="SC",
    filters=(Param("ShortCode"), Param("FriendlyName")),
    list_ops=LIST_ONLY,
    instance_ops=ops({"GET": FETCH, "POST": UPDATE}),
)
