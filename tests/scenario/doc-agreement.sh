#!/bin/sh
# doc-agreement.sh - keep the command table, --help, the man pages and the
# README in agreement.
#
# The list of commands comes from "fieldsync --help", so a command added
# to the table in src/cmd.c is checked without touching this script.  For
# every command it checks that:
#
#  - "fieldsync COMMAND --help" works and its usage line names the command;
#    the long options in the usage line and the options the help
#    describes are the same;
#  - man/fieldsync.1 shows the usage line verbatim in SYNOPSIS and has
#    exactly one entry in COMMANDS, whose nested list has one item per
#    option (or key) the help describes and nothing else, and which
#    mentions no long option the command does not take;
#  - README.md's command list has it, with the same long options;
#
# and in the other direction that every command the man page (SYNOPSIS,
# COMMANDS, EXAMPLES) or the README names exists.  It also checks that
# man/fieldsync-tables.5 documents every table, column and index that
# sql/*.sql creates and every trigger family src/capture.c installs (and
# no table or column that does not exist), and that every page in man/
# passes "mandoc -Tlint -W warning".
#
# Environment (set by automake): FIELDSYNC, the built program; TOP_SRCDIR;
# MANDOC, the mandoc program (empty when configure found none).
# Exit status: 0 when everything agrees, 1 with one line per mismatch.

set -u
LC_ALL=C
export LC_ALL

: "${FIELDSYNC:?set FIELDSYNC to the built fieldsync program}"
: "${TOP_SRCDIR:?set TOP_SRCDIR to the source tree}"
MANDOC=${MANDOC:-}

MAN1=$TOP_SRCDIR/man/fieldsync.1
MAN5=$TOP_SRCDIR/man/fieldsync-tables.5
README=$TOP_SRCDIR/README.md

unset FIELDSYNC_DB
T=$(mktemp -d "${TMPDIR:-/tmp}/fs-doc-agreement.XXXXXX") || exit 99
: >"$T/mismatches"
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

# Mismatches are collected in a file, so loops in pipelines can report.
mismatch() {
	echo "MISMATCH: $*" >>"$T/mismatches"
}

die() {
	echo "doc-agreement: $*" >&2
	exit 1
}

if [ -z "$MANDOC" ]; then
	die "mandoc is needed to lint and render the man pages but was not" \
	    "found: install it (tests/install-deps.sh does) and re-run configure"
fi
command -v "$MANDOC" >/dev/null 2>&1 ||
	die "MANDOC=$MANDOC is not a program: install mandoc and re-run configure"
for f in "$MAN1" "$MAN5" "$README"; do
	[ -r "$f" ] || die "cannot read $f"
done
[ -x "$FIELDSYNC" ] || die "FIELDSYNC=$FIELDSYNC is not executable"

# The name of a command in a line that starts with it: the leading words
# made of lower-case letters, digits and '-' (arguments are upper case,
# bracketed or options).
name_of() {
	awk '{ n = ""
		for (i = 1; i <= NF && $i ~ /^[a-z][a-z0-9-]*$/; i++)
			n = n (n == "" ? "" : " ") $i
		print n }'
}

# Long options in text, one per line, sorted and unique.
long_opts() {
	awk '{ s = $0
		while (match(s, /--[a-z][a-z0-9-]*/)) {
			print substr(s, RSTART, RLENGTH)
			s = substr(s, RSTART + RLENGTH)
		} }' | sort -u
}

# Lines of $1 missing from $2 (both sorted files).
missing() {
	comm -23 "$1" "$2"
}

BS=$(printf '\b')
render() {
	"$MANDOC" -Tascii -O width=1000 "$1" | sed "s/.$BS//g"
}

# --- lint ---------------------------------------------------------------
for page in "$TOP_SRCDIR"/man/*.[1-9]; do
	[ -e "$page" ] || continue
	if ! "$MANDOC" -Tlint -W warning "$page" >"$T/lint" 2>&1; then
		mismatch "mandoc -Tlint -W warning ${page#"$TOP_SRCDIR"/}" \
		    "is not clean:"
		sed 's/^/    /' "$T/lint" >>"$T/mismatches"
	fi
done

# --- the commands, from --help -------------------------------------------
"$FIELDSYNC" --help >"$T/help" 2>&1 || die "'fieldsync --help' failed"
# Lines under "commands:" up to the blank line: "  NAME  summary".
awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print }' \
    "$T/help" >"$T/cmdlines"
[ -s "$T/cmdlines" ] || die "no commands listed under 'commands:' in" \
    "'fieldsync --help'"
: >"$T/commands"
while IFS= read -r line; do
	# The name ends at the first run of two or more spaces.
	name=$(printf '%s\n' "$line" | sed -n 's/^ *\([^ ]\{1,\}\( [^ ]\{1,\}\)*\)  .*/\1/p')
	if [ -z "$name" ] || [ "$(printf '%s\n' "$name" | name_of)" != "$name" ]
	then
		die "cannot tell the command name from its summary in the" \
		    "'fieldsync --help' line '$line' (widen the name column" \
		    "in cmd_help)"
	fi
	echo "$name" >>"$T/commands"
done <"$T/cmdlines"
sort -u "$T/commands" >"$T/commands.sorted"

# --- what the man page and README say --------------------------------------
render "$MAN1" >"$T/man1.txt"
# Rendered SYNOPSIS lines of the form "fieldsync [-d DB] ...".
awk '/^SYNOPSIS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' "$T/man1.txt" |
    sed 's/^ *//' | grep '^fieldsync \[-d DB\] ' >"$T/synopsis" || :
sed 's/^fieldsync \[-d DB\] //' "$T/synopsis" | name_of | sort -u \
    >"$T/synopsis.names"

# COMMANDS, from the source: ENTRY name / ITEM name item / FLAG name --opt.
awk '
function macros(s) { sub(/^\./, "", s); return s }
function entry_name(head,   t, n, i, k, nm) {
	n = split(head, t, /[ \t]+/)
	for (i = 1; i <= n && t[i] != "Cm"; i++)
		;
	nm = ""
	for (k = i + 1; k <= n && t[k] ~ /^[a-z][a-z0-9-]*$/; k++)
		nm = nm (nm == "" ? "" : " ") t[k]
	return nm
}
function flags(s,   t, n, i) {
	n = split(s, t, /[ \t]+/)
	for (i = 1; i < n; i++)
		if (t[i] == "Fl" && t[i + 1] ~ /^-[a-z]/)
			print "FLAG\t" cur "\t-" t[i + 1]
}
/^\.Sh / { sec = $0; sub(/^\.Sh +/, "", sec); cur = ""; depth = 0; next }
sec != "COMMANDS" { next }
collecting {
	if ($0 ~ /^\.Xc/) {
		collecting = 0
		cur = entry_name(head)
		print "ENTRY\t" cur
		flags(head)
	} else
		head = head " " macros($0)
	next
}
/^\.Bl/ { depth++; next }
/^\.El/ { depth--; next }
/^\.It/ && depth == 1 {
	if ($0 ~ /^\.It +Xo *$/) { collecting = 1; head = ""; next }
	head = macros($0)
	cur = entry_name(head)
	print "ENTRY\t" cur
	flags(head)
	next
}
/^\.It/ && depth == 2 && cur != "" {
	if ($2 == "Fl")
		item = "-" $3
	else if ($2 == "Cm")
		item = $3
	else
		item = $2
	print "ITEM\t" cur "\t" item
}
/^\./ && cur != "" { flags(macros($0)) }
' "$MAN1" >"$T/man1.commands"
awk -F '\t' '$1 == "ENTRY" { print $2 }' "$T/man1.commands" \
    >"$T/entries"
sort -u "$T/entries" >"$T/entries.names"

# README: the fenced or indented lines of "## Commands".
awk '/^## / { on = ($0 ~ /^## Commands/); next } on' "$README" |
    sed 's/^[[:blank:]]*//' | grep '^fieldsync \[-d DB\] ' |
    sed 's/^fieldsync \[-d DB\] //' >"$T/readme" || :
[ -s "$T/readme" ] || mismatch "README.md has no command lines" \
    "('fieldsync [-d DB] ...') in its '## Commands' section"
name_of <"$T/readme" | sort -u >"$T/readme.names"

# EXAMPLES: "$ fieldsync [-d DB] COMMAND ..." lines of the man page source.
# Their arguments may be lower case, so a line names the longest command
# it starts with (its first word when it starts with none).
awk '/^\.Sh / { on = ($0 ~ /^\.Sh +EXAMPLES/); next } on' "$MAN1" |
    sed -n 's/^\(\.Dl \)\{0,1\}\$ fieldsync //p' |
    sed 's/^-d *[^ ]* *//' | awk -v list="$T/commands.sorted" '
BEGIN { while ((getline c < list) > 0) known[c] = 1 }
{ n = $1; if (($1 " " $2) in known) n = $1 " " $2; print n }' |
    sort -u >"$T/examples.names"

# --- each command ------------------------------------------------------
while IFS= read -r name; do
	# shellcheck disable=SC2086 # the name's words are separate arguments
	if ! "$FIELDSYNC" $name --help >"$T/chelp" 2>&1; then
		mismatch "'fieldsync $name --help' failed:" \
		    "$(head -n 1 "$T/chelp")"
		continue
	fi
	usage=$(sed -n '1s/^usage: //p' "$T/chelp")
	case "$usage" in
	"fieldsync [-d DB] $name"|"fieldsync [-d DB] $name "*) ;;
	*)
		mismatch "'fieldsync $name --help' does not start with" \
		    "'usage: fieldsync [-d DB] $name': $(head -n 1 "$T/chelp")"
		continue
		;;
	esac
	printf '%s\n' "$usage" | long_opts >"$T/usage.opts"
	# Option and key lines: "  ITEM  description", after the summary.
	awk 'NR > 3 && /^  [^ ]/ { print $1 }' "$T/chelp" | sort -u \
	    >"$T/help.items"
	grep '^--' "$T/help.items" >"$T/help.opts" || :

	missing "$T/usage.opts" "$T/help.opts" | while IFS= read -r o; do
		mismatch "$name: $o is in the usage line but not described" \
		    "in 'fieldsync $name --help'"
	done
	missing "$T/help.opts" "$T/usage.opts" | while IFS= read -r o; do
		mismatch "$name: $o is described in 'fieldsync $name --help'" \
		    "but missing from its usage line '$usage'"
	done

	# The man page: SYNOPSIS.
	if ! grep -qxF -- "$usage" "$T/synopsis"; then
		got=$(grep -F -- "fieldsync [-d DB] $name " "$T/synopsis" |
		    head -n 1)
		[ -n "$got" ] && got=" (it has '$got')"
		mismatch "$name: man/fieldsync.1 SYNOPSIS lacks the usage" \
		    "line '$usage'$got"
	fi

	# The man page: COMMANDS.
	n=$(grep -cxF -- "$name" "$T/entries")
	if [ "$n" -eq 0 ]; then
		mismatch "$name: no entry in the COMMANDS section of" \
		    "man/fieldsync.1"
	else
		[ "$n" -gt 1 ] && mismatch "$name: $n entries in the COMMANDS" \
		    "section of man/fieldsync.1"
		awk -F '\t' -v n="$name" '$1 == "ITEM" && $2 == n { print $3 }' \
		    "$T/man1.commands" | sort -u >"$T/man.items"
		awk -F '\t' -v n="$name" '$1 == "FLAG" && $2 == n { print $3 }' \
		    "$T/man1.commands" | sort -u >"$T/man.flags"
		missing "$T/help.items" "$T/man.items" | while IFS= read -r o; do
			mismatch "$name: '$o' from 'fieldsync $name --help' has" \
			    "no item in its man/fieldsync.1 entry"
		done
		missing "$T/man.items" "$T/help.items" | while IFS= read -r o; do
			mismatch "$name: man/fieldsync.1 lists '$o', which" \
			    "'fieldsync $name --help' does not describe"
		done
		sort -u "$T/help.opts" "$T/usage.opts" >"$T/known.opts"
		echo "--help" >>"$T/known.opts"
		sort -u -o "$T/known.opts" "$T/known.opts"
		missing "$T/man.flags" "$T/known.opts" | while IFS= read -r o; do
			mismatch "$name: man/fieldsync.1 mentions $o, which" \
			    "'fieldsync $name' does not take"
		done
	fi

	# README.
	# The line's command is its leading lower-case words, so that
	# "conflicts resolve ..." is not taken for "conflicts".
	awk -v n="$name" '{ m = ""
		for (i = 1; i <= NF && $i ~ /^[a-z][a-z0-9-]*$/; i++)
			m = m (m == "" ? "" : " ") $i
		if (m == n) print }' "$T/readme" >"$T/readme.cmd"
	if [ ! -s "$T/readme.cmd" ]; then
		mismatch "$name: missing from README.md's command list"
	else
		long_opts <"$T/readme.cmd" >"$T/readme.opts"
		missing "$T/usage.opts" "$T/readme.opts" | while IFS= read -r o; do
			mismatch "$name: README.md's command list lacks $o"
		done
		missing "$T/readme.opts" "$T/usage.opts" | while IFS= read -r o; do
			mismatch "$name: README.md's command list shows $o," \
			    "which 'fieldsync $name' does not take"
		done
	fi
done <"$T/commands"

# --- the other direction: nothing documented that does not exist ----------
for src in synopsis:"man/fieldsync.1 SYNOPSIS" \
    entries:"man/fieldsync.1 COMMANDS" readme:"README.md's command list" \
    examples:"man/fieldsync.1 EXAMPLES"; do
	f=${src%%:*}
	where=${src#*:}
	missing "$T/$f.names" "$T/commands.sorted" >"$T/extra"
	while IFS= read -r name; do
		if [ -z "$name" ]; then
			mismatch "$where has a line or entry without a command name"
		else
			mismatch "$where names '$name', which is not in" \
			    "'fieldsync --help'"
		fi
	done <"$T/extra"
done

# --- fieldsync-tables(5) against sql/*.sql and src/capture.c -----------------
# TABLE name / COLUMN table col / INDEX name, from every migration file.
cat "$TOP_SRCDIR"/sql/*.sql | sed 's/--.*//' | awk '
function strip(s) { gsub(/["`\[\]]/, "", s); return s }
/CREATE TABLE/ {
	t = $0; sub(/.*CREATE TABLE( IF NOT EXISTS)? +/, "", t)
	sub(/[ (].*/, "", t); t = strip(t)
	print "TABLE\t" t; intable = 1; next
}
intable && /^\)/ { intable = 0; next }
intable {
	w = strip($1)
	if (w == "" || w ~ /^(PRIMARY|UNIQUE|CHECK|FOREIGN|CONSTRAINT)$/) next
	sub(/,$/, "", w)
	print "COLUMN\t" t "\t" w
}
/ALTER TABLE .* ADD( COLUMN)? / {
	t = $0; sub(/.*ALTER TABLE +/, "", t); sub(/ .*/, "", t)
	c = $0; sub(/.* ADD( COLUMN)? +/, "", c); sub(/[ ;,].*/, "", c)
	print "COLUMN\t" strip(t) "\t" strip(c)
}
/CREATE (UNIQUE )?INDEX/ {
	i = $0; sub(/.*INDEX( IF NOT EXISTS)? +/, "", i); sub(/ .*/, "", i)
	print "INDEX\t" strip(i)
}' | sort -u >"$T/sql.schema"
[ -s "$T/sql.schema" ] || die "no tables found in $TOP_SRCDIR/sql/*.sql"

# The same shape from the page: .Ss per table, .It Va per column.
awk '
/^\.Sh / { on = ($0 ~ /^\.Sh +STATE TABLES/); t = ""; depth = 0; next }
!on { next }
/^\.Ss / { t = $2; print "TABLE\t" t; next }
/^\.Bl/ { depth++; next }
/^\.El/ { depth--; next }
/^\.It +Va / && depth == 1 && t != "" { print "COLUMN\t" t "\t" $3 }
' "$MAN5" | sort -u >"$T/man5.schema"

grep -v '^INDEX' "$T/sql.schema" >"$T/sql.tc"
TAB=$(printf '\t')
missing "$T/sql.tc" "$T/man5.schema" | while IFS=$TAB read -r kind tab col
do
	if [ "$kind" = TABLE ]; then
		mismatch "man/fieldsync-tables.5 has no '.Ss $tab' under" \
		    "STATE TABLES for a table sql/ creates"
	else
		mismatch "man/fieldsync-tables.5 does not describe column" \
		    "$tab.$col ('.It Va $col' under '.Ss $tab')"
	fi
done
missing "$T/man5.schema" "$T/sql.tc" | while IFS=$TAB read -r kind tab col
do
	if [ "$kind" = TABLE ]; then
		mismatch "man/fieldsync-tables.5 describes table $tab, which" \
		    "sql/*.sql does not create"
	else
		mismatch "man/fieldsync-tables.5 describes column $tab.$col," \
		    "which sql/*.sql does not create"
	fi
done
awk -F '\t' '$1 == "INDEX" { print $2 }' "$T/sql.schema" |
while IFS= read -r idx; do
	grep -qF -- "$idx" "$MAN5" ||
		mismatch "man/fieldsync-tables.5 does not name index $idx"
done
# Trigger families: the fixed part of each CREATE TRIGGER name.
awk '{ s = $0
	while (match(s, /CREATE TRIGGER \\"_fs_[a-z]+_/)) {
		f = substr(s, RSTART, RLENGTH); sub(/.*"/, "", f); print f
		s = substr(s, RSTART + RLENGTH)
	} }' "$TOP_SRCDIR/src/capture.c" | sort -u >"$T/triggers"
[ -s "$T/triggers" ] || mismatch "found no CREATE TRIGGER \"_fs_..." \
    "in src/capture.c: update this test"
while IFS= read -r fam; do
	grep -qF -- "$fam" "$MAN5" ||
		mismatch "man/fieldsync-tables.5 does not describe the" \
		    "${fam}N triggers that src/capture.c installs"
done <"$T/triggers"

# --- verdict -------------------------------------------------------------------
ncmd=$(wc -l <"$T/commands.sorted" | tr -d ' ')
nfail=$(grep -c '^MISMATCH' "$T/mismatches")
if [ "$nfail" -ne 0 ]; then
	cat "$T/mismatches" >&2
	echo "doc-agreement: $nfail mismatch(es) between --help, the man" \
	    "pages, README.md, sql/ and src/capture.c" >&2
	exit 1
fi
echo "doc-agreement: $ncmd commands; --help, the man pages, README.md and" \
    "the state tables agree"
exit 0
