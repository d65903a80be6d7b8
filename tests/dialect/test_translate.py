"""Upstream JSON (the specs' own examples, in fixtures/upstream) → legacy records."""

from __future__ import annotations

import logging

import pytest

from gateway.dialect.translate import rfc2822, scalar, translator
from gateway.resources import OUTGOING_CALLER_ID, RESOURCES, VALIDATION_REQUEST
from tests.conftest import upstream_fixture

CALLER_IDS, TRUNK_NUMBERS = RESOURCES[:2]
CONTEXT = {"AccountSid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "TrunkSid": "TK" + "a" * 32}


def test_caller_id_from_the_spec_example() -> None:
    body = upstream_fixture("FetchOutgoingCallerId.fetch")["body"]
    record = translator(CALLER_IDS).record(body, CONTEXT)
    assert record == (
        ("Sid", "PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("FriendlyName", "(415) 867-5309"),
        ("PhoneNumber", "+141586753096"),  # not a NANP number: emitted unchanged
        ("DateCreated", "Fri, 21 Aug 2009 00:11:24 +0000"),
        ("DateUpdated", "Fri, 21 Aug 2009 00:11:24 +0000"),
    )


def test_validation_request_from_the_spec_example() -> None:
    # The spec's example (+18001234567) differs from the 2010 Outgoing Caller IDs page's (+14158675310):
    # the spec is ground truth.
    body = upstream_fixture("CreateValidationRequest.create")["body"]
    record = translator(CALLER_IDS, VALIDATION_REQUEST).record(body, CONTEXT)
    assert record == (
        ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("PhoneNumber", "8001234567"),
        ("FriendlyName", "friendly_name"),
        ("ValidationCode", "111111"),
    )


def test_trunk_number_from_the_spec_example() -> None:
    body = upstream_fixture("FetchPhoneNumber.fetch")["body"]
    record = dict(translator(TRUNK_NUMBERS).record(body, CONTEXT))
    assert record["PhoneNumber"] == "4158675309"
    assert record["DateCreated"] == "Fri, 10 Dec 2010 17:27:34 +0000"
    assert record["DateUpdated"] == "Fri, 09 Oct 2015 11:36:32 +0000"
    assert record["Beta"] == "false"
    assert record["VoiceCallerIdLookup"] is None
    assert record["StatusCallback"] == ""
    assert record["Capabilities"] == (("Voice", "true"), ("Sms", "true"), ("Mms", "true"), ("Fax", None))
    assert record["Uri"] == (
        "/2008-08-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Trunks/TK"
        + "a" * 32
        + "/PhoneNumbers/PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    )
    assert "Links" not in record and "Url" not in record


def test_every_v1_field_has_a_legacy_element() -> None:
    body = upstream_fixture("FetchPhoneNumber.fetch")["body"]
    mapped = {field.upstream for field in TRUNK_NUMBERS.item.fields}
    assert set(body) - mapped == {"links"}  # dropped by design, see docs/resources.md


def test_legacy_order_of_caller_ids_is_outgoing_caller_ids_md() -> None:
    assert [f.legacy for f in OUTGOING_CALLER_ID.fields] == [
        "Sid",
        "AccountSid",
        "FriendlyName",
        "PhoneNumber",
        "DateCreated",
        "DateUpdated",
    ]


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2010-12-10T17:27:34Z", "Fri, 10 Dec 2010 17:27:34 +0000"),
        ("2010-12-10T17:27:34+02:00", "Fri, 10 Dec 2010 17:27:34 +0200"),
        ("2010-12-10T17:27:34-07:00", "Fri, 10 Dec 2010 17:27:34 -0700"),
        ("2010-12-10T17:27:34.123456Z", "Fri, 10 Dec 2010 17:27:34 +0000"),
        ("2010-12-10T17:27:34", "Fri, 10 Dec 2010 17:27:34 +0000"),
        ("Fri, 21 Aug 2009 00:11:24 +0000", "Fri, 21 Aug 2009 00:11:24 +0000"),
        ("", ""),
    ],
)
def test_dates(iso: str, expected: str) -> None:
    assert rfc2822(iso) == expected


def test_invalid_dates_pass_through_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.translate"):
        assert rfc2822("2010-13-45T99:00:00Z") == "2010-13-45T99:00:00Z"
    assert "ISO 8601" in caplog.text


def test_scalars() -> None:
    assert scalar(True) == "true"
    assert scalar(0) == "0"
    assert scalar(1.5) == "1.5"
    assert scalar(None) is None
    assert scalar({"a": 1}) == '{"a":1}'


def test_call_fields_value_maps_flags_fallback_and_only_if() -> None:
    from gateway.resources.calls import CALLS

    tr = translator(CALLS)
    parent = {
        "sid": "CAparent",
        "parent_call_sid": None,
        "to": "+14155551212",
        "from": "+16465550000",
        "status": "in-progress",
        "direction": "outbound-api",
        "date_created": "Wed, 18 Nov 2026 11:06:40 +0000",
    }
    record = dict(tr.record(parent, {"AccountSid": "AC"}))
    assert (record["Sid"], record["CallSegmentSid"], record["Status"], record["Flags"]) == (
        "CAparent",
        None,
        "1",
        "2",
    )
    assert (record["Called"], record["Caller"]) == ("4155551212", "6465550000")
    leg = {
        **parent,
        "sid": "CAleg",
        "parent_call_sid": "CAparent",
        "direction": "outbound-dial",
        "status": "queued",
    }
    record = dict(tr.record({**leg, "parent": {"direction": "inbound"}}, {}))
    assert (record["Sid"], record["CallSegmentSid"], record["Status"], record["Flags"]) == (
        "CAparent",
        "CAleg",
        "0",
        "5",
    )
    assert dict(tr.record(leg, {}))["Flags"] == "4"  # the parent could not be read: the leg's own bit
    assert dict(tr.record({**parent, "direction": None}, {}))["Flags"] is None


def test_participant_booleans_as_the_docs_write_them() -> None:
    from gateway.resources.conferences import PARTICIPANTS

    item = {"muted": True, "start_conference_on_enter": True, "end_conference_on_exit": False}
    record = dict(translator(PARTICIPANTS).record(item, {}))
    assert (record["Muted"], record["StartConferenceOnEnter"], record["EndConferenceOnExit"]) == (
        "true",
        "1",
        "0",
    )


def test_epoch_date_style() -> None:
    import dataclasses

    from gateway.dialect.translate import epoch

    assert epoch("Mon, 02 Mar 2009 09:38:05 +0000") == "1235986685"
    assert epoch("2009-03-02T09:38:05Z") == "1235986685"
    assert epoch("2009-03-02T09:38:05") == "1235986685"
    assert epoch("not a date") == "not a date"
    resource = dataclasses.replace(CALLER_IDS, name="epoch_ids", date_style="epoch")
    record = dict(translator(resource).record({"date_created": "Mon, 02 Mar 2009 09:38:05 +0000"}, {}))
    assert record["DateCreated"] == "1235986685"


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("completed", True),
        ("busy", False),
        ("failed", False),
        ("no-answer", False),
        ("canceled", False),
        ("in-progress", False),
    ],
)
def test_a_call_shows_end_time_and_duration_only_when_completed(status: str, shown: bool) -> None:
    """calls.md: EndTime and Duration are empty unless the call completed, whatever the upstream sends."""
    from gateway.resources.calls import CALLS

    item = {"sid": "CA" + "1" * 32, "status": status, "end_time": "2009-02-07T21:15:33Z", "duration": "0"}
    values = dict(translator(CALLS).record(item, CONTEXT))
    if shown:
        assert (values["EndTime"], values["Duration"]) == ("Sat, 07 Feb 2009 21:15:33 +0000", "0")
    else:
        assert (values["EndTime"], values["Duration"]) == (None, None)
