"""Two or more gateway source trees against the same static upstream, interleaved: a lever's worth.

    python bench/ab.py BEFORE_TREE AFTER_TREE [--concurrency 1,16] [--rounds 3] [--scenario fetch]

Each tree (a checkout, e.g. from ``git worktree add``; ``TREE:false`` turns its access log off) runs
``python -m gateway serve`` with one worker on its own port; the nginx proxy with its access log is
measured in the same rounds. Rounds alternate between the targets so that load from elsewhere on the
machine falls on all of them alike (every other round in reverse order: a target's place in the round
biases it); so is the client floor (bench/floor.py, from the first tree). Reported
per target: median req/s, the ratios to the proxy and to the floor, the event-loop thread's CPU time
per request (user + system, from ``/proc``) and, for each tree after the first, the median (and range)
of its rounds' ratios to the first tree's round beside it: the figure least moved by load from elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import upstream as static
from run import SCENARIOS, free_port, process, wait_http, wrk


def loop_ticks(pid: int) -> int:
    """CPU ticks of the process's main thread (the event loop)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@contextlib.contextmanager
def gateways(trees: list[str], upstream: int, root: Path) -> Iterator[dict[str, tuple[int, int]]]:
    """``tree[:log]`` → (port, pid) of its running gateway."""
    with contextlib.ExitStack() as stack:
        running: dict[str, tuple[int, int]] = {}
        for index, spec in enumerate(trees):
            tree, _, log = spec.partition(":")
            port = free_port()
            env = {
                "GATEWAY_PORT": str(port),
                "GATEWAY_UPSTREAM": f"http://127.0.0.1:{upstream}",
                "GATEWAY_WORKERS": "1",
                "GATEWAY_LIST_CACHE_TTL": "0",
                "GATEWAY_ACCESS_LOG": log or "true",
            }
            command = [sys.executable, "-m", "gateway", "serve"]
            log_file = root / f"gateway{index}.log"
            proc = stack.enter_context(process(command, env, log=log_file, cwd=Path(tree).resolve()))
            running[spec] = (port, proc.pid)
        for port, _ in running.values():
            wait_http(f"http://127.0.0.1:{port}/healthz")
        yield running


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--scenario", default="fetch", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    legacy, modern, method = SCENARIOS[args.scenario]
    rows: dict[tuple[int, str], list[tuple[float, float | None]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers run as an unprivileged user
        static.write_bodies(root)
        upstream, proxy = free_port(), free_port()
        nginx = [
            static.start_upstream(root, upstream),
            static.start_proxy(root, proxy, upstream, access_log=True),
        ]
        try:
            wait_http(f"http://127.0.0.1:{proxy}/")
            floor_port = free_port()
            floor = [sys.executable, "bench/floor.py", str(floor_port), f"http://127.0.0.1:{upstream}"]
            with (
                gateways(args.trees, upstream, root) as running,
                process(
                    floor, {"PYTHONPATH": "."}, cwd=Path(args.trees[0].partition(":")[0]).resolve()
                ) as fl,
            ):
                wait_http(f"http://127.0.0.1:{floor_port}/")
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    targets = [
                        ("nginx proxy +log", proxy, modern, None),
                        ("client floor", floor_port, modern, fl.pid),
                    ]
                    targets += [(spec, port, legacy, pid) for spec, (port, pid) in running.items()]
                    for _, port, path, _ in targets:
                        wrk(f"http://127.0.0.1:{port}{path}", concurrency, 1, method)  # warm-up
                    for round_ in range(args.rounds):
                        # Every other round in reverse: no target always runs right after another.
                        for name, port, path, pid in targets if round_ % 2 == 0 else targets[::-1]:
                            before = loop_ticks(pid) if pid else 0
                            rps = wrk(f"http://127.0.0.1:{port}{path}", concurrency, args.duration, method)[0]
                            cpu = None
                            if pid:
                                seconds = (loop_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")
                                cpu = seconds / (rps * args.duration) * 1e6
                            rows.setdefault((concurrency, name), []).append((rps, cpu))
        finally:
            for server in nginx:
                server.terminate()
                server.wait(10)
    for (concurrency, name), runs in rows.items():
        proxy_rps = statistics.median(r[0] for r in rows[(concurrency, "nginx proxy +log")])
        floor_rps = statistics.median(r[0] for r in rows[(concurrency, "client floor")])
        rps = statistics.median(r[0] for r in runs)
        cpus = [r[1] for r in runs if r[1] is not None]
        cpu = f"{statistics.median(cpus):6.0f} µs loop CPU/request" if cpus else ""
        first = rows[(concurrency, args.trees[0])]
        paired = ""
        if name in args.trees[1:]:  # each round's ratio to the first tree's in the same round
            ratios = sorted(r[0] / f[0] for r, f in zip(runs, first, strict=True))
            paired = (
                f"  rounds ÷ first tree: {statistics.median(ratios):.3f} ({ratios[0]:.2f}–{ratios[-1]:.2f})"
            )
        print(
            f"c={concurrency:<3} {name:40.40} {rps:9,.0f} req/s  {rps / proxy_rps:6.3f}× proxy  "
            f"{rps / floor_rps:6.3f}× floor  {cpu}{paired}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
