# lib.sh - shared helpers for the shell scenario tests; source it first.
#
# The scripts run under automake's test driver with FIELDSYNC (the built
# program), TOP_SRCDIR and TOP_BUILDDIR in the environment.  Exit status:
# 0 pass, 1 fail, 77 skip.
#
# Each script gets its own temporary directory $T (and cds into it).  It
# is removed when the script passes and kept, with its path printed, when
# it fails, so the databases and outputs can be looked at.

set -u

: "${FIELDSYNC:?set FIELDSYNC to the built fieldsync program}"
: "${TOP_SRCDIR:=.}"
: "${TOP_BUILDDIR:=.}"

# Scripts must never pick up a database from the caller's environment.
unset FIELDSYNC_DB

TEST_NAME=$(basename "$0")
T=$(mktemp -d "${TMPDIR:-/tmp}/fs-${TEST_NAME%.*}.XXXXXX") || exit 99
cd "$T" || exit 99
STEP=""

_fs_cleanup() {
	rc=$?
	cd / || :
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
		rm -rf "$T"
	else
		[ -n "$STEP" ] && echo "failed during: $STEP" >&2
		echo "kept test directory $T" >&2
	fi
	exit "$rc"
}
trap _fs_cleanup EXIT
trap 'exit 1' HUP INT TERM

# step TEXT: say what the script is about to check (shown on failure).
step() {
	STEP=$*
	echo "--- $*"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need() {
	for _p in "$@"; do
		command -v "$_p" >/dev/null 2>&1 || skip "$_p not installed"
	done
}

# fs ARGS: run the program under test.
fs() {
	"$FIELDSYNC" "$@"
}

# ok CMD...: run CMD, which must succeed; its stdout goes to $T/out, and
# is echoed, so a failing script's log shows what happened.
ok() {
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	cat "$T/out"
	if [ "$_rc" -ne 0 ]; then
		cat "$T/err" >&2
		fail "exit $_rc from: $*"
	fi
	if [ -s "$T/err" ]; then
		cat "$T/err" >&2
		fail "unexpected stderr from: $*"
	fi
}

# expect_fail CMD...: CMD must exit non-zero (and not by a signal or a
# sanitizer abort) with exactly one non-empty line on stderr, which is
# left in $T/err (and its text in $ERRLINE) for further checks.
expect_fail() {
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	if [ "$_rc" -eq 0 ]; then
		fail "expected failure, got exit 0 from: $*"
	fi
	if [ "$_rc" -ge 126 ]; then
		cat "$T/err" >&2
		fail "exit $_rc (crash or abort) from: $*"
	fi
	_lines=$(wc -l <"$T/err")
	_chars=$(wc -c <"$T/err")
	if [ "$_lines" -ne 1 ] || [ "$_chars" -le 1 ] ||
	    [ "$(tail -c 1 "$T/err" | od -An -c | tr -d ' ')" != '\n' ]; then
		echo "stderr was:" >&2
		cat "$T/err" >&2
		fail "expected exactly one line on stderr from: $*"
	fi
	ERRLINE=$(cat "$T/err")
	echo "  failed as expected ($_rc): $ERRLINE"
}

# expect_err PATTERN CMD...: expect_fail, and the line matches PATTERN
# (a grep -E expression).
expect_err() {
	_pat=$1
	shift
	expect_fail "$@"
	printf '%s\n' "$ERRLINE" | grep -Eq -- "$_pat" ||
	    fail "stderr '$ERRLINE' does not match /$_pat/ for: $*"
}

# contains FILE PATTERN / lacks FILE PATTERN: grep -E checks on output.
contains() {
	grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "no /$2/ in $1"; }
}
lacks() {
	if grep -Eq -- "$2" "$1"; then
		cat "$1" >&2
		fail "unexpected /$2/ in $1"
	fi
}

# eq ACTUAL EXPECTED [WHAT]
eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"
}

# sql DB STATEMENTS: run SQL with the real sqlite3 shell, as an app would.
sql() {
	_db=$1
	shift
	sqlite3 -batch -bail "$_db" "$@" || fail "sqlite3 failed: $*"
}

# checksum FILE: sha256 of FILE and, when present, of FILE-wal (the two
# together are the database's content on disk).
checksum() {
	{
		sha256sum <"$1"
		if [ -e "$1-wal" ]; then
			echo wal
			sha256sum <"$1-wal"
		fi
	} | tr -d ' \n-'
}

# quiesce DB: checkpoint the WAL into the main file and let the last
# connection close, so later byte comparisons see a settled file.
quiesce() {
	sqlite3 -batch "$1" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null ||
	    fail "checkpoint of $1 failed"
}

# json_get EXPR < JSON: evaluate a Python expression over the parsed
# document j and print the result.
json_get() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}
