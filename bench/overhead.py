"""What recording (--record) and shadow reads (--shadow-legacy-upstream) cost the primary request.

    python bench/overhead.py [--duration 5] [--rounds 3] [--out bench/results]

Same zero-cost nginx upstream as bench/run.py. Runs the translated fetch through: the gateway as
is; the gateway writing every exchange to a HAR file; the gateway shadowing every GET (sample 1.0) to
a zero-cost legacy provider (nginx answering with the plain gateway's own answer, so every comparison
agrees). Reports requests/s, p50 and p99 for each at concurrency 1 and 16, and each variant's ratio to
the plain gateway in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402
import upstream as static  # noqa: E402

LEGACY_BODY = """
  server {{
    listen 127.0.0.1:{port};
    root {root};
    default_type application/xml;
    location / {{ try_files /legacy.xml =404; }}
  }}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    run.ensure_tools()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    legacy, _, method = run.SCENARIOS["fetch"]
    rows: list[run.Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        static.write_bodies(root)
        ports = {name: run.free_port() for name in ("upstream", "plain", "record", "shadow", "legacy")}
        nginx = static.start_upstream(root, ports["upstream"])
        provider: subprocess.Popen[bytes] | None = None
        try:
            run.wait_http(f"http://127.0.0.1:{ports['upstream']}/")
            variants = {
                "plain": {},
                "record": {"GATEWAY_RECORD": str(root / "traffic.har")},
                "shadow": {
                    "GATEWAY_SHADOW_LEGACY_UPSTREAM": f"http://127.0.0.1:{ports['legacy']}",
                    "GATEWAY_SHADOW_SAMPLE": "1.0",
                    "GATEWAY_SHADOW_LOG": str(root / "shadow.jsonl"),
                },
            }
            commands = []
            for name, extra in variants.items():
                command, env = run.gateway_command(ports[name], ports["upstream"], 1)
                commands.append(run.process(command, {**env, **extra}))
            with commands[0], commands[1], commands[2]:
                for name in variants:
                    run.wait_http(f"http://127.0.0.1:{ports[name]}/healthz")
                answer = httpx.get(
                    f"http://127.0.0.1:{ports['plain']}{legacy}", headers={"Authorization": run.AUTH}
                )
                (root / "legacy.xml").write_bytes(answer.content)
                body = LEGACY_BODY.format(port=ports["legacy"], root=root)
                provider = static.start_nginx(root, "legacy", body)
                run.wait_http(f"http://127.0.0.1:{ports['legacy']}/")
                for concurrency in (1, 16):
                    for name in ("plain", "record", "shadow"):
                        url = f"http://127.0.0.1:{ports[name]}{legacy}"
                        rows.append(
                            run.measure("fetch", name, url, concurrency, method, args.duration, args.rounds)
                        )
                        print(rows[-1], flush=True)
                time.sleep(1)
                har = json.loads((root / "traffic.har").read_text())
                recorded = len(har["log"]["entries"])
        finally:
            for server in (provider, nginx):
                if server is not None:
                    server.terminate()
                    server.wait(10)
    plain = {r.concurrency: r for r in rows if r.target == "plain"}
    lines = ["| variant | c | req/s | p50 ms | p99 ms | req/s ÷ plain |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r.rps / plain[r.concurrency].rps
        lines.append(
            f"| {r.target} | {r.concurrency} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio:.3f} |"
        )
    text = "\n".join(lines) + f"\n\nHAR entries written during the run: {recorded}\n"
    (out / "overhead.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
