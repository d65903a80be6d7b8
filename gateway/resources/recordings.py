"""Recordings (recordings.md): the call-scoped list ``/Calls/{CallSid}/Recordings``.

The ``<Recording>`` element follows the docs' XML example (Sid, AccountSid, CallSid, Duration,
DateCreated, DateUpdated). The account-wide list, the instance and its media are declared here too as
the messaging-and-media work adds them.
"""

from __future__ import annotations

from .model import Operation, Paging, Param, Resource, Shape, field_, ops

API = "/2010-04-01/Accounts/{AccountSid}"

RECORDING = Shape(
    "Recording",
    (
        field_("sid", "Sid"),
        field_("account_sid", "AccountSid"),
        field_("call_sid", "CallSid"),
        field_("duration", "Duration"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
    ),
)

CALL_RECORDINGS = Resource(
    name="call_recordings",
    legacy_path="/Accounts/{AccountSid}/Calls/{CallSid}/Recordings",
    list_element="Recordings",
    item=RECORDING,
    host="api",
    upstream_list=API + "/Calls/{CallSid}/Recordings.json",
    upstream_instance=API + "/Calls/{CallSid}/Recordings/{Sid}.json",
    paging=Paging("flat", "recordings"),
    sid_prefix="RE",
    filters=(Param("DateCreated", compare=("=", ">=", "<="), date=True),),
    list_ops=ops({"GET": Operation("list", "GET")}),
    instance_ops=ops({"GET": Operation("fetch", "GET")}),
)
