#!/usr/bin/env bash
# bench/run.sh: how fast `ferry run` turns a large roster query into a CSV file,
# next to each database's own command-line exporter.
#
#   bench/run.sh                       # 1,000,000 rows, 3 timed runs per tool
#   ROWS=100000 RUNS=5 bench/run.sh
#   DATABASES="lite pg" bench/run.sh   # leave MariaDB out
#   ROWS_BIG=0 bench/run.sh            # skip the 10,000,000-row memory run
#
# Environment:
#   ROWS       rows in the bench_roster table (default 1000000)
#   RUNS       timed runs per tool, alternating ferry and the reference tool;
#              the median and the per-pair ratios are reported (default 5)
#   DATABASES  any of: lite pg maria (default all three)
#   KEEP=1     keep bench/work/bench.db, the output files and the server tables
#   VARIANT_DB the database the option variants run on (default: the first of
#              DATABASES): all quotes + US-ASCII + CRLF, and a rows.map closure
#   ROWS_BIG   rows of the one-off memory run (default 10000000; 0 skips it)
#   BIG_DATABASES  databases of the memory run (default "lite pg")
#
# Needs: cargo, sqlite3, psql, mariadb, python3, /usr/bin/time (Debian: time).
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust, database test) and
# MariaDB on 127.0.0.1:3306 (root, no password, database test).
#
# Writes bench/results/latest.md (and a dated copy). See docs/benchmarks.md.
set -euo pipefail

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
DATABASES=${DATABASES:-lite pg maria}
KEEP=${KEEP:-0}
ROWS_BIG=${ROWS_BIG:-10000000}
BIG_DATABASES=${BIG_DATABASES:-lite pg}
set -- $DATABASES
VARIANT_DB=${VARIANT_DB:-$1}
set --

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
work=$bench/work
results=$bench/results
ferry=$root/target/release/ferry
query="SELECT * FROM bench_roster ORDER BY id"

PSQL=(psql -h 127.0.0.1 -U postgres -d test -X -q -v ON_ERROR_STOP=1)
MARIADB=(mariadb -h 127.0.0.1 -u root --default-character-set=utf8mb4 test)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
uses() { [[ " $DATABASES " == *" $1 "* ]]; }

[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive whole number, not '$ROWS'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive whole number, not '$RUNS'"
[[ $ROWS_BIG =~ ^[0-9]+$ ]] || die "ROWS_BIG must be a whole number (0 skips the memory run), not '$ROWS_BIG'"
uses "$VARIANT_DB" || die "VARIANT_DB=$VARIANT_DB is not one of DATABASES ($DATABASES)"
big_uses() { ((ROWS_BIG > 0)) && uses "$1" && [[ " $BIG_DATABASES " == *" $1 "* ]]; }
for db in $DATABASES; do
    [[ $db == lite || $db == pg || $db == maria ]] || die "unknown database '$db' in DATABASES (lite, pg, maria)"
done

# ---------------------------------------------------------------- tools
if [[ ! -x /usr/bin/time ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        say "installing /usr/bin/time (apt-get install time)"
        apt-get install -y -qq time >/dev/null
    else
        die "/usr/bin/time is missing: sudo apt-get install time"
    fi
fi
needed=(cargo python3)
uses lite && needed+=(sqlite3)
uses pg && needed+=(psql)
uses maria && needed+=(mariadb)
for tool in "${needed[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
uses pg && { "${PSQL[@]}" -c "SELECT 1" >/dev/null || die "cannot reach PostgreSQL on 127.0.0.1:5432"; }
uses maria && { "${MARIADB[@]}" -e "SELECT 1" >/dev/null || die "cannot reach MariaDB on 127.0.0.1:3306"; }

# Drop the server tables on the way out, even after a failure; the large
# local files go too unless KEEP=1.
cleanup() {
    [[ $KEEP == 1 ]] && return
    if uses pg; then "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_roster, bench_big" >/dev/null 2>&1 || true; fi
    if uses maria; then "${MARIADB[@]}" -e "DROP TABLE IF EXISTS bench_roster, bench_big" >/dev/null 2>&1 || true; fi
    rm -rf "$work/bench.db" "$work/bench_big.db" "$work/out" "$work/ref"
}
trap cleanup EXIT

# ---------------------------------------------------------------- build
say "building ferry (cargo build --release)"
(cd "$root" && cargo build --release --quiet)
[[ -x $ferry ]] || die "the build left no $ferry"

# ---------------------------------------------------------------- data
# shellcheck source=bench/roster.sh
source "$bench/roster.sh"

mkdir -p "$work" "$results"
rm -rf "$work/out" "$work/ref"
mkdir -p "$work/out" "$work/ref"

for db in $DATABASES; do
    say "$db: $ROWS rows into bench_roster"
    load "$db" bench_roster "$ROWS"
done

# ---------------------------------------------------------------- ferry project
cat > "$work/ferry.toml" <<'TOML'
# Written by bench/run.sh. Paths are relative to this folder.
[databases.lite]
url = "sqlite:bench.db"

[databases.lite_big]
url = "sqlite:bench_big.db"

[databases.pg]
url = "postgres://postgres@127.0.0.1:5432/test"

[databases.maria]
url = "mysql://root@127.0.0.1:3306/test"

[destinations.out]
mode = "local"
path = "out"
TOML
# The run history is not what is measured: start from an empty state store.
rm -rf "$work/scripts" "$work/.ferry"
mkdir -p "$work/scripts"
for db in lite pg maria; do
    # The plain extract: UTF-8, quotes only where needed, CRLF.
    cat > "$work/scripts/$db.rhai" <<RHAI
let rows = query("$db", "$query");
deliver(csv(rows, #{ name: "$db" }), "out");
RHAI
    # The strictest vendor layout: every field quoted, transliterated to
    # US-ASCII, CRLF.
    cat > "$work/scripts/${db}_strict.rhai" <<RHAI
let rows = query("$db", "$query");
deliver(csv(rows, #{ name: "${db}_strict", quotes: true, charset: "us-ascii", line_ending: "crlf" }), "out");
RHAI
    # A per-row closure that reads and changes two fields.
    cat > "$work/scripts/${db}_map.rhai" <<RHAI
let rows = query("$db", "$query").map(|r| { r.last_name = r.last_name.to_upper(); r.grade = r.grade + 1; r });
deliver(csv(rows, #{ name: "${db}_map" }), "out");
RHAI
    big=$db
    [[ $db == lite ]] && big=lite_big
    big_table=bench_big
    cat > "$work/scripts/${db}_big.rhai" <<RHAI
let rows = query("$big", "SELECT * FROM $big_table ORDER BY id");
deliver(csv(rows, #{ name: "${db}_big" }), "out");
RHAI
done

# ---------------------------------------------------------------- timing
samples=$work/samples.tsv
: > "$samples"

# timed DB TOOL RUN STDOUT CMD...: runs CMD under /usr/bin/time -v with its
# standard output in STDOUT, and records wall, user+system CPU and peak RSS.
timed() {
    local db=$1 tool=$2 run=$3 stdout=$4
    shift 4
    sync # write back the previous run's output first
    if ! /usr/bin/time -v -o "$work/time.txt" "$@" > "$stdout" 2> "$work/stderr.txt"; then
        echo "bench: $tool on $db failed: $*" >&2
        tail -n 20 "$stdout" "$work/stderr.txt" >&2 || true
        exit 1
    fi
    awk -F': ' -v db="$db" -v tool="$tool" -v run="$run" '
        /Elapsed \(wall clock\) time/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        /User time \(seconds\)/ { cpu += $2 }
        /System time \(seconds\)/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%s\t%s\t%s\t%.2f\t%.2f\t%d\n", db, tool, run, wall, cpu, rss }
    ' "$work/time.txt" | tee -a "$samples" |
        awk -F'\t' '{ printf "   %-6s %-8s run %s: %6.2f s wall, %6.2f s CPU, %5.0f MiB\n", $1, $2, $3, $4, $5, $6 / 1024 }'
}

ferry_run() { # DB RUN [VARIANT]: VARIANT is strict, map or big (tool names in the samples)
    local script=$1${3:+_$3}
    rm -f "$work/out/$script.csv"
    timed "$1" "${3:-ferry}" "$2" "$work/ferry-$script.log" "$ferry" --config "$work/ferry.toml" run "$script"
}

for db in $DATABASES; do
    case $db in
        lite) say "timing ferry and sqlite3 on SQLite ($RUNS runs each)" ;;
        pg) say "timing ferry and psql \\copy on PostgreSQL ($RUNS runs each)" ;;
        maria) say "timing ferry and mariadb --batch on MariaDB ($RUNS runs each)" ;;
    esac
    [[ $db == "$VARIANT_DB" ]] && say "  with the variants: all quotes + US-ASCII + CRLF, and rows.map"
    for run in $(seq 1 "$RUNS"); do
        ferry_run "$db" "$run"
        case $db in
            lite)
                timed lite sqlite3 "$run" "$work/ref/lite.csv" \
                    sqlite3 -csv -header "$work/bench.db" "$query" ;;
            pg)
                rm -f "$work/ref/pg.csv"
                timed pg psql "$run" /dev/null \
                    "${PSQL[@]}" -c "\\copy ($query) TO '$work/ref/pg.csv' WITH (FORMAT csv, HEADER)" ;;
            maria)
                timed maria mariadb "$run" "$work/ref/maria.tsv" \
                    "${MARIADB[@]}" --batch --quick -e "$query" ;;
        esac
        if [[ $db == "$VARIANT_DB" ]]; then
            ferry_run "$db" "$run" strict
            ferry_run "$db" "$run" map
        fi
    done
done

# ---------------------------------------------------------------- sanity
# Records are counted by parsing (CSV fields may hold line breaks); mariadb
# --batch escapes line breaks as \n, so there a record is a line.
say "checking record counts"
outputs=$work/outputs.tsv
: > "$outputs"
for db in $DATABASES; do
    case $db in
        lite) ref=$work/ref/lite.csv reftool=sqlite3 format=csv ;;
        pg) ref=$work/ref/pg.csv reftool=psql format=csv ;;
        maria) ref=$work/ref/maria.tsv reftool=mariadb format=tsv ;;
    esac
    mine=$(python3 "$bench/report.py" count csv "$work/out/$db.csv")
    theirs=$(python3 "$bench/report.py" count "$format" "$ref")
    printf '   %-6s ferry %s records, %s %s records\n' "$db" "$mine" "$reftool" "$theirs"
    if [[ $mine != "$ROWS" || $theirs != "$ROWS" ]]; then
        die "record counts differ on $db: ferry $mine, $reftool $theirs, table $ROWS"
    fi
    printf '%s\tferry\t%s\t%s\n' "$db" "$(stat -c %s "$work/out/$db.csv")" "$mine" >> "$outputs"
    printf '%s\t%s\t%s\t%s\n' "$db" "$reftool" "$(stat -c %s "$ref")" "$theirs" >> "$outputs"
done
for variant in strict map; do
    file=$work/out/${VARIANT_DB}_$variant.csv
    mine=$(python3 "$bench/report.py" count csv "$file")
    printf '   %-6s ferry (%s) %s records\n' "$VARIANT_DB" "$variant" "$mine"
    [[ $mine == "$ROWS" ]] || die "the $variant variant wrote $mine records, the table has $ROWS"
    printf '%s\t%s\t%s\t%s\n' "$VARIANT_DB" "$variant" "$(stat -c %s "$file")" "$mine" >> "$outputs"
done

# ferry renders values the same way for every database, so the same table
# should give the same bytes; a difference is reported, not fatal.
identical="n/a (one database)"
set -- $DATABASES
if (($# > 1)); then
    first=$1
    identical="yes"
    for db in "$@"; do
        if ! cmp -s "$work/out/$first.csv" "$work/out/$db.csv"; then
            identical="NO: $first.csv and $db.csv differ ($(cmp "$work/out/$first.csv" "$work/out/$db.csv" 2>&1 | head -n 1 || true))"
            echo "   WARNING: $identical" >&2
        fi
    done
    echo "   ferry's files identical across databases: $identical"
fi

# ---------------------------------------------------------------- memory at 10M rows
# One run per database, for the peak resident memory: it must not grow with
# the result. The row count is read from ferry's own summary line.
for db in lite pg maria; do
    big_uses "$db" || continue
    say "$db: $ROWS_BIG rows into bench_big, one ferry run for memory"
    load "$db" bench_big "$ROWS_BIG"
    ferry_run "$db" 1 big
    wrote=$(grep -o '[0-9,]* rows' "$work/ferry-${db}_big.log" | head -n 1 | tr -d ', rows')
    [[ $wrote == "$ROWS_BIG" ]] || die "the $ROWS_BIG-row run on $db wrote '$wrote' rows"
    printf '%s\tbig\t%s\t%s\n' "$db" "$(stat -c %s "$work/out/${db}_big.csv")" "$wrote" >> "$outputs"
    # Gigabytes: not kept, even with KEEP=1.
    rm -f "$work/out/${db}_big.csv" "$work/bench_big.db"
    case $db in
        pg) "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_big" > /dev/null ;;
        maria) "${MARIADB[@]}" -e "DROP TABLE IF EXISTS bench_big" > /dev/null ;;
    esac
done

# ---------------------------------------------------------------- report
versions=("ferry $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (uncommitted changes)')")
uses lite && versions+=("sqlite3 $(sqlite3 --version | cut -d' ' -f1)")
uses pg && versions+=("PostgreSQL $("${PSQL[@]}" -Atc "SHOW server_version" | cut -d' ' -f1)")
uses maria && versions+=("MariaDB $("${MARIADB[@]}" -N -e "SELECT VERSION()")")

stamp=$(date -u +%Y%m%d-%H%M%S)
python3 "$bench/report.py" table \
    --samples "$samples" --outputs "$outputs" --rows "$ROWS" --runs "$RUNS" --rows-big "$ROWS_BIG" \
    --nproc "$(nproc)" --cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
    --versions "$(IFS=';'; echo "${versions[*]}")" --identical "$identical" \
    > "$results/$stamp.md"
cp "$results/$stamp.md" "$results/latest.md"
say "results (bench/results/latest.md)"
cat "$results/latest.md"
