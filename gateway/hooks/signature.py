"""Request signatures, both ways: ``X-Twilio-Signature`` on Twilio's callbacks (checked) and on the
gateway's requests to the legacy app (made, the 2008 way; the algorithm has not changed since).

The signed string is the full URL as requested, query included, then for a POST every form parameter's
name and value, sorted by name, without separators; HMAC-SHA1 with the account's auth token, base64.

Checking, the URL is tried as given, without its port and with the scheme's default port added:
Twilio signs some callbacks with the port and some without (its helper libraries try both).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def expected(url: str, params: Mapping[str, str] | None, token: str) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params)) if params else url
    digest = hmac.new(token.encode(), signed.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid(url: str, params: Mapping[str, str] | None, token: str, signature: str | None) -> bool:
    if not signature or not token:
        return False
    given = signature.strip().encode("utf-8", "replace")
    found = False
    for candidate in _spellings(url):
        # Every spelling is compared, so the time taken does not tell which one matched.
        found |= hmac.compare_digest(expected(candidate, params, token).encode("ascii"), given)
    return found


def _spellings(url: str) -> list[str]:
    """``url``, then without its port, then with the scheme's default port (when it had none)."""
    spellings = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return spellings
    host = parts.netloc.rpartition("@")
    userinfo = host[0] + host[1]
    hostport = host[2]
    if port is not None:
        bare = hostport[: hostport.rfind(":")]
        spellings.append(parts._replace(netloc=userinfo + bare).geturl())
    elif parts.scheme in _DEFAULT_PORTS and hostport:
        with_port = f"{hostport}:{_DEFAULT_PORTS[parts.scheme]}"
        spellings.append(parts._replace(netloc=userinfo + with_port).geturl())
    return spellings
