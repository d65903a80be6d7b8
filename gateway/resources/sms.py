"""SMS Messages (sms.md, sending-sms.md): the list, one message, and sending one → 2010 ``Messages``.

2010 has no ``SMS/Messages``: messages live at ``/2010-04-01/Accounts/{AccountSid}/Messages.json``.
``<SMSMessage>`` keeps the docs' order (Sid, DateCreated, DateUpdated, DateSent, AccountSid, To, From,
Body, Status, Flags); 2010's MMS-era fields (media, segments, messaging service, price) are not shown,
as no 2008 example has them.
"""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import (
    FETCH_ONLY,
    LIST,
    AppUrl,
    Field,
    Operation,
    Param,
    Resource,
    Shape,
    ValueMap,
    field_,
    ops,
)

API = "/2010-04-01/Accounts/{AccountSid}"

SMS_STATUS = ValueMap(
    "sms_status",
    {
        "accepted": "queued",
        "scheduled": "queued",
        "queued": "queued",
        "sending": "sending",
        "receiving": "sending",
        "sent": "sent",
        "delivered": "sent",
        "read": "sent",
        "partially_delivered": "sent",
        "received": "sent",
        "failed": "failed",
        "undelivered": "failed",
        "canceled": "failed",
    },
)
"""2008 had queued, sending, sent, failed. 2010's richer set folds onto them: accepted and scheduled are
not yet sent (queued); receiving is in flight (sending); delivered, read, partially delivered and —
for inbound messages, which 2008 showed as sent — received have been sent; undelivered and canceled
never arrived (failed). A status 2010 adds later passes through unchanged."""

SMS_FLAGS = ValueMap(
    "sms_flags",
    {"inbound": "1", "outbound-reply": "2", "outbound-api": "4", "outbound-call": "0"},
    default="0",
)
"""2008 Flags bits: 1 inbound, 2 a reply to an incoming message, 4 sent through the REST API. A message
sent by ``<Sms>`` during a call (2010 ``outbound-call``) is none of these: 0."""

SMS_MESSAGE = Shape(
    "SMSMessage",
    (
        field_("sid", "Sid"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        field_("date_sent", "DateSent", "date"),
        field_("account_sid", "AccountSid"),
        field_("to", "To", "phone"),
        field_("from", "From", "phone"),
        field_("body", "Body"),
        Field("status", "Status", "map", values=SMS_STATUS),
        Field("direction", "Flags", "flags", values=SMS_FLAGS),
    ),
)

SEND = Operation(
    "create",
    "POST",
    (
        Param("From", required=True, phone=True, short_code=True),
        Param("To", required=True, phone=True, short_code=True),
        Param("Body", required=True),
        Param("StatusCallback"),
    ),
    writes=True,
)

SMS_MESSAGES = Resource(
    name="sms_messages",
    legacy_path="/Accounts/{AccountSid}/SMS/Messages",
    list_element="SMSMessages",
    item=SMS_MESSAGE,
    host="api",
    upstream_list=API + "/Messages.json",
    upstream_instance=API + "/Messages/{Sid}.json",
    paging=Paging("flat", "messages"),
    sid_prefix="SM",
    filters=(
        Param("To", phone=True, short_code=True),
        Param("From", phone=True, short_code=True),
        Param("DateSent", compare=("=", ">=", "<="), date=True),
    ),
    list_ops=ops({"GET": LIST, "POST": SEND}),
    instance_ops=FETCH_ONLY,
    app_urls=(AppUrl("StatusCallback", "sms-status"),),
)
