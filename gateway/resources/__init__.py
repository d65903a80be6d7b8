"""The registry: one module per 2008-08-01 doc page, each a declaration in the terms of :mod:`.model`.

Adding a 2008 resource is a declaration (and, at most, a named value map) in its page's module and one
line in :data:`RESOURCES`; nothing else names a resource.
"""

from __future__ import annotations

from .accounts import ACCOUNT, ACCOUNTS, THE_ACCOUNT
from .caller_ids import OUTGOING_CALLER_ID, OUTGOING_CALLER_IDS, VALIDATION_REQUEST
from .calls import CALLS, SEGMENTS
from .conferences import CONFERENCES, PARTICIPANTS
from .incoming_numbers import (
    INCOMING_PHONE_NUMBER,
    INCOMING_PHONE_NUMBERS,
    LOCAL_NUMBERS,
    TOLL_FREE_NUMBER,
    TOLL_FREE_NUMBERS,
)
from .model import (
    LEGACY_PREFIX,
    SID_PATTERNS,
    DatePartition,
    Field,
    Operation,
    Order,
    Paging,
    Param,
    Resource,
    Shape,
    StatusPartition,
    ValueMap,
)
from .notifications import CALL_NOTIFICATIONS, NOTIFICATIONS
from .recordings import CALL_RECORDINGS, RECORDINGS
from .short_codes import SHORT_CODES
from .sms import SMS_MESSAGES
from .transcriptions import RECORDING_TRANSCRIPTIONS, TRANSCRIPTIONS
from .trunks import TRUNK_PHONE_NUMBER, TRUNK_PHONE_NUMBERS

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
    "DatePartition",
    "Field",
    "Operation",
    "Order",
    "Paging",
    "Param",
    "Resource",
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
