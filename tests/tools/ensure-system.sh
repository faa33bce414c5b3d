#!/usr/bin/env bash
# Make sure the system tools the browser tests need are present: Chromium and Java.
# Installs them with apt-get when running as root; otherwise stops with one line saying what to install.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "make test: installing ${need[*]} with apt-get" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "make test needs these system packages: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
exit 1
