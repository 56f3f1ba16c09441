#!/bin/sh
# bad-input.sh - bad input of every kind gets exit status != 0, exactly
# one clear line on stderr, and leaves the database byte-for-byte as it
# was (DESIGN.md 8; issue 2, "Done when").
#
# The database is checkpointed and closed first; after each command the
# sha256 of the file (and of its -wal file, if one is left) must be what
# it was before.
. "${TOP_SRCDIR:-.}/tests/scenario/lib.sh"
need sqlite3 python3

DB=$T/app.db

step "set up an instance with tables, pairings and a map"
sql "$DB" "
CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT, email TEXT,
    phone TEXT);
CREATE TABLE other(id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE wr(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE nopk(a TEXT, b TEXT);
CREATE TABLE textpk(id TEXT PRIMARY KEY, v TEXT);
CREATE TABLE intpk2(a INTEGER, b INTEGER, PRIMARY KEY (a, b));
CREATE TABLE bigintpk(id BIGINT PRIMARY KEY, v TEXT);
CREATE VIEW vw AS SELECT * FROM contacts;
CREATE VIRTUAL TABLE ft USING fts5(body);
INSERT INTO contacts(name, email) VALUES ('Ann', 'ann@example.com');
INSERT INTO other(v) VALUES ('x');"
# A table one column short of SQLite's limit of 2000: no room for two.
sql "$DB" "CREATE TABLE wide(id INTEGER PRIMARY KEY$(i=1; while [ $i -lt 1999 ]; do
	printf ', c%d' $i; i=$((i + 1)); done))"
ok fs -d "$DB" init --name hq
ok fs -d "$DB" table add contacts
printf 'pw-one\n' >"$T/pw"
: >"$T/empty"
printf '\n' >"$T/blankline"
mkdir "$T/dir"
ok fs -d "$DB" pair add hub --passive --password-file "$T/pw"
ok fs -d "$DB" pair add branch --active --url http://127.0.0.1:8080/ \
    --password-file "$T/pw"
ok fs -d "$DB" map add branch contacts.email
ok fs -d "$DB" map add hub contacts.email --remote-field 3
sql "$DB" "INSERT INTO contacts(name) VALUES ('Bob')"
quiesce "$DB"
SUM=$(checksum "$DB")

# rejected PATTERN CMD...: CMD fails with one line matching PATTERN and
# the database did not change.
rejected() {
	expect_err "$@"
	shift
	_now=$(checksum "$DB")
	[ "$_now" = "$SUM" ] || fail "database changed by: $*"
	[ ! -e "$DB-wal" ] || [ ! -s "$DB-wal" ] ||
	    fail "WAL left with content by: $*"
}

step "the checksum sees a change (sanity check of this test)"
cp "$DB" "$T/copy.db"
ok fs -d "$T/copy.db" pair set hub policy active
[ "$(checksum "$T/copy.db")" != "$SUM" ] || fail "checksum blind"
rm -f "$T/copy.db"*

step "table add: missing table or column, unsuitable tables"
rejected 'no such table: missing' fs -d "$DB" table add missing
rejected 'vw is a view' fs -d "$DB" table add vw
rejected 'no such column: other.nosuch' fs -d "$DB" table add other \
    --match nosuch
rejected 'no such column' fs -d "$DB" table add other --match v,nosuch
rejected 'no such column' fs -d "$DB" table add contacts --match nosuch
rejected 'row id' fs -d "$DB" table add other --match id
rejected 'match' fs -d "$DB" table add other --match ,
rejected 'INTEGER PRIMARY KEY' fs -d "$DB" table add wr
rejected 'INTEGER PRIMARY KEY' fs -d "$DB" table add nopk
rejected 'INTEGER PRIMARY KEY' fs -d "$DB" table add textpk
rejected 'INTEGER PRIMARY KEY' fs -d "$DB" table add intpk2
rejected 'INTEGER PRIMARY KEY' fs -d "$DB" table add bigintpk
rejected 'virtual' fs -d "$DB" table add ft
rejected "table wide has 1999 columns: with the status and time added \
columns fieldsync adds it would pass SQLite's limit of 2000" \
    fs -d "$DB" table add wide
rejected 'reserved' fs -d "$DB" table add _fs_log
rejected 'reserved' fs -d "$DB" table add sqlite_schema
rejected 'differ' fs -d "$DB" table add other --status-column s \
    --added-column s
rejected 'row id' fs -d "$DB" table add other --status-column id
rejected 'row id' fs -d "$DB" table add other --added-column ID
rejected 'not enrolled' fs -d "$DB" table remove other
rejected 'not enrolled' fs -d "$DB" table remove missing

step "modes"
rejected 'invalid mode sideways' fs -d "$DB" map add branch contacts.phone \
    --mode sideways
rejected 'invalid mode' fs -d "$DB" map add branch contacts.phone --mode ''
rejected 'invalid mode' fs -d "$DB" map add branch contacts.phone \
    --mode Two-Way
rejected 'invalid mode' fs -d "$DB" map set branch contacts.email --mode on
rejected 'mode' fs -d "$DB" map set branch contacts.email

step "unknown and duplicate pairings, duplicate map entries"
rejected 'no such pairing: nosuch' fs -d "$DB" pair show nosuch
rejected 'no such pairing' fs -d "$DB" pair remove nosuch
rejected 'no such pairing' fs -d "$DB" pair set nosuch interval 5
rejected 'no such pairing' fs -d "$DB" map add nosuch contacts.phone
rejected 'no such pairing' fs -d "$DB" map list nosuch
rejected 'no such pairing' fs -d "$DB" map set nosuch contacts.email \
    --mode off
rejected 'no such pairing' fs -d "$DB" map remove nosuch contacts.email
rejected 'already exists' fs -d "$DB" pair add hub --passive \
    --password-file "$T/pw"
rejected 'already exists' fs -d "$DB" pair add hub --active \
    --url http://127.0.0.1:1/ --password-file "$T/pw"
rejected 'already mapped' fs -d "$DB" map add branch contacts.email
rejected 'already mapped' fs -d "$DB" map add branch contacts.email \
    --mode off
rejected 'already mapped' fs -d "$DB" map add hub contacts.email \
    --remote-field 9
rejected 'not mapped' fs -d "$DB" map remove branch contacts.phone
rejected 'not mapped' fs -d "$DB" map set branch contacts.phone --mode off
rejected 'no such column' fs -d "$DB" map add branch contacts.nosuch
rejected 'no enrolled table' fs -d "$DB" map add branch other.v
rejected 'TABLE.COLUMN' fs -d "$DB" map add branch contacts
rejected 'row id' fs -d "$DB" map add branch contacts.id

step "passwords never on the command line, password files"
rejected 'password-file' fs -d "$DB" pair add x --passive --password pw-one
rejected 'password-file' fs -d "$DB" pair add x --passive --password=pw-one
rejected 'password-file' fs -d "$DB" pair add x --active \
    --url http://127.0.0.1:1/ --password pw-one --password-file "$T/pw"
rejected 'password' fs -d "$DB" pair set hub password pw-one
rejected 'password-file' fs -d "$DB" pair add x --passive
rejected 'cannot read password file' fs -d "$DB" pair add x --passive \
    --password-file "$T/missing"
[ "$_rc" -eq 1 ] || fail "a missing password file: exit $_rc, not 1"
rejected 'empty' fs -d "$DB" pair add x --passive --password-file "$T/empty"
[ "$_rc" -eq 2 ] || fail "an empty password file: exit $_rc, not 2"
rejected 'empty' fs -d "$DB" pair add x --passive \
    --password-file "$T/blankline"
rejected 'password file .*not a regular file' fs -d "$DB" pair add x \
    --passive --password-file "$T/dir"
rejected 'password file' fs -d "$DB" pair set hub password-file \
    "$T/missing"
rejected 'empty' fs -d "$DB" pair set hub password-file "$T/empty"
[ "$(grep -c pw-one "$T/err")" -eq 0 ] || fail "password echoed"

step "URLs"
rejected 'invalid URL' fs -d "$DB" pair add x --active --url 'not a url' \
    --password-file "$T/pw"
rejected 'http' fs -d "$DB" pair add x --active --url ftp://127.0.0.1/ \
    --password-file "$T/pw"
rejected 'URL' fs -d "$DB" pair add x --active \
    --url 'file:///etc/passwd' --password-file "$T/pw"
rejected 'needs a URL' fs -d "$DB" pair add x --active --url '' \
    --password-file "$T/pw"
rejected 'needs a URL' fs -d "$DB" pair add x --active --password-file \
    "$T/pw"
rejected 'has no URL' fs -d "$DB" pair add x --passive --url http://127.0.0.1:1/ \
    --password-file "$T/pw"
rejected 'URL' fs -d "$DB" pair set branch url 'http://'
rejected 'url' fs -d "$DB" pair set hub url http://127.0.0.1:1/
# A password in the URL would be shown by pair list and never used.
rejected 'must not name a user or password' fs -d "$DB" pair add x \
    --active --url http://u:s3cret@127.0.0.1:1/ --password-file "$T/pw"
rejected 'must not name a user or password' fs -d "$DB" pair set branch \
    url http://u@127.0.0.1:1/
lacks "$T/err" 's3cret'
rejected 'interval is for active' fs -d "$DB" pair set hub interval 5
rejected 'active' fs -d "$DB" pair add x --active --passive \
    --url http://127.0.0.1:1/ --password-file "$T/pw"
rejected 'active' fs -d "$DB" pair add x --password-file "$T/pw"

step "intervals and other settings"
for iv in 0 -1 abc 1.5 604801 99999999999999999999 '' ' 5' +5; do
	rejected 'interval' fs -d "$DB" pair add x --active \
	    --url http://127.0.0.1:1/ --password-file "$T/pw" --interval "$iv"
	# A negative number reads as an option here: also a clear error.
	rejected "interval|invalid option -1 .*goes after '--'" fs -d "$DB" pair set branch \
	    interval "$iv"
done
rejected 'interval' fs -d "$DB" pair add x --passive --password-file \
    "$T/pw" --interval 5
rejected 'policy' fs -d "$DB" pair set branch policy loudest
rejected 'enabled' fs -d "$DB" pair set branch enabled maybe
rejected 'deletes' fs -d "$DB" pair set branch deletes some
rejected 'CA file' fs -d "$DB" pair set branch ca-file "$T/missing"
rejected 'unknown key' fs -d "$DB" pair set branch secret abc
rejected 'unknown key' fs -d "$DB" pair set branch name other

step "--remote-field"
rejected 'passive' fs -d "$DB" map add branch contacts.phone \
    --remote-field 3
for rf in 0 -1 abc 3x ''; do
	rejected 'remote-field' fs -d "$DB" map add hub contacts.phone \
	    --remote-field "$rf"
done
rejected 'invalid option' fs -d "$DB" map set hub contacts.email \
    --remote-field 4

step "hostile identifiers"
NL='a
b'
for name in 'a"b' "a'b" 'a;b' '"; DROP TABLE contacts; --' \
    "'; DROP TABLE contacts; --" 'contacts; DROP TABLE contacts' \
    "$NL" 'contacts"' ' contacts' 'contacts ' "$(printf 'con\ttacts')" \
    "$(printf 'x\033[31mred')" "$(printf 'bad\377utf8')"; do
	rejected '' fs -d "$DB" table add "$name"
	rejected '' fs -d "$DB" table remove "$name"
	rejected '' fs -d "$DB" log "$name" 1
	rejected '' fs -d "$DB" pair add "$name" --passive \
	    --password-file "$T/pw"
	rejected '' fs -d "$DB" pair set "$name" interval 5
	rejected '' fs -d "$DB" map add "$name" contacts.phone
	rejected '' fs -d "$DB" map add branch "contacts.$name"
	rejected '' fs -d "$DB" map remove branch "$name.email"
	rejected '' fs -d "$DB" table add other --match "$name"
done
rejected 'invalid' fs -d "$DB" table add other --status-column "$NL"
rejected 'invalid' fs -d "$DB" table add other --added-column "$NL"
rejected 'invalid' fs -d "$DB" table add other --status-column ''
rejected 'invalid' fs -d "$DB" init --name "$NL"
rejected 'invalid' fs -d "$DB" init --name ''
rejected "invalid pairing name: .*not starting with '-' or '\\.'" fs -d "$DB" pair add --passive \
    --password-file "$T/pw" -- -x
rejected 'invalid pairing name' fs -d "$DB" pair add .hidden --passive \
    --password-file "$T/pw"
rejected 'invalid pairing name' fs -d "$DB" pair add \
    "$(printf '%070d' 0)" --passive --password-file "$T/pw"
eq "$(sql "$DB" "SELECT count(*) FROM contacts")" 2 "contacts intact"

step "unknown commands and options, wrong arguments"
rejected 'unknown command' fs -d "$DB" frobnicate
rejected 'unknown command' fs -d "$DB" "$NL"
rejected 'subcommand' fs -d "$DB" table
rejected 'subcommand' fs -d "$DB" pair
rejected 'subcommand' fs -d "$DB" map
rejected 'subcommand|unknown' fs -d "$DB" table frob
rejected 'unknown option' fs -d "$DB" -x table list
rejected 'unknown option' fs --bogus
rejected 'invalid option' fs -d "$DB" table list --bogus
rejected 'invalid option' fs -d "$DB" table add other --bogus
rejected 'invalid option' fs -d "$DB" pair list -j
rejected '--name needs a value' fs -d "$DB" init --name
rejected '--mode needs a value' fs -d "$DB" map add branch contacts.phone --mode
rejected '--json takes no value' fs -d "$DB" table list --json=yes
rejected 'invalid option --bogus \(' fs -d "$DB" table list --bogus=1
# getopt stays on a cluster until its last letter: name it, not the
# argument before it.
rejected "invalid option -12 .*as in: -- -12" fs -d "$DB" log contacts -12
rejected 'invalid option -x \(' fs -d "$DB" table list --json -xy
rejected 'arguments|expected' fs -d "$DB" table add
rejected 'arguments|expected' fs -d "$DB" table add other contacts
rejected 'arguments|expected' fs -d "$DB" pair show
rejected 'arguments|expected' fs -d "$DB" pair set branch interval
rejected 'arguments|expected' fs -d "$DB" map add branch
rejected 'arguments|expected' fs -d "$DB" log contacts
rejected 'ROWID' fs -d "$DB" log contacts one
rejected 'ROWID' fs -d "$DB" log contacts 99999999999999999999
rejected 'limit' fs -d "$DB" log contacts 1 --limit 0
rejected 'unexpected argument' fs -d "$DB" init extra
rejected 'listings' fs -d "$DB" pair remove hub --json
rejected 'no record' fs -d "$DB" log contacts 99
rejected 'not enrolled' fs -d "$DB" log other 1

step "a database that does not exist is not created"
rejected 'FIELDSYNC_DB' fs table list
rejected 'FIELDSYNC_DB' fs init
for c in init "table list" "pair list" "table add contacts"; do
	# shellcheck disable=SC2086
	expect_err 'does not exist' fs -d "$T/nope.db" $c
	# shellcheck disable=SC2086
	expect_err 'does not exist' env FIELDSYNC_DB="$T/nope.db" \
	    "$FIELDSYNC" $c
done
expect_err 'does not exist' fs -d "$T/nodir/app.db" init
for f in "$T/nope.db" "$T/nope.db-wal" "$T/nope.db-shm" \
    "$T/nope.db-journal" "$T/nodir"; do
	[ ! -e "$f" ] || fail "$f was created"
done
expect_err 'regular file' fs -d "$T/dir" init
expect_err 'regular file' fs -d /dev/null init

step "a file name that looks like an SQLite URI is a file name"
mkdir "$T/uri"
sqlite3 "$T/uri/x.db" "CREATE TABLE other_app(a)"
sqlite3 "$T/uri/file:x.db" "CREATE TABLE mine(id INTEGER PRIMARY KEY, a)"
S=$(checksum "$T/uri/x.db")
(cd "$T/uri" && ok fs -d file:x.db init --name u &&
    ok fs -d file:x.db table add mine &&
    expect_err 'does not exist' fs -d file:y.db init)
eq "$(checksum "$T/uri/x.db")" "$S" "x.db after init of file:x.db"
eq "$(sql "$T/uri/file:x.db" "SELECT count(*) FROM _fs_table")" 1 \
    "enrolled in file:x.db"

step "a file that is not a database"
printf 'name,email\nAnn,ann@example.com\n' >"$T/contacts.csv"
head -c 8192 /dev/urandom >"$T/random.bin"
printf 'SQLite format 3\000garbage garbage garbage' >"$T/fake.db"
for f in contacts.csv random.bin fake.db; do
	S=$(checksum "$T/$f")
	for c in init "table list" "table add contacts" "pair list"; do
		# shellcheck disable=SC2086
		expect_err 'not an SQLite database|not a database|file is' \
		    fs -d "$T/$f" $c
	done
	eq "$(checksum "$T/$f")" "$S" "$f after fieldsync"
	for x in -wal -shm -journal; do
		[ ! -e "$T/$f$x" ] || fail "$f$x was created"
	done
done

step "a database with a newer schema version"
cp "$DB" "$T/newer.db"
sql "$T/newer.db" "UPDATE _fs_meta SET value = 999 WHERE key = 'schema_version'"
quiesce "$T/newer.db"
NSUM=$(checksum "$T/newer.db")
for c in "init" "init --name x" "table add other" "table list" \
    "table remove contacts" "pair list" "pair show hub" \
    "pair set hub interval 5" "pair remove hub" "map add branch contacts.phone" \
    "map list hub" "map set branch contacts.email --mode off" \
    "map remove branch contacts.email" "log contacts 1" \
    "pair add y --passive --password-file $T/pw" \
    "pair set hub password-file $T/pw"; do
	# shellcheck disable=SC2086
	expect_err 'newer|999' fs -d "$T/newer.db" $c
	eq "$(checksum "$T/newer.db")" "$NSUM" "newer.db after $c"
done

step "a damaged schema version, an app's own _fs_meta: one clear line"
for v in -1 0 abc NULL; do
	cp "$DB" "$T/damaged.db"
	sql "$T/damaged.db" "UPDATE _fs_meta SET value = $( [ "$v" = NULL ] &&
	    echo NULL || echo "'$v'") WHERE key = 'schema_version'"
	quiesce "$T/damaged.db"
	DSUM=$(checksum "$T/damaged.db")
	for c in "init" "table list" "status" "pair list"; do
		# shellcheck disable=SC2086
		expect_err "damaged: its schema_version is '$v'" \
		    fs -d "$T/damaged.db" $c
		eq "$(checksum "$T/damaged.db")" "$DSUM" "damaged.db after $c"
	done
done
sql "$T/ownmeta.db" "CREATE TABLE _fs_meta(k, v)"
OSUM=$(checksum "$T/ownmeta.db")
for c in "init" "table list"; do
	# shellcheck disable=SC2086
	expect_err "table _fs_meta that is not fieldsync's" \
	    fs -d "$T/ownmeta.db" $c
	eq "$(checksum "$T/ownmeta.db")" "$OSUM" "ownmeta.db after $c"
done

step "commands on an uninitialised database"
sql "$T/plain.db" "CREATE TABLE contacts(id INTEGER PRIMARY KEY, v TEXT);
    INSERT INTO contacts(v) VALUES ('a');"
PSUM=$(checksum "$T/plain.db")
for c in "table add contacts" "table list" "table remove contacts" \
    "pair list" "pair show hub" "pair set hub interval 5" "pair remove hub" \
    "map add hub contacts.v" "map list hub" "map set hub contacts.v --mode off" \
    "map remove hub contacts.v" "log contacts 1" \
    "pair add y --passive --password-file $T/pw" \
    "pair add y --active --url http://127.0.0.1:1/ --password-file $T/pw"; do
	# shellcheck disable=SC2086
	expect_err 'init' fs -d "$T/plain.db" $c
	eq "$(checksum "$T/plain.db")" "$PSUM" "plain.db after $c"
done
eq "$(sql "$T/plain.db" "SELECT count(*) FROM sqlite_schema WHERE name LIKE
    '\\_fs\\_%' ESCAPE '\\'")" 0 "fieldsync tables in plain.db"

step "serve on a database this user may not write: one line, no server"
# Root may write anything: the checks run as nobody then.
AS=
if [ "$(id -u)" = 0 ]; then
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
fs_as() {
	# shellcheck disable=SC2086
	timeout 30 $AS "$FIELDSYNC" "$@"
}
chmod 755 "$T"
mkdir "$T/ro"
sql "$T/ro/wal.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
ok fs -d "$T/ro/wal.db" init --name ro
cp "$T/ro/wal.db" "$T/ro/journal.db"
sql "$T/ro/journal.db" "PRAGMA journal_mode = DELETE" >/dev/null
ROSUM=$(checksum "$T/ro/journal.db")
# The file itself (its directory is open to all).
chmod 777 "$T/ro"
chmod 444 "$T/ro/wal.db" "$T/ro/journal.db"
for f in wal journal; do
	expect_err "cannot write to $T/ro/$f.db: this user may not write" \
	    fs_as -d "$T/ro/$f.db" serve --listen 127.0.0.1:0
done
# The directory, where SQLite makes its -wal, -shm or -journal file: in
# journal mode only a write shows it.
chmod 555 "$T/ro"
chmod 666 "$T/ro/wal.db" "$T/ro/journal.db"
for f in wal journal; do
	expect_err "cannot write to $T/ro/$f.db: .*its directory" \
	    fs_as -d "$T/ro/$f.db" serve --listen 127.0.0.1:0
done
# Reading needs no write in journal mode.
ok fs_as -d "$T/ro/journal.db" status
chmod 755 "$T/ro"
eq "$(checksum "$T/ro/journal.db")" "$ROSUM" "journal.db after serve"

step "a database another program holds locked: one line, exit 1"
# In rollback mode an exclusive lock bars even reads: the wait (10 s)
# ends with what is wrong, not "not an SQLite database".
sql "$T/locked.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
LSUM=$(checksum "$T/locked.db")
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
c.execute("INSERT INTO t(v) VALUES (1)")
open(sys.argv[2], "w").close()
time.sleep(14)
' "$T/locked.db" "$T/locked.ready" &
LOCKER=$!
while [ ! -e "$T/locked.ready" ]; do sleep 0.1; done
expect_err "locked.db: the database is locked: another program" \
    fs -d "$T/locked.db" init --name locked
[ "$_rc" -eq 1 ] || fail "exit $_rc for a locked database"
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
eq "$(checksum "$T/locked.db")" "$LSUM" "locked.db after init"

step "the instance is still sound and unchanged"
eq "$(checksum "$DB")" "$SUM" "app.db at the end"
eq "$(sql "$DB" "PRAGMA integrity_check")" ok "integrity"
ok fs -d "$DB" table list
contains "$T/out" '^contacts: 2 records'

echo "bad-input: all passed"
