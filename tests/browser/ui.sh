#!/bin/sh
# ui.sh - run the browser test of the web UI (ui-test.js) in headless
# Chromium: Debian's chromium, driven by playwright-core from npm (never
# a browser download).  tests/install-deps.sh installs chromium, nodejs
# and npm and runs "npm ci" here; when node_modules is missing (a fresh
# checkout, make distcheck) it is installed under the build directory.
#
# Environment (set by automake): FIELDSYNC, TOP_SRCDIR, TOP_BUILDDIR.
# Screenshots go to $TOP_BUILDDIR/tests/artifacts.
# Exit status: 0 pass, 1 fail, 77 skip (only when chromium is absent).
set -u
: "${FIELDSYNC:?set FIELDSYNC to the built fieldsync program}"
: "${TOP_SRCDIR:?set TOP_SRCDIR to the source tree}"
: "${TOP_BUILDDIR:?set TOP_BUILDDIR to the build tree}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
here=$TOP_SRCDIR/tests/browser

if [ ! -x "$CHROMIUM" ]; then
	echo "SKIP: $CHROMIUM is not installed (tests/install-deps.sh" \
	    "installs it)" >&2
	exit 77
fi
for p in node npm sqlite3; do
	command -v "$p" >/dev/null 2>&1 || {
		echo "FAIL: $p is not installed (run tests/install-deps.sh)" >&2
		exit 1
	}
done

pc=$here/node_modules/playwright-core
if [ ! -f "$pc/package.json" ]; then
	deps=$TOP_BUILDDIR/tests/browser-deps
	pc=$deps/node_modules/playwright-core
	if [ ! -f "$pc/package.json" ]; then
		mkdir -p "$deps" &&
		cp "$here/package.json" "$here/package-lock.json" "$deps/" &&
		(cd "$deps" && npm ci --no-audit --no-fund --loglevel=error) || {
			echo "FAIL: cannot install playwright-core (npm ci in" \
			    "$deps)" >&2
			exit 1
		}
	fi
fi

ARTIFACTS=$TOP_BUILDDIR/tests/artifacts
mkdir -p "$ARTIFACTS" || exit 99
PLAYWRIGHT_CORE=$pc ARTIFACTS=$ARTIFACTS CHROMIUM=$CHROMIUM FIELDSYNC=$FIELDSYNC \
    exec node "$here/ui-test.js"
