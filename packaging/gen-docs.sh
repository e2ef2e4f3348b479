#!/bin/bash
# gen-docs.sh - regenerates the committed metadata (ocf-metadata/) and the man pages
# (packaging/man/) from the built agents, which generate both from their one parameter
# declaration. A test fails when the committed copies differ from what the binaries print.
#
# Usage:  packaging/gen-docs.sh [BIN_DIR]     (default target/debug; build first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/debug}
mkdir -p ocf-metadata packaging/man
for a in vip drbd axigen; do
  [ -x "$BIN/$a" ] || continue
  "$BIN/$a" meta-data > "ocf-metadata/$a.xml"
  "$BIN/$a" man > "packaging/man/ocf_bulwark_$a.7"
done
for f in fence_bulwark_ipmi fence_bulwark_idrac fence_bulwark_pdu fence_bulwark_redfish; do
  [ -x "$BIN/$f" ] || continue
  "$BIN/$f" -o metadata > "ocf-metadata/$f.xml"
  "$BIN/$f" -o manpage > "packaging/man/$f.8"
done
