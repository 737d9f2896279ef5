#!/usr/bin/env bash
# bench/zip.sh: how fast, and in how much memory, `zip()` bundles a 1 GB file,
# next to Info-ZIP's `zip -6` (the same deflate level) on the same file.
#
#   bench/zip.sh                 # a 1 GiB CSV, level 6
#   SIZE_MB=256 bench/zip.sh     # a smaller file
#   LEVEL=1 bench/zip.sh         # another level, for both tools
#   ZIP64=1 bench/zip.sh         # also zip a 4.5 GiB file (Zip64), checked with unzip -t
#
# The file is made by ferry itself: csv() of a query that generates rows
# (a recursive CTE, nothing stored), so the script is an ordinary extract:
#   let f = csv(query(...)); deliver(zip([f], #{ level: 6 }), "out");
# The run's log says how long zip() took (the CSV is written before it), and
# /usr/bin/time -v gives the run's peak memory (RSS), CSV phase included.
#
# Needs: cargo, python3, zip, unzip, /usr/bin/time (installed with apt-get
# when missing and running as root). Works in $WORK (default a fresh folder
# under ${TMPDIR:-/tmp}); KEEP=1 keeps it. Prints a Markdown table.
set -euo pipefail

SIZE_MB=${SIZE_MB:-1024}
LEVEL=${LEVEL:-6}
ZIP64=${ZIP64:-0}
KEEP=${KEEP:-0}

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
ferry=$root/target/release/ferry
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ferry-zip-bench.XXXXXX")}

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "SIZE_MB must be a positive whole number, not '$SIZE_MB'"
[[ $LEVEL =~ ^[0-9]$ ]] || die "LEVEL must be 0 to 9, not '$LEVEL'"

missing=()
[[ -x /usr/bin/time ]] || missing+=(time)
command -v zip >/dev/null || missing+=(zip)
command -v unzip >/dev/null || missing+=(unzip)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} (apt-get)"
        apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "missing ${missing[*]}: sudo apt-get install ${missing[*]}"
    fi
fi
command -v python3 >/dev/null || die "python3 is needed"

say "building ferry (release)"
(cd "$root" && cargo build --release --quiet)

cleanup() { [[ $KEEP == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/scripts"
cat >"$WORK/ferry.toml" <<'EOF'
timezone = "America/Chicago"
active_year = 2027
state = "state.db"
work = "work"
default_timeout = "2h"
[databases.gen]
url = "sqlite::memory:"
[destinations.out]
mode = "local"
path = "out"
EOF

# Rows of about 80 bytes, varied enough that deflate works as on a roster;
# a 10,000-row run measures their exact size (see "calibrating" below).
calibration_bytes=800000
rows_for() { echo $(($1 * 1024 * 1024 * 10000 / calibration_bytes)); }
script() { # NAME ROWS ZIP?
    local body
    body=$(
        cat <<EOF
let rows = query("gen", \`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
    SELECT i AS person_id,
           printf('%08d', (i * 7919) % 100000000) AS state_id,
           substr('AbbottBakerChavezDuboisEvansFoxGarciaHughesIbarraJonesKimLopez', 1 + (i * 13) % 50, 6 + i % 7) AS last_name,
           substr('AvaBenCaraDevEliFinnGiaHugoIrisJade', 1 + (i * 7) % 30, 3 + i % 4) AS first_name,
           printf('%04d-%02d-%02d', 2008 + i % 10, 1 + i % 12, 1 + i % 28) AS birth_date,
           printf('%02d', i % 13) AS grade,
           printf('%d Elm St, Springfield', 100 + (i * 31) % 9900) AS address
    FROM n\`);
let f = csv(rows, #{ name: "$1" });
EOF
    )
    if [[ $3 == zip ]]; then
        body+=$'\n'"deliver(zip([f], #{ name: \"$1\", level: $LEVEL }), \"out\");"
    else
        body+=$'\n'"deliver(f, \"out\");"
    fi
    printf '%s\n' "$body" >"$WORK/scripts/$1.rhai"
}
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
wall_s() { # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:12.34"
    awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$1"
}
zip_seconds() { # from the run log: "wrote NAME.zip (..., in 4.21 s)"
    (cd "$WORK" && "$ferry" history --run "$1") | sed -n 's/.*wrote .*\.zip (.*, in \([0-9.]*\) s).*/\1/p' | head -1
}

say "calibrating: bytes per row"
script calibrate 10000 csv
(cd "$WORK" && "$ferry" run calibrate >/dev/null)
calibration_bytes=$(stat -c %s "$WORK/out/calibrate.csv")
rm -rf "$WORK/out" "$WORK/state.db"*

rows=$(rows_for "$SIZE_MB")
script big "$rows" csv
script bigzip "$rows" zip

say "ferry: writing the ${SIZE_MB} MiB CSV (reference for zip -6)"
(cd "$WORK" && "$ferry" run big >/dev/null)
csv_bytes=$(stat -c %s "$WORK/out/big.csv")

say "ferry: csv() then zip(level $LEVEL), under /usr/bin/time -v"
(cd "$WORK" && /usr/bin/time -v "$ferry" run bigzip >"$WORK/ferry.out" 2>"$WORK/ferry.time")
ferry_zip_s=$(zip_seconds 2)
ferry_rss=$(peak_mb "$WORK/ferry.time")
ferry_bytes=$(stat -c %s "$WORK/out/bigzip.zip")
[[ -n $ferry_zip_s ]] || die "no zip timing in the run log: $(cat "$WORK/ferry.out")"

say "checking ferry's zip (unzip -t, and the entry against the CSV)"
unzip -tq "$WORK/out/bigzip.zip" >&2
cmp <(unzip -p "$WORK/out/bigzip.zip" bigzip.csv) "$WORK/out/big.csv" || die "the zip's entry differs from the CSV"

say "zip -$LEVEL on the same CSV, under /usr/bin/time -v"
rm -f "$WORK/infozip.zip"
/usr/bin/time -v zip -q "-$LEVEL" -j "$WORK/infozip.zip" "$WORK/out/big.csv" 2>"$WORK/infozip.time"
infozip_s=$(wall_s "$WORK/infozip.time")
infozip_rss=$(peak_mb "$WORK/infozip.time")
infozip_bytes=$(stat -c %s "$WORK/infozip.zip")

ratio=$(python3 -c "print(f'{$infozip_s / $ferry_zip_s:.2f}')")
mibs() { python3 -c "print(f'{$csv_bytes / 1048576 / $1:.0f}')"; }
cat <<EOF

### zip() on a $(python3 -c "print(f'{$csv_bytes / 1048576:.0f}')") MiB CSV, level $LEVEL ($(nproc) CPUs, $(date -u +%Y-%m-%d))

| tool | seconds | MiB/s | zip size | peak RSS |
|---|---:|---:|---:|---:|
| ferry zip() | $ferry_zip_s | $(mibs "$ferry_zip_s") | $ferry_bytes | $ferry_rss MB (whole run, csv() included) |
| zip -$LEVEL | $infozip_s | $(mibs "$infozip_s") | $infozip_bytes | $infozip_rss MB |

Throughput ferry / zip -$LEVEL: ${ratio}× (above 1 is faster).
EOF

if [[ $ZIP64 == 1 ]]; then
    say "Zip64: a 4.5 GiB CSV"
    script huge "$(rows_for 4608)" zip
    (cd "$WORK" && rm -rf out/big.csv out/bigzip.zip && /usr/bin/time -v "$ferry" run huge >"$WORK/huge.out" 2>"$WORK/huge.time")
    unzip -tq "$WORK/out/huge.zip" >&2
    size=$(unzip -Zl "$WORK/out/huge.zip" | awk '/huge.csv/ {print $4}')
    echo
    echo "Zip64: huge.zip holds a ${size}-byte entry, unzip -t passes; peak RSS $(peak_mb "$WORK/huge.time") MB, zip() took $(zip_seconds 3) s."
fi
