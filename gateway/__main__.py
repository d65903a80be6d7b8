"""The command line: ``python -m gateway serve|sandbox|replay``. A public contract: extend, never rename.

serve    run the gateway (``--sandbox`` also runs the embedded sandbox and points both upstream
         hosts at it); every flag also reads its ``GATEWAY_*`` environment variable
sandbox  run the sandbox upstream alone
replay   replay a recorded HAR against a gateway and diff the answers semantically
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import uvicorn

from gateway.cli import build_parser
from gateway.settings import SPECS, ClientCredential, ConfigError, Secret, Settings

WORKER_APP = "gateway.edge.app:app_from_env"
"""What each worker process imports (``--workers`` over 1): settings from the environment."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def start_server_thread(
    app: Any,
    host: str,
    port: int,
    *,
    access_log: bool,
    lifespan: Literal["on", "off"] = "off",
    **options: Any,
) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve ``app`` from a thread of this process, with its own event loop; returns its base URL.
    ``options`` go to ``uvicorn.Config``."""
    sock = bind(host, port)
    config = uvicorn.Config(app, log_level="warning", access_log=access_log, lifespan=lifespan, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("gateway: a server could not start")
        time.sleep(0.01)
    return f"http://{host}:{sock.getsockname()[1]}", server, thread


def latency_ms(given: float | None, env: dict[str, str]) -> float:
    value = given if given is not None else float(env.get("SANDBOX_LATENCY_MS", "0") or 0)
    if value < 0:
        raise ValueError("SANDBOX_LATENCY_MS must be a number of milliseconds of at least 0")
    return value


def start_sandbox_thread(host: str, port: int, env: dict[str, str], *, access_log: bool) -> str:
    from gateway.sandbox import config_from_env, create_sandbox
    from gateway.sandbox.latency import with_latency

    app = with_latency(create_sandbox(config_from_env(env)), latency_ms(None, env))
    base, _, _ = start_server_thread(app, host, port, access_log=access_log)
    return base


@contextlib.contextmanager
def embedded_gateway() -> Iterator[str]:
    """A fresh sandbox and a gateway on it, both on free loopback ports, for as long as the block runs."""
    from gateway.edge.app import create_app

    env = dict(os.environ)
    sandbox = start_sandbox_thread("127.0.0.1", 0, env, access_log=False)
    settings = Settings.load({}).replace(upstream=sandbox, trunking_upstream=sandbox, access_log=False)
    base, server, thread = start_server_thread(
        create_app(settings), "127.0.0.1", 0, access_log=False, lifespan="on"
    )
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


def sandbox_account(env: dict[str, str]) -> tuple[str, str]:
    """The embedded sandbox's account sid and auth token: ``SANDBOX_*``, else the built-in ones."""
    from gateway.sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    sid = env.get("SANDBOX_ACCOUNT_SID", DEFAULT_ACCOUNT_SID)
    return sid, env.get("SANDBOX_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)


def print_credentials(env: dict[str, str]) -> None:
    from gateway.sandbox import DEFAULT_AUTH_TOKEN

    sid, token = sandbox_account(env)
    if token != DEFAULT_AUTH_TOKEN:  # an operator's own token is never echoed
        token = "****"
    print(f"sandbox credentials: SANDBOX_ACCOUNT_SID={sid} SANDBOX_AUTH_TOKEN={token}", flush=True)


LOOPBACK = ("127.0.0.0/8", "::1/128", "localhost")


def sandbox_callbacks(settings: Settings, env: dict[str, str]) -> Settings:
    """Callbacks with no setting against the sandbox: the public URL is the gateway's own address, a
    hook key is made at start, the sandbox account's token is known, apps on loopback are allowed.
    What the operator set is kept."""
    sid, token = sandbox_account(env)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.ssl_certfile else "http"
    accounts = settings.callback_accounts
    if all(credential.sid != sid for credential in accounts):
        accounts = (*accounts, ClientCredential(sid, Secret(token), (sid,)))
    return settings.replace(
        public_url=settings.public_url or f"{scheme}://{host}:{settings.port}",
        hook_keys=settings.hook_keys or (Secret(secrets.token_urlsafe(32)),),
        callback_accounts=accounts,
        callback_hosts=tuple(dict.fromkeys((*settings.callback_hosts, *LOOPBACK))),
    )


def serve(args: argparse.Namespace) -> int:
    overrides = {spec.name: getattr(args, spec.name) for spec in SPECS}
    env = dict(os.environ)
    try:
        settings = Settings.load(env, overrides)
        if settings.otel:
            from gateway.tracing import require

            require()
    except ConfigError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    from gateway.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    if settings.sandbox:
        base = start_sandbox_thread("127.0.0.1", settings.sandbox_port, env, access_log=False)
        settings = sandbox_callbacks(settings.replace(upstream=base, trunking_upstream=base), env)
        print_credentials(env)
        print(f"sandbox upstream: {base}", flush=True)
        print(
            f"callbacks: hook URLs under {settings.public_url}/hooks/ (apps on loopback allowed)", flush=True
        )
    scheme = "https" if settings.ssl_certfile else "http"
    print(f"gateway: {scheme}://{settings.host}:{settings.port}/2008-08-01/", flush=True)
    run_gateway(settings)
    return 0


def run_gateway(settings: Settings) -> None:
    from gateway.edge import app as app_module
    from gateway.edge.protocol import protocol

    common = {
        "http": protocol(settings),
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout,
        "server_header": False,
        "proxy_headers": False,
        "ssl_certfile": settings.ssl_certfile,
        "ssl_keyfile": settings.ssl_keyfile,
    }
    if settings.workers > 1:
        os.environ.update(app_module.settings_to_env(settings))
        uvicorn.run(
            WORKER_APP,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            **common,  # type: ignore[arg-type]
        )
        return
    if settings.health_port is not None:
        from gateway.health import serve as serve_with_health

        app = app_module.create_app(settings)
        app_module.settle_heap()
        serve_with_health(app, settings, common)
        return
    app = app_module.create_app(settings)
    app_module.settle_heap()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        **common,  # type: ignore[arg-type]
    )


def sandbox(args: argparse.Namespace) -> int:
    from gateway.sandbox import config_from_env, create_sandbox
    from gateway.sandbox.latency import with_latency

    env = dict(os.environ)
    try:
        config = config_from_env(
            env,
            seed_caller_ids=args.seed_caller_ids,
            verification=args.verification,
            seed=args.seed,
            call_step=args.call_step,
            call_length=args.call_length,
        )
        latency = latency_ms(args.latency_ms, env)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    print_credentials(env)
    print(f"sandbox: http://{args.host}:{args.port}", flush=True)
    app = with_latency(create_sandbox(config), latency)
    uvicorn.run(app, host=args.host, port=args.port, access_log=True)
    return 0


def replay(args: argparse.Namespace) -> int:
    from gateway.migration.replay import Local
    from gateway.migration.replay import main as replay_main

    status: int = replay_main(args, Local(embedded_gateway, sandbox_account(dict(os.environ))))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"serve": serve, "sandbox": sandbox, "replay": replay}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
