#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what onestopd needs to build, test and run its demo (Debian 12, as root).
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev libjansson-dev libpq-dev libmicrohttpd-dev libutf8proc-dev
  zlib1g-dev libgnutls28-dev libcrypt-dev
  libcmocka-dev
  clang libclang-rt-14-dev  # libFuzzer targets (scripts/fuzz.sh)
  postgresql-15 postgresql-client-15
  python3 curl ca-certificates procps
  prometheus prometheus-alertmanager
  chromium  # the status page's integration test loads it in headless Chromium
  openssl apache2-utils  # HTTPS and basic-auth tests: openssl req -x509, htpasswd -B
  dpkg-dev file systemd man-db systemd-container  # packaging tests: dpkg-shlibdeps, systemd-analyze, man, nspawn
  wrk  # the benchmark: /metrics against a static page (bench/run.py)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 69
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
