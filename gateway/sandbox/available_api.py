"""The 2010 number searches, ``AvailablePhoneNumbers/{CountryCode}/Local.json`` and ``TollFree.json``, over
the inventory of :mod:`.numbers_api`: what ``POST …/IncomingPhoneNumbers.json`` with a ``PhoneNumber``
can buy, as ``specs/twilio_api_v2010.available_phone_numbers.json`` describes them.

A search is not paged (both of the spec's examples answer ``available_phone_numbers`` and ``uri`` alone):
up to ``PageSize`` numbers, area codes in the inventory's order, each ascending. Filters: ``AreaCode``,
``Contains`` (digits, letters as on a keypad, ``*`` one digit, ``%`` any, ``+`` anchors the start and
``$`` the end), the ``…Enabled`` capabilities. The inventory knows no geography, so the filters by
place (``Near…``, ``In…``) match no number; every number needs no address and none is beta, so the
``Exclude…`` and ``Beta`` filters leave it. Only ``US`` has numbers; another country code lists none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import ApiError, not_found, page_size
from .host import Host
from .numbers_api import LOCAL_AREA_CODES, TOLL_FREE_AREA_CODES
from .spec import Spec, available_spec
from .values import formatted

API = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}"
LOCAL = API + "/Local.json"
TOLL_FREE = API + "/TollFree.json"
PLACES = ("NearNumber", "NearLatLong", "InPostalCode", "InRegion", "InRateCenter", "InLata", "InLocality")
"""Filters by place: the inventory's numbers have none (their ``region``, ``locality``… are null)."""
KEYS = ("abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz")
KEYPAD = {letter: digit for digit, letters in zip("23456789", KEYS, strict=True) for letter in letters}
CAPABILITIES = (
    ("SmsEnabled", "sms"),
    ("MmsEnabled", "mms"),
    ("VoiceEnabled", "voice"),
    ("FaxEnabled", "fax"),
)
_CONTAINS = re.compile(r"\+?[0-9A-Za-z*%]+\$?")

Test = Callable[[str], bool]


def capabilities(toll_free: bool) -> dict[str, bool]:
    """As the sandbox's numbers have them once bought (:meth:`.numbers_api.NumbersBehaviour.render`)."""
    return {"mms": not toll_free, "sms": not toll_free, "voice": True, "fax": False}


def contains(pattern: str) -> Test:
    if not 2 <= len(pattern) <= 16 or _CONTAINS.fullmatch(pattern) is None:
        raise ApiError(400, 20001, "Contains must be 2 to 16 digits or letters, with * % + $ as patterns")
    body = pattern.removeprefix("+").removesuffix("$")
    regex = "".join(r"\d" if c == "*" else r"\d*" if c == "%" else KEYPAD.get(c.lower(), c) for c in body)
    start, end = (r"^\+" if pattern.startswith("+") else ""), ("$" if pattern.endswith("$") else "")
    compiled = re.compile(start + regex + end)
    return lambda number: compiled.search(number) is not None


def _checked(spec: Spec, path: str, query: Mapping[str, str]) -> dict[str, str]:
    """The query's search parameters, each of its schema's type (else 400, as the API answers)."""
    schemas = spec.parameters(path, "get", "query")
    given = {name: query[name] for name in spec.filters(path) if name in query}
    for name, value in given.items():
        kind = schemas[name].get("type")
        if kind == "integer" and not value.isdigit():
            raise ApiError(400, 20001, f"{name} must be an integer")
        if kind == "boolean" and value.lower() not in ("true", "false"):
            raise ApiError(400, 20001, f"{name} must be true or false")
    return given


def tests(given: Mapping[str, str], toll_free: bool) -> list[Test] | None:
    """What a number must pass; ``None`` when no number can (a place, a capability it lacks)."""
    if any(name in given for name in PLACES):
        return None
    offered = capabilities(toll_free)
    for name, capability in CAPABILITIES:
        if name in given and (given[name].lower() == "true") != offered[capability]:
            return None
    found: list[Test] = []
    if "AreaCode" in given:
        code = given["AreaCode"]
        found.append(lambda number: number[2:5] == code)
    if "Contains" in given:
        found.append(contains(given["Contains"]))
    return found


def render(number: str, toll_free: bool) -> dict[str, Any]:
    """Every property of the spec's item, in its order."""
    return {
        "friendly_name": formatted(number),
        "phone_number": number,
        "lata": None,
        "locality": None,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": None,
        "postal_code": None,
        "iso_country": "US",
        "address_requirements": "none",
        "beta": False,
        "capabilities": capabilities(toll_free),
    }


class Search:
    """One of the two searches: Local (the inventory's local area codes) or TollFree."""

    def __init__(self, sandbox: Host, path: str, codes: tuple[str, ...]) -> None:
        self.sandbox, self.path, self.codes = sandbox, path, codes
        self.spec = available_spec()
        self.toll_free = codes == TOLL_FREE_AREA_CODES

    def offered(self) -> Iterator[str]:
        for code in self.codes:
            yield from self.sandbox.inventory.available.get(code, ())

    async def answer(self, request: Request) -> Response:
        params = request.path_params
        self.sandbox.authenticate(request, params["AccountSid"])
        account = self.spec.path_pattern(self.path, "AccountSid")
        country = params["CountryCode"]
        if account is not None and not account.fullmatch(params["AccountSid"]):
            raise not_found(request)
        if not (len(country) == 2 and country.isascii() and country.isalpha() and country.isupper()):
            raise not_found(request)
        size = page_size(request)
        passes = tests(_checked(self.spec, self.path, request.query_params), self.toll_free)
        found: list[dict[str, Any]] = []
        if country == "US" and passes is not None:
            with self.sandbox.store.lock:
                for number in self.offered():
                    if len(found) == size:
                        break
                    if all(test(number) for test in passes):
                        found.append(render(number, self.toll_free))
        query = request.url.query
        uri = request.url.path + ("?" + query if query else "")
        return JSONResponse({"available_phone_numbers": found, "uri": uri})


def routes(sandbox: Host) -> list[Route]:
    return [
        Route(LOCAL, Search(sandbox, LOCAL, LOCAL_AREA_CODES).answer, methods=["GET"]),
        Route(TOLL_FREE, Search(sandbox, TOLL_FREE, TOLL_FREE_AREA_CODES).answer, methods=["GET"]),
    ]
