"""Accounts (accounts.md): the account and, as the 2010 API adds, its subaccounts."""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import (
    FETCH,
    LIST_ONLY,
    Field,
    Operation,
    Param,
    Resource,
    Shape,
    ValueMap,
    field_,
    ops,
)

ACCOUNT_STATUS = ValueMap(
    "account_status",
    {"active": "2", "suspended": "4", "closed": "32"},
    into={"2": ("active",), "4": ("suspended",), "16": ("suspended",), "32": ("closed",)},
)
"""2008: "2 is Active. 4, 16, and 32 are Suspended." 2010's ``closed`` (final) is 32; 16 is read as
``suspended``."""
ACCOUNT_STATUS_TEXT = ValueMap(
    "account_status_text", {"active": "Active", "suspended": "Suspended", "closed": "Closed"}
)

ACCOUNT = Shape(
    "Account",
    (
        field_("sid", "Sid"),
        field_("friendly_name", "FriendlyName"),
        Field("status", "Status", "map", values=ACCOUNT_STATUS),
        Field("status", "StatusText", "map", values=ACCOUNT_STATUS_TEXT),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        Field("auth_token", "AuthToken", secret=True),
    ),
)

_UPDATE = Operation(
    "update",
    "POST",
    (Param("FriendlyName"), Param("Status", values=ACCOUNT_STATUS)),
    writes=True,
)

ACCOUNTS = Resource(
    name="accounts",
    legacy_path="/Accounts",
    list_element="Accounts",
    item=ACCOUNT,
    host="api",
    upstream_list="/2010-04-01/Accounts.json",
    upstream_instance="/2010-04-01/Accounts/{Sid}.json",
    paging=Paging("flat", "accounts"),
    sid_prefix="AC",
    account_of="sid",
    filters=(Param("FriendlyName"), Param("Status", values=ACCOUNT_STATUS)),
    list_ops=LIST_ONLY,
    instance_ops=ops({}),
)
"""The list: the account the credentials name and its subaccounts."""

THE_ACCOUNT = Resource(
    name="account",
    legacy_path="/Accounts/{AccountSid}",
    list_element="Accounts",
    item=ACCOUNT,
    host="api",
    upstream_list="/2010-04-01/Accounts/{AccountSid}.json",
    upstream_instance="/2010-04-01/Accounts/{AccountSid}.json",
    paging=Paging("flat", "accounts"),
    list_ops=ops({"GET": FETCH, "POST": _UPDATE, "PUT": _UPDATE}),
    instance_ops=ops({}),
)
"""One account, at the path every other resource hangs from: its ``{AccountSid}`` is the account
addressed, as for every resource below it."""
