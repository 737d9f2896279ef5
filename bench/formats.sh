#!/usr/bin/env bash
# bench/formats.sh: the same 1,000,000-row PostgreSQL roster written as plain
# CSV, fixed width, NDJSON, gzip-compressed CSV and XLSX by `ferry run`
# (release build, default options), and as gzip-compressed CSV by
# `psql \copy ... | gzip -6`, in alternating rounds (the tools' order
# rotates each round) on a shared, noisy machine.
#
#   bench/formats.sh                 # 1,000,000 rows, 5 rounds
#   ROWS=100000 ROUNDS=7 bench/formats.sh
#
# Each run is timed as a whole process (clock read around it) with its
# peak RSS from /usr/bin/time. Prints, per tool, the median and range of
# the wall time and the peak RSS; per round, fixed/CSV, NDJSON/CSV and
# ferry's gzip over psql | gzip -6, with their median and range.
# Writes bench/results/formats.md.
#
# Needs: cargo, psql, gzip, python3, /usr/bin/time; PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust, database test).
set -euo pipefail

ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-5}
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || { echo "ROWS must be a positive whole number" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive whole number" >&2; exit 2; }

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/formats-work
ferry=$root/target/release/ferry
PSQL=(psql -h 127.0.0.1 -U postgres -d test -X -q -v ON_ERROR_STOP=1)
query="SELECT * FROM bench_formats ORDER BY id"

[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 2; }
"${PSQL[@]}" -c "SELECT 1" >/dev/null || { echo "cannot reach PostgreSQL on 127.0.0.1:5432" >&2; exit 2; }
(cd "$root" && cargo build --release --quiet)

# shellcheck source=bench/roster.sh
source "$bench/roster.sh"
rm -rf "$work"
mkdir -p "$work/scripts" "$work/out" "$bench/results"
trap '"${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_formats" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
echo "== $ROWS rows into bench_formats"
load pg bench_formats "$ROWS"

cat >"$work/ferry.toml" <<'TOML'
[databases.pg]
url = "postgres://postgres@127.0.0.1:5432/test"

[destinations.out]
mode = "local"
path = "out"
TOML
rows="query(\"pg\", \"$query\")"
echo "deliver(csv($rows, #{ name: \"csv\" }), \"out\");" >"$work/scripts/csv.rhai"
echo "deliver(ndjson($rows, #{ name: \"ndjson\" }), \"out\");" >"$work/scripts/ndjson.rhai"
echo "deliver(gzip(csv($rows, #{ name: \"gz\" }), #{}), \"out\");" >"$work/scripts/gzip.rhai"
echo "deliver(xlsx($rows, #{ name: \"xlsx\" }), \"out\");" >"$work/scripts/xlsx.rhai"
# Every column, at the widths a state layout would give them.
cat >"$work/scripts/fixed.rhai" <<RHAI
let layout = [
    #{ name: "id", width: 9, align: "right", pad: "0" }, #{ name: "person_id", width: 9, align: "right", pad: "0" },
    #{ name: "state_id", width: 12 }, #{ name: "last_name", width: 20, overflow: "truncate" },
    #{ name: "first_name", width: 20, overflow: "truncate" }, #{ name: "middle_name", width: 12 },
    #{ name: "preferred_name", width: 20 }, #{ name: "birth_date", width: 10 },
    #{ name: "grade", width: 2, align: "right", pad: "0" }, #{ name: "school", width: 32 },
    #{ name: "email", width: 40 }, #{ name: "enroll_date", width: 10 }, #{ name: "exit_date", width: 10 },
    #{ name: "updated_at", width: 19 }, #{ name: "gpa", width: 5, align: "right" },
    #{ name: "fee_balance", width: 10, align: "right" }, #{ name: "active", width: 5 },
    #{ name: "has_iep", width: 5 }, #{ name: "notes", width: 60, overflow: "truncate" },
];
deliver(fixed($rows, #{ name: "fixed", columns: layout }), "out");
RHAI
cat >"$work/psql_gzip.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
${PSQL[*]} -c "\\copy ($query) TO STDOUT WITH (FORMAT csv, HEADER)" | gzip -6 >"$work/out/psql.csv.gz"
SH
chmod +x "$work/psql_gzip.sh"

tools=(csv fixed ndjson gzip xlsx psql_gzip)
cd "$work"
# One timed run: prints "seconds rss_kib".
timed() {
    local tool=$1 start end
    rm -rf out/* .ferry/work
    sync
    start=$(date +%s.%N)
    if [[ $tool == psql_gzip ]]; then
        /usr/bin/time -f '%M' -o rss ./psql_gzip.sh
    else
        /usr/bin/time -f '%M' -o rss "$ferry" run "$tool" >/dev/null
    fi
    end=$(date +%s.%N)
    echo "$(awk "BEGIN { print $end - $start }") $(tail -n 1 rss)"
}

: >times
for round in $(seq 1 "$ROUNDS"); do
    n=${#tools[@]}
    for i in $(seq 0 $((n - 1))); do
        tool=${tools[$(((i + round - 1) % n))]}
        read -r secs rss < <(timed "$tool")
        echo "$round $tool $secs $rss" | tee -a times
    done
    # The files are what a vendor's parser reads: check them once.
    if ((round == 1)); then
        "$ferry" run gzip >/dev/null && gzip -t out/gz.csv.gz
        "$ferry" run xlsx >/dev/null
        python3 - out/xlsx.xlsx "$ROWS" <<'PY' || echo "(openpyxl is not installed: the XLSX file was not read back)"
import sys
import openpyxl
sheet = openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]
rows = sum(1 for _ in sheet.iter_rows()) - 1
assert rows == int(sys.argv[2]), rows
print(f"   openpyxl read {rows} rows")
PY
    fi
done

python3 - "$ROWS" "$ROUNDS" <<'PY' | tee "$bench/results/formats.md"
import statistics, sys
from collections import defaultdict
rows, rounds = int(sys.argv[1]), int(sys.argv[2])
t, m = defaultdict(dict), defaultdict(dict)
for line in open("times"):
    r, tool, secs, rss = line.split()
    t[tool][int(r)] = float(secs)
    m[tool][int(r)] = int(rss)
def span(xs):
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"
print(f"# Formats: {rows:,} PostgreSQL rows, {rounds} alternating rounds\n")
print("| tool | wall s, median (range) | peak RSS MiB, median (range) |")
print("|---|---|---|")
names = {"csv": "ferry csv()", "fixed": "ferry fixed()", "ndjson": "ferry ndjson()",
         "gzip": "ferry gzip(csv())", "xlsx": "ferry xlsx()", "psql_gzip": "psql \\copy \\| gzip -6"}
for tool, name in names.items():
    w = list(t[tool].values())
    r = [x / 1024 for x in m[tool].values()]
    print(f"| {name} | {span(w)} | {statistics.median(r):.0f} ({min(r):.0f}–{max(r):.0f}) |")
print("\n| ratio, per round | median (range) |")
print("|---|---|")
for a, b, label in [("fixed", "csv", "fixed / csv"), ("ndjson", "csv", "ndjson / csv"),
                    ("gzip", "psql_gzip", "ferry gzip / psql \\| gzip -6"), ("xlsx", "csv", "xlsx / csv")]:
    ratios = [t[a][r] / t[b][r] for r in t[a] if r in t[b]]
    print(f"| {label} | {span(ratios)} |")
PY
