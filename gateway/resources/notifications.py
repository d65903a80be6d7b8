"""Notifications (notifications.md): the account's log (``Log`` 0/1, ``MessageDate`` with
inequalities), a call's log ``/Calls/{CallSid}/Notifications``, and one entry.

The ``<Notification>`` element follows the docs' property table, in its order, as far as the stored
copy of the page reaches (it is cut after RequestMethod); one entry adds RequestVariables,
ResponseHeaders and ResponseBody, as 2010's instance does. ``Log`` is 2010's ``log`` unchanged: both
use 0 = ERROR, 1 = WARNING. 2008 could DELETE an entry (its complete page: 204); 2010 keeps the log
read-only, so the deletion is the gateway's own (``HIDE``): the entry is 404 and left out of every list
of the account from then on, through this gateway (:mod:`gateway.lists.hidden`). The call's log shares
the account's entries, so a DELETE there is the same deletion.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.resources.listing import DatePartition, Paging
from gateway.resources.model import HIDE, LIST_ONLY, Operation, Param, Resource, Shape, ValueMap, field_, ops

API = "/2010-04-01/Accounts/{AccountSid}"

LOG_LEVEL = ValueMap("log_level", {"0": "0", "1": "1"})
"""0 = ERROR, 1 = WARNING in both versions; any other filter value is a 400, not an empty list."""

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

NOTIFICATION_INSTANCE = Shape(
    "Notification",
    (
        *NOTIFICATION.fields,
        field_("request_variables", "RequestVariables"),
        field_("response_headers", "ResponseHeaders"),
        field_("response_body", "ResponseBody"),
    ),
)

_FILTERS = (
    Param("Log", values=LOG_LEVEL),
    Param("MessageDate", compare=("=", ">=", "<="), date=True),
)
_INSTANCE = ops({"GET": Operation("fetch", "GET", shape=NOTIFICATION_INSTANCE), "DELETE": HIDE})

NOTIFICATIONS = Resource(
    name="notifications",
    legacy_path="/Accounts/{AccountSid}/Notifications",
    list_element="Notifications",
    item=NOTIFICATION,
    host="api",
    upstream_list=API + "/Notifications.json",
    upstream_instance=API + "/Notifications/{Sid}.json",
    paging=Paging("flat", "notifications", DatePartition("MessageDate", "message_date", unit="day")),
    sid_prefix="NO",
    filters=_FILTERS,
    list_ops=LIST_ONLY,
    instance_ops=_INSTANCE,
)

CALL_NOTIFICATIONS = replace(
    NOTIFICATIONS,
    name="call_notifications",
    legacy_path="/Accounts/{AccountSid}/Calls/{CallSid}/Notifications",
    upstream_list=API + "/Calls/{CallSid}/Notifications.json",
    upstream_instance=API + "/Calls/{CallSid}/Notifications/{Sid}.json",
    paging=Paging("flat", "notifications"),
)
"""A call's notifications: the account's, under the call (in creation order: no date partition)."""
