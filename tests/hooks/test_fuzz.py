"""Whatever arrives, the hooks library answers with its own result or its own error, never a crash."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hooks.params import translate
from gateway.hooks.signature import valid
from gateway.hooks.twiml import TwimlError, rewrite_sms, rewrite_voice
from gateway.hooks.urls import KINDS, Hook, HookKeys

KEYS = HookKeys(["fuzz"])
VERBS = ["Response", "Say", "Play", "Gather", "Record", "Dial", "Number", "Conference", "Redirect", "Sms"]
XML_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=20)
ATTRS = ["action", "method", "url", "waitUrl", "callerId", "to", "from", "statusCallback", "version"]


def mint(kind: str, url: str, method: str, extra: tuple[tuple[str, str], ...]) -> str:
    return KEYS.mint("https://gw.test", Hook(kind=kind, account="AC1", url=url, method=method, extra=extra))


@st.composite
def twiml(draw: st.DrawFn, depth: int = 0) -> str:
    tag = "Response" if depth == 0 else draw(st.sampled_from(VERBS))
    attrs = draw(st.dictionaries(st.sampled_from(ATTRS), XML_TEXT, max_size=3))
    text = draw(XML_TEXT)
    children = draw(st.lists(twiml(depth + 1), max_size=3)) if depth < 3 else []
    element = ET.Element(tag, attrs)
    element.text = text
    for child in children:
        element.append(ET.fromstring(child))
    return ET.tostring(element, encoding="unicode")


def check(body: bytes, content_type: str) -> None:
    for rewrite in (rewrite_voice, rewrite_sms):
        try:
            out = rewrite(body, content_type, "https://app.example.com/x", "POST", mint).body
        except TwimlError:
            continue
        ET.fromstring(out)  # well-formed


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["text/xml", "text/plain", "audio/wav", "", "x/y"]))
def test_any_bytes(body: bytes, content_type: str) -> None:
    check(body, content_type)


@settings(max_examples=200, deadline=None)
@given(twiml())
def test_twiml_shaped_documents(document: str) -> None:
    check(document.encode(), "text/xml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_path_opens_or_not(path: str) -> None:
    assert KEYS.open(path) is None
    assert KEYS.open("/hooks/voice/" + path) is None


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(KINDS)),
    st.dictionaries(st.text(max_size=15), st.text(max_size=30), max_size=8),
    st.text(max_size=40),
)
def test_any_params(kind: str, params: dict[str, str], signature: str) -> None:
    hook = Hook(kind=kind, account="AC1", url="https://app.example.com/")
    out = translate(kind, params, extra_keep=True, legacy_base="https://gw.test", hook=hook)
    assert out is None or all(isinstance(v, str) for v in out.values())
    assert not valid("https://gw.test/hooks/x", params, "token", signature)
