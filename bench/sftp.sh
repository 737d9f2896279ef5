#!/usr/bin/env bash
# bench/sftp.sh: how long ferry takes to deliver a 100 MB file over SFTP to a
# local OpenSSH server, next to OpenSSH's own `sftp` client doing the same.
#
#   bench/sftp.sh                # 100 MB, 5 timed runs per tool
#   MB=20 RUNS=3 bench/sftp.sh
#
# Runs as root (it starts its own sshd on 127.0.0.1 and a login account
# `ferrybench`). Needs: cargo, openssh-server, openssh-client, sqlite3,
# /usr/bin/time (Debian: time). Writes bench/results/sftp-latest.md.
#
# ferry's side is `ferry resend RUN --to bench`: the file is built once by a
# run to a local folder, then only delivered, so both tools move the same
# bytes and nothing else is timed.
set -euo pipefail

MB=${MB:-100}
RUNS=${RUNS:-5}
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
results=$bench/results
ferry=$root/target/release/ferry
login=ferrybench

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root: it starts sshd and creates the login '$login'"
[[ -x /usr/sbin/sshd ]] || die "install openssh-server"
command -v sftp >/dev/null || die "install openssh-client"
[[ -x /usr/bin/time ]] || die "install time (/usr/bin/time)"

(cd "$root" && cargo build --release --quiet)
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill $(cat "$work/sshd.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

id "$login" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$login"
# A new account is locked ("!"), and sshd refuses even key logins to locked
# accounts without PAM: "*" means "no password", not "locked".
usermod -p '*' "$login"
mkdir -p "$work/data" /run/sshd
chown "$login:" "$work/data"

# The server: a fresh host key, ferry's key and the client's key authorised.
ssh-keygen -q -t ed25519 -N "" -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The project: ferry.toml, a key made by ferry, a script that builds the file.
proj=$work/project
mkdir -p "$proj/scripts"
cat >"$proj/ferry.toml" <<TOML
[databases.live]
url = "sqlite:gen.db"
[destinations.out]
mode = "local"
path = "out"
[destinations.bench]
mode = "sftp"
server = "127.0.0.1"
port = $port
path = "$work/data/ferry"
username = "$login"
key = "bench"
attempts = 1
TOML
rows=$((MB * 1000000 / 100))
sqlite3 "$proj/gen.db" "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
  SELECT i AS id, printf('%090d', i) AS pad FROM n;"
cat >"$proj/scripts/big.rhai" <<'RHAI'
deliver(csv(query("live", "SELECT id, pad FROM t ORDER BY id"), #{ name: "big" }), "out");
RHAI
cd "$proj"
"$ferry" keys generate bench >/dev/null
cat "$work/client_key.pub" .ferry/keys/bench.pub >"$work/authorized_keys"
cat >"$work/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_ed25519
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
Subsystem sftp internal-sftp
AllowUsers $login
UsePAM no
PasswordAuthentication no
CFG
/usr/sbin/sshd -f "$work/sshd_config"
for _ in $(seq 1 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"$ferry" trust bench >/dev/null
"$ferry" run big >/dev/null
file=$proj/out/big.csv
bytes=$(stat -c %s "$file")
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$work/host_ed25519.pub")" >"$work/known_hosts"

timed() { # LABEL COMMAND...: seconds and peak RSS (KiB) of one run
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; die "$1 failed"; }
    cat "$work/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >"$work/ferry.txt"; : >"$work/sftp.txt"
echo "put $file $work/data/sftp.csv" >"$work/batch"
for r in $(seq 1 "$RUNS"); do
    timed "$ferry" resend 1 --to bench >>"$work/ferry.txt"
    timed sftp -q -b "$work/batch" -i "$work/client_key" -o UserKnownHostsFile="$work/known_hosts" \
        -o StrictHostKeyChecking=yes -P "$port" "$login@127.0.0.1" >>"$work/sftp.txt"
done
cmp "$file" "$work/data/ferry/big.csv" || die "ferry's copy differs"
cmp "$file" "$work/data/sftp.csv" || die "sftp's copy differs"

f=$(cut -d' ' -f1 "$work/ferry.txt" | median); s=$(cut -d' ' -f1 "$work/sftp.txt" | median)
fr=$(cut -d' ' -f2 "$work/ferry.txt" | median); sr=$(cut -d' ' -f2 "$work/sftp.txt" | median)
mkdir -p "$results"
{
    echo "SFTP delivery of one $((bytes / 1000000)) MB file ($bytes bytes) to OpenSSH $(ssh -V 2>&1 | cut -d' ' -f1) on 127.0.0.1,"
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, median of $RUNS runs each."
    echo
    echo "| tool | median s | MB/s | peak RSS MiB | time vs sftp |"
    echo "|---|---:|---:|---:|---:|"
    awk -v f="$f" -v s="$s" -v fr="$fr" -v sr="$sr" -v b="$bytes" 'BEGIN {
        printf "| ferry resend (russh-sftp) | %.2f | %.0f | %.0f | %.2fx |\n", f, b / 1e6 / f, fr / 1024, f / s
        printf "| sftp -b (OpenSSH) | %.2f | %.0f | %.0f | 1.00x |\n", s, b / 1e6 / s, sr / 1024 }'
} | tee "$results/sftp-latest.md"
