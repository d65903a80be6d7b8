"""The registry: one module per 2008-08-01 doc page, each a declaration in the terms of :mod:`.model`.

Adding a 2008 resource is a declaration (and, at most, a named value map) in its page's module and one
line in :data:`RESOURCES`; nothing else names a resource.
"""

from __future__ import annotations

from gateway.resources.accounts import ACCOUNT, ACCOUNTS, THE_ACCOUNT
from gateway.resources.caller_ids import OUTGOING_CALLER_ID, OUTGOING_CALLER_IDS, VALIDATION_REQUEST
from gateway.resources.calls import CALLS, SEGMENTS
from gateway.resources.conferences import CONFERENCES, PARTICIPANTS
from gateway.resources.incoming_numbers import (
    INCOMING_PHONE_NUMBER,
    INCOMING_PHONE_NUMBERS,
    LOCAL_NUMBERS,
    TOLL_FREE_NUMBER,
    TOLL_FREE_NUMBERS,
)
from gateway.resources.listing import DatePartition, Order, Paging, StatusPartition
from gateway.resources.model import (
    LEGACY_PREFIX,
    SID_PATTERNS,
    AppUrl,
    Field,
    Operation,
    Param,
    Resource,
    Search,
    Shape,
    ValueMap,
)
from gateway.resources.notifications import CALL_NOTIFICATIONS, NOTIFICATIONS
from gateway.resources.recordings import CALL_RECORDINGS, RECORDINGS
from gateway.resources.short_codes import SHORT_CODES
from gateway.resources.sms import SMS_MESSAGES
from gateway.resources.transcriptions import RECORDING_TRANSCRIPTIONS, TRANSCRIPTIONS
from gateway.resources.trunks import TRUNK_PHONE_NUMBER, TRUNK_PHONE_NUMBERS

RESOURCES: tuple[Resource, ...] = (
    OUTGOING_CALLER_IDS,
    TRUNK_PHONE_NUMBERS,
    CALLS,
    SEGMENTS,
    CALL_RECORDINGS,
    CALL_NOTIFICATIONS,
    CONFERENCES,
    PARTICIPANTS,
    SMS_MESSAGES,
    SHORT_CODES,
    RECORDINGS,
    RECORDING_TRANSCRIPTIONS,
    TRANSCRIPTIONS,
    NOTIFICATIONS,
    ACCOUNTS,
    THE_ACCOUNT,
    LOCAL_NUMBERS,  # before INCOMING_PHONE_NUMBERS, whose {Sid} would otherwise take "Local"
    TOLL_FREE_NUMBERS,
    INCOMING_PHONE_NUMBERS,
)

SUFFIXES: frozenset[str] = frozenset(
    suffix for resource in RESOURCES for suffix in resource.suffix_ops if suffix
)
"""Suffixes some instance answers other than as a document (``.wav``, ``.mp3``, ``.txt``)."""

__all__ = [
    "ACCOUNT",
    "INCOMING_PHONE_NUMBER",
    "LEGACY_PREFIX",
    "OUTGOING_CALLER_ID",
    "RESOURCES",
    "SID_PATTERNS",
    "SUFFIXES",
    "TOLL_FREE_NUMBER",
    "TRUNK_PHONE_NUMBER",
    "VALIDATION_REQUEST",
    "AppUrl",
    "DatePartition",
    "Field",
    "Operation",
    "Order",
    "Paging",
    "Param",
    "Resource",
    "Search",
    "Shape",
    "StatusPartition",
    "ValueMap",
    "match",
]


SINGULAR_ACCOUNT = "/Account/"
"""recordings.md writes its RecordingUrl examples as ``/2008-08-01/Account/AC…/Recordings/RE…``:
the singular is read as ``/Accounts/`` everywhere."""


def match(path: str) -> tuple[Resource, dict[str, str]] | None:
    """``/Accounts/AC…/OutgoingCallerIds/PN…`` (legacy prefix and suffix already removed)."""
    if path.startswith(SINGULAR_ACCOUNT):
        path = "/Accounts/" + path[len(SINGULAR_ACCOUNT) :]
    for resource in RESOURCES:
        params = resource.match(path)
        if params is not None:
            return resource, params
    return None
