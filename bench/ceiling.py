"""The bare-stack ceiling: a minimal Starlette endpoint on uvicorn returning a constant legacy body.

python bench/ceiling.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse><OutgoingCallerId>'
    b"<Sid>PNeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee</Sid><AccountSid>ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</AccountSid>"
    b"<FriendlyName>(415) 555-0007</FriendlyName><PhoneNumber>4155550007</PhoneNumber>"
    b"<DateCreated>Fri, 21 Aug 2009 00:11:24 +0000</DateCreated>"
    b"<DateUpdated>Fri, 21 Aug 2009 00:11:24 +0000</DateUpdated></OutgoingCallerId></TwilioResponse>\n"
)


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/xml")


app = Starlette(routes=[Route("/{path:path}", constant, methods=["GET", "POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
