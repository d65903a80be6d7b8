"""Legacy parameters and filters → upstream ones: renames, numbers, value maps, comparisons, fan-out."""

from __future__ import annotations

import pytest

from gateway.dialect.params import upstream_form as form
from gateway.dialect.params import upstream_queries as queries
from gateway.errors import BadRequest, MissingParameter
from gateway.resources.calls import CALLS, MAKE_CALL
from gateway.resources.conferences import CONFERENCES


def test_form_renames_normalises_and_maps() -> None:
    given = {
        "Caller": "(646) 555-0000",
        "Called": "415.555.1212",
        "Url": "http://a/",
        "IfMachine": "Continue",
        "X": "y",
    }
    out = form(MAKE_CALL.params, given, "US")
    assert out == {
        "From": "+16465550000",
        "To": "+14155551212",
        "Url": "http://a/",
        "MachineDetection": "Enable",
    }
    assert given == {"X": "y"}  # what is not declared stays, to pass through


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"Called": "4155551212", "Url": "http://a/"}, MissingParameter),
        ({"Caller": "4155551212", "Called": "4155551212", "Url": "  "}, MissingParameter),
        ({"Caller": "4155551212", "Called": "4155551212", "Url": "http://a/", "IfMachine": "No"}, BadRequest),
        ({"Caller": "4155551212 x 12", "Called": "4155551212", "Url": "http://a/"}, BadRequest),
    ],
)
def test_form_refuses(given: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        form(MAKE_CALL.params, given, "US")


def test_filters_in_every_spelling() -> None:
    given = {"StartTime>": "2009-07-04", "StartTime<=": "2009-07-06", "Called": "415-555-1212", "page": "2"}
    assert queries(CALLS.filters, given, "US") == [
        [("To", "+14155551212"), ("StartTime>", "2009-07-04"), ("StartTime<", "2009-07-06")]
    ]
    assert given == {"page": "2"}


def test_one_legacy_value_fans_out_and_combinations_multiply() -> None:
    assert queries(CALLS.filters, {"Status": "0", "StartTime": "2009-07-06"}, "US") == [
        [("Status", "queued"), ("StartTime", "2009-07-06")],
        [("Status", "ringing"), ("StartTime", "2009-07-06")],
    ]
    assert queries(CALLS.filters, {}, "US") == [[]]
    assert queries(CONFERENCES.filters, {"Status": "1", "DateUpdated>": "2009-07-06"}, "US") == [
        [("Status", "in-progress"), ("DateUpdated>", "2009-07-06")]
    ]


@pytest.mark.parametrize(
    "given",
    [
        {"Status": "6"},
        {"StartTime": "July 6"},
        {"StartTime>": "2009-7-6"},
        {"StartTime<": "2009-13-45"},
        {"StartTime>": "2009-07-06", "StartTime>=": "2009-07-07"},
    ],
)
def test_filters_refuse(given: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        queries(CALLS.filters, given, "US")


def test_a_phone_filter_on_what_can_be_no_number_leaves_no_query() -> None:
    """Exact matches on a number: nothing can match, so nothing is asked (and the other filters are
    still taken out of the parameters, not passed through)."""
    given = {"Caller": "867", "Called": "415-555-1212", "Status": "2", "page": "1"}
    assert queries(CALLS.filters, given, "US") == []
    assert given == {"page": "1"}
