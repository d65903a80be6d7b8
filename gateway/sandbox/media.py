"""Recording audio at 2010's media URLs — ``/Recordings/{Sid}`` and ``.wav`` as ``audio/x-wav``, ``.mp3``
as ``audio/mpeg`` — outside the spec (which has only the JSON), generated as it is read (:mod:`.audio`),
with ``Content-Length``, ``Accept-Ranges`` and single ``Range`` requests (206, or 416). Those URLs are
public (no credentials asked, none checked) unless the account enforces HTTP auth on its media
(``media_auth``): then they need the account's credentials, as every other endpoint does. With
``media_redirect`` set, those URLs answer ``302`` to ``{media_redirect}/storage/{token}.{ext}`` instead,
a storage URL that needs no credentials, as the real API may; the storage route remembers whether
credentials came.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from . import audio
from .api import not_found
from .recordings import Recordings, seconds_of
from .voice import Entry

_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(header: str | None, total: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``bytes=`` range; ``None`` for the whole body.
    Raises ``ValueError`` for a range that cannot be satisfied."""
    if not header:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None or (not found.group(1) and not found.group(2)):
        return None  # not a single byte range: ignored, as RFC 9110 allows
    first, last = found.group(1), found.group(2)
    if not first:
        start, end = max(0, total - int(last)), total
    else:
        start, end = int(first), min(total, int(last) + 1) if last else total
    if start >= total or start >= end:
        raise ValueError(header)
    return start, end


def serve(item: Entry, kind: audio.Kind, header: str | None) -> Response:
    seconds = seconds_of(item)
    total = audio.size(kind, seconds)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{item.sid}-{kind}"'}
    try:
        wanted = _byte_range(header, total)
    except ValueError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{total}"})
    start, end = wanted or (0, total)
    body: Iterator[bytes] = audio.piece(kind, seconds, start, end)
    headers["Content-Length"] = str(end - start)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    return StreamingResponse(body, status_code=status, headers=headers, media_type=audio.CONTENT_TYPES[kind])


def media_routes(sandbox: Any) -> list[Route]:
    """The recordings' audio: at 2010's URLs, public or authenticated, or (redirected) at a storage URL."""
    recordings: Recordings = sandbox.recordings
    enforced: frozenset[str] = sandbox.config.media_auth

    def handler(kind: audio.Kind) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            account = request.path_params["AccountSid"]
            if account in enforced:
                sandbox.authenticate(request, account)
            sid = request.path_params["Sid"]
            with sandbox.store.lock:
                recordings.refresh()
                item = recordings.find(account, sid) if _SID.fullmatch(sid) else None
            if item is None:
                raise not_found(request)
            if recordings.media_redirect:
                token = recordings.token(item)
                return RedirectResponse(f"{recordings.media_redirect}/storage/{token}.{kind}", 302)
            return serve(item, kind, request.headers.get("range"))

        return endpoint

    async def storage(request: Request) -> Response:
        token, kind = request.path_params["token"], request.path_params["kind"]
        recordings.storage_requests.append((request.url.path, "authorization" in request.headers))
        with sandbox.store.lock:
            item = recordings.by_token(token)
        if item is None or kind not in ("wav", "mp3"):
            raise not_found(request)
        return serve(item, kind, request.headers.get("range"))

    base = "/2010-04-01/Accounts/{AccountSid}/Recordings/"
    return [
        Route(base + "{Sid}.wav", handler("wav"), methods=["GET"]),
        Route(base + "{Sid}.mp3", handler("mp3"), methods=["GET"]),
        Route(base + "{Sid}", handler("wav"), methods=["GET"]),
        Route("/storage/{token}.{kind}", storage, methods=["GET"]),
    ]
