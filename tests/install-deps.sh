#!/bin/sh
# Install what building, running and testing fieldsync needs on Debian 12.
# Runs as root (or through sudo when available).  Safe to run again.
set -e
SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
PKGS="build-essential autoconf automake pkg-config mandoc sqlite3 \
python3 libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev \
libcjson-dev libgnutls28-dev libcmocka-dev curl valgrind openssl \
faketime"
if [ "${FIELDSYNC_BROWSER_TESTS:-1}" = 1 ]; then
	PKGS="$PKGS chromium"
	# Node may come from elsewhere (its own npm included): only what is
	# missing comes from Debian, or apt refuses the mix.
	command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
fi
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing \
		>/dev/null
fi
# The browser tests drive Debian's chromium with playwright-core from npm
# (never a browser download: playwright-core has none).
if [ "${FIELDSYNC_BROWSER_TESTS:-1}" = 1 ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	if [ ! -f "$here/browser/node_modules/playwright-core/package.json" ]
	then
		echo "installing playwright-core (npm ci in tests/browser)"
		(cd "$here/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		    npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
