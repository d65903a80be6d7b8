from __future__ import annotations

import pytest

from gateway.dialect.phone import parse, pretty, to_e164, to_legacy
from gateway.errors import InvalidPhoneNumber


@pytest.mark.parametrize(
    "written",
    ["4158675309", "415-867-5309", "(415) 867.5309", "1-415-867-5309", "+14158675309", " 415 867 5309 "],
)
def test_readable_formats_become_e164(written: str) -> None:
    assert to_e164(written) == "+14158675309"


def test_vanity_letters() -> None:
    assert to_e164("1-800-FLOWERS") == "+18003569377"


def test_extension_is_split_off() -> None:
    assert parse("415-555-1212 x 5").extension == "5"
    assert parse("415 555 1212 ext. 12").extension == "12"
    assert parse("4155551212").extension is None


def test_region_is_configurable() -> None:
    assert to_e164("020 7183 8750", region="GB") == "+442071838750"


@pytest.mark.parametrize("bad", ["12345", "555-1212", "", "abc", "+141586753096", "+1 000 000 0000"])
def test_invalid_or_impossible_numbers_raise(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        to_e164(bad)
    assert caught.value.status == 400
    assert caught.value.code == 21401


@pytest.mark.parametrize(
    ("upstream", "legacy"),
    [
        ("+14158675309", "4158675309"),
        ("+141586753096", "+141586753096"),  # from the 2010 docs: not NANP, passed through
        ("+442071838750", "+442071838750"),
        ("client:alice", "client:alice"),
        ("", ""),
        (None, None),
    ],
)
def test_numbers_out(upstream: str | None, legacy: str | None) -> None:
    assert to_legacy(upstream) == legacy


def test_pretty_is_the_default_friendly_name() -> None:
    assert pretty("+14158675309") == "(415) 867-5309"
    assert pretty("+442071838750") == "+44 20 7183 8750"
