#!/usr/bin/env bash
# Builds the Debian package, target/debian/ferry_VERSION-1_ARCH.deb, with
# cargo-deb (metadata: [package.metadata.deb] in Cargo.toml). Needs cargo
# and, for the package's library dependencies, dpkg-dev; no root.
# .ci/deb.sh runs this, then installs, checks and purges the package.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
target="${CARGO_TARGET_DIR:-target}"
# Files generated for the package; Cargo.toml's assets name this folder.
assets=target/deb-assets

# A no-op when this version is already installed.
cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"

# The profile `deb` of Cargo.toml: optimised, no debug info, no LTO.
start=$(date +%s)
cargo build --profile deb --bin ferry
echo "build of ferry: $(($(date +%s) - start)) s"

rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
# Man pages and completions come from the binary itself (clap's own
# description of every command), so they cannot drift from it.
ferry="$target/deb/ferry"
"$ferry" man --out "$assets/man"
"$ferry" completions bash >"$assets/completions/ferry.bash"
"$ferry" completions zsh >"$assets/completions/_ferry"
"$ferry" completions fish >"$assets/completions/ferry.fish"
ls "$assets/man"/*.1 >/dev/null

rm -f "$target"/debian/ferry_*.deb
cargo deb --profile deb --no-build
ls "$target"/debian/ferry_*.deb
