"""Calls (calls.md, making-calls.md, change-call-state.md): the list, making a call, redirecting a live
call, and the call's Segments (its Dial legs: 2010 child calls)."""

from __future__ import annotations

from gateway.resources.listing import DatePartition, Order, Paging, StatusPartition
from gateway.resources.model import (
    FETCH,
    FETCH_ONLY,
    LIST,
    LIST_ONLY,
    AppUrl,
    Embed,
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

CALL_STATUS = ValueMap(
    "call_status",
    {
        "queued": "0",
        "ringing": "0",
        "in-progress": "1",
        "completed": "2",
        "busy": "3",
        "failed": "4",
        "no-answer": "5",
        "canceled": "5",
    },
)
"""2008: 0 not yet dialed, 1 in progress, 2 complete, 3 busy, 4 application error, 5 no answer. 2010's
``canceled`` (hung up through the API while queued or ringing: nobody answered) is 5."""

DIRECTION_FLAGS = ValueMap(
    "direction_flags", {"inbound": "1", "outbound-api": "2", "outbound-dial": "4"}, default="0"
)
"""2008 Flags bits: 1 inbound, 2 initiated by the API, 4 a segment initiated by ``<Dial>``."""

IF_MACHINE = ValueMap(
    "if_machine",
    {"Enable": "Continue"},
    into={"Continue": ("Enable",), "Hangup": ("Enable",)},
)
"""2008 IfMachine → 2010 MachineDetection (2010 has no hang-up-on-machine: see docs/translation.md)."""

COMPLETED = ("status", ("completed",))
"""calls.md: EndTime and Duration are empty for a call that did not complete successfully (busy,
failed, not answered, canceled) or is still going, whatever the upstream sends for them."""

CALL = Shape(
    "Call",
    (
        Field("parent_call_sid", "Sid", fallback="sid"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        Field("sid", "CallSegmentSid", only_if="parent_call_sid"),
        field_("account_sid", "AccountSid"),
        field_("to", "Called", "phone"),
        field_("from", "Caller", "phone"),
        field_("phone_number_sid", "PhoneNumberSid"),
        Field("status", "Status", "map", values=CALL_STATUS),
        field_("start_time", "StartTime", "date"),
        Field("end_time", "EndTime", "date", only_when=COMPLETED),
        Field("duration", "Duration", only_when=COMPLETED),
        field_("price", "Price"),
        Field("direction", "Flags", "flags", values=DIRECTION_FLAGS, also=("parent.direction",)),
    ),
)
"""A Dial leg (a 2010 child call) shows its parent's Sid and its own as CallSegmentSid; its Flags add
the parent's bits to 4. EndTime and Duration are shown for completed calls only."""

STARTED = DatePartition("StartTime", "start_time", unit="day")
ENDED = DatePartition("EndTime", "end_time", unit="day")
LIFECYCLE = StatusPartition(
    "Status",
    "status",
    (
        ("queued",),
        ("ringing",),
        ("in-progress",),
        ("completed", "busy", "failed", "no-answer", "canceled"),
    ),
    dated=(("completed", STARTED), ("busy", STARTED), ("no-answer", STARTED)),
    settled=(("completed", ENDED),),
    created="date_created",
)
"""A call is queued, rings, is answered, and ends in one of five final statuses, each step forward
only (a call can skip steps: canceled while queued). ``start_time`` is set when the call is dialed
("Empty if the call has not yet been dialed") and never changes after: a completed call was answered,
a busy or unanswered one was dialed, so each has one; a failed call may have failed, and a canceled
one been canceled, before it was dialed, so those two are read whole. ``end_time`` is set when the
call ends and is only sure for a completed call ("Empty if the call did not complete successfully"):
completed calls that ended before the count began are counted while it reads the live stages.
``StartTime`` and ``EndTime`` take only dates."""

PARENT = Embed("parent_call_sid", "parent", API + "/Calls/{value}.json")
ORDER = Order("DateCreated", descending=True, identity=("Sid", "CallSegmentSid"))

NO_CALLED = (21201, "No called number is specified")
"""response.md's example of an error: a POST to Calls without Called."""

MAKE_CALL = Operation(
    "create",
    "POST",
    (
        Param("Caller", required=True, phone=True, upstream="From"),
        Param("Called", required=True, phone=True, upstream="To", missing=NO_CALLED),
        Param("Url", required=True),
        Param("Method"),
        Param("SendDigits"),
        Param("IfMachine", upstream="MachineDetection", values=IF_MACHINE),
        Param("Timeout"),
    ),
    writes=True,
)

REDIRECT = Operation(
    "update",
    "POST",
    (Param("CurrentUrl", required=True, upstream="Url"), Param("CurrentMethod", upstream="Method")),
    writes=True,
)

CALL_URLS = (
    AppUrl("Url", "voice", method="Method", carries=(("IfMachine", "if_machine"),), status="StatusCallback"),
    AppUrl("CurrentUrl", "redirect", method="CurrentMethod"),
)
"""A call's URL, and the one a live call is redirected to. The call's status hook brings 2008's requests
at its end: DialStatus busy, no-answer or fail when it was never answered, CallStatus=completed when
it was."""

CALLS = Resource(
    name="calls",
    legacy_path="/Accounts/{AccountSid}/Calls",
    list_element="Calls",
    item=CALL,
    host="api",
    upstream_list=API + "/Calls.json",
    upstream_instance=API + "/Calls/{Sid}.json",
    paging=Paging("flat", "calls", statuses=LIFECYCLE),
    sid_prefix="CA",
    filters=(
        Param("Caller", phone=True, upstream="From"),
        Param("Called", phone=True, upstream="To"),
        Param("Status", values=CALL_STATUS),
        Param("StartTime", compare=("=", ">=", "<="), date=True),
    ),
    skip_if=("parent_call_sid",),
    embed=PARENT,
    order=ORDER,
    list_ops=ops({"GET": LIST, "POST": MAKE_CALL}),
    instance_ops=ops({"GET": FETCH, "POST": REDIRECT}),
    app_urls=CALL_URLS,
)
"""The list shows calls (2008: one record per call); their Dial legs are under Segments."""

SEGMENTS = Resource(
    name="call_segments",
    legacy_path="/Accounts/{AccountSid}/Calls/{CallSid}/Segments",
    list_element="Calls",
    item=CALL,
    host="api",
    upstream_list=API + "/Calls.json",
    upstream_instance=API + "/Calls/{Sid}.json",
    upstream_query=(("ParentCallSid", "{CallSid}"),),
    paging=Paging("flat", "calls"),
    sid_prefix="CA",
    owned_by=(("parent_call_sid", "CallSid"),),
    embed=PARENT,
    order=ORDER,
    list_ops=LIST_ONLY,
    instance_ops=FETCH_ONLY,
)
