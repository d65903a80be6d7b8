"""Conferences and Participants (conferences.md), with the docs' own singular ``/Conference/`` paths."""

from __future__ import annotations

from gateway.resources.listing import DatePartition, Order, Paging
from gateway.resources.model import (
    BOOL_DIGIT,
    DELETE,
    FETCH,
    FETCH_ONLY,
    LENIENT_BOOL,
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

API = "/2010-04-01/Accounts/{AccountSid}"

CONFERENCE_STATUS = ValueMap("conference_status", {"init": "0", "in-progress": "1", "completed": "2"})

CONFERENCE = Shape(
    "Conference",
    (
        field_("sid", "Sid"),
        field_("account_sid", "AccountSid"),
        field_("friendly_name", "FriendlyName"),
        Field("status", "Status", "map", values=CONFERENCE_STATUS),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
    ),
)

PARTICIPANT = Shape(
    "Participant",
    (
        field_("conference_sid", "ConferenceSid"),
        field_("account_sid", "AccountSid"),
        field_("call_sid", "CallSid"),
        field_("muted", "Muted", "bool"),
        Field("start_conference_on_enter", "StartConferenceOnEnter", "map", values=BOOL_DIGIT),
        Field("end_conference_on_exit", "EndConferenceOnExit", "map", values=BOOL_DIGIT),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
    ),
)

CONFERENCES = Resource(
    name="conferences",
    legacy_path="/Accounts/{AccountSid}/Conferences",
    aliases=("/Accounts/{AccountSid}/Conference",),
    list_element="Conferences",
    item=CONFERENCE,
    host="api",
    upstream_list=API + "/Conferences.json",
    upstream_instance=API + "/Conferences/{Sid}.json",
    paging=Paging("flat", "conferences", DatePartition("DateCreated", "date_created", unit="day")),
    sid_prefix="CF",
    filters=(
        Param("Status", values=CONFERENCE_STATUS),
        Param("FriendlyName"),
        Param("DateCreated", compare=("=", ">=", "<="), date=True),
        Param("DateUpdated", compare=("=", ">=", "<="), date=True),
    ),
    order=Order("DateCreated"),
    list_ops=LIST_ONLY,
    instance_ops=FETCH_ONLY,
)

PARTICIPANTS = Resource(
    name="participants",
    legacy_path="/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants",
    aliases=("/Accounts/{AccountSid}/Conference/{ConferenceSid}/Participants",),
    list_element="Participants",
    item=PARTICIPANT,
    host="api",
    upstream_list=API + "/Conferences/{ConferenceSid}/Participants.json",
    upstream_instance=API + "/Conferences/{ConferenceSid}/Participants/{Sid}.json",
    paging=Paging("flat", "participants"),
    sid_prefix="CA",
    filters=(Param("Muted", values=LENIENT_BOOL),),
    list_ops=LIST_ONLY,
    instance_ops=ops(
        {
            "GET": FETCH,
            "POST": Operation("update", "POST", (Param("Muted", values=LENIENT_BOOL),), writes=True),
            "DELETE": DELETE,
        }
    ),
)
"""A participant's instance ``{Sid}`` is its CallSid, as in the 2008 path."""
