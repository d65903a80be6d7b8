"""Probe single levers on the translated fetch, one gateway worker, same static upstream as bench/run.py:
the upstream client (built-in, httpx default transport, httpx over httpx-aiohttp), the event loop
(uvloop, asyncio) and the HTTP parser (httptools, h11).

    python bench/levers.py [--duration 5]          # one variant at a time, c=16 then c=1
    python bench/levers.py --serve PORT UPSTREAM CLIENT LOOP HTTP   # (internal) one variant
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run  # noqa: E402
import upstream as static  # noqa: E402

VARIANTS = [
    ("fast", "uvloop", "httptools"),
    ("httpx", "uvloop", "httptools"),
    ("aiohttp", "uvloop", "httptools"),
    ("fast", "asyncio", "httptools"),
    ("fast", "uvloop", "h11"),
]


def serve(port: int, upstream: int, client: str, loop: str, http: str) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings(
        upstream=f"http://127.0.0.1:{upstream}",
        access_log=False,
        upstream_client="httpx" if client == "httpx" else "fast",
    )
    transport: Any = None
    if client == "aiohttp":
        import httpx_aiohttp

        transport = httpx_aiohttp.AiohttpTransport()
    app = create_app(settings, transport)
    uvicorn.run(app, host="127.0.0.1", port=port, loop=loop, http=http, log_level="warning", access_log=False)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--serve", nargs=5, metavar=("PORT", "UPSTREAM", "CLIENT", "LOOP", "HTTP"))
    args = parser.parse_args()
    if args.serve:
        port, upstream, client, loop, http = args.serve
        serve(int(port), int(upstream), client, loop, http)
        return 0
    run.ensure_tools()
    legacy, _, method = run.SCENARIOS["fetch"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        static.write_bodies(root)
        upstream_port = run.free_port()
        nginx = static.start_upstream(root, upstream_port)
        try:
            run.wait_http(f"http://127.0.0.1:{upstream_port}/")
            print("| client | loop | http | c=16 req/s | c=1 req/s |\n|---|---|---|---|---|")
            for variant in VARIANTS:
                port = run.free_port()
                command = [
                    sys.executable,
                    str(Path(__file__)),
                    "--serve",
                    str(port),
                    str(upstream_port),
                    *variant,
                ]
                with run.process(command):
                    run.wait_http(f"http://127.0.0.1:{port}/healthz")
                    url = f"http://127.0.0.1:{port}{legacy}"
                    run.wrk(url, 16, 2, method)
                    c16 = run.wrk(url, 16, args.duration, method)[0]
                    c1 = run.wrk(url, 1, args.duration, method)[0]
                print(f"| {' | '.join(variant)} | {c16:,.0f} | {c1:,.0f} |", flush=True)
        finally:
            nginx.terminate()
            nginx.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
