#!/usr/bin/env bash
# bench/ab.sh: two ferry builds on the same extract, alternating A B A B, so
# a change is measured against what it replaces on a shared, noisy machine.
#
#   KEEP=1 ROWS_BIG=0 bench/run.sh           # once: builds bench/work and its tables
#   bench/ab.sh A_FERRY B_FERRY [SCRIPT...]  # default scripts: pg maria lite
#   PAIRS=7 bench/ab.sh ...
#
# Each pair runs `A run SCRIPT` then `B run SCRIPT` from bench/work (order
# swapped every other pair), timing the whole process (clock read around
# it) and its peak RSS (/usr/bin/time). Both builds must write the same
# bytes: the files are compared after every pair. Prints, per script, each
# side's median and range and the B/A ratio per pair (median and range).
# Writes bench/results/ab.md.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: bench/ab.sh A_FERRY B_FERRY [SCRIPT...]" >&2; exit 2; }
a=$(realpath "$1") b=$(realpath "$2")
shift 2
scripts=("$@")
[[ ${#scripts[@]} -gt 0 ]] || scripts=(pg maria lite)
PAIRS=${PAIRS:-5}
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || { echo "PAIRS must be a positive whole number" >&2; exit 2; }

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$bench/work
[[ -f $work/ferry.toml ]] || { echo "no bench/work project: run KEEP=1 ROWS_BIG=0 bench/run.sh first" >&2; exit 2; }
cd "$work"
mkdir -p "$bench/results" ab

# One timed run: prints "seconds rss_kib".
timed() {
    local bin=$1 script=$2 start end
    rm -rf out/* .ferry/work
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o ab/rss "$bin" run "$script" >/dev/null
    end=$(date +%s.%N)
    echo "$(awk "BEGIN { print $end - $start }") $(cat ab/rss)"
}

: >ab/times
for script in "${scripts[@]}"; do
    for pair in $(seq 1 "$PAIRS"); do
        order=(a b)
        ((pair % 2 == 0)) && order=(b a)
        for side in "${order[@]}"; do
            bin=$a
            [[ $side == b ]] && bin=$b
            read -r secs rss < <(timed "$bin" "$script")
            cp "$(ls out/* | head -n 1)" "ab/$side.out"
            echo "$script $pair $side $secs $rss" >>ab/times
        done
        cmp -s ab/a.out ab/b.out || { echo "$script: A and B wrote different files (pair $pair)" >&2; exit 1; }
    done
done

python3 - "$a" "$b" "$PAIRS" <<'PY' | tee "$bench/results/ab.md"
import statistics, sys
from collections import defaultdict
a, b, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = defaultdict(dict)
for line in open("ab/times"):
    script, pair, side, secs, rss = line.split()
    t[(script, int(pair))][side] = (float(secs), int(rss))
print(f"A = {a}\nB = {b}\n{pairs} pairs per script, A B / B A alternating; whole-process wall time, peak RSS.\n")
print("| script | A median s (range) | B median s (range) | B/A per pair: median (range) | RSS A / B MiB |")
print("|---|---|---|---|---|")
for script in dict.fromkeys(s for s, _ in t):
    runs = [t[(script, p)] for p in range(1, pairs + 1)]
    sa = [r["a"][0] for r in runs]
    sb = [r["b"][0] for r in runs]
    ratio = [y / x for x, y in zip(sa, sb)]
    ra = max(r["a"][1] for r in runs) / 1024
    rb = max(r["b"][1] for r in runs) / 1024
    print(f"| {script} | {statistics.median(sa):.3f} ({min(sa):.3f}–{max(sa):.3f}) "
          f"| {statistics.median(sb):.3f} ({min(sb):.3f}–{max(sb):.3f}) "
          f"| {statistics.median(ratio):.3f}x ({min(ratio):.3f}–{max(ratio):.3f}) | {ra:.0f} / {rb:.0f} |")
PY
