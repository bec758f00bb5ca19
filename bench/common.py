"""Helpers shared by the benchmark scripts: medians of repeated runs and a
result row format that scripts/run-bench.sh collects into one table."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

RESULTS = Path(os.environ.get("CISLUNAR_BENCH_RESULTS", ".bench/results.jsonl"))


def median_time(fn, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def record(name: str, compared: str, ours_s: float, peer_s: float | None, unit_note: str = "", **extra) -> dict:
    """One row: what was compared, our median, the peer's median, the ratio."""
    row = {
        "name": name,
        "compared": compared,
        "ours_s": ours_s,
        "peer_s": peer_s,
        "ratio": (ours_s / peer_s) if peer_s else None,
        "note": unit_note,
        **extra,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
    peer = f"{peer_s:.4f} s" if peer_s is not None else "-"
    print(f"{name:<40} ours {ours_s:.4f} s   peer {peer}   ratio {ratio}   {unit_note}")
    return row
