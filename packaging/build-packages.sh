#!/bin/bash
# build-packages.sh - builds bulwark-agents .deb and .rpm from a release build.
#
# Usage:  packaging/build-packages.sh      (installs cargo-deb / cargo-generate-rpm if missing)
# Output: target/debian/*.deb, target/generate-rpm/*.rpm
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb
command -v cargo-generate-rpm >/dev/null || cargo install --locked cargo-generate-rpm
cargo build --release --bins
packaging/gen-docs.sh target/release
cargo deb --no-build --no-strip -p bulwark
cargo generate-rpm -p .
ls -l target/debian/*.deb target/generate-rpm/*.rpm
