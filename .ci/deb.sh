#!/usr/bin/env bash
# The Debian package, end to end on this machine (as root): build it with
# cargo-deb, install it with dpkg, check what it installed, purge it and
# check that nothing is left outside /var/lib/ferry and /etc/ferry.
# The systemd unit is verified, never started.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"

echo "--- Debian package: tools"
export DEBIAN_FRONTEND=noninteractive
# dpkg-dev: cargo-deb's dependency detection (dpkg-shlibdeps); man-db for
# `man ferry`; systemd for `systemd-analyze verify`; adduser for postinst.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
fi
apt-get install -y -q --no-install-recommends dpkg-dev man-db systemd adduser >/dev/null
if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi

echo "--- Debian package: build"
bash packaging/build-deb.sh
deb=$(ls "$target"/debian/ferry_*.deb)
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

echo "--- Debian package: install"
# Everything outside the folders that change by themselves (caches, logs,
# the database servers' data), before and after.
listing() {
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /run \
        -o -path /var/log -o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/apt \
        -o -path /var/tmp -o -path /root/.cargo -o -path /root/.rustup -o -path /root/.cache \
        -o -path /var/lib/postgresql -o -path /var/lib/mysql -o -path /var/lib/samba -o -path /var/spool \
        -o -path "$PWD" \
        -o -path /var/lib/ferry -o -path /etc/ferry \) -prune -o -print | LC_ALL=C sort
}
if dpkg -s ferry >/dev/null 2>&1; then
    echo "a ferry package is already installed; purge it first (dpkg --purge ferry)"
    exit 1
fi
listing >/tmp/ferry-deb-before.txt
dpkg -i "$deb"

echo "--- Debian package: checks"
version=$(/usr/bin/ferry --version)
echo "$version"
test "$version" = "ferry $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
getent passwd ferry
test "$(stat -c %U /var/lib/ferry)" = ferry
dpkg-query -W -f='${Conffiles}\n' ferry | grep -q ' /etc/ferry/ferry.toml '
# (Whole outputs to files: grep -q closing a pipe early would fail it.)
MANPAGER=cat man ferry >/tmp/ferry-man.txt
grep -q ferry /tmp/ferry-man.txt
MANPAGER=cat man 8 ferry >/tmp/ferry-man8.txt
grep -q 'systemctl enable --now ferry' /tmp/ferry-man8.txt
unit=$(dpkg -L ferry | grep '/systemd/system/ferry.service$')
systemd-analyze verify "$unit"
grep -q '^TimeoutStopSec=90s' "$unit"
test -f /usr/share/bash-completion/completions/ferry
test -f /usr/share/ferry/stdlib/oneroster.rhai
test -f /usr/share/ferry/stdlib/schemas/oneroster-1.2/datapackage.json
# The packaged configuration loads and the installation is sound, as the
# service's user sees it (no databases or destinations configured yet).
(cd / && runuser -u ferry -- /usr/bin/ferry --config /etc/ferry/ferry.toml doctor)

echo "--- Debian package: purge"
dpkg --purge ferry
if getent passwd ferry >/dev/null || getent group ferry >/dev/null; then
    echo "the ferry user or group is still there after dpkg --purge"
    exit 1
fi
test ! -e /var/lib/ferry
listing >/tmp/ferry-deb-after.txt
if ! diff /tmp/ferry-deb-before.txt /tmp/ferry-deb-after.txt; then
    echo "dpkg --purge ferry left or removed the files above"
    exit 1
fi
echo "Debian package: built, installed, checked and purged cleanly ($deb)"
