#!/usr/bin/env bash
# bench/serve.sh: `ferry serve` with many scripts. Measures, in one run:
#   - the time to load every script at start,
#   - the time from saving a script to its reload,
#   - the resident memory of the idle daemon,
#   - how far actual start times drift from scheduled times under load.
#
#   bench/serve.sh                 # 1,000 scripts, 50 of them every 5 seconds for 30 s
#   SCRIPTS=200 BUSY=20 bench/serve.sh
#
# Writes bench/results/serve.md. Needs cargo and python3.
set -euo pipefail

SCRIPTS=${SCRIPTS:-1000}
BUSY=${BUSY:-50}
BUSY_SECONDS=${BUSY_SECONDS:-30}

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work/serve
ferry=$root/target/release/ferry
mkdir -p "$bench/results"

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
rm -rf "$work" && mkdir -p "$work/scripts"
cat > "$work/ferry.toml" <<TOML
timezone = "America/Chicago"
[databases.live]
url = "sqlite:fixture.db"
[destinations.out]
mode = "local"
path = "out"
TOML
python3 - "$work" "$SCRIPTS" <<'PY'
import sqlite3, sys, os
work, n = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(work, "fixture.db"))
db.executescript("CREATE TABLE roster (id INTEGER, name TEXT); INSERT INTO roster VALUES (1, 'Ann'), (2, 'Zoë');")
db.commit()
for i in range(n):
    h, m = (i // 60) % 24, i % 60
    with open(os.path.join(work, "scripts", f"s{i:04}.rhai"), "w") as f:
        f.write(f'//! name = "Extract {i}"\n//! schedule = "daily at {h:02}:{m:02}"\n'
                f'let rows = query("live", "SELECT id, name FROM roster WHERE id > :min", #{{ min: 0 }});\n'
                f'deliver(csv(rows, #{{ name: "s{i:04}", delimiter: "|" }}), "out");\n')
PY

log=$work/serve.log
cd "$work"
"$ferry" serve > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "Serving." "$log" && break; sleep 0.1; done
load_ms=$(grep -o 'loaded_in_ms=[0-9]*' "$log" | head -1 | cut -d= -f2)
sleep 5
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

# Save one script (an editor's save-by-rename) and time its reload.
python3 - <<'PY' > reload_ms
import os, time, re
src = "scripts/s0007.rhai"
text = open(src).read().replace("Extract 7", "Extract 7 (edited)")
tmp = "scripts/.s0007.rhai.swp"
open(tmp, "w").write(text)
start = time.time()
os.rename(tmp, src)
log = "serve.log"
while True:
    for line in open(log):
        if "Script reloaded" in line and "s0007" in line:
            stamp = re.match(r"(\S+)Z", line).group(1)
            from datetime import datetime, timezone
            at = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()
            print(round((at - start) * 1000))
            raise SystemExit
    if time.time() - start > 30:
        print("timeout"); raise SystemExit
    time.sleep(0.01)
PY
reload_ms=$(cat reload_ms)

# Under load: BUSY scripts every 5 seconds.
for i in $(seq 0 $((BUSY - 1))); do
    f=$(printf "scripts/s%04d.rhai" "$i")
    sed -i 's/^\/\/! schedule = .*/\/\/! schedule = '"'"'cron "*\/5 * * * * *"'"'"'/' "$f"
done
sleep "$BUSY_SECONDS"
busy_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
trap - EXIT

python3 - "$SCRIPTS" "$BUSY" "$BUSY_SECONDS" "$load_ms" "$reload_ms" "$rss_kb" "$busy_rss_kb" "$(nproc)" <<'PY' | tee "$bench/results/serve.md"
import sqlite3, sys, statistics, datetime
n, busy, secs, load_ms, reload_ms, rss, busy_rss, cores = sys.argv[1:]
db = sqlite3.connect(".ferry/state.db")
rows = db.execute("SELECT started_at, occurrence, status FROM runs WHERE occurrence IS NOT NULL AND trigger = 'scheduled'").fetchall()
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
drift = sorted((t(s) - t(o)) * 1000 for s, o, st in rows if st != "skipped")
skipped = sum(1 for r in rows if r[2] == "skipped")
ok = sum(1 for r in rows if r[2] == "succeeded")
q = lambda p: drift[min(len(drift) - 1, int(p * len(drift)))] if drift else float("nan")
print(f"# ferry serve benchmark, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cores} cores\n")
print("| measure | value |\n|---|---|")
print(f"| scripts loaded at start | {n} |")
print(f"| time to load them all | {load_ms} ms |")
print(f"| save to reload of one script | {reload_ms} ms |")
print(f"| resident memory, idle, {n} scripts loaded | {int(rss) / 1024:.1f} MiB |")
print(f"| resident memory after {secs} s with {busy} scripts every 5 s | {int(busy_rss) / 1024:.1f} MiB |")
print(f"| scheduled runs under load (succeeded / skipped) | {ok} / {skipped} |")
print(f"| start drift: median / p95 / max | {q(0.5):.1f} / {q(0.95):.1f} / {max(drift) if drift else float('nan'):.1f} ms |")
PY
