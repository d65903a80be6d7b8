"""Recordings (recordings.md): the account's list (``CallSid``, ``DateCreated`` with inequalities), the
call-scoped list ``/Calls/{CallSid}/Recordings``, one recording, deleting it, and its audio.

The ``<Recording>`` element follows the docs' XML examples (Sid, AccountSid, CallSid, Duration,
DateCreated, DateUpdated). The instance is what a 2008 app was handed as a RecordingUrl: without a
suffix (or with ``.wav``) it is the audio as ``audio/x-wav``, with ``.mp3`` as ``audio/mpeg``, and only
with ``.xml`` (or ``.json``/``.csv``/``.html``) the metadata. The audio is streamed from 2010's own
media URLs (``/Recordings/{Sid}.wav``, ``.mp3``), never held whole (:mod:`gateway.upstream.media`).

The audio is public, as the complete 2008 page says of a recording's URL (apps embed it in web pages
and ``<Play>`` it): it is answered without credentials too (``public``). The list, the metadata
(``.xml`` and the other document formats) and DELETE still need them: the page protects the list
explicitly, and its note speaks of the URLs handed out as RecordingUrl, which are the audio.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from gateway.resources.listing import DatePartition, Paging
from gateway.resources.model import DELETE, FETCH, LIST_ONLY, Operation, Param, Resource, Shape, field_, ops

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

WAV = Operation(
    "fetch",
    "GET",
    answer="media",
    content_type="audio/x-wav",
    upstream=API + "/Recordings/{Sid}.wav",
    public=True,
)
MP3 = Operation(
    "fetch",
    "GET",
    answer="media",
    content_type="audio/mpeg",
    upstream=API + "/Recordings/{Sid}.mp3",
    public=True,
)
AUDIO = ops({"": WAV, "wav": WAV, "mp3": MP3})

_INSTANCE = ops({"GET": FETCH, "DELETE": DELETE})
_CREATED = (Param("DateCreated", compare=("=", ">=", "<="), date=True),)

RECORDINGS = Resource(
    name="recordings",
    legacy_path="/Accounts/{AccountSid}/Recordings",
    list_element="Recordings",
    item=RECORDING,
    host="api",
    upstream_list=API + "/Recordings.json",
    upstream_instance=API + "/Recordings/{Sid}.json",
    paging=Paging("flat", "recordings", DatePartition("DateCreated", "date_created")),
    sid_prefix="RE",
    filters=(Param("CallSid"), *_CREATED),
    list_ops=LIST_ONLY,
    instance_ops=_INSTANCE,
    suffix_ops=AUDIO,
)

CALL_RECORDINGS = replace(
    RECORDINGS,
    name="call_recordings",
    legacy_path="/Accounts/{AccountSid}/Calls/{CallSid}/Recordings",
    upstream_list=API + "/Calls/{CallSid}/Recordings.json",
    upstream_instance=API + "/Calls/{CallSid}/Recordings/{Sid}.json",
    paging=Paging("flat", "recordings"),
    filters=_CREATED,
    suffix_ops=MappingProxyType({}),
)
"""A call's recording is its ``<Recording>`` here (checked against the call by 2010's call-scoped path);
its audio is at the account's URL, the RecordingUrl 2008 handed out."""
