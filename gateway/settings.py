"""One typed settings object, read from ``GATEWAY_*`` environment variables; CLI flags override them.

Every setting is declared once in :data:`SPECS` (name, type, default, meaning); the README table and the
CLI flags are generated from the same list, so the three cannot drift apart. An invalid value fails at
start with one line naming the setting (:class:`ConfigError`), never at the first request.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.settings_values import (
    CREDENTIALS_SYNTAX,
    ClientCredential,
    Secret,
    _account_tokens,
    _bool,
    _cache_url,
    _callback_seconds,
    _choice,
    _credential_pairs,
    _fraction,
    _hosts,
    _networks,
    _non_negative_int,
    _non_negative_seconds,
    _opt_port,
    _opt_positive_int,
    _opt_url,
    _port,
    _positive_int,
    _region,
    _seconds,
    _secret,
    _secret_list,
    _text,
    _url,
)

__all__ = [
    "CREDENTIALS_SYNTAX",
    "SPECS",
    "ClientCredential",
    "ConfigError",
    "Secret",
    "Settings",
    "Spec",
]


class ConfigError(ValueError):
    def __init__(self, env: str, message: str) -> None:
        super().__init__(f"invalid configuration: {env}: {message}")
        self.env = env


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
    Spec(
        "breaker_cooldown",
        _seconds,
        "30",
        "Longest wait of an open breaker before probe calls, seconds (the wait starts at 0.5 s and doubles).",
    ),
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
    Spec(
        "list_count_concurrency",
        _positive_int,
        "16",
        "Upstream pages of one list counted at once (date ranges, statuses).",
    ),
    Spec("list_max_pages", _positive_int, "20000", "Upstream pages one list walk may read at most (502)."),
    Spec(
        "deleted_notification_days",
        _positive_int,
        "400",
        "Days a notification deleted through the gateway stays hidden (2010 cannot delete one, so the "
        "deletion is the gateway's, kept in the list store); no shorter than the upstream keeps one.",
    ),
    Spec(
        "client_timeout",
        _seconds,
        "30",
        "Seconds a client has to send a request's headers (from its first byte, or from connecting), "
        "and again its body; past them 408 (or, before any byte, the connection is closed).",
    ),
    Spec(
        "max_connections",
        _opt_positive_int,
        "",
        "Open client connections per process; one more is answered 503 and closed at once "
        "(unset: the file-descriptor limit less room for upstream connections).",
    ),
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
    Spec(
        "csv_formula_escape",
        _bool,
        "false",
        "CSV answers: a cell that begins with =, +, -, @, a tab or a carriage return (and is not a plain "
        "number) gets a ' in front and quotes, so spreadsheets do not run it (OWASP); off keeps 2008's "
        "bytes.",
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
    Spec(
        "public_url",
        _opt_url,
        "",
        "Callbacks: the gateway as Twilio reaches it; app URLs become hook URLs under it (unset: off).",
    ),
    Spec(
        "hook_keys",
        _secret_list,
        "",
        "Callbacks: secrets (16+ characters) encrypting hook URLs; the first mints, all open (rotation).",
        secret=True,
    ),
    Spec(
        "callback_accounts",
        _account_tokens,
        "",
        "Callbacks: AccountSid:AuthToken pairs of the accounts wrapped, besides the sidecar's own.",
        secret=True,
    ),
    Spec("callback_extra", _choice("drop", "keep"), "drop", "Callbacks: 2010-only parameters for the app."),
    Spec("callback_timeout", _callback_seconds, "10", "Callbacks: seconds the legacy app has to answer."),
    Spec(
        "callback_hosts",
        _networks,
        "",
        "Callbacks: app hosts allowed although loopback or private (names, addresses, networks).",
    ),
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
    list_count_concurrency: int = 16
    list_max_pages: int = 20_000
    deleted_notification_days: int = 400
    client_timeout: float = 30.0
    max_connections: int | None = None
    max_body_bytes: int = 1_048_576
    max_upstream_body_bytes: int = 16_777_216
    max_url_bytes: int = 8192
    max_header_bytes: int = 16384
    gzip_min_bytes: int = 4096
    csv_formula_escape: bool = False
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
    public_url: str | None = None
    hook_keys: tuple[Secret, ...] = ()
    callback_accounts: tuple[ClientCredential, ...] = field(default=())
    callback_extra: str = "drop"
    callback_timeout: float = 10.0
    callback_hosts: tuple[str, ...] = ()

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
        if self.public_url and not self.hook_keys and not self.sandbox:
            raise ConfigError("GATEWAY_HOOK_KEYS", "GATEWAY_PUBLIC_URL needs at least one hook key")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)
