"""Push speed: 10,000 contacts to a Bitrix24 portal limited to 2 requests/s.

    python benchmarks/bench_push.py [--contacts 10000] [--rate 2] [--json FILE]

Issue 6's bar: with the server answering instantly and the limit set to 2 requests/s,
10,000 contacts go out in <= 110 s (batches are full: 50 commands per request), and the
client itself uses < 5 % of a core while waiting.

A CSV of distinct people (unique surnames, phones and e-mails: nothing to merge) goes
through `crmtool run`; the local Bitrix24 of the tests (tests/fakes/bitrix24.py, a leaky
bucket of 50 draining 2/s, as a real portal) serves in this process; `crmtool push`
runs as a child process, timed, its CPU seconds read from the OS (RUSAGE_CHILDREN).
Exit 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.bitrix24 import FakeBitrix24  # noqa: E402
from pushing import write_people  # noqa: E402

BAR_S = 110.0
BAR_CPU = 0.05


def _cpu(process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_push_") as tmp:
        work = Path(tmp)
        source = write_people(work / "people.csv", args.contacts)
        db = work / "ws.duckdb"
        crmtool = [sys.executable, "-m", "crmtool"]
        subprocess.run([*crmtool, "run", source, "--db", db, "--out", work / "out", "--quiet"], check=True)
        with FakeBitrix24(burst=50, drain_per_s=args.rate) as portal:
            env = {**os.environ, "CRMTOOL_BITRIX24_WEBHOOK": portal.webhook_url}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            child = subprocess.Popen([*crmtool, "push", "--target", "bitrix24", "--db", db, "--rate", str(args.rate),
                                      "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # the child's CPU from its first request to its exit: what it costs while it waits on the portal
            watch = psutil.Process(child.pid)
            first = last = None
            while child.poll() is None:
                cpu_now = _cpu(watch)
                if first is None and portal.requests and cpu_now is not None:
                    first = (time.perf_counter(), cpu_now)
                if cpu_now is not None:
                    last = (time.perf_counter(), cpu_now)
                time.sleep(0.2)
            out, err = child.communicate()
            proc = subprocess.CompletedProcess(child.args, child.returncode, out, err)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            requests = len(portal.requests)
            created = len(portal.contacts)
        if proc.returncode != 0:
            raise SystemExit(f"push failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        summary = json.loads(proc.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    share = cpu / wall
    pushing = (last[1] - first[1]) / (last[0] - first[0]) if first and last and last[0] > first[0] else share
    ok = wall <= BAR_S and pushing < BAR_CPU and created == args.contacts
    print(f"{created:,} contacts created on the portal in {wall:.1f} s ({requests} requests, "
          f"{created / max(requests, 1):.1f} records per request)")
    print(f"client CPU {cpu:.1f} s in all = {share:.1%} of a core (start-up, reading the workspace included); "
          f"{pushing:.1%} of a core from its first request to the end")
    print(f"bars: <= {BAR_S:.0f} s and < {BAR_CPU:.0%} of a core: {'ok' if ok else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"contacts": created, "seconds": wall, "requests": requests,
                                         "cpu_seconds": cpu, "cpu_share": share, "cpu_share_pushing": pushing, "summary": summary},
                                        ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
