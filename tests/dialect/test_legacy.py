from __future__ import annotations

import pytest

from gateway.dialect.legacy import normalise_path, parse, split_format
from gateway.errors import BadRequest, NotFound, UnsupportedMediaType

PATH = "/2008-08-01/Accounts/AC1/OutgoingCallerIds"


def test_duplicate_slashes_fold() -> None:
    assert normalise_path("//2008-08-01//Accounts/AC1") == "/2008-08-01/Accounts/AC1"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/A/OutgoingCallerIds", ("/A/OutgoingCallerIds", "xml", False)),
        ("/A/OutgoingCallerIds.xml", ("/A/OutgoingCallerIds", "xml", True)),
        ("/A/OutgoingCallerIds.JSON", ("/A/OutgoingCallerIds", "json", True)),
        ("/A/OutgoingCallerIds/PN1.csv", ("/A/OutgoingCallerIds/PN1", "csv", True)),
        ("/A/OutgoingCallerIds.html", ("/A/OutgoingCallerIds", "html", True)),
    ],
)
def test_format_suffix(path: str, expected: tuple[str, str, bool]) -> None:
    assert split_format(path) == expected


def test_other_suffixes_are_404() -> None:
    with pytest.raises(NotFound):
        split_format("/A/OutgoingCallerIds.yaml")


def test_query_and_body_merge_body_last() -> None:
    request = parse(
        "POST", PATH, b"FriendlyName=q&A=1", b"FriendlyName=b", "application/x-www-form-urlencoded"
    )
    assert request.params == {"FriendlyName": "b", "A": "1"}


def test_method_override() -> None:
    assert parse("POST", PATH, b"_method=PUT", b"").method == "PUT"
    assert parse("POST", PATH, b"_method=delete", b"").method == "DELETE"
    assert parse("POST", PATH, b"", b"_method=DELETE", "").method == "DELETE"
    assert parse("GET", PATH, b"_method=GET", b"").method == "GET"
    request = parse("POST", PATH, b"_method=PUT", b"")
    assert "_method" not in request.params


@pytest.mark.parametrize(("method", "query"), [("POST", b"_method=PATCH"), ("GET", b"_method=DELETE")])
def test_bad_overrides(method: str, query: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(method, PATH, query, b"")


def test_blank_values_are_kept_and_names_are_case_sensitive() -> None:
    request = parse("GET", PATH, b"FriendlyName=&friendlyname=x", b"")
    assert request.params == {"FriendlyName": "", "friendlyname": "x"}


def test_body_of_a_get_counts() -> None:
    assert parse("GET", PATH, b"", b"PhoneNumber=1", "").params == {"PhoneNumber": "1"}


def test_non_form_bodies_are_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        parse("POST", PATH, b"", b"{}", "application/json")


def test_invalid_utf8_is_400() -> None:
    with pytest.raises(BadRequest):
        parse("POST", PATH, b"", b"FriendlyName=%FF", "")


def test_outside_the_prefix_is_404() -> None:
    with pytest.raises(NotFound):
        parse("GET", "/2010-04-01/Accounts", b"", b"")


def test_uri_keeps_the_explicit_suffix_only() -> None:
    assert parse("GET", PATH + ".json", b"", b"").uri([("num", "1")]) == PATH + ".json?num=1"
    assert parse("GET", PATH, b"", b"").uri() == PATH


@pytest.mark.parametrize(
    ("path", "suffix", "below"),
    [
        ("/2008-08-01/Accounts/AC1/Recordings/RE1.mp3", "mp3", "/Accounts/AC1/Recordings/RE1"),
        ("/2008-08-01/Accounts/AC1/Recordings/RE1.WAV", "wav", "/Accounts/AC1/Recordings/RE1"),
        ("/2008-08-01/Accounts/AC1/Transcriptions/TR1.txt", "txt", "/Accounts/AC1/Transcriptions/TR1"),
        ("/2008-08-01/Accounts/AC1/Recordings/RE1", None, "/Accounts/AC1/Recordings/RE1"),
        ("/2008-08-01/Accounts/AC1/Recordings/RE1.xml", None, "/Accounts/AC1/Recordings/RE1"),
    ],
)
def test_media_suffixes_are_kept_for_the_service(path: str, suffix: str | None, below: str) -> None:
    request = parse("GET", path, b"", b"", range_="bytes=0-1")
    assert (request.suffix, request.path, request.fmt, request.range) == (suffix, below, "xml", "bytes=0-1")
    assert request.explicit is path.endswith(".xml")
