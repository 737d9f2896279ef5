#!/usr/bin/env python3
"""bench/console.py: the console's extract list under 200 parallel requests.

Two builds of ferry side by side (OLD and NEW binaries), each serving its own
copy of the same project: 50 scripts on daily schedules and 10,000 runs in
history (with one kept file each), a signed-in administrator. Each round
sends 200 requests for the list page (`GET /`, the page an administrator
opens) at once with ApacheBench (`ab -n 200 -c 200`, Debian's
apache2-utils) and reads its p50 and p95; rounds
alternate OLD NEW OLD NEW ... so drift on a shared machine hits both. Prints
per build the p50 and p95 of every round, and their medians and ranges.

    OLD=/path/to/old/ferry NEW=target/release/ferry python3 bench/console.py
    ROUNDS=5 SCRIPTS=50 RUNS=10000 PARALLEL=200 ...

Needs python3 with sqlite3 (standard library), ab and the two binaries; writes
bench/results/console.md.
"""

import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import json
import urllib.request

ROUNDS = int(os.environ.get("ROUNDS", "5"))
SCRIPTS = int(os.environ.get("SCRIPTS", "50"))
RUNS = int(os.environ.get("RUNS", "10000"))
PARALLEL = int(os.environ.get("PARALLEL", "200"))
PASSWORD = "bench-password-1"


def die(message):
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(2)


def project(ferry, folder):
    """A project with SCRIPTS scripts and RUNS runs, its store made by `ferry`."""
    os.makedirs(f"{folder}/scripts")
    with open(f"{folder}/ferry.toml", "w") as f:
        f.write(
            'timezone = "America/Chicago"\n'
            '[databases.live]\nurl = "sqlite:fixture.db"\n'
            '[destinations.out]\nmode = "local"\npath = "out"\n'
        )
    db = sqlite3.connect(f"{folder}/fixture.db")
    db.execute("CREATE TABLE students (id INTEGER, name TEXT)")
    db.executemany("INSERT INTO students VALUES (?, ?)", [(i, f"Student {i}") for i in range(100)])
    db.commit()
    db.close()
    for i in range(SCRIPTS):
        with open(f"{folder}/scripts/extract_{i:02}.rhai", "w") as f:
            f.write(
                f'//! name = "Vendor extract {i}"\n'
                f'//! schedule = "daily at {i % 24:02}:{(7 * i) % 60:02}"\n'
                '//! catch_up = "none"\n'
                f'let f = csv(query("live", "SELECT id, name FROM students"), #{{ name: "extract_{i}" }});\n'
                'deliver(f, "out");\n'
            )
    # The store, made and migrated by this build; an administrator.
    add = subprocess.run(
        [ferry, "users", "add", "admin", "--right", "read", "--right", "run", "--right", "write",
         "--right", "add", "--right", "delete", "--right", "manage_users", "--password-stdin"],
        cwd=folder, input=PASSWORD + "\n", text=True, capture_output=True,
    )
    if add.returncode != 0:
        die(f"{ferry} users add: {add.stderr}")
    state = f"{folder}/.ferry/state.db"
    if not os.path.exists(state):
        die(f"no state store at {state}")
    db = sqlite3.connect(state)
    statuses = ["succeeded"] * 8 + ["failed", "held"]
    for n in range(RUNS):
        script = f"extract_{n % SCRIPTS:02}"
        day = 1 + (n // SCRIPTS) % 28
        started = f"2026-{1 + (n // (SCRIPTS * 28)) % 12:02}-{day:02}T08:{n % 60:02}:00.000000Z"
        cur = db.execute(
            "INSERT INTO runs (script, script_path, script_hash, trigger, started_at, ended_at, status, rows, bytes, destination) "
            "VALUES (?, ?, ?, 'scheduled', ?, ?, ?, 100, 2000, 'out')",
            (script, f"scripts/{script}.rhai", "0" * 64, started, started, statuses[n % len(statuses)]),
        )
        db.execute(
            "INSERT INTO run_files (run_id, name, rows, bytes, sha256, destination, remote_path) "
            "VALUES (?, ?, 100, 2000, ?, 'out', ?)",
            (cur.lastrowid, f"{script}.csv", "0" * 64, f"out/{script}.csv"),
        )
    db.commit()
    db.close()


def serve(ferry, folder):
    """Starts `ferry serve` and returns (process, base URL)."""
    log = open(f"{folder}/serve.log", "w")
    proc = subprocess.Popen([ferry, "serve", "--listen", "127.0.0.1:0"], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        text = open(f"{folder}/serve.log").read()
        if "Console listening on " in text:
            url = text.split("Console listening on ")[1].split()[0].rstrip("/")
            return proc, url
        if proc.poll() is not None:
            die(f"{ferry} serve exited:\n{text}")
        time.sleep(0.1)
    die(f"{ferry} serve did not start:\n{open(f'{folder}/serve.log').read()}")


def login(url):
    req = urllib.request.Request(
        f"{url}/api/login", data=json.dumps({"user": "admin", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(req) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
    req = urllib.request.Request(f"{url}/", headers={"Cookie": cookie})
    with urllib.request.urlopen(req) as r:
        if b"Vendor extract 49" not in r.read():
            die(f"the list at {url} does not show every script")
    return cookie


def round_of(url, cookie):
    """PARALLEL requests for the list at once, sent by ApacheBench (`ab`, a
    C client whose own cost is small next to the server's); (p50, p95) ms."""
    out = subprocess.run(
        ["ab", "-q", "-n", str(PARALLEL), "-c", str(PARALLEL), "-C", cookie, f"{url}/"],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        die(f"ab failed: {out.stderr or out.stdout}")
    text = out.stdout
    # A page whose length varies (a next-run time ticking over) counts as a
    # "Length" failure in ab; only a refused, cut or non-2xx answer is one.
    breakdown = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", text)
    broken = "Non-2xx responses" in text or (breakdown is not None and any(int(n) for n in breakdown.groups()))
    if broken:
        die(f"some list requests failed:\n{text}")
    cuts = {}
    for line in text.splitlines():
        line = line.strip()
        if line.endswith(")") and "%" in line:
            line = line.split("(")[0].strip()
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("%") and parts[0][:-1].isdigit():
            cuts[int(parts[0][:-1])] = float(parts[1])
    if 50 not in cuts or 95 not in cuts:
        die(f"ab printed no percentiles:\n{text}")
    return cuts[50], cuts[95]


def main():
    old, new = os.environ.get("OLD"), os.environ.get("NEW")
    if not old or not new:
        die("set OLD and NEW to two ferry binaries")
    work = tempfile.mkdtemp(prefix="ferry-console-bench-")
    builds = {"old": os.path.realpath(old), "new": os.path.realpath(new)}
    servers = {}
    try:
        for name, ferry in builds.items():
            folder = f"{work}/{name}"
            project(ferry, folder)
            proc, url = serve(ferry, folder)
            servers[name] = (proc, url, login(url))
        # Warm both (first compile of pages, caches).
        for name, (_, url, cookie) in servers.items():
            round_of(url, cookie)
        results = {name: [] for name in builds}
        for r in range(ROUNDS):
            for name in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
                _, url, cookie = servers[name]
                p50, p95 = round_of(url, cookie)
                results[name].append((p50, p95))
                print(f"round {r + 1} {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms", flush=True)
        lines = [
            f"# Console list under {PARALLEL} parallel requests",
            "",
            f"{SCRIPTS} scripts, {RUNS:,} runs in history, {ROUNDS} alternating rounds; "
            f"old = {builds['old']}, new = {builds['new']}.",
            "",
            "| build | p50 per round (ms) | p95 per round (ms) | median p95 (range) |",
            "|---|---|---|---|",
        ]
        for name, rounds in results.items():
            p50s = ", ".join(f"{a:.0f}" for a, _ in rounds)
            p95s = [b for _, b in rounds]
            lines.append(
                f"| {name} | {p50s} | {', '.join(f'{b:.0f}' for b in p95s)} | "
                f"{statistics.median(p95s):.0f} ({min(p95s):.0f}-{max(p95s):.0f}) |"
            )
        ratios = [n[1] / o[1] for o, n in zip(results["old"], results["new"])]
        lines.append("")
        lines.append(
            f"p95 new/old per round: median {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})."
        )
        text = "\n".join(lines) + "\n"
        print(text)
        os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
        with open(os.path.join(os.path.dirname(__file__), "results", "console.md"), "w") as f:
            f.write(text)
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
