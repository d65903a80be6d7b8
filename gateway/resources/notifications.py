"""Notifications (notifications.md): the call-scoped list ``/Calls/{CallSid}/Notifications``.

The ``<Notification>`` element follows the docs' property table, in its order, as far as the stored
copy of the page reaches (it is cut after RequestMethod). ``Log`` is 2010's ``log`` unchanged: both
use 0 = ERROR, 1 = WARNING.
"""

from __future__ import annotations

from .model import Operation, Paging, Param, Resource, Shape, field_, ops

API = "/2010-04-01/Accounts/{AccountSid}"

NOTIFICATION = Shape(
    "Notification",
    (
        field_("sid", "Sid"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        field_("account_sid", "AccountSid"),
        field_("call_sid", "CallSid"),
        field_("log", "Log"),
        field_("error_code", "ErrorCode"),
        field_("more_info", "MoreInfo"),
        field_("message_text", "MessageText"),
        field_("message_date", "MessageDate", "date"),
        field_("request_url", "RequestURL"),
        field_("request_method", "RequestMethod"),
    ),
)

CALL_NOTIFICATIONS = Resource(
    name="call_notifications",
    legacy_path="/Accounts/{AccountSid}/Calls/{CallSid}/Notifications",
    list_element="Notifications",
    item=NOTIFICATION,
    host="api",
    upstream_list=API + "/Calls/{CallSid}/Notifications.json",
    upstream_instance=API + "/Calls/{CallSid}/Notifications/{Sid}.json",
    paging=Paging("flat", "notifications"),
    sid_prefix="NO",
    filters=(Param("Log"), Param("MessageDate", compare=("=", ">=", "<="), date=True)),
    list_ops=ops({"GET": Operation("list", "GET")}),
    instance_ops=ops({"GET": Operation("fetch", "GET")}),
)
