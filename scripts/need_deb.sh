#!/bin/sh
# need_deb.sh PACKAGE...: install the Debian packages whose command (same name) is missing.
# Used by the Makefile for iverilog (lint) and yosys (synthesis). Needs root (or sudo) and
# Debian's package lists; when it cannot install, it says why and exits 1 (callers then skip
# what needs the tool, with that reason).
missing=""
for pkg in "$@"; do
  command -v "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "need_deb: cannot install$missing: not root and no password-less sudo; install the Debian package(s)$missing by hand." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "need_deb: cannot install$missing: apt-get not found (not a Debian-based system)." >&2
  exit 1
fi
echo "need_deb: installing$missing from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 || {
  $SUDO apt-get update -qq >/dev/null 2>&1
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1
} || { echo "need_deb: apt-get could not install$missing." >&2; exit 1; }
