#!/usr/bin/env bash
# bench/transfer.sh: ferry's delivery against each protocol's own client,
# the same file to the same server on 127.0.0.1:
#
#   SFTP           ferry  vs  sftp -b           (OpenSSH, internal-sftp)
#   FTPS explicit  ferry  vs  curl -T --ssl-reqd (vsftpd, AUTH TLS)
#   SMB            ferry  vs  smbclient -c put  (Samba smbd)
#
#   bench/transfer.sh                   # 100 MB and 1 GB, 5 pairs each
#   SIZES="100" PAIRS=3 bench/transfer.sh
#   PROTOCOLS="smb" bench/transfer.sh
#   FERRY=target/debug/ferry BUILD=0 bench/transfer.sh
#
# Runs as root: it starts its own sshd, vsftpd and smbd on 127.0.0.1 with
# configurations, keys, certificates and accounts it makes, and stops them
# at the end. Needs: cargo (unless BUILD=0), openssh-server, openssh-client,
# vsftpd, curl, openssl, samba, smbclient, sqlite3, python3, /usr/bin/time.
#
# Each pair runs ferry and the client back to back (the order swapped every
# other pair: A B, B A, ...) so drift on a shared machine hits both. Each
# timing is the whole process's wall clock (/usr/bin/time). ferry's side is
# `ferry resend 1 --to DEST`: the file is built once by a run to a local
# folder, then only delivered; the resend also checks the kept file's
# SHA-256 before sending, which is in ferry's time (the table shows what
# sha256sum takes for the same file, for scale). Every copy on the server is
# compared with the original after each pair. Prints and writes
# bench/results/transfer-latest.md: per protocol and size, each tool's
# median and range, and the ferry/client ratio of each pair (median and
# range) beside the target (<= 1.0 SFTP and FTPS, <= 1.1 SMB).
set -euo pipefail

SIZES=${SIZES:-"100 1000"}
PAIRS=${PAIRS:-5}
PROTOCOLS=${PROTOCOLS:-"sftp ftps smb"}
BUILD=${BUILD:-1}
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
results=$bench/results
ferry=$(realpath "${FERRY:-$root/target/release/ferry}")
login=ferrybench
password="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root: it starts sshd, vsftpd and smbd and creates the login '$login'"
[[ $PAIRS =~ ^[1-9][0-9]*$ ]] || die "PAIRS must be a positive whole number"
for tool in /usr/sbin/sshd /usr/sbin/vsftpd /usr/sbin/smbd /usr/bin/time; do
    [[ -x $tool ]] || die "$tool is missing (Debian: openssh-server vsftpd samba time)"
done
for tool in sftp curl smbclient smbpasswd openssl sqlite3 python3 sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

if [[ $BUILD == 1 && -z ${FERRY:-} ]]; then (cd "$root" && cargo build --release --quiet); fi
[[ -x $ferry ]] || die "no ferry program at $ferry"

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    kill "$(cat "$work/sshd.pid" 2>/dev/null)" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; die "nothing listens on $1"; }

# One account for every server: a password for FTPS and SMB, keys for SFTP.
id "$login" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$login"
echo "$login:$password" | chpasswd
mkdir -p "$work/data" /run/sshd
chown "$login:" "$work/data"
data=$work/data

# --- OpenSSH
ssh-keygen -q -t ed25519 -N "" -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
ssh_port=$(free_port)
cat >"$work/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $work/host_ed25519
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
Subsystem sftp internal-sftp
AllowUsers $login
UsePAM no
PasswordAuthentication no
CFG
printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$work/host_ed25519.pub")" >"$work/known_hosts"

# --- vsftpd, explicit TLS
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/ftp.key" -out "$work/ftp.crt" 2>/dev/null
pin=$(openssl x509 -noout -fingerprint -sha256 -in "$work/ftp.crt" | cut -d= -f2 | tr -d : | tr A-F a-f)
ftp_port=$(free_port)
pasv=$(( $(free_port) % 30000 + 20000 ))
mkdir -p "$work/empty"
cat >"$work/vsftpd.conf" <<CFG
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$ftp_port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
seccomp_sandbox=NO
secure_chroot_dir=$work/empty
pam_service_name=vsftpd
ssl_enable=YES
rsa_cert_file=$work/ftp.crt
rsa_private_key_file=$work/ftp.key
ssl_ciphers=HIGH
force_local_logins_ssl=YES
force_local_data_ssl=YES
pasv_enable=YES
pasv_min_port=$pasv
pasv_max_port=$((pasv + 100))
CFG

# --- Samba
smb_port=$(free_port)
for d in private lock state pid cache ncalrpc; do mkdir -p "$work/samba/$d"; done
cat >"$work/smb.conf" <<CFG
[global]
smb ports = $smb_port
interfaces = 127.0.0.1
bind interfaces only = yes
private dir = $work/samba/private
lock directory = $work/samba/lock
state directory = $work/samba/state
pid directory = $work/samba/pid
cache directory = $work/samba/cache
ncalrpc dir = $work/samba/ncalrpc
passdb backend = tdbsam:$work/samba/private/passdb.tdb
log file = $work/samba/smbd.log
server role = standalone server
server min protocol = SMB2
map to guest = never
disable netbios = yes
load printers = no
printing = bsd
printcap name = /dev/null
disable spoolss = yes
[bench]
path = $data
read only = no
CFG
printf '%s\n%s\n' "$password" "$password" | smbpasswd -c "$work/smb.conf" -a -s "$login" >/dev/null
printf 'username = %s\npassword = %s\n' "$login" "$password" >"$work/smb.auth"
printf 'machine 127.0.0.1 login %s password %s\n' "$login" "$password" >"$work/netrc"

# --- the project: one run builds big.csv to a local folder; resends deliver it.
proj=$work/project
mkdir -p "$proj/scripts"
cat >"$proj/ferry.toml" <<TOML
[databases.live]
url = "sqlite:gen.db"
[destinations.out]
mode = "local"
path = "out"
[destinations.sftp]
mode = "sftp"
server = "127.0.0.1"
port = $ssh_port
path = "$data/ferry-sftp"
username = "$login"
key = "bench"
attempts = 1
timeout = "120s"
[destinations.ftps]
mode = "ftps-explicit"
server = "127.0.0.1"
port = $ftp_port
path = "$data/ferry-ftps"
username = "$login"
password = "env:BENCH_PASSWORD"
pinned_certificate = "sha256:$pin"
attempts = 1
timeout = "120s"
[destinations.smb]
mode = "smb"
server = "127.0.0.1"
port = $smb_port
path = "/bench/ferry-smb"
username = "$login"
password = "env:BENCH_PASSWORD"
attempts = 1
timeout = "120s"
TOML
cat >"$proj/scripts/big.rhai" <<'RHAI'
deliver(csv(query("live", "SELECT id, pad FROM t ORDER BY id"), #{ name: "big" }), "out");
RHAI
cd "$proj"
"$ferry" keys generate bench >/dev/null
cat "$work/client_key.pub" .ferry/keys/bench.pub >"$work/authorized_keys"
/usr/sbin/sshd -f "$work/sshd_config"
/usr/sbin/vsftpd "$work/vsftpd.conf" >/dev/null 2>&1 &
pids+=($!)
smbd --foreground --no-process-group -s "$work/smb.conf" >/dev/null 2>&1 &
pids+=($!)
wait_port "$ssh_port"; wait_port "$ftp_port"; wait_port "$smb_port"
"$ferry" trust sftp >/dev/null
export BENCH_PASSWORD=$password

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
range() { sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
# One timed run of a command: appends its wall seconds to FILE.
timed() {
    local out=$1; shift
    /usr/bin/time -f '%e' -o "$work/time" "$@" >"$work/out" 2>"$work/err" \
        || { cat "$work/out" "$work/err" >&2; die "$* failed"; }
    cat "$work/time" >>"$out"
}
# The client's command for each protocol, as a script /usr/bin/time can run.
write_clients() {
    local file=$1
    echo "put $file $data/client-sftp/big.csv" >"$work/batch"
    cat >"$work/client-sftp.sh" <<SH
exec sftp -q -b "$work/batch" -i "$work/client_key" -o UserKnownHostsFile="$work/known_hosts" \\
    -o StrictHostKeyChecking=yes -P "$ssh_port" "$login@127.0.0.1"
SH
    cat >"$work/client-ftps.sh" <<SH
exec curl -sS --ssl-reqd -k --netrc-file "$work/netrc" -T "$file" "ftp://127.0.0.1:$ftp_port/%2F${data#/}/client-ftps/big.csv"
SH
    cat >"$work/client-smb.sh" <<SH
exec smbclient "//127.0.0.1/bench" -p "$smb_port" -A "$work/smb.auth" -c 'put "$file" "client-smb\\big.csv"'
SH
}

mkdir -p "$results"
report=$results/transfer-latest.md
{
    echo "# ferry's delivery against each protocol's own client"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, 127.0.0.1 servers: $(ssh -V 2>&1 | cut -d, -f1), vsftpd $(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || echo '?'), Samba $(smbd --version | cut -d' ' -f2)."
    echo "Whole-process wall time (/usr/bin/time), $PAIRS alternating pairs per row; ratio = ferry / client per pair."
    echo
    echo "| protocol | size | client | ferry median (range) s | client median (range) s | ratio median (range) | target | sha256sum of the file s |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|"
} >"$report"

for mb in $SIZES; do
    rows=$((mb * 1000000 / 100))
    rm -rf gen.db out .ferry/work .ferry/state.db*
    sqlite3 gen.db "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
      SELECT i AS id, printf('%090d', i) AS pad FROM n;"
    "$ferry" run big >/dev/null
    file=$proj/out/big.csv
    bytes=$(stat -c %s "$file")
    want=$(sha256sum "$file" | cut -d' ' -f1)
    hash_s=$( { /usr/bin/time -f '%e' sha256sum "$file" >/dev/null; } 2>&1 )
    write_clients "$file"
    for protocol in $PROTOCOLS; do
        : >"$work/ferry.txt"; : >"$work/client.txt"; : >"$work/ratio.txt"
        for d in ferry-$protocol client-$protocol; do mkdir -p "$data/$d"; chown "$login:" "$data/$d"; done
        for pair in $(seq 1 "$PAIRS"); do
            rm -f "$data/ferry-$protocol/big.csv" "$data/client-$protocol/big.csv"
            sync
            if (( pair % 2 )); then
                timed "$work/ferry.txt" "$ferry" resend 1 --to "$protocol"
                timed "$work/client.txt" bash "$work/client-$protocol.sh"
            else
                timed "$work/client.txt" bash "$work/client-$protocol.sh"
                timed "$work/ferry.txt" "$ferry" resend 1 --to "$protocol"
            fi
            for d in ferry client; do
                got=$(sha256sum "$data/$d-$protocol/big.csv" | cut -d' ' -f1)
                [[ $got == "$want" ]] || die "$d's $protocol copy differs from the file"
            done
            paste <(tail -n1 "$work/ferry.txt") <(tail -n1 "$work/client.txt") \
                | awk '{printf "%.3f\n", $1 / $2}' >>"$work/ratio.txt"
        done
        case $protocol in sftp) c="sftp -b"; t="<= 1.0";; ftps) c="curl -T"; t="<= 1.0";; smb) c="smbclient put"; t="<= 1.1";; esac
        line=$(printf '| %s | %s MB | %s | %s (%s) | %s (%s) | %s (%s) | %s | %s |' \
            "$protocol" "$((bytes / 1000000))" "$c" \
            "$(median <"$work/ferry.txt")" "$(range <"$work/ferry.txt")" \
            "$(median <"$work/client.txt")" "$(range <"$work/client.txt")" \
            "$(median <"$work/ratio.txt")" "$(range <"$work/ratio.txt")" "$t" "$hash_s")
        echo "$line" | tee -a "$report"
        rm -rf "$data/ferry-$protocol" "$data/client-$protocol"
    done
done
echo "written to $report"
