#!/usr/bin/env python3
"""Helpers of bench/run.sh.

  report.py count csv|tsv FILE   records in an output file, header excluded
  report.py table --samples ... --outputs ...   the Markdown results table
"""

import argparse
import csv
import datetime
import statistics
import sys

DATABASES = {"lite": "SQLite", "pg": "PostgreSQL", "maria": "MariaDB"}
TOOLS = {
    "ferry": "`ferry run` (CSV)",
    "sqlite3": "`sqlite3 -csv -header`",
    "psql": "`psql \\copy ... (FORMAT csv, HEADER)`",
    "mariadb": "`mariadb --batch --quick` (TSV)",
}


def count(fmt, path):
    """Records after the header. CSV fields may hold line breaks, so CSV is
    parsed; mariadb --batch escapes them, so a TSV record is a line."""
    if fmt == "tsv":
        with open(path, "rb") as f:
            return sum(1 for _ in f) - 1
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


# Issue targets: ferry's throughput over the reference tool's, defaults on.
TARGETS = {"lite": 1.30, "pg": 1.10, "maria": 1.05}


def thousands(n):
    return f"{n:,.0f}"


def table(args):
    runs = {}  # (db, tool) -> [(wall, cpu, rss_kb)]
    by_run = {}  # (db, tool) -> {run: wall}, to pair ferry with the reference run next to it
    with open(args.samples) as f:
        for line in f:
            db, tool, run, wall, cpu, rss = line.rstrip("\n").split("\t")
            runs.setdefault((db, tool), []).append((float(wall), float(cpu), int(rss)))
            by_run.setdefault((db, tool), {})[run] = float(wall)
    outputs = {}  # (db, tool) -> bytes
    with open(args.outputs) as f:
        for line in f:
            db, tool, size, _records = line.rstrip("\n").split("\t")
            outputs[(db, tool)] = int(size)

    def rate(db, tool):
        wall = statistics.median(w for w, _, _ in runs[(db, tool)])
        return args.rows / wall if wall > 0 else None

    def per_second(amount, wall, fmt):
        return fmt(amount / wall) if wall > 0 else "n/a"

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# ferry benchmark, {now}",
        "",
        f"- {thousands(args.rows)} rows x 19 columns (`SELECT * FROM bench_roster ORDER BY id`), "
        f"median of {args.runs} run(s) per tool",
        f"- {args.nproc} cores ({args.cpu})",
        f"- {', '.join(v for v in args.versions.split(';') if v)}",
        f"- ferry's files identical across databases: {args.identical}",
        "",
        "| Database | Tool | Median s | Runs s | Rows/s | Output MB | MB/s | CPU s | Peak RSS MiB "
        "| ferry / reference | per pair: median (range) | target |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for db in DATABASES:
        tools = [t for (d, t) in runs if d == db]
        if not tools:
            continue
        reference = next(t for t in tools if t in TOOLS and t != "ferry")
        for tool in ["ferry", reference]:
            samples = runs[(db, tool)]
            walls = [w for w, _, _ in samples]
            wall = statistics.median(walls)
            cpu = statistics.median(c for _, c, _ in samples)
            rss = max(r for _, _, r in samples) / 1024
            size = outputs[(db, tool)] / 1e6
            ratio = pairs = target = ""
            if tool == "ferry":
                ours, theirs = rate(db, "ferry"), rate(db, reference)
                ratio = f"{ours / theirs:.2f}x" if ours and theirs else "n/a"
                mine, ref = by_run[(db, "ferry")], by_run[(db, reference)]
                each = [ref[r] / mine[r] for r in mine if r in ref and mine[r] > 0]
                if each:
                    pairs = f"{statistics.median(each):.2f}x ({min(each):.2f}–{max(each):.2f}, {len(each)} pairs)"
                target = f"{TARGETS[db]:.2f}x"
            out.append(
                f"| {DATABASES[db]} | {TOOLS[tool]} | {wall:.2f} | {' '.join(f'{w:.2f}' for w in walls)} "
                f"| {per_second(args.rows, wall, thousands)} | {size:.1f} "
                f"| {per_second(size, wall, lambda v: f'{v:.1f}')} | {cpu:.2f} "
                f"| {rss:.0f} | {ratio} | {pairs} | {target} |"
            )
    out += [
        "",
        "Rows/s and MB/s use the median wall time; MB = 10^6 bytes of the tool's own output file "
        "(formats differ, so compare rows/s). CPU s is user + system time of the client process "
        "(median); the database server's work is in the wall time only. Peak RSS is the largest "
        "of the runs. ferry / reference is ferry's rows/s over the reference tool's (above 1: ferry is faster); "
        "per pair is the same ratio for each ferry run and the reference run right after it, alternating.",
    ]
    out += variants(args, runs)
    out += big(args, runs, outputs)
    print("\n".join(out))


VARIANTS = {
    "strict": "all quotes + US-ASCII transliteration + CRLF",
    "map": "`rows.map` closure reading and changing two fields",
}


def variants(args, runs):
    """The option variants against the plain extract on the same database."""
    found = [(db, v) for (db, v) in runs if v in VARIANTS]
    if not found:
        return []
    db = found[0][0]
    plain = statistics.median(w for w, _, _ in runs[(db, "ferry")])
    out = [
        "",
        f"Variants on {DATABASES[db]} (median of {args.runs}), against the plain extract "
        f"(UTF-8, quotes where needed, CRLF: {plain:.2f} s):",
        "",
        "| Variant | Median s | Runs s | CPU s | Peak RSS MiB | time / plain | extra µs per row |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for v, label in VARIANTS.items():
        if (db, v) not in runs:
            continue
        samples = runs[(db, v)]
        walls = [w for w, _, _ in samples]
        wall = statistics.median(walls)
        cpu = statistics.median(c for _, c, _ in samples)
        rss = max(r for _, _, r in samples) / 1024
        extra = (wall - plain) / args.rows * 1e6
        out.append(
            f"| {label} | {wall:.2f} | {' '.join(f'{w:.2f}' for w in walls)} | {cpu:.2f} | {rss:.0f} "
            f"| {wall / plain:.2f}x | {extra:.2f} |"
        )
    return out


def big(args, runs, outputs):
    """The one-off large run, for memory."""
    dbs = [db for db in DATABASES if (db, "big") in runs]
    if not dbs:
        return []
    out = [
        "",
        f"One run of {thousands(args.rows_big)} rows, for memory:",
        "",
        "| Database | Wall s | Rows/s | Output MB | CPU s | Peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for db in dbs:
        wall, cpu, rss = runs[(db, "big")][0]
        size = outputs.get((db, "big"), 0) / 1e6
        rate = thousands(args.rows_big / wall) if wall > 0 else "n/a"
        out.append(f"| {DATABASES[db]} | {wall:.2f} | {rate} | {size:.1f} | {cpu:.2f} | {rss / 1024:.0f} |")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count")
    c.add_argument("format", choices=["csv", "tsv"])
    c.add_argument("path")
    t = sub.add_parser("table")
    t.add_argument("--samples", required=True)
    t.add_argument("--outputs", required=True)
    t.add_argument("--rows", type=int, required=True)
    t.add_argument("--runs", type=int, required=True)
    t.add_argument("--rows-big", type=int, default=0)
    t.add_argument("--nproc", required=True)
    t.add_argument("--cpu", default="")
    t.add_argument("--versions", default="")
    t.add_argument("--identical", default="")
    a = p.parse_args()
    if a.cmd == "count":
        print(count(a.format, a.path))
    else:
        table(a)


if __name__ == "__main__":
    main()
