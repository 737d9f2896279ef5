#!/usr/bin/env bash
# bench/recovery.sh: how long `ferry serve` takes to recover after a kill
# with a long history. The state store holds HISTORY finished runs (each with
# a delivered file row and its occurrence) plus LEFT runs a killed instance
# left `running`, each with a delivery left `sending` (half of them with a
# temporary in the folder, half with the file complete under its final name,
# as if killed between the rename and its record).
#
# Measured: `ferry serve --once` (audit, orphaned runs, delivery recovery,
# recovery decisions, then exit; scripts have schedule "none" and
# recovery = "none", so no run starts and only the ledger's work is timed),
# on a fresh copy of that store (A) and on an empty store (B), alternating
# A B A B for ROUNDS pairs: whole-process wall time (clock read around
# the process) and peak RSS (/usr/bin/time). Writes bench/results/recovery.md.
#
#   bench/recovery.sh                      # 10,000 runs, 10 left running, 5 pairs
#   HISTORY=50000 ROUNDS=7 bench/recovery.sh
set -euo pipefail

HISTORY=${HISTORY:-10000}
LEFT=${LEFT:-10}
ROUNDS=${ROUNDS:-5}

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work/recovery
ferry=${FERRY:-$root/target/release/ferry}
mkdir -p "$bench/results"
[ -n "${FERRY:-}" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml"

rm -rf "$work" && mkdir -p "$work/scripts" "$work/out"
cat > "$work/ferry.toml" <<TOML
timezone = "America/Chicago"
[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
TOML
for i in $(seq -w 0 9); do
    printf '//! schedule = "none"\n//! recovery = "none"\ndeliver(csv(query("live", "SELECT 1 AS x"), #{ name: "s%s" }), "out");\n' "$i" \
        > "$work/scripts/s$i.rhai"
done
cd "$work"
sqlite3 fixture.db "CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);"
# Creates and migrates the state store.
"$ferry" history > /dev/null
# Copies below are of the database file alone: fold the write-ahead log in.
checkpoint() { sqlite3 .ferry/state.db "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null; }
checkpoint
cp .ferry/state.db empty.db

python3 - "$HISTORY" "$LEFT" "$(hostname)" <<'PY'
import hashlib, os, sqlite3, sys
from datetime import datetime, timedelta, timezone
history, left, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(".ferry/state.db")
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
# An instance whose process is gone (pid 1 is never a ferry).
db.execute("INSERT INTO instances (id, host, pid, role, started_at, heartbeat_at) VALUES ('dead', ?, 1, 'serve', ?, ?)",
           (host, stamp(start), stamp(start)))
body = b"id\r\n1\r\n"
sha = hashlib.sha256(body).hexdigest()
def run(i, status, ended):
    script = f"s{i % 10:02}"
    at = start + timedelta(minutes=i)
    cur = db.execute(
        "INSERT INTO runs (script, script_path, script_hash, trigger, occurrence, instance, started_at, ended_at, status, rows, bytes) "
        "VALUES (?, ?, 'h', 'scheduled', ?, 'dead', ?, ?, ?, 1, ?)",
        (script, f"scripts/{script}.rhai", stamp(at), stamp(at), stamp(at) if ended else None, status, len(body)))
    rid = cur.lastrowid
    db.execute("INSERT INTO occurrences (script, scheduled_at, instance, claimed_at, outcome, run_id) VALUES (?, ?, 'dead', ?, ?, ?)",
               (script, stamp(at), stamp(at), "ran" if ended else "running", rid))
    return rid, script, at
for i in range(history):
    rid, script, at = run(i, "succeeded", True)
    name = f"{script}_{i:06}.csv"
    db.execute("INSERT INTO run_files (run_id, name, rows, bytes, sha256, destination, remote_path, target_path, state, delivery_id, instance) "
               "VALUES (?, ?, 1, ?, ?, 'out', ?, ?, 'delivered', ?, 'dead')",
               (rid, name, len(body), sha, f"{os.getcwd()}/out/{name}", f"{os.getcwd()}/out/{name}", f"d{i}"))
for j in range(left):
    rid, script, at = run(history + j, "running", False)
    name = f"{script}_left{j:02}.csv"
    target = f"{os.getcwd()}/out/{name}"
    temp = f"{os.getcwd()}/out/.{name}.ferry-{j:012x}.partial"
    # Half were cut off mid-upload, half after the rename.
    with open(temp if j % 2 == 0 else target, "wb") as f:
        f.write(body[:3] if j % 2 == 0 else body)
    db.execute("INSERT INTO run_files (run_id, name, rows, bytes, sha256, destination, target_path, temp_path, state, delivery_id, instance) "
               "VALUES (?, ?, 1, ?, ?, 'out', ?, ?, ?, ?, 'dead')",
               (rid, name, len(body), sha, target, temp, "sending" if j % 2 == 0 else "committing", f"left{j}"))
db.commit()
PY
checkpoint
cp .ferry/state.db history.db
cp -r out out.pristine

measure() {  # label store -> "seconds peak_kib"
    rm -rf out && cp -r out.pristine out
    cp "$2" .ferry/state.db
    rm -f .ferry/state.db-wal .ferry/state.db-shm
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o time.txt "$ferry" serve --once > "serve-$1.log" 2>&1
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 )) $(cat time.txt)"
    if [ "$1" = history ]; then
        checkpoint
        cp .ferry/state.db after.db
        find out -name '*.partial' | wc -l > temps.txt
    fi
}
: > samples.txt
for r in $(seq 1 "$ROUNDS"); do
    echo "A $(measure history history.db)" >> samples.txt
    echo "B $(measure empty empty.db)" >> samples.txt
done
# The last A run's outcome, read back from its store and folder.
recovered=$(sqlite3 after.db "SELECT count(*) FROM run_files WHERE state = 'recovered'")
abandoned=$(sqlite3 after.db "SELECT count(*) FROM run_files WHERE state = 'abandoned'")
interrupted=$(sqlite3 after.db "SELECT count(*) FROM runs WHERE status = 'interrupted'")
temps=$(cat temps.txt)

python3 - "$HISTORY" "$LEFT" "$recovered" "$abandoned" "$interrupted" "$temps" > "$bench/results/recovery.md" <<'PY'
import statistics, sys
history, left, recovered, abandoned, interrupted, temps = sys.argv[1:]
a = [tuple(map(float, l.split()[1:])) for l in open("samples.txt") if l.startswith("A")]
b = [tuple(map(float, l.split()[1:])) for l in open("samples.txt") if l.startswith("B")]
med = lambda xs: statistics.median(xs)
ratios = [x[0] / y[0] for x, y in zip(a, b)]
print(f"# Recovery after a kill: {int(history):,} runs in history, {left} left running\n")
print("| store | median ms | min–max ms | peak RSS MiB |")
print("|---|---:|---:|---:|")
for name, xs in (("history + runs left by a killed instance (A)", a), ("empty (B)", b)):
    t = [x[0] / 1000 for x in xs]
    print(f"| {name} | {med(t):.0f} | {min(t):.0f}–{max(t):.0f} | {med([x[1] for x in xs]) / 1024:.1f} |")
print(f"\nA/B per pair: median {med(ratios):.2f}x, range {min(ratios):.2f}–{max(ratios):.2f}x ({len(ratios)} pairs, A B A B ...).")
print(f"\nAfter the last A run: {interrupted} runs interrupted, {recovered} deliveries recovered, "
      f"{abandoned} abandoned, {temps} temporaries left.")
PY
cat "$bench/results/recovery.md"
