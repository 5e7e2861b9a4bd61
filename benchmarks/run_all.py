"""Run every benchmark, one after another, from one command.

    python benchmarks/run_all.py            # all of them
    python benchmarks/run_all.py sentiment timing

Each benchmark runs in its own process (so peak-memory figures stay separate),
prints its own table with speed as a ratio against a baseline measured in the
same run, and writes ``benchmarks/results/<name>.json``.  The labelled dev sets
are read from ``../shared/data`` beside the repository; a benchmark that needs
them says so and exits when they are absent.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "io",
    "timing",
    "sentiment",
    "politeness",
    "escalation",
    "reasons",
    "competency",
    "analyze",
    "outcomes",
    "redact",
)


def main(argv: list[str]) -> int:
    names = argv or list(ORDER)
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {', '.join(ORDER)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n===== bench_{name} =====", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"bench_{name}.py")])
        print(f"----- bench_{name}: exit {code}, {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
