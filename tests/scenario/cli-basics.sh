#!/bin/sh
# cli-basics.sh - the command line of issue 2, end to end, with the real
# sqlite3 shell writing the app's data: init, table, pair, map, log,
# --help for every command, $FIELDSYNC_DB, and the password at rest.
. "${TOP_SRCDIR:-.}/tests/scenario/lib.sh"
need sqlite3 python3

DB=$T/app.db
PW=correct-horse-battery-staple-7731

step "an app database written by the sqlite3 shell"
sql "$DB" "
CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    email TEXT, phone TEXT, deleted INTEGER NOT NULL DEFAULT 0,
    created TEXT);
CREATE TABLE \"order \"\"items\"\"\"(id INTEGER PRIMARY KEY, \"select\" TEXT,
    qty INTEGER);
INSERT INTO contacts(name, email) VALUES ('Ann', 'ann@example.com'),
    ('Bob', 'bob@example.com');"

step "init, twice, with and without --name"
ok fs -d "$DB" init --name head-office
contains "$T/out" '^initialised instance head-office \([0-9a-f]{32}\)'
ID=$(sed -n 's/.*(\([0-9a-f]*\)).*/\1/p' "$T/out")
ok fs -d "$DB" init
contains "$T/out" "^already initialised: instance head-office \\($ID\\)"
ok fs -d "$DB" init --name hq
contains "$T/out" "instance hq \\($ID\\)"
eq "$(sql "$DB" "SELECT value FROM _fs_meta WHERE key = 'instance_id'")" \
    "$ID" "instance id"
eq "$(sql "$DB" "PRAGMA journal_mode")" wal "journal mode"
eq "$(sql "$DB" "SELECT count(*) FROM _fs_origin")" 1 "origins"
eq "$(sql "$DB" "SELECT count(*) FROM contacts")" 2 "app rows kept"
# Default name: the file's base name without extension.
sql "$T/branch-7.db" "CREATE TABLE t(id INTEGER PRIMARY KEY)"
ok fs -d "$T/branch-7.db" init
contains "$T/out" '^initialised instance branch-7 '

step "FIELDSYNC_DB is the default for -d, and -d wins over it"
ok env FIELDSYNC_DB="$DB" "$FIELDSYNC" init
contains "$T/out" 'instance hq'
ok env FIELDSYNC_DB="$T/branch-7.db" "$FIELDSYNC" -d "$DB" init
contains "$T/out" 'instance hq'
expect_err 'FIELDSYNC_DB' fs table list

step "table add with existing system columns and --match"
ok fs -d "$DB" table add contacts --status-column deleted \
    --added-column created --match email
contains "$T/out" '^enrolled table contacts$'
# No columns were added: the named ones serve as the system fields.
eq "$(sql "$DB" "SELECT group_concat(name) FROM pragma_table_info('contacts')")" \
    "id,name,email,phone,deleted,created" "contacts columns"
# Existing rows were given records and a time added.
eq "$(sql "$DB" "SELECT count(*) FROM contacts WHERE created IS NULL")" 0 \
    "rows without time added"
eq "$(sql "$DB" "SELECT count(*) FROM _fs_record WHERE lrow IS NOT NULL")" \
    2 "records"

step "table add with default system columns on a hostile name"
ok fs -d "$DB" table add 'order "items"'
eq "$(sql "$DB" "SELECT group_concat(name) FROM pragma_table_info('order \"items\"')")" \
    'id,select,qty,fs_status,fs_added' 'order "items" columns'

step "table list, text and JSON"
ok env FIELDSYNC_DB="$DB" "$FIELDSYNC" table list
contains "$T/out" '^contacts: 2 records, status deleted, added created, match \["email"\]'
contains "$T/out" '^order "items": 0 records, status fs_status, added fs_added, match none'
contains "$T/out" '^ +[0-9]+ +email +TEXT +data$'
contains "$T/out" '^ +[0-9]+ +deleted +INTEGER +status$'
contains "$T/out" '^ +[0-9]+ +created +TEXT +added$'
contains "$T/out" '^ +[0-9]+ +id +INTEGER +rowid$'
ok fs -d "$DB" table list --json
cp "$T/out" "$T/tables.json"
eq "$(json_get '[t["table"] for t in j]' <"$T/tables.json")" \
    '["contacts", "order \"items\""]' "tables"
eq "$(json_get 'j[0]["match"]' <"$T/tables.json")" '["email"]' "match"
eq "$(json_get 'j[0]["records"]' <"$T/tables.json")" 2 "records"
eq "$(json_get '[f["column"] for f in j[0]["fields"]]' <"$T/tables.json")" \
    '["id", "name", "email", "phone", "deleted", "created"]' "fields"
eq "$(json_get '[f["role"] for f in j[0]["fields"]]' <"$T/tables.json")" \
    '["rowid", "data", "data", "data", "status", "added"]' "roles"
# Field numbers are instance-wide: the second table continues the count.
eq "$(json_get 'sorted(f["field"] for t in j for f in t["fields"]) == list(range(1, 12))' \
    <"$T/tables.json")" true "field numbers 1..11"
F_EMAIL=$(json_get '[f["field"] for f in j[0]["fields"] if f["column"] == "email"][0]' \
    <"$T/tables.json")
F_PHONE=$(json_get '[f["field"] for f in j[0]["fields"] if f["column"] == "phone"][0]' \
    <"$T/tables.json")
F_NAME=$(json_get '[f["field"] for f in j[0]["fields"] if f["column"] == "name"][0]' \
    <"$T/tables.json")
F_QTY=$(json_get '[f["field"] for f in j[1]["fields"] if f["column"] == "qty"][0]' \
    <"$T/tables.json")

step "table remove keeps data and field numbers; table add restores them"
sql "$DB" "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND
    tbl_name = 'order \"items\"'" >"$T/n"
[ "$(cat "$T/n")" -gt 0 ] || fail "no triggers on order \"items\""
sql "$DB" "INSERT INTO \"order \"\"items\"\"\"(\"select\", qty) VALUES ('x', 1)"
ok fs -d "$DB" table remove 'order "items"'
contains "$T/out" 'removed table order "items"'
eq "$(sql "$DB" "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND
    tbl_name = 'order \"items\"'")" 0 "triggers after remove"
eq "$(sql "$DB" "SELECT count(*) FROM \"order \"\"items\"\"\"")" 1 "rows kept"
ok fs -d "$DB" table list
lacks "$T/out" '^order'
# Writes while not enrolled are not captured.
N0=$(sql "$DB" "SELECT count(*) FROM _fs_log")
sql "$DB" "UPDATE \"order \"\"items\"\"\" SET qty = 2"
eq "$(sql "$DB" "SELECT count(*) FROM _fs_log")" "$N0" "log after remove"
sql "$DB" "ALTER TABLE \"order \"\"items\"\"\" ADD COLUMN note TEXT"
ok fs -d "$DB" table add 'order "items"'
ok fs -d "$DB" table list --json
eq "$(json_get '[f["field"] for f in j[1]["fields"] if f["column"] == "qty"][0]' \
    <"$T/out")" "$F_QTY" "qty keeps its field number"
# A new column gets a number never used before (gaps are allowed).
eq "$(json_get '[f["field"] for f in j[1]["fields"] if f["column"] == "note"][0] > 11' \
    <"$T/out")" true "a new column gets a new number"
eq "$(json_get '[f["field"] for f in j[0]["fields"]] + [f["field"] for f in j[1]["fields"] if f["column"] != "note"] == list(range(1, 12))' \
    <"$T/out")" true "old field numbers unchanged"

step "pair add, active and passive, passwords from a file"
printf '%s\n' "$PW" >"$T/pw"
ok fs -d "$DB" pair add branch --active --url http://127.0.0.1:8080/ \
    --password-file "$T/pw" --interval 5
contains "$T/out" '^added active pairing branch$'
ok fs -d "$DB" pair add hub --passive --password-file "$T/pw"
contains "$T/out" '^added passive pairing hub$'
ok fs -d "$DB" pair add spare --active --url https://peer.example:8443/ \
    --password-file "$T/pw"

step "pair list, text and JSON"
ok fs -d "$DB" pair list
contains "$T/out" '^branch +active +enabled +every +5s +policy newest +http://127.0.0.1:8080/$'
contains "$T/out" '^hub +passive +enabled +polled and decided by the active side$'
ok fs -d "$DB" pair list --json
cp "$T/out" "$T/pairs.json"
eq "$(json_get '[p["name"] for p in j]' <"$T/pairs.json")" \
    '["branch", "hub", "spare"]' "pairings"
eq "$(json_get '[(p["role"], p["interval"], p["policy"], p["enabled"]) for p in j]' \
    <"$T/pairs.json")" \
    '[["active", 5, "newest", true], ["passive", 60, "newest", true], ["active", 60, "newest", true]]' \
    "pairing settings"
eq "$(json_get 'j[1]["url"]' <"$T/pairs.json")" null "passive url"
lacks "$T/pairs.json" "$PW"
lacks "$T/pairs.json" 'secret'

step "pair set"
ok fs -d "$DB" pair set branch interval 30
ok fs -d "$DB" pair set branch policy active
ok fs -d "$DB" pair set branch enabled no
ok fs -d "$DB" pair set branch url http://127.0.0.1:9090/
ok fs -d "$DB" pair set branch deletes hard
ok fs -d "$DB" pair set hub policy passive
contains "$T/out" '^note: the active side sends its policy with every exchange, and that one decides'
ok fs -d "$DB" pair show branch --json
eq "$(json_get '(j["interval"], j["policy"], j["enabled"], j["url"], j["deletes"])' \
    <"$T/out")" '[30, "active", false, "http://127.0.0.1:9090/", "hard"]' \
    "branch after set"
expect_err 'interval' fs -d "$DB" pair set branch interval 0
expect_err 'policy' fs -d "$DB" pair set branch policy loudest
expect_err 'url' fs -d "$DB" pair set hub url http://127.0.0.1:1/
expect_err 'unknown key colour: use interval, policy, enabled, url, deletes, ca-file or password-file' \
    fs -d "$DB" pair set branch colour blue

step "the password is not stored in clear, and password-file replaces it"
S1=$(sql "$DB" "SELECT secret FROM _fs_pair WHERE name = 'hub'")
[ "${#S1}" -eq 64 ] || fail "hub secret is not a 64-digit hash: $S1"
printf '%s\n' "other-$PW" >"$T/pw2"
ok fs -d "$DB" pair set hub password-file "$T/pw2"
S2=$(sql "$DB" "SELECT secret FROM _fs_pair WHERE name = 'hub'")
[ "$S1" != "$S2" ] || fail "password-file did not change the secret"
# Same password, different pairing names: a passive stores HA1, which
# includes the user name, so the stored values differ.
[ "$(sql "$DB" "SELECT count(DISTINCT secret) FROM _fs_pair")" -ge 2 ] ||
    fail "secrets look like plain copies"
quiesce "$DB"
for f in "$DB" "$DB-wal"; do
	[ -e "$f" ] || continue
	if grep -a -q -- "$PW" "$f"; then
		fail "password found in clear in $f"
	fi
done
# Nor in hex or base64.
HEXPW=$(printf '%s' "$PW" | od -An -tx1 | tr -d ' \n')
sql "$DB" "SELECT count(*) FROM _fs_pair WHERE instr(lower(secret), '$HEXPW')
    OR instr(secret, '$(printf '%s' "$PW" | base64)')" >"$T/n"
eq "$(cat "$T/n")" 0 "encoded password in _fs_pair"

step "pair show, text"
ok fs -d "$DB" pair show hub
contains "$T/out" '^name +hub$'
contains "$T/out" '^role +passive$'
contains "$T/out" '^policy +passive$'
contains "$T/out" '^map:$'
lacks "$T/out" "$PW"

step "map add on an active pairing prints the field number"
ok fs -d "$DB" map add branch contacts.email
contains "$T/out" "^mapped contacts.email as field $F_EMAIL \\(two-way\\)$"
ok fs -d "$DB" map add branch contacts.phone --mode upload
contains "$T/out" "field $F_PHONE \\(upload\\)"
ok fs -d "$DB" map add branch 'order "items".qty' --mode download
contains "$T/out" "field $F_QTY \\(download\\)"
ok fs -d "$DB" map add branch contacts.name --mode off

step "map list on the active pairing, text and JSON"
ok fs -d "$DB" map list branch
contains "$T/out" "^ +$F_EMAIL +contacts.email +two-way"
contains "$T/out" "^ +$F_PHONE +contacts.phone +upload"
contains "$T/out" "^ +$F_QTY +order \"items\".qty +download"
contains "$T/out" '^warning: contacts.name: mode off'
eq "$(grep -c '^warning' "$T/out")" 1 "warnings on branch"
ok fs -d "$DB" map list branch --json
eq "$(json_get '[(f["field"], f["column"], f["mode"], f["remote_field"]) for f in j["fields"]]' \
    <"$T/out")" \
    "[[$F_NAME, \"name\", \"off\", null], [$F_EMAIL, \"email\", \"two-way\", null], [$F_PHONE, \"phone\", \"upload\", null], [$F_QTY, \"qty\", \"download\", null]]" \
    "branch map"
eq "$(json_get 'len(j["warnings"])' <"$T/out")" 1 "JSON warnings"

step "map add on a passive pairing with --remote-field"
ok fs -d "$DB" map add hub contacts.email --remote-field 40
contains "$T/out" "^mapped contacts.email as field $F_EMAIL \\(two-way\\)$"
expect_err 'field 40 is already linked to contacts.email in hub: one column each' \
    fs -d "$DB" map add hub contacts.phone --remote-field 40 --mode download
ok fs -d "$DB" map add hub contacts.phone --remote-field 41 --mode download
# A map from before links were checked: two columns on one number.
sqlite3 "$DB" "UPDATE _fs_map SET remote_fid = 40 WHERE remote_fid = 41" ||
    fail "link phone to 40"
ok fs -d "$DB" map add hub contacts.name
ok fs -d "$DB" map list hub
contains "$T/out" "contacts.email +two-way +-> active field 40"
contains "$T/out" '^warning: contacts.name: not linked to an active field'
contains "$T/out" '^warning: contacts.email: active field 40 is mapped more than once'
contains "$T/out" '^warning: contacts.phone: active field 40 is mapped more than once'
ok fs -d "$DB" map list hub --json
eq "$(json_get '[f["remote_field"] for f in j["fields"]]' <"$T/out")" \
    '[null, 40, 40]' "remote fields"
eq "$(json_get 'len(j["warnings"])' <"$T/out")" 3 "hub warnings"

step "map set and map remove"
ok fs -d "$DB" map set hub contacts.phone --mode off
contains "$T/out" 'contacts.phone is now off'
ok fs -d "$DB" map list hub
contains "$T/out" '^warning: contacts.phone: mode off'
ok fs -d "$DB" map remove hub contacts.phone
contains "$T/out" '^unmapped contacts.phone$'
ok fs -d "$DB" map list hub --json
eq "$(json_get '[f["column"] for f in j["fields"]]' <"$T/out")" \
    '["name", "email"]' "hub map after remove"
eq "$(json_get 'any("more than once" in w for w in j["warnings"])' <"$T/out")" \
    false "double mapping warning gone"
expect_err 'not mapped' fs -d "$DB" map remove hub contacts.phone
expect_err 'not mapped' fs -d "$DB" map set hub contacts.phone --mode off
ok fs -d "$DB" pair show hub --json
eq "$(json_get '[f["column"] for f in j["map"]["fields"]]' <"$T/out")" \
    '["name", "email"]' "map in pair show"

step "a column added after enrolling: listed as not captured, map add says why"
eq "$(json_get 'j[0]["uncaptured"]' <"$T/tables.json")" '[]' "uncaptured"
sql "$DB" "ALTER TABLE contacts ADD COLUMN city TEXT"
ok fs -d "$DB" table list
contains "$T/out" "^ +- +city +not captured yet: run 'fieldsync table add contacts'\$"
ok fs -d "$DB" table list --json
eq "$(json_get 'j[0]["uncaptured"]' <"$T/out")" '["city"]' "uncaptured"
expect_err "contacts.city was added to the table after it was enrolled: run 'fieldsync table add contacts'" \
    fs -d "$DB" map add hub contacts.city
expect_err 'no such column: contacts.town' fs -d "$DB" map add hub contacts.town
ok fs -d "$DB" table add contacts
ok fs -d "$DB" table list --json
eq "$(json_get 'j[0]["uncaptured"]' <"$T/out")" '[]' "uncaptured after table add"
ok fs -d "$DB" map add hub contacts.city
contains "$T/out" 'contacts.city'

step "map warnings for a table that is no longer enrolled"
ok fs -d "$DB" table remove 'order "items"'
ok fs -d "$DB" map list branch
contains "$T/out" '^warning: order "items".qty: table or column no longer enrolled'
# Such an entry is reached by the name it was made for.
ok fs -d "$DB" map set branch 'order "items".qty' --mode off
contains "$T/out" 'is now off'
ok fs -d "$DB" map remove branch 'order "items".qty'
ok fs -d "$DB" map list branch
lacks "$T/out" 'qty'
ok fs -d "$DB" table add 'order "items"'

step "log TABLE ROWID, text and JSON, newest first"
sql "$DB" "INSERT INTO contacts(name, email, phone) VALUES ('Cy', 'cy@x', '1');
    UPDATE contacts SET phone = '2' WHERE id = 3;
    UPDATE contacts SET email = 'cy@example.com' WHERE id = 3;
    UPDATE contacts SET phone = NULL, email = 'cy@example.com' WHERE id = 3;
    UPDATE contacts SET deleted = 1 WHERE id = 3;"
ok fs -d "$DB" log contacts 3
contains "$T/out" '^contacts row 3 \(sync id [0-9a-f]{32}\)$'
sed 1d "$T/out" | sed 's/^[-0-9T:.Z]*  //' >"$T/log.txt"
cat >"$T/log.want" <<'EOF'
deleted: 0 -> 1  [local]
phone: '2' -> null  [local]
email: 'cy@x' -> 'cy@example.com'  [local]
phone: '1' -> '2'  [local]
created  [local]
EOF
diff -u "$T/log.want" "$T/log.txt" || fail "log contacts 3 text"
ok fs -d "$DB" log contacts 3 --json
cp "$T/out" "$T/log.json"
eq "$(json_get '[(e["kind"], e["column"], e["old"], e["new"], e["source"]) for e in j["entries"]]' \
    <"$T/log.json")" \
    '[["change", "deleted", 0, 1, "local"], ["change", "phone", "2", null, "local"], ["change", "email", "cy@x", "cy@example.com", "local"], ["change", "phone", "1", "2", "local"], ["created", null, null, null, "local"]]' \
    "log JSON"
eq "$(json_get 'all(a["seq"] > b["seq"] for a, b in zip(j["entries"], j["entries"][1:]))' \
    <"$T/log.json")" true "newest first"
eq "$(json_get 'j["entries"][0]["origin"]' <"$T/log.json")" "$ID" "origin"
eq "$(json_get 'j["table"], j["rowid"]' <"$T/log.json")" '["contacts", 3]' \
    "record"
SID=$(json_get 'j["sync_id"]' <"$T/log.json")
eq "$(sql "$DB" "SELECT sid FROM _fs_record WHERE lrow = 3 AND tid =
    (SELECT tid FROM _fs_table WHERE name = 'contacts')")" "$SID" "sync id"
ok fs -d "$DB" log contacts 3 --limit 2 --json
eq "$(json_get 'len(j["entries"])' <"$T/out")" 2 "--limit"
# A record enrolled with its table has a "created" entry too.
ok fs -d "$DB" log contacts 1
contains "$T/out" 'created  \[local\]$'
expect_err 'no record' fs -d "$DB" log contacts 99
expect_err 'not enrolled' fs -d "$DB" log nosuch 1

step "--help for every command"
ok fs --help
contains "$T/out" '^usage: fieldsync \[-d DB\] COMMAND'
sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\{0,1\}\)  .*/\1/p' "$T/out" |
    sed 's/ *$//' >"$T/commands"
for c in init "table add" "table list" "table remove" "pair add" \
    "pair list" "pair show" "pair remove" "pair set" "map add" "map list" \
    "map set" "map remove" log; do
	grep -qx "$c" "$T/commands" || fail "command $c not in fieldsync --help"
done
while read -r c; do
	# shellcheck disable=SC2086
	ok fs $c --help
	contains "$T/out" "^usage: fieldsync \\[-d DB\\] $c( |\$)"
	# shellcheck disable=SC2086
	ok fs help $c
	contains "$T/out" "^usage: fieldsync \\[-d DB\\] $c( |\$)"
done <"$T/commands"
# --help needs no database, even a broken $FIELDSYNC_DB.
ok env FIELDSYNC_DB="$T/none.db" "$FIELDSYNC" pair add --help
contains "$T/out" -- '--password-file'
[ ! -e "$T/none.db" ] || fail "--help created a database"

step "pair remove"
ok fs -d "$DB" pair remove hub
contains "$T/out" '^removed pairing hub$'
eq "$(sql "$DB" "SELECT count(*) FROM _fs_map WHERE pid NOT IN
    (SELECT pid FROM _fs_pair)")" 0 "orphan map rows"
eq "$(sql "$DB" "SELECT count(*) FROM _fs_pair_state WHERE pid NOT IN
    (SELECT pid FROM _fs_pair)")" 0 "orphan state rows"
ok fs -d "$DB" pair list --json
eq "$(json_get '[p["name"] for p in j]' <"$T/out")" '["branch", "spare"]' \
    "pairings after remove"
expect_err 'no such pairing' fs -d "$DB" pair show hub
# The name can be used again.
ok fs -d "$DB" pair add hub --passive --password-file "$T/pw"
ok fs -d "$DB" map list hub --json
eq "$(json_get 'j["fields"]' <"$T/out")" '[]' "new hub map"

step "a table that lost its capture triggers is listed so, and table add mends it"
cp "$DB" "$T/lost.db"
trig=$(sql "$T/lost.db" "SELECT name FROM sqlite_schema WHERE type = 'trigger'
    AND tbl_name = 'contacts' AND name GLOB '_fs_upd_*' LIMIT 1")
sql "$T/lost.db" "DROP TRIGGER \"$trig\""
ok fs -d "$T/lost.db" table list
contains "$T/out" "capture lost .*run 'fieldsync table add contacts'"
ok fs -d "$T/lost.db" table list --json
eq "$(json_get '[t["capture_lost"] for t in j if t["table"] == "contacts"]' <"$T/out")" "[true]" "capture_lost"
ok fs -d "$T/lost.db" table add contacts
eq "$(sql "$T/lost.db" "SELECT count(*) FROM sqlite_schema WHERE name = '$trig'")" \
    1 "trigger back"
ok fs -d "$T/lost.db" table list
lacks "$T/out" "capture lost"

step "an instance made by an older fieldsync is upgraded on first use"
cp "$DB" "$T/old.db"
sql "$T/old.db" "DROP INDEX _fs_log_hlc;
    ALTER TABLE _fs_pair_state DROP COLUMN recv_mark;
    ALTER TABLE _fs_pair_state DROP COLUMN echo_want;
    ALTER TABLE _fs_pair_state DROP COLUMN echo_give;
    ALTER TABLE _fs_log DROP COLUMN at;
    ALTER TABLE _fs_pair_state DROP COLUMN acked_seq;
    ALTER TABLE _fs_map DROP COLUMN floor_seq;
    ALTER TABLE _fs_map DROP COLUMN remap_seq;
    ALTER TABLE _fs_log DROP COLUMN prior_hlc;
    ALTER TABLE _fs_log DROP COLUMN prior_origin;
    DROP TABLE _fs_pair_gone;
    UPDATE _fs_meta SET value = '1' WHERE key = 'schema_version'"
ok fs -d "$T/old.db" table list
eq "$(sql "$T/old.db" "SELECT value FROM _fs_meta WHERE key = 'schema_version'")" \
    6 "schema version after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM sqlite_schema
    WHERE name = '_fs_pair_gone'")" 1 "kept links table after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM pragma_table_info('_fs_log')
    WHERE name IN ('prior_hlc', 'prior_origin')")" 2 "priors after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM sqlite_schema WHERE name = '_fs_log_hlc'")" \
    1 "clock index after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM pragma_table_info('_fs_pair_state')
    WHERE name IN ('recv_mark', 'echo_want', 'echo_give')")" 3 "marks after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM pragma_table_info('_fs_map')
    WHERE name IN ('floor_seq', 'remap_seq')")" 2 "map floors after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM _fs_pair_state
    WHERE acked_seq IS NOT sent_seq")" 0 "acked_seq after upgrade"
eq "$(sql "$T/old.db" "SELECT count(*) FROM contacts")" \
    "$(sql "$DB" "SELECT count(*) FROM contacts")" "rows after upgrade"

step "the database is sound"
eq "$(sql "$DB" "PRAGMA integrity_check")" ok "integrity"
eq "$(sql "$DB" "PRAGMA foreign_key_check")" "" "foreign keys"

echo "cli-basics: all passed"
