"""Wall time and peak memory of one command, for every benchmark script.

The command runs under a small Python parent that reports the child's peak
RSS (RUSAGE_CHILDREN), so the benchmark script's own memory never counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

_MEASURE = (
    "import resource, subprocess, sys, json;"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr[-4000:],"
    " 'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and {rc, out, err} of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, cmd)], capture_output=True, text=True,
                          check=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout)
    return wall, result["maxrss_kb"] / 1024, result
