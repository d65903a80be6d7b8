"""Transcriptions (transcriptions.md): the account's list, a recording's transcriptions, one of them,
and its ``.txt`` (the bare text).

2008 wrote transcription dates as unix epoch seconds (``<DateCreated>1235986685</DateCreated>``), so
the resources' date style is ``epoch``; ``<Price>`` keeps 2010's sign with five decimals
(``-0.03000``), as the examples show.
"""

from __future__ import annotations

from gateway.resources.listing import Paging
from gateway.resources.model import FETCH_ONLY, LIST_ONLY, Operation, Resource, Shape, field_, ops

API = "/2010-04-01/Accounts/{AccountSid}"

TRANSCRIPTION = Shape(
    "Transcription",
    (
        field_("sid", "Sid"),
        field_("date_created", "DateCreated", "date"),
        field_("date_updated", "DateUpdated", "date"),
        field_("account_sid", "AccountSid"),
        field_("status", "Status"),
        field_("recording_sid", "RecordingSid"),
        field_("duration", "Duration"),
        field_("transcription_text", "TranscriptionText"),
        field_("price", "Price", "price"),
    ),
)

TEXT = ops(
    {
        "txt": Operation(
            "fetch", "GET", answer="text", content_type="text/plain; charset=utf-8", text="transcription_text"
        )
    }
)


def _transcriptions(name: str, scope: str) -> Resource:
    """The account's transcriptions (``scope`` empty) or a recording's (``/Recordings/{RecordingSid}``)."""
    return Resource(
        name=name,
        legacy_path="/Accounts/{AccountSid}" + scope + "/Transcriptions",
        list_element="Transcriptions",
        item=TRANSCRIPTION,
        host="api",
        upstream_list=API + scope + "/Transcriptions.json",
        upstream_instance=API + scope + "/Transcriptions/{Sid}.json",
        paging=Paging("flat", "transcriptions"),
        sid_prefix="TR",
        list_ops=LIST_ONLY,
        instance_ops=FETCH_ONLY,
        date_style="epoch",
        suffix_ops=TEXT,
    )


TRANSCRIPTIONS = _transcriptions("transcriptions", "")
RECORDING_TRANSCRIPTIONS = _transcriptions("recording_transcriptions", "/Recordings/{RecordingSid}")
