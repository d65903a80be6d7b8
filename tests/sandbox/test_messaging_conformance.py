"""The sandbox's Messages, ShortCodes, Recordings (and their audio), Transcriptions and Notifications
endpoints against the trimmed 2010 spec: every response validated, errors in Twilio's shape, messages
moving on the clock, failed webhooks logged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig, audio, create_sandbox
from tests.conftest import ACCOUNT, OURS, SPECS, TOKEN, Clock
from tests.sandbox.test_conformance import conforms, is_error

SPEC = json.loads((SPECS / "twilio_api_v2010.legacy_surface.json").read_text())
API = "/2010-04-01/Accounts/{AccountSid}"
BASE = f"/2010-04-01/Accounts/{ACCOUNT}"
MESSAGES, MESSAGE = API + "/Messages.json", API + "/Messages/{Sid}.json"
SHORT_CODES, SHORT_CODE = API + "/SMS/ShortCodes.json", API + "/SMS/ShortCodes/{Sid}.json"
RECORDINGS, RECORDING = API + "/Recordings.json", API + "/Recordings/{Sid}.json"
TRANSCRIPTIONS, TRANSCRIPTION = API + "/Transcriptions.json", API + "/Transcriptions/{Sid}.json"
BY_RECORDING = API + "/Recordings/{RecordingSid}/Transcriptions.json"
BY_RECORDING_ONE = API + "/Recordings/{RecordingSid}/Transcriptions/{Sid}.json"
NOTIFICATIONS, NOTIFICATION = API + "/Notifications.json", API + "/Notifications/{Sid}.json"


@pytest.fixture
def sandbox_config(clocked_config: SandboxConfig) -> SandboxConfig:
    return clocked_config


def recorded(app: Any, seconds: int = 5) -> Any:
    sandbox = app.state.sandbox
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=voice.clock() - 300)
    return sandbox.recordings.add(call, seconds, voice.clock() - 200)


async def test_a_sent_message_moves_queued_sending_sent(api: httpx.AsyncClient, clock: Clock) -> None:
    data = {"To": "+14158675309", "From": OURS, "Body": "Grüße 👋"}
    made = conforms(await api.post(f"{BASE}/Messages.json", data=data), SPEC, MESSAGES, "post")
    assert (made["status"], made["direction"], made["date_sent"], made["num_segments"]) == (
        "queued",
        "outbound-api",
        None,
        "1",
    )
    seen = []
    for _ in range(3):
        seen.append(
            conforms(await api.get(f"{BASE}/Messages/{made['sid']}.json"), SPEC, MESSAGE, "get")["status"]
        )
        clock.advance(1)
    assert seen == ["queued", "sending", "sent"]
    listed = conforms(
        await api.get(f"{BASE}/Messages.json", params={"To": "+14158675309"}), SPEC, MESSAGES, "get"
    )
    assert [m["sid"] for m in listed["messages"]] == [made["sid"]]
    assert conforms(
        await api.get(f"{BASE}/Messages.json", params={"DateSent>": "2000-01-01"}), SPEC, MESSAGES, "get"
    )["messages"]
    assert (await api.delete(f"{BASE}/Messages/{made['sid']}.json")).status_code == 204


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": "+14158675309", "Body": "x"}, 21603),
        ({"To": "+14158675309", "From": "+14155550100", "Body": "x"}, 21606),
        ({"To": "555", "From": OURS, "Body": "x"}, 21211),
        ({"To": "+14158675309", "From": OURS}, 21602),
        ({"To": "+14158675309", "From": OURS, "Body": "x" * 1601}, 21617),
        ({"From": OURS, "Body": "x"}, 21604),
    ],
)
async def test_message_errors(api: httpx.AsyncClient, form: dict[str, str], code: int) -> None:
    is_error(await api.post(f"{BASE}/Messages.json", data=form), 400, code)


async def test_a_message_to_an_unreachable_number_fails(api: httpx.AsyncClient, clock: Clock) -> None:
    data = {"To": "+15005550009", "From": OURS, "Body": "x"}
    made = conforms(await api.post(f"{BASE}/Messages.json", data=data), SPEC, MESSAGES, "post")
    clock.advance(10)
    failed = conforms(await api.get(f"{BASE}/Messages/{made['sid']}.json"), SPEC, MESSAGE, "get")
    assert (failed["status"], failed["error_code"], failed["price"]) == ("failed", 30003, None)


async def test_short_codes(api: httpx.AsyncClient) -> None:
    listed = conforms(await api.get(f"{BASE}/SMS/ShortCodes.json"), SPEC, SHORT_CODES, "get")["short_codes"]
    assert [c["short_code"] for c in listed] == ["67898", "69009"]
    pattern = await api.get(f"{BASE}/SMS/ShortCodes.json", params={"ShortCode": "6*0"})
    assert [c["short_code"] for c in conforms(pattern, SPEC, SHORT_CODES, "get")["short_codes"]] == ["69009"]
    sid = listed[0]["sid"]
    updated = await api.post(
        f"{BASE}/SMS/ShortCodes/{sid}.json", data={"SmsUrl": "http://a.example/", "SmsMethod": "GET"}
    )
    body = conforms(updated, SPEC, SHORT_CODE, "post")
    assert (body["sms_url"], body["sms_method"]) == ("http://a.example/", "GET")
    conforms(await api.get(f"{BASE}/SMS/ShortCodes/{sid}.json"), SPEC, SHORT_CODE, "get")
    is_error(await api.post(f"{BASE}/SMS/ShortCodes/{sid}.json", data={"ApiVersion": "2009"}), 400, 21613)


async def test_recordings_and_transcriptions(api: httpx.AsyncClient, sandbox_app: Any, clock: Clock) -> None:
    made = recorded(sandbox_app)
    note = sandbox_app.state.sandbox.recordings.transcribe(made, clock() - 100)
    listed = conforms(
        await api.get(f"{BASE}/Recordings.json", params={"CallSid": made.call.sid}), SPEC, RECORDINGS, "get"
    )
    assert [(r["sid"], r["duration"], r["price"]) for r in listed["recordings"]] == [
        (made.sid, "5", "-0.00250")
    ]
    dated = await api.get(f"{BASE}/Recordings.json", params={"DateCreated<": "2000-01-01"})
    assert conforms(dated, SPEC, RECORDINGS, "get")["recordings"] == []
    conforms(await api.get(f"{BASE}/Recordings/{made.sid}.json"), SPEC, RECORDING, "get")
    for path, schema in (
        (f"{BASE}/Transcriptions.json", TRANSCRIPTIONS),
        (f"{BASE}/Recordings/{made.sid}/Transcriptions.json", BY_RECORDING),
    ):
        (one,) = conforms(await api.get(path), SPEC, schema, "get")["transcriptions"]
        assert (one["sid"], one["status"], one["price"]) == (note.sid, "completed", -0.05)
    conforms(await api.get(f"{BASE}/Transcriptions/{note.sid}.json"), SPEC, TRANSCRIPTION, "get")
    conforms(
        await api.get(f"{BASE}/Recordings/{made.sid}/Transcriptions/{note.sid}.json"),
        SPEC,
        BY_RECORDING_ONE,
        "get",
    )
    assert (await api.delete(f"{BASE}/Transcriptions/{note.sid}.json")).status_code == 204
    assert (await api.delete(f"{BASE}/Recordings/{made.sid}.json")).status_code == 204
    is_error(await api.get(f"{BASE}/Recordings/{made.sid}.json"), 404, 20404)
    is_error(await api.get(f"{BASE}/Recordings/{made.sid}.wav"), 404, 20404)


async def test_recording_audio(api: httpx.AsyncClient, sandbox_app: Any) -> None:
    made = recorded(sandbox_app, 2)
    for path, kind in (("", "wav"), (".wav", "wav"), (".mp3", "mp3")):
        response = await api.get(f"{BASE}/Recordings/{made.sid}{path}")
        assert response.headers["content-type"] == audio.CONTENT_TYPES[kind]  # type: ignore[index]
        assert response.content == audio.body(kind, 2)  # type: ignore[arg-type]
    part = await api.get(f"{BASE}/Recordings/{made.sid}.wav", headers={"Range": "bytes=10-"})
    assert (part.status_code, part.content) == (206, audio.body("wav", 2)[10:])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox.test"
    ) as anonymous:  # public, as 2010's media URLs are unless the account enforces auth on them
        assert (await anonymous.get(f"{BASE}/Recordings/{made.sid}.mp3")).content == audio.body("mp3", 2)
        is_error(await anonymous.get(f"{BASE}/Recordings/{made.sid}.json"), 401, 20003)  # the metadata


async def test_recording_audio_of_an_account_that_enforces_media_auth(clock: Clock) -> None:
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, media_auth=frozenset({ACCOUNT}))
    sandbox_app = create_sandbox(config)
    made = recorded(sandbox_app, 2)
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as anonymous:
        is_error(await anonymous.get(f"{BASE}/Recordings/{made.sid}"), 401, 20003)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        assert (await api.get(f"{BASE}/Recordings/{made.sid}")).content == audio.body("wav", 2)


async def test_notifications_and_a_failed_webhook(
    api: httpx.AsyncClient, sandbox_app: Any, clock: Clock
) -> None:
    sandbox = sandbox_app.state.sandbox
    data = {"To": "+14158675309", "From": OURS, "Body": "x", "StatusCallback": "http://127.0.0.1:9/status"}
    made = conforms(await api.post(f"{BASE}/Messages.json", data=data), SPEC, MESSAGES, "post")
    clock.advance(5)
    await api.get(f"{BASE}/Messages/{made['sid']}.json")
    while sandbox.callbacks.tasks:
        await asyncio.gather(*list(sandbox.callbacks.tasks))
    (note,) = conforms(await api.get(f"{BASE}/Notifications.json"), SPEC, NOTIFICATIONS, "get")[
        "notifications"
    ]
    assert (note["log"], note["error_code"], note["call_sid"], note["request_url"]) == (
        "0",
        "11200",
        None,
        "http://127.0.0.1:9/status",
    )
    one = conforms(await api.get(f"{BASE}/Notifications/{note['sid']}.json"), SPEC, NOTIFICATION, "get")
    assert f"MessageSid={made['sid']}" in one["request_variables"]
    for query in ({"Log": "1"}, {"MessageDate<": "2000-01-01"}):
        assert (
            conforms(await api.get(f"{BASE}/Notifications.json", params=query), SPEC, NOTIFICATIONS, "get")[
                "notifications"
            ]
            == []
        )
    assert (await api.delete(f"{BASE}/Notifications/{note['sid']}.json")).status_code == 405


async def test_seeds(clock: Clock) -> None:
    from gateway.sandbox.seed import parse

    counts = parse("calls=40,messages=30,recordings=6,transcriptions=3,notifications=5")
    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, seed=counts))
    sandbox = app.state.sandbox
    messages = list(sandbox.messaging.messages[ACCOUNT].values())
    assert len(messages) == 32
    assert {m.direction for m in messages} >= {"inbound", "outbound-api"}
    assert any(not all(c.isascii() for c in m.body) for m in messages)
    recordings = list(sandbox.recordings.sync(ACCOUNT).values())
    assert len(recordings) >= 6 and all(r.call.account_sid == ACCOUNT for r in recordings)
    assert len(sandbox.recordings.transcriptions[ACCOUNT]) == 3
    assert len(sandbox.notifications.sync(ACCOUNT)) >= 5
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        for path, schema in (
            (MESSAGES, MESSAGES),
            (RECORDINGS, RECORDINGS),
            (TRANSCRIPTIONS, TRANSCRIPTIONS),
            (NOTIFICATIONS, NOTIFICATIONS),
        ):
            conforms(
                await api.get(path.format(AccountSid=ACCOUNT), params={"PageSize": "1000"}),
                SPEC,
                schema,
                "get",
            )


def test_settings_from_the_environment() -> None:
    from gateway.sandbox import config_from_env

    config = config_from_env(
        {
            "SANDBOX_MESSAGE_STEP": "0.5",
            "SANDBOX_UNREACHABLE_NUMBERS": "+14155550100, +14155550101",
            "SANDBOX_SHORT_CODES": "3",
            "SANDBOX_MEDIA_REDIRECT": "http://127.0.0.1:9000/",
        }
    )
    assert (config.message_step, config.short_codes, config.media_redirect) == (
        0.5,
        3,
        "http://127.0.0.1:9000",
    )
    assert config.unreachable_numbers == {"+14155550100", "+14155550101"}
    assert config_from_env({}).unreachable_numbers == {"+15005550009"}
    with pytest.raises(ValueError, match="SANDBOX_UNREACHABLE_NUMBERS"):
        config_from_env({"SANDBOX_UNREACHABLE_NUMBERS": "415-555-0100"})
