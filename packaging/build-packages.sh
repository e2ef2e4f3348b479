#!/bin/bash
# build-packages.sh - builds bulwark-agents .deb and .rpm from a release build.
#
# Usage:  packaging/build-packages.sh      (installs cargo-deb / cargo-generate-rpm if missing)
# Output: target/debian/*.deb, target/generate-rpm/*.rpm
set -euo pipefail
cd "$(dirname "$0")/.."
# Pinned: a new release of either changes the packages' layout without a change here.
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb --version 3.8.0
command -v cargo-generate-rpm >/dev/null || cargo install --locked cargo-generate-rpm --version 0.21.1
cargo build --release --bins
packaging/gen-docs.sh target/release
cargo deb --no-build -p bulwark
# cargo-deb gzips man pages itself; cargo-generate-rpm takes files as they are
rm -rf target/rpm-man && mkdir -p target/rpm-man
for page in packaging/man/*.[78]; do gzip -9nc "$page" > "target/rpm-man/${page##*/}.gz"; done
cargo generate-rpm -p .
ls -l target/debian/*.deb target/generate-rpm/*.rpm
