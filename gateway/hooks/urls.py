"""Hook URLs: where Twilio calls the gateway back instead of the tenant's app.

``{base_url}/hooks/{kind}/{token}``. The token is a Fernet token (``cryptography``: AES-128-CBC, then an
HMAC-SHA256 tag over version, time, IV and ciphertext), url-safe base64 without padding, of the hook as
a JSON array. Encrypted, not only signed: an app URL may carry ``user:pass@``, and hook URLs end up in
Twilio's logs, access logs and HAR files. Stateless: nothing is stored, any replica holding one of the
keys opens any token. The first key mints; every key opens (``MultiFernet``), so keys rotate by
putting the new one first and dropping the old one once no call or number uses it.

:meth:`HookKeys.open` never raises: a forged, truncated, oversize, re-kinded or otherwise malformed
path is ``None``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_TOKEN = 4096
"""Characters of token accepted at most (a hook of a 2,000-character URL takes about 2,800)."""
SEGMENT = "hooks"
_FORMAT = 1
_INFO = b"gateway hook urls v1"
_METHODS = ("GET", "POST")


class Kind(StrEnum):
    VOICE = "voice"
    VOICE_FALLBACK = "voice-fallback"
    STATUS = "status"
    """The call's status callback."""
    GATHER = "gather"
    RECORD = "record"
    DIAL = "dial"
    TRANSCRIBE = "transcribe"
    REDIRECT = "redirect"
    """A ``<Redirect>`` target (or a ``<Conference waitUrl>``): a voice request."""
    SMS = "sms"
    SMS_FALLBACK = "sms-fallback"
    SMS_STATUS = "sms-status"
    SMS_ACTION = "sms-action"


KINDS = frozenset(kind.value for kind in Kind)


@dataclass(frozen=True)
class Hook:
    kind: str
    account: str
    url: str = field(repr=False)
    """The app's absolute URL, as the tenant gave it (credentials included: kept out of ``repr``)."""
    method: str = "POST"
    extra: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """May carry app URLs too (``call_url``): also kept out of ``repr``."""

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``extra`` under ``name``."""
        return next((value for key, value in self.extra if key == name), default)


def _fernet(secret: str) -> Fernet:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


class HookKeys:
    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("hook keys: at least one non-empty secret is needed")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    @classmethod
    def generate(cls) -> HookKeys:
        return cls([secrets.token_urlsafe(32)])

    def mint(self, base_url: str, hook: Hook) -> str:
        if hook.kind not in KINDS:
            raise ValueError(f"unknown hook kind {hook.kind!r}")
        method = hook.method.upper()
        if method not in _METHODS:
            raise ValueError(f"hook method must be GET or POST, not {hook.method!r}")
        payload = [_FORMAT, hook.kind, hook.account, hook.url, method, [list(pair) for pair in hook.extra]]
        token = self._fernet.encrypt(orjson.dumps(payload)).decode().rstrip("=")
        return f"{base_url.rstrip('/')}/{SEGMENT}/{hook.kind}/{token}"

    def open(self, path: str) -> Hook | None:
        try:
            return self._open(path)
        except Exception:  # hostile input of any shape is "not a hook", never an error
            return None

    def _open(self, path: str) -> Hook | None:
        parts = _parts(path)
        if parts is None:
            return None
        kind, token = parts
        padded = token + "=" * (-len(token) % 4)
        try:
            payload = orjson.loads(self._fernet.decrypt(padded.encode("ascii")))
        except (InvalidToken, binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError):
            return None
        return _hook(payload, kind)


def _parts(path: str) -> tuple[str, str] | None:
    """``(kind, token)`` from a path or URL ending ``/hooks/{kind}/{token}``; query and fragment ignored."""
    if not isinstance(path, str):
        return None
    path = path.split("#", 1)[0].split("?", 1)[0]
    segments = path.split("/")
    if len(segments) < 3 or segments[-3] != SEGMENT:
        return None
    kind, token = segments[-2], segments[-1]
    if kind not in KINDS or not token or len(token) > MAX_TOKEN:
        return None
    return kind, token


def _hook(payload: object, kind: str) -> Hook | None:
    if not isinstance(payload, list) or len(payload) != 6 or payload[0] != _FORMAT:
        return None
    _, minted_kind, account, url, method, extra = payload
    if minted_kind != kind or method not in _METHODS:
        return None
    if not (isinstance(account, str) and isinstance(url, str) and isinstance(extra, list)):
        return None
    pairs: list[tuple[str, str]] = []
    for pair in extra:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            return None
        pairs.append((pair[0], pair[1]))
    return Hook(kind=kind, account=account, url=url, method=method, extra=tuple(pairs))


def is_hook_url(url: str, base_url: str) -> bool:
    """Whether ``url`` has the shape of a hook URL under ``base_url`` (not whether it opens)."""
    prefix = base_url.rstrip("/") + "/" + SEGMENT + "/"
    if not url.startswith(prefix):
        return False
    return _parts(url) is not None and url.split("?", 1)[0].count("/") == prefix.count("/") + 1
