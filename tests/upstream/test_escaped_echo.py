"""An upstream error that echoes the credential with escapes in it (JSON ``\\u0054``, ``\\/``, XML
``&#84;``) is scrubbed after those are decoded: the token reaches neither the client nor the HAR."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gateway.redaction import credentials_in, scrub
from tests.conftest import ACCOUNT, TOKEN
from tests.hostile import Request, Script, response
from tests.upstream.test_hostile_upstream import fetch_path, gateway, rest_exception

PAIR = f"{ACCOUNT}:{TOKEN}"
ENCODED = base64.b64encode(PAIR.encode()).decode()


def json_escaped(text: str, every: int = 1, upper: bool = False) -> str:
    """``text`` with every ``every``-th character written as a JSON ``\\uXXXX`` escape."""
    spelled = (f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}" for c in text)
    return "".join(e if i % every == 0 else c for i, (c, e) in enumerate(zip(text, spelled, strict=True)))


ECHOES = {
    "first character": json_escaped(TOKEN, every=len(TOKEN)),
    "every character": json_escaped(TOKEN),
    "every third, upper-case hex": json_escaped(TOKEN, every=3, upper=True),
    "the pair, solidus escaped": json_escaped(PAIR, every=5).replace("/", "\\/"),
    "the base64 credentials": json_escaped(ENCODED, every=4),
}


@pytest.mark.parametrize("echo", list(ECHOES.values()), ids=list(ECHOES))
async def test_a_json_escaped_token_in_an_error_reaches_neither_client_nor_har(
    echo: str, tmp_path: Path
) -> None:
    body = ('{"code": 20001, "status": 400, "message": "bad credential ' + echo + '"}').encode()

    def handler(request: Request) -> Script:
        return [response(400, body, headers=[("Content-Type", "application/json")])]

    record = tmp_path / "session.har"
    async with gateway(handler, record=str(record)) as (_, client), client() as legacy:
        answer = await legacy.get(fetch_path())
    message = rest_exception(answer, 400)
    assert message.startswith("bad credential ")
    assert TOKEN not in message and ENCODED not in message and "****" in message
    recorded = record.read_text()
    assert TOKEN not in recorded and ENCODED not in recorded


@pytest.mark.parametrize(
    ("body", "scrubbed"),
    [
        (f"<M>&#{ord(TOKEN[0])};{TOKEN[1:]}</M>", "<M>****</M>"),
        (f"<M>\\u003{TOKEN} &#3{TOKEN}</M>", "<M>**** &#3****</M>"),  # the literal one begins in an escape
        (f"<M>{TOKEN[:9]}%{ord(TOKEN[9]):X}{TOKEN[10:]}&amp;%41</M>", None),  # percent: not an escape here
        (f"<M>&#x{ord(TOKEN[0]):x};{TOKEN[1:]} &lt;x&gt; \\u0041</M>", "<M>**** &lt;x&gt; \\u0041</M>"),
        (
            '{"m": "' + json_escaped(TOKEN, 2) + ' \\" \\\\ \\n \\ud83d\\ude00"}',
            '{"m": "**** \\" \\\\ \\n \\ud83d\\ude00"}',
        ),
    ],
)
def test_only_what_hides_a_secret_is_decoded(body: str, scrubbed: str | None) -> None:
    secrets = credentials_in("Basic " + ENCODED)
    assert scrub(body.encode(), secrets).decode() == (body if scrubbed is None else scrubbed)


def test_a_body_without_a_secret_is_left_as_it_is() -> None:
    body = b'{"m": "caf\\u00e9 \\/ &#84;"}'
    assert scrub(body, credentials_in("Basic " + ENCODED)) is body
