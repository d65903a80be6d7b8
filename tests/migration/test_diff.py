from __future__ import annotations

import pytest

from gateway.migration.diff import DEFAULT_MASKS, Difference, Masks, compare

XML = "application/xml"
DOC = (
    b'<?xml version="1.0"?><TwilioResponse><OutgoingCallerIds page="0" total="2" uri="/a?page=0">'
    b"<OutgoingCallerId><Sid>PN{a}</Sid><FriendlyName>Home</FriendlyName></OutgoingCallerId>"
    b"<OutgoingCallerId><Sid>PN{b}</Sid><FriendlyName>Work</FriendlyName></OutgoingCallerId>"
    b"</OutgoingCallerIds></TwilioResponse>"
)


def doc(a: str = "1" * 32, b: str = "2" * 32, **changes: bytes) -> bytes:
    body = DOC.replace(b"{a}", a.encode()).replace(b"{b}", b.encode())
    for old, new in changes.items():
        body = body.replace(old.encode(), new)
    return body


def test_same_document_with_other_sids_and_whitespace_is_the_same() -> None:
    pretty = doc("3" * 32, "4" * 32).replace(b"<OutgoingCallerId>", b"\n  <OutgoingCallerId>")
    assert compare((200, XML, doc()), (200, XML, pretty), Masks()) == []


def test_attribute_order_is_ignored() -> None:
    swapped = doc().replace(b'page="0" total="2"', b'total="2" page="0"')
    assert compare((200, XML, doc()), (200, XML, swapped), Masks()) == []


def test_value_attribute_element_order_and_status() -> None:
    changed = doc().replace(b">Work<", b">Play<").replace(b'total="2"', b'total="3"')
    differences = compare((200, XML, doc()), (201, XML, changed), Masks())
    assert differences == [
        Difference("status", "200", "201"),
        Difference("/TwilioResponse/OutgoingCallerIds/@total", "2", "3"),
        Difference("/TwilioResponse/OutgoingCallerIds/OutgoingCallerId[1]/FriendlyName", "Work", "Play"),
    ]


def test_element_order_matters() -> None:
    reordered = doc().replace(
        b"<Sid>PN" + b"1" * 32 + b"</Sid><FriendlyName>Home</FriendlyName>",
        b"<FriendlyName>Home</FriendlyName><Sid>PN" + b"1" * 32 + b"</Sid>",
    )
    assert compare((200, XML, doc()), (200, XML, reordered), Masks())


def test_missing_and_extra_children() -> None:
    shorter = doc().replace(b"<FriendlyName>Work</FriendlyName>", b"")
    differences = compare((200, XML, doc()), (200, XML, shorter), Masks())
    assert differences == [
        Difference("/TwilioResponse/OutgoingCallerIds/OutgoingCallerId[1]/FriendlyName", "present", None)
    ]


def test_json_and_csv() -> None:
    a = b'{"TwilioResponse":{"X":{"Sid":"PN' + b"1" * 32 + b'","FriendlyName":"a","N":null}}}'
    b = b'{"TwilioResponse":{"X":{"Sid":"PN' + b"2" * 32 + b'","FriendlyName":"b","N":"x"}}}'
    assert compare((200, "application/json", a), (200, "application/json", b), Masks()) == [
        Difference("$.TwilioResponse.X.FriendlyName", "a", "b"),
        Difference("$.TwilioResponse.X.N", None, "x"),
    ]
    csv_a = b"Sid,FriendlyName,DateCreated\r\nPN1,a,Mon\r\n"
    csv_b = b"Sid,FriendlyName,DateCreated\r\nPN2,b,Tue\r\n"
    assert compare((200, "text/csv", csv_a), (200, "text/csv", csv_b), Masks()) == [
        Difference("row[1].FriendlyName", "a", "b")
    ]


def test_html_masks_by_legacy_name() -> None:
    page = (
        '<html><body class="twilio-response"><div class="x">'
        '<div class="date-created">{}</div></div></body></html>'
    )
    a, b = page.format("Mon").encode(), page.format("Tue").encode()
    assert compare((200, "text/html", a), (200, "text/html", b), Masks()) == []
    assert compare((200, "text/html", a), (200, "text/html", b), Masks([]))


def test_masks() -> None:
    masks = Masks([*DEFAULT_MASKS, "name:FriendlyName", "value:\\d{6}"])
    assert masks.apply("FriendlyName", "x") == "<masked>"
    assert masks.apply("Other", "123456") == "<masked>"
    assert masks.apply("Other", "1234567") == "1234567"
    with pytest.raises(ValueError):
        Masks(["color:red"])
    with pytest.raises(ValueError):
        Masks(["name:("])


def test_unparseable_bodies_fall_back_to_text() -> None:
    assert compare((200, XML, b"<a>"), (200, XML, b"<a>"), Masks()) == []
    assert compare((200, XML, b"<a>"), (200, XML, b"<b>"), Masks()) == [Difference("body", "<a>", "<b>")]


def test_content_type_change_is_a_difference() -> None:
    assert compare((200, XML, b"<a/>"), (200, "application/json", b"{}"), Masks()) == [
        Difference("content-type", XML, "application/json")
    ]


def test_auth_tokens_are_masked_even_without_the_default_masks() -> None:
    recorded = b"<TwilioResponse><Account><AuthToken>****</AuthToken></Account></TwilioResponse>"
    live = recorded.replace(b"****", b"live-token-1234567890")
    assert compare((200, XML, recorded), (200, XML, live), Masks([])) == []
    as_json = (b'{"A":{"AuthToken":"****"}}', b'{"A":{"AuthToken":"live-token-1234567890"}}')
    assert (
        compare((200, "application/json", as_json[0]), (200, "application/json", as_json[1]), Masks([])) == []
    )


def test_a_body_compared_as_text_is_reported_without_its_auth_token() -> None:
    broken = b"<TwilioResponse><Account><AuthToken>live-token-1234567890</AuthToken><Account>"
    (difference,) = compare((200, XML, b"<TwilioResponse/>"), (200, XML, broken), Masks())
    assert difference.path == "body"
    assert "live-token" not in str(difference) and "<AuthToken>****</AuthToken>" in str(difference)
