"""One typed settings object, read from ``GATEWAY_*`` environment variables; CLI flags override them.

Every setting is declared once in :data:`SPECS` (name, type, default, meaning); the README table and the
CLI flags are generated from the same list, so the three cannot drift apart. An invalid value fails at
start with one line naming the setting (:class:`ConfigError`), never at the first request.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import phonenumbers


class ConfigError(ValueError):
    def __init__(self, env: str, message: str) -> None:
        super().__init__(f"invalid configuration: {env}: {message}")
        self.env = env


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


def _opt_port(value: str) -> int | None:
    return _port(value) if value.strip() else None


def _seconds(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be a number of seconds above 0")
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


@dataclass(frozen=True)
class Spec:
    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    secret: bool = False
    """Its value never appears in an error message."""

    @property
    def env(self) -> str:
        return "GATEWAY_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SPECS: tuple[Spec, ...] = (
    Spec("host", str, "127.0.0.1", "Address to bind."),
    Spec("port", _port, "8080", "Port to bind."),
    Spec("workers", _positive_int, "1", "Worker processes (uvicorn); one per CPU core."),
    Spec("ssl_certfile", _text, "", "Serve HTTPS with this PEM certificate (chain); needs --ssl-keyfile."),
    Spec("ssl_keyfile", _text, "", "PEM private key of --ssl-certfile."),
    Spec("upstream", _url, "https://api.twilio.com", "Base URL of the 2010-04-01 API."),
    Spec("trunking_upstream", _url, "https://trunking.twilio.com", "Base URL of Trunking v1."),
    Spec(
        "legacy_upstream",
        _opt_url,
        "",
        "A provider still serving 2008-08-01: undeclared legacy paths are forwarded there unchanged.",
    ),
    Spec("sandbox", _bool, "false", "Run the embedded sandbox upstream and point both hosts at it."),
    Spec("sandbox_port", _port, "0", "Loopback port of the embedded sandbox (0: any free port, printed)."),
    Spec(
        "upstream_client",
        _choice("fast", "httpx"),
        "fast",
        "Upstream HTTP client: fast (pyreqwest) or httpx (see docs/performance.md).",
    ),
    Spec(
        "media_hosts",
        _hosts,
        "",
        "Hosts the upstream may redirect recording audio to (comma-separated; *.example.com for "
        "subdomains); credentials are never sent there.",
    ),
    Spec("connect_timeout", _seconds, "5", "Upstream connect timeout, seconds."),
    Spec("read_timeout", _seconds, "30", "Upstream read timeout, seconds."),
    Spec("total_timeout", _seconds, "60", "Upstream deadline for one legacy request, seconds."),
    Spec("pool_max_connections", _positive_int, "100", "Upstream requests in flight at once (pool size)."),
    Spec("pool_max_keepalive", _positive_int, "50", "Idle upstream keep-alive connections."),
    Spec("retries", _non_negative_int, "2", "Retries of idempotent upstream calls (GET, DELETE)."),
    Spec("retry_backoff", _non_negative_seconds, "0.1", "First retry delay, seconds (doubles)."),
    Spec("retry_max_backoff", _non_negative_seconds, "2", "Largest retry delay, seconds."),
    Spec("breaker_threshold", _positive_int, "5", "Consecutive failures that open the breaker."),
    Spec("breaker_cooldown", _seconds, "30", "Seconds an open breaker waits before a trial call."),
    Spec(
        "list_cache_ttl",
        _non_negative_seconds,
        "30",
        "Seconds a list view (a walk's block cursors and count) serves later pages after its last use; "
        "0: every page counts afresh.",
    ),
    Spec("list_cache_max_lists", _positive_int, "256", "List views kept at most in process."),
    Spec(
        "list_cache_max_items",
        _positive_int,
        "20000",
        "Items of recently read list blocks kept in process (whole lists are never kept).",
    ),
    Spec(
        "cache_url",
        _cache_url,
        "",
        "redis://host:port/db: list views, cursors and counts shared by replicas (default: in process).",
    ),
    Spec(
        "list_count_timeout",
        _seconds,
        "40",
        "Seconds a request may spend counting a list; past it the page is answered with the count so far "
        "and one more page.",
    ),
    Spec("list_count_concurrency", _positive_int, "8", "Date ranges of one list counted at once."),
    Spec("list_max_pages", _positive_int, "20000", "Upstream pages one list walk may read at most (502)."),
    Spec("max_body_bytes", _positive_int, "1048576", "Largest request body (413 above)."),
    Spec(
        "max_upstream_body_bytes",
        _positive_int,
        "16777216",
        "Largest upstream answer body read (502 above); bodies are never inflated.",
    ),
    Spec("max_url_bytes", _positive_int, "8192", "Longest request URL (414 above)."),
    Spec("max_header_bytes", _positive_int, "16384", "Largest request header block (431 above)."),
    Spec(
        "gzip_min_bytes",
        _non_negative_int,
        "4096",
        "Gzip answers of at least this many bytes for clients that accept gzip (0: never).",
    ),
    Spec("phone_region", _region, "US", "Region for numbers written without a country code."),
    Spec("log_level", _choice("debug", "info", "warning", "error"), "info", "Log level."),
    Spec("log_format", _choice("json", "text"), "json", "Access and error log format."),
    Spec("access_log", _bool, "true", "One access-log line per request."),
    Spec(
        "otel",
        _bool,
        "false",
        "Export OpenTelemetry traces (needs the otel extra; exporter set by the OTEL_* variables).",
    ),
    Spec(
        "upstream_account_sid",
        _text,
        "",
        "Sidecar mode: AccountSid (or API key sid) the gateway uses upstream instead of the client's.",
    ),
    Spec("upstream_auth_token", _secret, "", "Sidecar mode: the matching secret.", secret=True),
    Spec(
        "client_credentials",
        _credential_pairs,
        "",
        "Sidecar mode: the AccountSid:AuthToken pairs clients must present (comma-separated); "
        "AC…+ACsub…:token also lets that credential act for the subaccounts listed.",
        secret=True,
    ),
    Spec("readiness_timeout", _seconds, "2", "Upstream probe timeout for /readyz, seconds."),
    Spec("readiness_cache", _non_negative_seconds, "5", "Seconds a /readyz answer is reused."),
    Spec(
        "health_port",
        _opt_port,
        "",
        "Port of a second listener serving only /healthz, /readyz and /metrics (unset: none).",
    ),
    Spec("health_host", str, "127.0.0.1", "Address of that listener (0.0.0.0 for probes from outside)."),
    Spec("shutdown_timeout", _seconds, "20", "Seconds in-flight requests get after SIGTERM."),
    Spec("record", _text, "", "HAR file that every legacy exchange is appended to."),
    Spec("record_max_bytes", _positive_int, "104857600", "Rotate the HAR file above this size."),
    Spec("shadow_legacy_upstream", _opt_url, "", "Legacy provider that GETs are shadowed to."),
    Spec("shadow_sample", _fraction, "0.1", "Fraction of GETs shadowed."),
    Spec("shadow_timeout", _seconds, "10", "Timeout of one shadow call, seconds."),
    Spec("shadow_max_in_flight", _positive_int, "16", "Shadow calls at once; more sampled GETs are skipped."),
    Spec("shadow_log", _text, "", "File the shadow differences are appended to (JSON lines)."),
)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    upstream: str = "https://api.twilio.com"
    trunking_upstream: str = "https://trunking.twilio.com"
    legacy_upstream: str | None = None
    sandbox: bool = False
    sandbox_port: int = 0
    upstream_client: str = "fast"
    media_hosts: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    pool_max_connections: int = 100
    pool_max_keepalive: int = 50
    retries: int = 2
    retry_backoff: float = 0.1
    retry_max_backoff: float = 2.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    list_cache_ttl: float = 30.0
    list_cache_max_lists: int = 256
    list_cache_max_items: int = 20_000
    cache_url: Secret | None = None
    list_count_timeout: float = 40.0
    list_count_concurrency: int = 8
    list_max_pages: int = 20_000
    max_body_bytes: int = 1_048_576
    max_upstream_body_bytes: int = 16_777_216
    max_url_bytes: int = 8192
    max_header_bytes: int = 16384
    gzip_min_bytes: int = 4096
    phone_region: str = "US"
    log_level: str = "info"
    log_format: str = "json"
    access_log: bool = True
    otel: bool = False
    upstream_account_sid: str | None = None
    upstream_auth_token: Secret | None = None
    client_credentials: tuple[ClientCredential, ...] = field(default=())
    readiness_timeout: float = 2.0
    readiness_cache: float = 5.0
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    shutdown_timeout: float = 20.0
    record: str | None = None
    record_max_bytes: int = 104_857_600
    shadow_legacy_upstream: str | None = None
    shadow_sample: float = 0.1
    shadow_timeout: float = 10.0
    shadow_max_in_flight: int = 16
    shadow_log: str | None = None

    @classmethod
    def load(cls, env: Mapping[str, str], overrides: Mapping[str, str | None] | None = None) -> Settings:
        """Environment first, then CLI overrides (raw strings, ``None`` = not given)."""
        values: dict[str, Any] = {}
        for spec in SPECS:
            raw = env.get(spec.env, spec.default)
            source = spec.env
            if overrides is not None and overrides.get(spec.name) is not None:
                raw, source = str(overrides[spec.name]), spec.flag
            try:
                values[spec.name] = spec.parse(raw)
            except ValueError as exc:
                message = str(exc) if not str(exc).startswith("invalid literal") else "not a number"
                if "could not convert" in message:
                    message = "not a number"
                shown = "(value hidden)" if spec.secret or "@" in raw else repr(raw)
                raise ConfigError(source, f"{shown} {message}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def __post_init__(self) -> None:
        # (sid, token) pairs, as Settings took before subaccounts, bind to their own account.
        credentials = tuple(
            entry
            if isinstance(entry, ClientCredential)
            else ClientCredential(entry[0], entry[1], (entry[0],))
            for entry in self.client_credentials
        )
        object.__setattr__(self, "client_credentials", credentials)

    def check(self) -> None:
        if bool(self.upstream_account_sid) != bool(self.upstream_auth_token):
            raise ConfigError(
                "GATEWAY_UPSTREAM_AUTH_TOKEN",
                "credential injection needs both GATEWAY_UPSTREAM_ACCOUNT_SID and the token",
            )
        if self.upstream_account_sid and not self.client_credentials:
            raise ConfigError(
                "GATEWAY_CLIENT_CREDENTIALS",
                "credential injection needs the client allow-list, or anyone could use the account",
            )
        if self.health_port is not None and self.workers > 1:
            raise ConfigError("GATEWAY_HEALTH_PORT", "needs GATEWAY_WORKERS=1 (metrics are per process)")
        if self.health_port is not None and self.health_port == self.port != 0:
            raise ConfigError("GATEWAY_HEALTH_PORT", "must differ from GATEWAY_PORT")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ConfigError("GATEWAY_SSL_KEYFILE", "HTTPS needs both GATEWAY_SSL_CERTFILE and the key")
        for env, path in (
            ("GATEWAY_SSL_CERTFILE", self.ssl_certfile),
            ("GATEWAY_SSL_KEYFILE", self.ssl_keyfile),
        ):
            if path and not os.path.isfile(path):
                raise ConfigError(env, f"{path!r} is not a readable file")
        if self.connect_timeout > self.total_timeout or self.read_timeout > self.total_timeout:
            raise ConfigError("GATEWAY_TOTAL_TIMEOUT", "must not be shorter than the other timeouts")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)
