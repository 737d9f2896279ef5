#!/usr/bin/env bash
# bench/schema.sh: what a schema guard costs, as whole `ferry run` processes.
#
#  1. A ROWS-row (default 1,000,000) OneRoster enrollments.csv with its
#     orgs, users and classes beside it, delivered with
#     `[guards] schema = "oneroster-1.1"` and without: the guard checks every
#     rule of enrollments.csv and its three references into the other files.
#  2. The OneRoster 1.1 template's whole bundle over `ferry demo --students
#     STUDENTS` (default 100,000), with its schema guard and without.
#
#   bench/schema.sh                                   # target/release/ferry
#   FERRY=target/debug/ferry ROWS=20000 STUDENTS=2000 ROUNDS=1 bench/schema.sh
#
# Rounds alternate guarded and unguarded runs. Each run is timed as a whole
# process by /usr/bin/time -v (wall clock and peak RSS); the guard's cost is
# the difference of the medians. The binary is not built here: build it
# first (cargo build --release) or point FERRY at one.
#
# Needs: python3 (sqlite3 module), /usr/bin/time. Writes bench/results/schema.md.
set -euo pipefail

ROWS=${ROWS:-1000000}
STUDENTS=${STUDENTS:-100000}
ROUNDS=${ROUNDS:-3}
for v in ROWS STUDENTS ROUNDS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive whole number" >&2; exit 2; }
done

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
ferry=$(realpath "${FERRY:-$root/target/release/ferry}")
work=$bench/schema-work
[[ -x $ferry ]] || { echo "no ferry binary at $ferry: cargo build --release, or set FERRY=path" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work/rows/scripts" "$work/bundle/scripts" "$bench/results"
trap 'rm -rf "$work"' EXIT

# ---- 1. ROWS enrollments with their orgs, users and classes -----------------
echo "== $ROWS enrollments (sqlite)"
python3 - "$work/rows/bench.db" "$ROWS" <<'PY'
import sqlite3, sys
db, rows = sys.argv[1], int(sys.argv[2])
users, classes, schools = max(rows // 6, 1), max(rows // 20, 1), 20
con = sqlite3.connect(db)
common = '"sourcedId" TEXT, "status" TEXT, "dateLastModified" TEXT'
con.execute(f'CREATE TABLE orgs ({common}, "name" TEXT, "type" TEXT, "identifier" TEXT, "parentSourcedId" TEXT)')
con.execute(f'CREATE TABLE users ({common}, "enabledUser" TEXT, "orgSourcedIds" TEXT, "role" TEXT, "username" TEXT, '
            '"userIds" TEXT, "givenName" TEXT, "familyName" TEXT, "middleName" TEXT, "identifier" TEXT, "email" TEXT, '
            '"sms" TEXT, "phone" TEXT, "agentSourcedIds" TEXT, "grades" TEXT, "password" TEXT)')
con.execute(f'CREATE TABLE classes ({common}, "title" TEXT, "grades" TEXT, "courseSourcedId" TEXT, "classCode" TEXT, '
            '"classType" TEXT, "location" TEXT, "schoolSourcedId" TEXT, "termSourcedIds" TEXT, "subjects" TEXT, '
            '"subjectCodes" TEXT, "periods" TEXT)')
con.execute(f'CREATE TABLE enrollments ({common}, "classSourcedId" TEXT, "schoolSourcedId" TEXT, '
            '"userSourcedId" TEXT, "role" TEXT, "primary" TEXT, "beginDate" TEXT, "endDate" TEXT)')
con.executemany('INSERT INTO orgs VALUES (?,NULL,NULL,?,?,NULL,NULL)',
                [(f"sch-{s}", f"School {s}", "school") for s in range(schools)])
con.executemany('INSERT INTO users VALUES (?,NULL,NULL,"true",?,"student",?,NULL,"Given","Family",NULL,?,NULL,NULL,NULL,NULL,"07",NULL)',
                ((f"stu-{u}", f"sch-{u % schools}", f"user{u}", str(u)) for u in range(users)))
con.executemany('INSERT INTO classes VALUES (?,NULL,NULL,?,"07",?,NULL,"scheduled",NULL,?,"ay-2027",NULL,NULL,"1")',
                ((f"cls-{c}", f"Class {c}", f"crs-{c}", f"sch-{c % schools}") for c in range(classes)))
con.executemany('INSERT INTO enrollments VALUES (?,NULL,NULL,?,?,?,"student","false","2026-08-15",NULL)',
                ((f"enr-{e}", f"cls-{e % classes}", f"sch-{(e % classes) % schools}", f"stu-{e % users}")
                 for e in range(rows)))
con.commit()
PY
# Only enrollments.csv is delivered: the guard checks it and resolves its
# references by reading classes, orgs and users beside it (their keys only).
cat >"$work/rows/ferry.toml" <<TOML
[databases.live]
url = "sqlite:$work/rows/bench.db"

[destinations.out]
mode = "local"
path = "out"
TOML
mkdir -p "$work/rows/stdlib" "$work/rows/out"
cp -r "$root/stdlib/schemas" "$work/rows/stdlib/"
body='for t in ["orgs", "users", "classes"] { csv(query("live", `SELECT * FROM ${t}`), #{ name: t }); }
deliver(csv(query("live", "SELECT * FROM enrollments"), #{ name: "enrollments" }), "out");'
printf '//! [guards]\n//! schema = "oneroster-1.1"\n%s\n' "$body" >"$work/rows/scripts/guarded.rhai"
printf '%s\n' "$body" >"$work/rows/scripts/plain.rhai"

# ---- 2. the OneRoster bundle of a STUDENTS-student demo district ------------
echo "== ferry demo --students $STUDENTS"
cat >"$work/bundle/ferry.toml" <<TOML
[databases.live]
url = "sqlite:$work/bundle/demo.db"

[destinations.out]
mode = "local"
path = "out"
TOML
cp -r "$root/stdlib" "$work/bundle/"
(cd "$work/bundle" && "$ferry" demo --students "$STUDENTS" --out "$work/bundle/demo.db" >/dev/null)
cp "$root/scripts/templates/oneroster.rhai" "$work/bundle/scripts/guarded.rhai"
grep -v -e '^//! \[guards\]' -e '^//! schema = ' "$root/scripts/templates/oneroster.rhai" >"$work/bundle/scripts/plain.rhai"

# ---- rounds ------------------------------------------------------------------
# One timed run: prints "seconds peak_kib".
timed() {
    local dir=$1 script=$2 log
    log=$(mktemp)
    if ! (cd "$dir" && /usr/bin/time -v "$ferry" run "$script" >"$log.out" 2>"$log"); then
        echo "ferry run $script failed in $dir:" >&2
        cat "$log.out" "$log" >&2
        exit 1
    fi
    # The guarded run must really have checked (and passed) its schema.
    if [[ $script == guarded ]]; then
        local n history
        n=$(awk '/^run [0-9]+ /{print $2; exit}' "$log.out")
        history=$(cd "$dir" && "$ferry" history --run "$n")
        [[ $history == *"passed its guards"* ]] \
            || { echo "$dir: run $n has no 'passed its guards' in its log" >&2; exit 1; }
    fi
    python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.*)", text).group(1)
parts = [float(p) for p in wall.split(":")]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)
print(f"{seconds:.2f} {rss}")
PY
    rm -f "$log" "$log.out"
}

declare -A times rss
for case in rows bundle; do
    for round in $(seq 1 "$ROUNDS"); do
        order=(guarded plain)
        (( round % 2 == 0 )) && order=(plain guarded)
        for script in "${order[@]}"; do
            read -r s k < <(timed "$work/$case" "$script")
            times[$case.$script]+="$s "
            rss[$case.$script]+="$k "
            echo "  $case round $round $script: ${s}s, peak RSS $((k / 1024)) MiB"
        done
    done
done

python3 - "$bench/results/schema.md" "$ROWS" "$STUDENTS" "$ROUNDS" "$ferry" \
    "${times[rows.guarded]}" "${times[rows.plain]}" "${rss[rows.guarded]}" "${rss[rows.plain]}" \
    "${times[bundle.guarded]}" "${times[bundle.plain]}" "${rss[bundle.guarded]}" "${rss[bundle.plain]}" <<'PY'
import statistics as st, sys
out, rows, students, rounds, ferry, *cols = sys.argv[1:]
f = lambda s: [float(x) for x in s.split()]
lines = [f"# Schema guard cost ({ferry}, {rounds} round(s), whole-process times by /usr/bin/time -v)", "",
         "| case | guarded (median s) | unguarded (median s) | guard cost (s) | peak RSS guarded / unguarded (MiB) |",
         "|---|---|---|---|---|"]
for name, (tg, tp, rg, rp) in [(f"{int(rows):,}-row enrollments.csv", cols[0:4]),
                               (f"OneRoster 1.1 bundle, {int(students):,} students", cols[4:8])]:
    g, p = st.median(f(tg)), st.median(f(tp))
    lines.append(f"| {name} | {g:.2f} | {p:.2f} | {g - p:+.2f} | {max(f(rg)) / 1024:.0f} / {max(f(rp)) / 1024:.0f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
