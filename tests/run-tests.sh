#!/bin/bash
# run-tests.sh - runs Bulwark's whole test suite on a Debian 12 machine, as root.
#
# Usage (as root):  tests/run-tests.sh [extra cargo test arguments]
# Installs the packages the tests start (Pacemaker, Corosync, ipmi_sim, snmpd, ...), builds
# every agent and test double, then runs unit and integration tests. The integration tests
# start real daemons in network, mount and PID namespaces of their own and remove them
# afterwards; nothing on the host is reconfigured.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "run-tests.sh: the integration tests create network namespaces; run as root" >&2
  exit 4
fi
tests/install-deps.sh
cargo build --workspace --bins
# The .deb and .rpm (release build) that tests/package_deb.rs lints, installs and runs
packaging/build-packages.sh
cargo test --workspace --no-fail-fast "$@"
