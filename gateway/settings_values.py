"""The value types and parsers behind :data:`gateway.settings.SPECS`: one raw string in, one typed value out.

A parser raises :class:`ValueError` with a message that never repeats the value (it may hold a secret);
:meth:`gateway.settings.Settings.load` names the setting around it.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import urlsplit

import phonenumbers


class Secret:
    """A value that prints as ``****`` wherever it ends up (repr, str, f-strings, logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials in the URL")
    return value.rstrip("/")


def _opt_url(value: str) -> str | None:
    return _url(value) if value else None


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a whole number of at least 0")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return number


def _opt_positive_int(value: str) -> int | None:
    return _positive_int(value) if value.strip() else None


def _opt_port(value: str) -> int | None:
    return _port(value) if value.strip() else None


def _seconds(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be a number of seconds above 0")
    return number


CALLBACK_TIMEOUT_LIMIT = 15.0
"""Seconds Twilio waits for an answer to a callback; the app must answer the gateway within them."""


def _callback_seconds(value: str) -> float:
    number = _seconds(value)
    if number >= CALLBACK_TIMEOUT_LIMIT:
        raise ValueError(f"must be below {CALLBACK_TIMEOUT_LIMIT:g} seconds (Twilio's own wait)")
    return number


def _non_negative_seconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must be a number of seconds of at least 0")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be a fraction from 0 to 1")
    return number


def _region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region that phonenumbers knows, e.g. US")
    return region


class _choice:
    """One of a fixed set of words (case-insensitive); ``options`` feeds the CLI help."""

    def __init__(self, *options: str) -> None:
        self.options = options

    def __call__(self, value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in self.options:
            raise ValueError("must be one of " + ", ".join(self.options))
        return lowered


def _secret(value: str) -> Secret | None:
    return Secret(value) if value else None


class ClientCredential(NamedTuple):
    """One allow-listed client credential and the accounts it may act for (its own sid first)."""

    sid: str
    token: Secret
    accounts: tuple[str, ...]


_ACCOUNT_SID = re.compile(r"AC[0-9A-Za-z]{32}")  # as loose as before: AC and 32 more
CREDENTIALS_SYNTAX = "AccountSid[+SubaccountSid…]:AuthToken"


def _credential_pairs(value: str) -> tuple[ClientCredential, ...]:
    """``AC…:token`` or ``AC…+ACsub…+ACsub…:token``, comma-separated. The accounts go before the first
    ``:``, where a sid cannot reach: the token after it is free text (it may hold ``:`` or ``+``)."""
    items = [part.strip() for part in value.split(",")]
    credentials = []
    for position, item in enumerate(filter(None, items), 1):
        accounts, sep, token = item.partition(":")
        sids = tuple(accounts.split("+"))
        if not sep or not token or not all(_ACCOUNT_SID.fullmatch(sid) for sid in sids):
            # Never the value itself: it holds tokens.
            raise ValueError(f"entry {position} is not {CREDENTIALS_SYNTAX} (entries are comma-separated)")
        credentials.append(ClientCredential(sids[0], Secret(token), tuple(dict.fromkeys(sids))))
    return tuple(credentials)


def _cache_url(value: str) -> Secret | None:
    """A Redis URL may carry a password: kept as a :class:`Secret`."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError("must be a redis://host:port/db URL") from None
    return Secret(value)


def _hosts(value: str) -> tuple[str, ...]:
    hosts = tuple(filter(None, (part.strip().lower() for part in value.split(","))))
    for host in hosts:
        name, _, port = host.partition(":")
        bare = name[2:] if name.startswith("*.") else name
        if not bare or "/" in host or "*" in bare or "@" in host or (port and not port.isdigit()):
            raise ValueError("must be comma-separated host names (media.example.com, *.example.com)")
    return hosts


def _text(value: str) -> str | None:
    return value or None


def _secret_list(value: str) -> tuple[Secret, ...]:
    """Comma-separated secrets, each at least 16 characters (hook keys: the first one mints)."""
    secrets = tuple(Secret(part.strip()) for part in value.split(",") if part.strip())
    if any(len(secret.get()) < 16 for secret in secrets):
        raise ValueError("every key must be at least 16 characters (comma-separated)")
    return secrets


def _account_tokens(value: str) -> tuple[ClientCredential, ...]:
    """``AC…:token`` pairs, comma-separated, as :func:`_credential_pairs` reads them; one account per entry
    (a subaccount signs with its own token)."""
    credentials = _credential_pairs(value)
    for position, credential in enumerate(credentials, 1):
        if len(credential.accounts) > 1:
            raise ValueError(f"entry {position} names more than one account (one AccountSid:AuthToken each)")
    return credentials


def _networks(value: str) -> tuple[str, ...]:
    """Comma-separated host names and IP addresses or networks (``10.0.0.0/8``)."""
    entries = []
    for part in filter(None, (item.strip().lower() for item in value.split(","))):
        try:
            entries.append(str(ipaddress.ip_network(part.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        if not re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", part):
            raise ValueError("must be comma-separated host names or networks (10.0.0.0/8)")
        entries.append(part.rstrip("."))
    return tuple(entries)
