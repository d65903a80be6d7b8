"""The sandbox against the official OpenAPI specs: every response validated by a real validator,
errors in Twilio's shape, paging as the real API does it, the validation-call simulation."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox import SandboxConfig, create_sandbox
from tests.conftest import ACCOUNT, OTHER, SPECS, TOKEN, TRUNK
from tests.servers import serve

API_SPEC = json.loads((SPECS / "twilio_api_v2010.outgoing_caller_ids.json").read_text())
TRUNK_SPEC = json.loads((SPECS / "twilio_trunking_v1.phone_numbers.json").read_text())
BASE = f"/2010-04-01/Accounts/{ACCOUNT}"
ERROR_SHAPE = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "more_info": {"type": "string", "pattern": "^https://www.twilio.com/docs/errors/[0-9]+$"},
        "status": {"type": "integer"},
    },
}


def inline(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return inline(copy.deepcopy(spec["components"]["schemas"][name]), spec)
        return {k: inline(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, spec) for v in node]
    return node


def schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][str(status)]
    return inline(response["content"]["application/json"]["schema"], spec)  # type: ignore[no-any-return]


def conforms(response: httpx.Response, spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    assert str(response.status_code) in spec["paths"][path][method]["responses"], response.text
    body: dict[str, Any] = response.json()
    OAS30Validator(schema(spec, path, method, response.status_code)).validate(body)
    return body


def is_error(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    jsonschema.validate(body, ERROR_SHAPE)
    assert (body["status"], body["code"]) == (status, code)


LIST = "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json"
INSTANCE = "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json"
TRUNK_LIST = "/v1/Trunks/{TrunkSid}/PhoneNumbers"
TRUNK_INSTANCE = "/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}"


async def test_crud_conforms_to_the_spec(api: httpx.AsyncClient, store: Any) -> None:
    created = await api.post(f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "+14158675309"})
    body = conforms(created, API_SPEC, LIST, "post")
    assert body["phone_number"] == "+14158675309"
    assert body["friendly_name"] == "(415) 867-5309"
    assert body["call_sid"].startswith("CA") and len(body["validation_code"]) == 6
    listing = conforms(await api.get(f"{BASE}/OutgoingCallerIds.json"), API_SPEC, LIST, "get")
    assert "total" not in listing and "num_pages" not in listing
    (item,) = listing["outgoing_caller_ids"]
    sid = item["sid"]
    assert item["uri"] == f"{BASE}/OutgoingCallerIds/{sid}.json"
    assert item["date_created"].endswith(" +0000")
    conforms(await api.get(f"{BASE}/OutgoingCallerIds/{sid}.json"), API_SPEC, INSTANCE, "get")
    updated = await api.post(f"{BASE}/OutgoingCallerIds/{sid}.json", data={"FriendlyName": "Home"})
    assert conforms(updated, API_SPEC, INSTANCE, "post")["friendly_name"] == "Home"
    deleted = await api.delete(f"{BASE}/OutgoingCallerIds/{sid}.json")
    assert deleted.status_code == 204 and deleted.content == b""
    is_error(await api.get(f"{BASE}/OutgoingCallerIds/{sid}.json"), 404, 20404)


async def test_errors_have_twilios_shape(api: httpx.AsyncClient, store: Any) -> None:
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json", auth=(ACCOUNT, "nope")), 401, 20003)
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json", auth=None), 401, 20003)
    is_error(await api.get(f"/2010-04-01/Accounts/{OTHER}/OutgoingCallerIds.json"), 404, 20404)
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json?PageSize=0"), 400, 20001)
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json?PageSize=1001"), 400, 20001)
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json?Page=1"), 400, 20001)
    no_token = await api.get(f"{BASE}/OutgoingCallerIds.json?Page=1")
    assert no_token.json()["message"] == "PageToken is required for paging."
    is_error(await api.get(f"{BASE}/OutgoingCallerIds.json?Page=1&PageToken=garbage"), 400, 20001)
    is_error(await api.post(f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "123"}), 400, 21401)
    is_error(await api.post(f"{BASE}/OutgoingCallerIds.json", data={}), 400, 21604)
    for delay in ("61", "-1", "x"):
        is_error(
            await api.post(
                f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "4155551212", "CallDelay": delay}
            ),
            400,
            21454,
        )
    store.add_caller_id(ACCOUNT, "+14158675309", "Mine")
    is_error(
        await api.post(f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "(415) 867-5309"}), 400, 21450
    )
    item = store.caller_id_by_number(ACCOUNT, "+14158675309")
    is_error(
        await api.post(f"{BASE}/OutgoingCallerIds/{item.sid}.json", data={"FriendlyName": "x" * 65}),
        400,
        21409,
    )
    is_error(await api.get(f"{BASE}/OutgoingCallerIds/PN{'0' * 32}.json"), 404, 20404)
    is_error(await api.get(f"{BASE}/OutgoingCallerIds/nonsense.json"), 404, 20404)


async def test_filters_are_exact(api: httpx.AsyncClient, store: Any) -> None:
    store.add_caller_id(ACCOUNT, "+14158675309", "A")
    store.add_caller_id(ACCOUNT, "+14158675310", "B")
    by_number = (
        await api.get(f"{BASE}/OutgoingCallerIds.json", params={"PhoneNumber": "+14158675310"})
    ).json()
    assert [i["friendly_name"] for i in by_number["outgoing_caller_ids"]] == ["B"]
    by_name = (await api.get(f"{BASE}/OutgoingCallerIds.json", params={"FriendlyName": "A"})).json()
    assert [i["phone_number"] for i in by_name["outgoing_caller_ids"]] == ["+14158675309"]


async def follow(api: httpx.AsyncClient, first: str, key: str, meta: bool = False) -> tuple[list[str], int]:
    sids: list[str] = []
    url: str | None = first
    pages = 0
    while url:
        response = await api.get(url)
        body = response.json()
        pages += 1
        sids += [item["sid"] for item in body[key]]
        url = body["meta"]["next_page_url"] if meta else body["next_page_uri"]
    return sids, pages


@pytest.mark.parametrize("total", [0, 1, 50, 51, 1000, 1001, 2345])
async def test_paging_visits_every_item_once(api: httpx.AsyncClient, store: Any, total: int) -> None:
    store.seed_caller_ids(ACCOUNT, total)
    expected = [i.sid for i in store.caller_ids[ACCOUNT].values()] if total else []
    for size in (50, 1000):
        sids, pages = await follow(
            api, f"{BASE}/OutgoingCallerIds.json?PageSize={size}", "outgoing_caller_ids"
        )
        assert sids == expected
        assert pages == max(1, -(-total // size))


async def test_page_links_keep_filters_and_carry_tokens(api: httpx.AsyncClient, store: Any) -> None:
    for i in range(5):
        store.add_caller_id(ACCOUNT, f"+1202555{i:04d}", "Team")
    body = (await api.get(f"{BASE}/OutgoingCallerIds.json?FriendlyName=Team&PageSize=2")).json()
    assert body["next_page_uri"].startswith(
        f"{BASE}/OutgoingCallerIds.json?FriendlyName=Team&PageSize=2&Page=1&PageToken=PA"
    )
    second = (await api.get(body["next_page_uri"])).json()
    assert second["page"] == 1 and second["start"] == 2 and second["end"] == 3
    back = (await api.get(second["previous_page_uri"])).json()
    assert [i["sid"] for i in back["outgoing_caller_ids"]] == [i["sid"] for i in body["outgoing_caller_ids"]]
    assert body["first_page_uri"] == f"{BASE}/OutgoingCallerIds.json?FriendlyName=Team&PageSize=2&Page=0"


async def test_tokens_survive_deletion_of_their_sid(api: httpx.AsyncClient, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 4)
    body = (await api.get(f"{BASE}/OutgoingCallerIds.json?PageSize=2")).json()
    last = body["outgoing_caller_ids"][-1]["sid"]
    await api.delete(f"{BASE}/OutgoingCallerIds/{last}.json")
    second = (await api.get(body["next_page_uri"])).json()
    assert len(second["outgoing_caller_ids"]) == 2


async def test_validation_with_call_delay_creates_the_caller_id_later(
    api: httpx.AsyncClient, store: Any
) -> None:
    await api.post(f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "4158675309", "CallDelay": "1"})
    assert store.caller_id_by_number(ACCOUNT, "+14158675309") is None
    await asyncio.sleep(1.2)
    assert store.caller_id_by_number(ACCOUNT, "+14158675309") is not None


async def test_failing_verification_creates_nothing(sandbox_config: SandboxConfig) -> None:
    sandbox_config.verification = "fail"
    app = create_sandbox(sandbox_config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", auth=(ACCOUNT, TOKEN)
    ) as client:
        response = await client.post(f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "4158675309"})
    assert response.status_code == 200
    assert app.state.sandbox.store.caller_id_by_number(ACCOUNT, "+14158675309") is None


async def test_status_callback_is_posted_without_blocking(api: httpx.AsyncClient, sandbox_app: Any) -> None:
    received: list[dict[str, str]] = []
    arrived = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def hook(request: Request) -> Response:
        form = dict(httpx.QueryParams((await request.body()).decode()))
        received.append(form)
        loop.call_soon_threadsafe(arrived.set)
        return Response("ok")

    with serve(Starlette(routes=[Route("/cb", hook, methods=["POST"])])) as url:
        response = await api.post(
            f"{BASE}/OutgoingCallerIds.json",
            data={"PhoneNumber": "4158675309", "StatusCallback": url + "/cb"},
        )
        assert response.status_code == 200
        await asyncio.wait_for(arrived.wait(), 10)
    (params,) = received
    created = sandbox_app.state.sandbox.store.caller_id_by_number(ACCOUNT, "+14158675309")
    assert params["VerificationStatus"] == "success"
    assert params["OutgoingCallerIdSid"] == created.sid
    assert params["CallSid"] == response.json()["call_sid"]
    assert params["AccountSid"] == ACCOUNT


async def test_status_callback_must_be_http(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{BASE}/OutgoingCallerIds.json", data={"PhoneNumber": "4158675309", "StatusCallback": "ftp://x/cb"}
    )
    is_error(response, 400, 21609)


async def test_unreachable_status_callback_does_not_fail_the_request(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{BASE}/OutgoingCallerIds.json",
        data={"PhoneNumber": "4158675309", "StatusCallback": "http://127.0.0.1:9/x"},
    )
    assert response.status_code == 200


# Trunking v1 ------------------------------------------------------------------------------------
async def test_trunk_numbers_conform_to_the_spec(api: httpx.AsyncClient, store: Any) -> None:
    incoming = (await api.get(f"{BASE}/IncomingPhoneNumbers.json")).json()["incoming_phone_numbers"]
    assert len(incoming) == 5
    sid = incoming[0]["sid"]
    created = await api.post(f"/v1/Trunks/{TRUNK}/PhoneNumbers", data={"PhoneNumberSid": sid})
    body = conforms(created, TRUNK_SPEC, TRUNK_LIST, "post")
    assert body["trunk_sid"] == TRUNK and body["date_created"].endswith("Z")
    assert body["url"] == f"http://sandbox.test/v1/Trunks/{TRUNK}/PhoneNumbers/{sid}"
    listing = conforms(await api.get(f"/v1/Trunks/{TRUNK}/PhoneNumbers"), TRUNK_SPEC, TRUNK_LIST, "get")
    assert listing["meta"]["key"] == "phone_numbers"
    assert listing["meta"]["url"].startswith("http://sandbox.test/v1/Trunks/")
    conforms(await api.get(f"/v1/Trunks/{TRUNK}/PhoneNumbers/{sid}"), TRUNK_SPEC, TRUNK_INSTANCE, "get")
    assert (await api.delete(f"/v1/Trunks/{TRUNK}/PhoneNumbers/{sid}")).status_code == 204
    is_error(await api.get(f"/v1/Trunks/{TRUNK}/PhoneNumbers/{sid}"), 404, 20404)


async def test_trunk_number_has_the_full_field_set_of_the_resource_page(
    api: httpx.AsyncClient, store: Any
) -> None:
    from tests.conftest import upstream_fixture

    number = store.provision_incoming(ACCOUNT, 1, first=14158675309)[0]
    created = (await api.post(f"/v1/Trunks/{TRUNK}/PhoneNumbers", data={"PhoneNumberSid": number.sid})).json()
    assert set(created) == set(upstream_fixture("CreatePhoneNumber.create")["body"])


async def test_trunk_errors(api: httpx.AsyncClient) -> None:
    is_error(await api.post(f"/v1/Trunks/{TRUNK}/PhoneNumbers", data={}), 400, 21604)
    is_error(
        await api.post(f"/v1/Trunks/{TRUNK}/PhoneNumbers", data={"PhoneNumberSid": "PN" + "0" * 32}),
        400,
        21421,
    )
    is_error(await api.get("/v1/Trunks/TKnope/PhoneNumbers"), 404, 20404)
    is_error(await api.get(f"/v1/Trunks/{TRUNK}/PhoneNumbers", auth=(ACCOUNT, "x")), 401, 20003)


@pytest.mark.parametrize("total", [0, 1, 50, 51, 2345])
async def test_trunk_meta_paging_visits_every_item_once(
    api: httpx.AsyncClient, store: Any, total: int
) -> None:
    store.seed_trunk(ACCOUNT, TRUNK, total, 13125550000)
    expected = [t.sid for t in store.trunks[(ACCOUNT, TRUNK)].values()] if total else []
    sids, _ = await follow(api, f"/v1/Trunks/{TRUNK}/PhoneNumbers?PageSize=50", "phone_numbers", meta=True)
    assert sids == expected


def test_trunk_resource_page_disagrees_with_the_spec_on_voice_application_sid() -> None:
    """The Trunking PhoneNumber resource page's example has ``"voice_application_sid": ""`` (the spec
    demands null or an AP sid) and
    ``"voice_fallback_method": null`` (an OAS 3.0 enum that does not list null rejects it). The sandbox
    follows the spec (null, and "POST"); this pins both disagreements."""
    from tests.conftest import upstream_fixture

    body = upstream_fixture("FetchPhoneNumber.fetch")["body"]
    validator = OAS30Validator(schema(TRUNK_SPEC, TRUNK_INSTANCE, "get", 200))
    assert body["voice_application_sid"] == ""
    assert not validator.is_valid(body)
    assert not validator.is_valid({**body, "voice_application_sid": None})
    assert validator.is_valid({**body, "voice_application_sid": None, "voice_fallback_method": "POST"})
