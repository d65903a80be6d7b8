"""Outgoing Caller IDs (outgoing-caller-ids.md): list, validation request, instance."""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import DELETE, FETCH, LIST, Operation, Param, Resource, Shape, field_, ops

OUTGOING_CALLER_ID = Shape(
    "OutgoingCallerId",
    (
        field_("sid", "Sid"),
        field_("account_sid", "AccountSid"),
        field_("friendly_name", "FriendlyName"),
        field_("phone_number", "PhoneNumber", "phone"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
    ),
)

VALIDATION_REQUEST = Shape(
    "ValidationRequest",
    (
        field_("account_sid", "AccountSid"),
        field_("phone_number", "PhoneNumber", "phone"),
        field_("friendly_name", "FriendlyName"),
        field_("validation_code", "ValidationCode"),
    ),
)

_RENAME = Operation("update", "POST", (Param("FriendlyName", required=True),), writes=True)

OUTGOING_CALLER_IDS = Resource(
    name="outgoing_caller_ids",
    legacy_path="/Accounts/{AccountSid}/OutgoingCallerIds",
    list_element="OutgoingCallerIds",
    item=OUTGOING_CALLER_ID,
    host="api",
    upstream_list="/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json",
    upstream_instance="/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json",
    paging=Paging("flat", "outgoing_caller_ids"),
    filters=(Param("PhoneNumber", phone=True), Param("FriendlyName")),
    list_ops=ops(
        {
            "GET": LIST,
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
    instance_ops=ops(
        {
            "GET": FETCH,
            "POST": _RENAME,
            "PUT": _RENAME,
            "DELETE": DELETE,
        }
    ),
)
