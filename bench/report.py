"""Print the benchmark rows of one ``make bench`` run as one table.

    .venv/bin/python bench/report.py [RESULTS.jsonl] [--steps STEPS.tsv] [--out .bench/report.md]

Rows come from ``bench.common.record`` (JSON lines: name, compared, ours_s,
peer_s, ratio, note).  Times are medians in seconds, shown in s / ms / us;
the ratio is ours / peer (< 1: ours takes less time).  The Markdown table,
headed by the machine it ran on (``nproc``, CPU model, date, load), is also
written to ``--out`` for the README.  ``--steps``: the per-step exit codes
and wall times that ``scripts/run-bench.sh`` collects; failed steps are
listed under the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path


def fmt_time(s) -> str:
    if s is None:
        return "-"
    s = float(s)
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def fmt_ratio(row) -> str:
    r = row.get("ratio")
    if r is None:
        return "n/a" if row.get("peer_status") == "unavailable" else "-"
    if r >= 100:
        return f"{r:,.0f}x"
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3g}x"


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return {"cpu": cpu, "nproc": nproc, "load": load, "python": platform.python_version(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def esc(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict]) -> str:
    head = ("| Benchmark | What was compared | Ours (median) | Peer (median) | Ratio ours/peer | Notes |\n"
            "|---|---|---|---|---|---|")
    lines = [head]
    for row in rows:
        lines.append("| " + " | ".join(esc(x) for x in (
            row.get("name", "?"), row.get("compared", ""), fmt_time(row.get("ours_s")),
            fmt_time(row.get("peer_s")) if row.get("peer_s") is not None else "-",
            fmt_ratio(row), row.get("note", ""),
        )) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default=os.environ.get("CISLUNAR_BENCH_RESULTS", ".bench/results.jsonl"))
    ap.add_argument("--steps", default=None)
    ap.add_argument("--out", default=".bench/report.md")
    ap.add_argument("--wall", type=float, default=None, help="wall time of the whole run (s)")
    args = ap.parse_args(argv)
    path = Path(args.results)
    rows = [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.exists() else []
    m = machine()
    header = (f"Measured by `make bench` on {m['date']}: {m['cpu']}, nproc {m['nproc']}, Python {m['python']}, "
              f"load average at the end {m['load']}"
              + (f", whole run {args.wall / 60:.1f} min" if args.wall else "") + ".")
    body = table(rows) if rows else "(no benchmark rows were recorded)"
    failed = []
    if args.steps and Path(args.steps).exists():
        for ln in Path(args.steps).read_text().splitlines():
            name, rc, secs = (ln.split("\t") + ["", ""])[:3]
            if rc not in ("0", ""):
                failed.append(f"- step `{name}` exited {rc} after {float(secs or 0):.0f} s "
                              "(rows it recorded before are in the table; see its log)")
    notes = ("Times are medians of repeated runs in one process after a warm-up; ratio = ours / peer "
             "(below 1: ours takes less time). The machine may be shared: figures are upper bounds.")
    text = "\n\n".join(x for x in (header, body, "\n".join(failed), notes) if x) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
