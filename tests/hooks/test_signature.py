from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from gateway.hooks.signature import expected, valid

# The worked example of the security page (security.2010.md).
PAGE_URL = "http://mycompany.com/myapp.php?foo=1&bar=2"
PAGE_PARAMS = {"Digits": "1234", "To": "+18005551212", "From": "+14158675309", "CallSid": "CA1234567890ABCDE"}
PAGE_TOKEN = "12345"
PAGE_SIGNATURE = "HpS7PBa1Agvt4OtO+wZp75IuQa0="


def test_security_page_example() -> None:
    assert expected(PAGE_URL, PAGE_PARAMS, PAGE_TOKEN) == PAGE_SIGNATURE
    assert valid(PAGE_URL, PAGE_PARAMS, PAGE_TOKEN, PAGE_SIGNATURE)


def test_params_are_sorted_by_name_whatever_their_order() -> None:
    reordered = dict(reversed(list(PAGE_PARAMS.items())))
    assert expected(PAGE_URL, reordered, PAGE_TOKEN) == PAGE_SIGNATURE


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        (PAGE_URL, {**PAGE_PARAMS, "Digits": "1235"}, PAGE_TOKEN),
        (PAGE_URL + "&baz=3", PAGE_PARAMS, PAGE_TOKEN),
        ("https://mycompany.com/myapp.php?foo=1&bar=2", PAGE_PARAMS, PAGE_TOKEN),
        (PAGE_URL, PAGE_PARAMS, "12346"),
        (PAGE_URL, {k: v for k, v in PAGE_PARAMS.items() if k != "To"}, PAGE_TOKEN),
        (PAGE_URL, None, PAGE_TOKEN),
    ],
)
def test_any_change_breaks_the_signature(url: str, params: dict[str, str] | None, token: str) -> None:
    assert not valid(url, params, token, PAGE_SIGNATURE)


@pytest.mark.parametrize(
    "signature", ["", " ", "HpS7PBa1Agvt4OtO+wZp75IuQa0", "hps7pba1agvt4oto+wzp75iuqa0=", "é" * 28, "\x00"]
)
def test_bad_signatures(signature: str) -> None:
    assert not valid(PAGE_URL, PAGE_PARAMS, PAGE_TOKEN, signature)


def test_missing_signature_or_token() -> None:
    assert not valid(PAGE_URL, PAGE_PARAMS, PAGE_TOKEN, None)
    assert not valid(PAGE_URL, PAGE_PARAMS, "", expected(PAGE_URL, PAGE_PARAMS, ""))


def test_get_signs_the_url_alone() -> None:
    url = "https://app.example.com/a?CallSid=CA1&Caller=4158675309"
    assert expected(url, None, "t") == expected(url, {}, "t")
    assert valid(url, None, "t", expected(url, None, "t"))


@pytest.mark.parametrize(
    ("signed", "requested"),
    [
        ("https://gw.example.com:443/hooks/voice/x", "https://gw.example.com/hooks/voice/x"),
        ("https://gw.example.com/hooks/voice/x", "https://gw.example.com:443/hooks/voice/x"),
        ("http://gw.example.com:80/h?a=1", "http://gw.example.com/h?a=1"),
        ("http://gw.example.com/h", "http://gw.example.com:8080/h"),
        ("http://[::1]/h", "http://[::1]:8080/h"),
    ],
)
def test_port_spellings_are_accepted(signed: str, requested: str) -> None:
    params = {"CallSid": "CA1"}
    assert valid(requested, params, "tok", expected(signed, params, "tok"))


def test_other_port_is_not_accepted() -> None:
    params = {"CallSid": "CA1"}
    signature = expected("https://gw.example.com:8443/h", params, "tok")
    assert not valid("https://gw.example.com/h", params, "tok", signature)


@pytest.mark.parametrize("url", ["http://host:bad/x", "not a url", "", "http://[::1/x"])
def test_malformed_urls_do_not_raise(url: str) -> None:
    assert not valid(url, {"a": "b"}, "tok", "x")
    assert valid(url, {"a": "b"}, "tok", expected(url, {"a": "b"}, "tok"))


def test_non_ascii_values_are_signed_as_utf8() -> None:
    params = {"Body": "héllo ☎", "From": "+14158675309"}
    url = "https://gw.example.com/hooks/sms/x"
    ours = expected(url, params, "tok")
    assert ours == RequestValidator("tok").compute_signature(url, params)


def test_agrees_with_twilios_helper_library() -> None:
    validator = RequestValidator("0123456789abcdef")
    signed = ["https://gw.example.com/hooks/voice/abc?x=1", "http://gw.example.com:8080/h"]
    requested = [*signed, "https://gw.example.com:443/hooks/voice/abc?x=1", "http://gw.example.com/h"]
    for url in signed:
        signature = validator.compute_signature(url, PAGE_PARAMS)
        assert expected(url, PAGE_PARAMS, "0123456789abcdef") == signature
        for spelling in requested:
            assert valid(spelling, PAGE_PARAMS, "0123456789abcdef", signature) == validator.validate(
                spelling, PAGE_PARAMS, signature
            )
