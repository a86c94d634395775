#!/usr/bin/env bash
# Install the named Debian packages that are missing: with apt-get when running as
# root, otherwise print which ones to install. Never fails the build: the parts that
# need them report a clear message of their own at run time.
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || echo "warning: could not install ${missing[*]}; the parts that need them (speech engines, Cortex-M build and emulation) will say so when used" >&2
else
  echo "note: missing Debian packages: ${missing[*]} (install them with: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
fi
exit 0
