#!/bin/bash
# install-deps.sh - installs, on Debian 12, every package Bulwark's tests and lab use.
#
# Usage (as root):  tests/install-deps.sh
# Idempotent: does nothing when every package is already installed. Nothing is started: the
# Debian packages' postinst scripts are refused by policy-rc.d on machines without systemd,
# which is what the lab wants (the tests start every daemon themselves).
set -euo pipefail

PACKAGES=(
  pacemaker pacemaker-cli-utils corosync pcs crmsh resource-agents fence-agents drbd-utils
  openipmi ipmitool snmp snmpd libxml2-utils xsltproc iproute2 iputils-arping procps
  psmisc util-linux tcpdump hyperfine time kmod
  freeipmi-tools libfreeipmi-dev gcc libc6-dev python3-venv openssl curl
  lintian rpmlint rpm man-db groff-base
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "install-deps: no cargo found; install a Rust toolchain (rustup, or 'apt-get install cargo')" >&2
  exit 1
fi
