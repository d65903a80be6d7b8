from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateway.hooks.twiml import (
    EMPTY,
    HANGUP,
    MAX_BYTES,
    MAX_DEPTH,
    Message,
    TwimlError,
    rewrite_sms,
    rewrite_voice,
)

DOC = "https://app.example.com/ivr/menu.php?step=1"
XML = "text/xml"


def mint(kind: str, url: str, method: str, extra: tuple[tuple[str, str], ...]) -> str:
    assert extra == ()
    return f"https://gw.test/hooks/{kind}/{method}/{url}"


def voice(body: str | bytes, content_type: str = XML, doc_method: str = "POST") -> ET.Element:
    raw = body.encode() if isinstance(body, str) else body
    out = rewrite_voice(raw, content_type, DOC, doc_method, mint).body
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(out)


def sms(body: str | bytes, content_type: str = XML) -> ET.Element:
    raw = body.encode() if isinstance(body, str) else body
    return ET.fromstring(rewrite_sms(raw, content_type, DOC, "POST", mint).body)


def only(root: ET.Element, tag: str) -> ET.Element:
    found = root.findall(".//" + tag)
    assert len(found) == 1, ET.tostring(root)
    return found[0]


# --- voice verbs ---------------------------------------------------------------------------------------


def test_gather_example_two_action_made_a_hook_method_carried() -> None:
    # twiml-gather.md, example 2.
    root = voice(
        """<?xml version="1.0" encoding="UTF-8"?>
<Response>
    <Gather action="/process_gather.php" method="GET">
        <Say>Please enter your account number, followed by the pound sign</Say>
    </Gather>
    <Say>We didn't receive any input. Goodbye!</Say>
</Response>"""
    )
    gather = only(root, "Gather")
    assert gather.attrib == {
        "action": "https://gw.test/hooks/gather/GET/https://app.example.com/process_gather.php",
        "method": "POST",
    }
    assert [e.text for e in root.iter("Say")][1] == "We didn't receive any input. Goodbye!"


@pytest.mark.parametrize("doc_method", ["GET", "POST"])
def test_gather_and_record_without_action_post_to_the_current_document(doc_method: str) -> None:
    # twiml-gather.md / twiml-record.md: the action defaults to the document's URL, the method to POST.
    root = voice("<Response><Gather/><Record/></Response>", doc_method=doc_method)
    assert only(root, "Gather").get("action") == f"https://gw.test/hooks/gather/POST/{DOC}"
    assert only(root, "Record").get("action") == f"https://gw.test/hooks/record/POST/{DOC}"
    assert only(root, "Gather").get("method") == "POST"


def test_gather_without_action_keeps_its_get_method_in_the_hook() -> None:
    root = voice('<Response><Gather method="get" numDigits="1"/></Response>')
    assert only(root, "Gather").attrib == {
        "action": f"https://gw.test/hooks/gather/GET/{DOC}",
        "method": "POST",
        "numDigits": "1",
    }


def test_unknown_method_is_post() -> None:
    root = voice('<Response><Gather action="a" method="PUT"/></Response>')
    assert (
        only(root, "Gather").get("action")
        == "https://gw.test/hooks/gather/POST/https://app.example.com/ivr/a"
    )


def test_record_transcribe_callback_is_a_post_hook_and_turns_transcription_on() -> None:
    root = voice(
        '<Response><Record action="http://foo.edu/handleRecording.php" method="GET" maxLength="20" '
        'transcribeCallback="/handle_transcribe.php"/></Response>'
    )
    assert only(root, "Record").attrib == {
        "action": "https://gw.test/hooks/record/GET/http://foo.edu/handleRecording.php",
        "method": "POST",
        "maxLength": "20",
        "transcribeCallback": "https://gw.test/hooks/transcribe/POST/https://app.example.com/handle_transcribe.php",
        "transcribe": "true",
    }


def test_dial_action_numbers_and_no_default_action() -> None:
    root = voice(
        '<Response><Dial callerId="(415) 867-5309" timeout="10">415-123-4567</Dial>'
        '<Dial action="/handleDialStatus.php" method="GET"> 415-555-1212 </Dial></Response>'
    )
    first, second = root.findall("Dial")
    assert first.attrib == {"callerId": "+14158675309", "timeout": "10"}
    assert first.text == "+14151234567"
    assert second.text == "+14155551212"
    assert second.attrib == {
        "action": "https://gw.test/hooks/dial/GET/https://app.example.com/handleDialStatus.php",
        "method": "POST",
    }


@pytest.mark.parametrize("dialed", ["sip:alice@example.com", "12345", "client", "911", "415-555-1212 x 5"])
def test_what_is_not_a_possible_number_is_left_alone(dialed: str) -> None:
    assert only(voice(f"<Response><Dial>{dialed}</Dial></Response>"), "Dial").text == dialed


def test_number_nouns_and_whisper_url() -> None:
    root = voice(
        '<Response><Dial><Number sendDigits="wwww1928" url="whisper.xml">415-555-1212</Number>'
        "<Number>1-800-FLOWERS</Number></Dial></Response>"
    )
    first, second = root.iter("Number")
    assert first.attrib == {
        "sendDigits": "wwww1928",
        "url": "https://gw.test/hooks/voice/POST/https://app.example.com/ivr/whisper.xml",
        "method": "POST",
    }
    assert first.text == "+14155551212" and second.text == "+18003569377"
    dial = only(root, "Dial")
    assert dial.text is None and dial.attrib == {}


def test_conference_wait_url_is_a_redirect_hook_and_empty_stays_empty() -> None:
    root = voice(
        '<Response><Dial><Conference waitUrl="hold.xml" waitMethod="GET">1234</Conference></Dial>'
        '<Dial><Conference beep="false" waitUrl="">NoMusicNoBeepRoom</Conference></Dial>'
        "<Dial><Conference>plain</Conference></Dial></Response>"
    )
    with_music, silent, plain = root.iter("Conference")
    assert with_music.attrib == {
        "waitUrl": "https://gw.test/hooks/redirect/GET/https://app.example.com/ivr/hold.xml",
        "waitMethod": "POST",
    }
    assert with_music.text == "1234"
    assert silent.attrib == {"beep": "false", "waitUrl": ""}
    assert plain.attrib == {}


@pytest.mark.parametrize(
    ("written", "target"),
    [
        ("\n        ../nextInstructions\n    ", "https://app.example.com/nextInstructions"),
        ("http://www.foo.com/nextInstructions", "http://www.foo.com/nextInstructions"),
        ("/process_gather.php?Digits=TIMEOUT", "https://app.example.com/process_gather.php?Digits=TIMEOUT"),
        ("", DOC),
        ("   ", DOC),
    ],
)
def test_redirect_targets(written: str, target: str) -> None:
    root = voice(f"<Response><Redirect>{written}</Redirect></Response>")
    assert only(root, "Redirect").text == f"https://gw.test/hooks/redirect/POST/{target}"


def test_empty_redirect_posts_to_the_current_document() -> None:
    root = voice('<Response><Redirect method="GET"/><Redirect/></Response>')
    assert [r.text for r in root.iter("Redirect")] == [
        f"https://gw.test/hooks/redirect/GET/{DOC}",
        f"https://gw.test/hooks/redirect/POST/{DOC}",
    ]
    assert [r.get("method") for r in root.iter("Redirect")] == ["POST", "POST"]


def test_play_urls_made_absolute_inside_gather_too() -> None:
    root = voice(
        '<Response><Play loop="2">cowbell.mp3</Play><Gather><Play>/a/b.wav</Play></Gather>'
        "<Play>http://foo.com/cowbell.mp3</Play></Response>"
    )
    assert [p.text for p in root.iter("Play")] == [
        "https://app.example.com/ivr/cowbell.mp3",
        "https://app.example.com/a/b.wav",
        "http://foo.com/cowbell.mp3",
    ]
    assert root.find("Play") is not None and root.find("Play").get("loop") == "2"  # type: ignore[union-attr]


def test_version_dropped_everything_else_passes() -> None:
    body = (
        '<Response version="2008-08-01"><Say voice="woman" loop="2" language="fr">Hello &amp; bye</Say>'
        '<Pause length="10"/><Unknown foo="bar"><Inner>x</Inner></Unknown><!-- note --><Hangup/></Response>'
    )
    root = voice(body)
    assert root.attrib == {}
    assert [e.tag for e in root] == ["Say", "Pause", "Unknown", "Hangup"]
    say = only(root, "Say")
    assert say.attrib == {"voice": "woman", "loop": "2", "language": "fr"} and say.text == "Hello & bye"
    assert only(root, "Unknown").attrib == {"foo": "bar"}


def test_non_ascii_text_comes_out_utf8_whatever_the_input_encoding() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Say>Caf\xe9</Say></Response>'
    out = rewrite_voice(body.encode("latin-1"), XML, DOC, "POST", mint).body
    assert "Café".encode() in out
    assert only(ET.fromstring(out), "Say").text == "Café"


# --- voice: <Sms> taken out ----------------------------------------------------------------------------


def test_sms_in_a_voice_document_is_taken_out() -> None:
    # twiml-sms.md, example 3.
    result = rewrite_voice(
        b'<Response><Say>Our store is located at 123 Easy St.</Say><Sms statusCallback="/smsHandler.php" '
        b'to="415-555-1212" from="(415) 867-5309">Store Location: 123 Easy St.</Sms><Hangup/></Response>',
        XML,
        DOC,
        "POST",
        mint,
    )
    assert [e.tag for e in ET.fromstring(result.body)] == ["Say", "Hangup"]
    assert result.messages == (
        Message(
            body="Store Location: 123 Easy St.",
            to="+14155551212",
            from_="+14158675309",
            action=None,
            method="POST",
            status_callback="https://gw.test/hooks/sms-status/POST/https://app.example.com/smsHandler.php",
        ),
    )


def test_sms_with_action_ends_the_document_there() -> None:
    result = rewrite_voice(
        b'<Response><Say>a</Say><Sms>one</Sms><Sms action="/smsHandler.php" method="GET">two</Sms>'
        b"<Say>unreachable</Say><Sms>never</Sms></Response>",
        XML,
        DOC,
        "POST",
        mint,
    )
    assert [e.tag for e in ET.fromstring(result.body)] == ["Say"]
    assert [m.body for m in result.messages] == ["one", "two"]
    assert result.messages[0] == Message(body="one")
    assert result.messages[1].action == "https://app.example.com/smsHandler.php"
    assert result.messages[1].method == "GET"


# --- voice: answers that are not XML -------------------------------------------------------------------


def test_plain_text_is_said_then_hung_up_on() -> None:
    root = voice("Hello <world> & all\n", "text/plain; charset=utf-8")
    assert [e.tag for e in root] == ["Say", "Hangup"]
    assert root[0].text == "Hello <world> & all"


def test_plain_text_charset_and_hostile_bytes() -> None:
    assert voice("Caf\xe9".encode("latin-1"), "text/plain; charset=ISO-8859-1")[0].text == "Café"
    assert voice(b"a\xff\xfeb\x00c\x1bd", "text/plain")[0].text == "a\ufffd\ufffdbcd"
    assert voice(b"x", "text/plain; charset=no-such-codec")[0].text == "x"


def test_empty_plain_text_just_hangs_up() -> None:
    assert [e.tag for e in voice(b"  \n", "text/plain")] == ["Hangup"]


def test_audio_is_played_from_the_document_url_then_hung_up_on() -> None:
    root = voice(b"ID3\x00\x00", "audio/mpeg")
    assert [(e.tag, e.text) for e in root] == [("Play", DOC), ("Hangup", None)]


def test_no_content_type_is_sniffed() -> None:
    assert [e.tag for e in voice(b"  <Response><Hangup/></Response>", "")] == ["Hangup"]
    assert [e.tag for e in voice(b"hello", "")] == ["Say", "Hangup"]


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/html; charset=utf-8", "application/twiml+xml"]
)
def test_xml_types(content_type: str) -> None:
    assert [e.tag for e in voice(b"<Response><Hangup/></Response>", content_type)] == ["Hangup"]


def test_constants_are_documents() -> None:
    assert [e.tag for e in ET.fromstring(HANGUP)] == ["Hangup"]
    assert ET.fromstring(EMPTY).tag == "Response" and len(ET.fromstring(EMPTY)) == 0


# --- hostile answers -----------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]><Response><Say>&lol9;</Say></Response>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<Response><Say>&x;</Say></Response>"
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (BILLION_LAUGHS, XML),
        (EXTERNAL, XML),
        ("<!DOCTYPE Response><Response/>", XML),
        ("<Response><Say>unclosed</Response>", XML),
        ("<response/>", XML),
        ('<Response xmlns="urn:x"/>', XML),
        ("<TwilioResponse/>", XML),
        ("", XML),
        ("not xml at all", XML),
        ("<Response>" * (MAX_DEPTH + 1) + "</Response>" * (MAX_DEPTH + 1), XML),
        ("<Response>" + "<a>" * 20_000, XML),
        ("<Response><Say>" + "x" * MAX_BYTES + "</Say></Response>", XML),
        ("x" * (MAX_BYTES + 1), "text/plain"),
        (b"<Response><Say>\xff\xfe</Say></Response>", XML),
        ('{"json": true}', "application/json"),
        ("<Response/>", "image/png"),
    ],
)
def test_hostile_or_foreign_answers_raise_twiml_error(body: str | bytes, content_type: str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(TwimlError):
        rewrite_voice(raw, content_type, DOC, "POST", mint)


def test_deepest_allowed_nesting_passes() -> None:
    body = "<Response>" + "<x>" * (MAX_DEPTH - 1) + "</x>" * (MAX_DEPTH - 1) + "</Response>"
    assert voice(body).tag == "Response"


def test_twiml_error_text_is_bounded() -> None:
    with pytest.raises(TwimlError) as caught:
        rewrite_voice(b"x", "application/" + "x" * 10_000 + "\n", DOC, "POST", mint)
    assert len(str(caught.value)) < 200


# --- SMS replies ---------------------------------------------------------------------------------------


def test_sms_becomes_message_with_hooks() -> None:
    root = sms(
        '<Response version="2008-08-01"><Sms to="415-867-5309" from="6505551212" action="/SmsHandler.php" '
        'method="GET" statusCallback="/SMSHandler.php">Store Location: 123 Easy St.</Sms></Response>'
    )
    assert root.attrib == {}
    message = only(root, "Message")
    assert message.text == "Store Location: 123 Easy St."
    assert message.attrib == {
        "to": "+14158675309",
        "from": "+16505551212",
        "action": "https://gw.test/hooks/sms-action/GET/https://app.example.com/SmsHandler.php",
        "method": "POST",
        "statusCallback": "https://gw.test/hooks/sms-status/POST/https://app.example.com/SMSHandler.php",
    }


def test_several_messages_and_a_redirect() -> None:
    root = sms("<Response><Sms>1 of 2</Sms><Sms>2 of 2</Sms><Redirect>next.php</Redirect></Response>")
    assert [(e.tag, e.text) for e in root] == [
        ("Message", "1 of 2"),
        ("Message", "2 of 2"),
        ("Redirect", "https://gw.test/hooks/sms/POST/https://app.example.com/ivr/next.php"),
    ]


def test_sms_plain_text_is_one_message() -> None:
    root = sms(b"Hi Jenny & co", "text/plain")
    assert [(e.tag, e.text) for e in root] == [("Message", "Hi Jenny & co")]


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"", "text/plain"), (b"", ""), (b"  \n", "text/plain"), (b"", XML)]
)
def test_empty_sms_answer_sends_nothing(body: bytes, content_type: str) -> None:
    assert rewrite_sms(body, content_type, DOC, "POST", mint).body == EMPTY


@pytest.mark.parametrize(
    ("body", "content_type"), [(b"ID3", "audio/mpeg"), (b"<nope/>", XML), (BILLION_LAUGHS.encode(), XML)]
)
def test_sms_answers_that_are_not_twiml(body: bytes, content_type: str) -> None:
    with pytest.raises(TwimlError):
        rewrite_sms(body, content_type, DOC, "POST", mint)
