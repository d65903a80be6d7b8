"""What every sandbox endpoint shares: Twilio's JSON error, and the form body, sids and paging
parameters read as the API reads them."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {
                "code": self.code,
                "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status,
            },
            status_code=self.status,
        )


LISTS = frozenset({"StatusCallbackEvent", "RecordingStatusCallbackEvent"})
"""Parameters the API takes as lists (repeated): their values are kept, separated by spaces."""


async def read_form(request: Request) -> dict[str, str]:
    """A form-urlencoded body (the only kind the API takes); the last value of a name wins, except for
    the list parameters (:data:`LISTS`)."""
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise ApiError(400, 20001, "The request body is not valid UTF-8") from None
    form = dict(pairs)
    for name in LISTS & form.keys():
        form[name] = " ".join(value for key, value in pairs if key == name)
    return form


def not_found(request: Request) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {request.url.path} was not found")


def check_sid(value: str, prefix: str, request: Request) -> None:
    tail = value[2:]
    if (
        len(value) != 34
        or not value.startswith(prefix)
        or not all(c in "0123456789abcdefABCDEF" for c in tail)
    ):
        raise not_found(request)


def page_size(request: Request) -> int:
    raw = request.query_params.get("PageSize", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(400, 20001, "PageSize must be an integer between 1 and 1000")
    return int(raw)


def page_index(request: Request) -> int:
    raw = request.query_params.get("Page", "0")
    if not raw.isdigit():
        raise ApiError(400, 20001, "Page must be a non-negative integer")
    return int(raw)
