#!/bin/sh
# run-bench.sh - the cost of capture on the app's write path ("make bench").
#
#   run-bench.sh [--callgrind] [--reps R] [--keep] [N]
#
# Builds one app database (tests/bench/bench-capture create) and a copy
# enrolled with "fieldsync table add": same data, same file settings
# (WAL, 4 KiB pages, synchronous NORMAL).  Then, on fresh copies of each,
# N INSERTs in one transaction followed by N single-row UPDATEs in one
# transaction, plain and captured alternately, R times; the best time of
# each is reported with the ratio:
#
#   capture insert: 100000 rows  plain 0.21 s  captured 0.55 s  ratio 2.6x
#
# --callgrind counts instructions with valgrind --tool=callgrind instead
# (default N 10000), one phase at a time, so the figures repeat from run
# to run and machine to machine; --keep leaves the callgrind.out files
# for callgrind_annotate.
#
# Run from the build directory (as "make bench" does), or set FIELDSYNC
# and BENCH_CAPTURE.  BENCH_MODE=callgrind and BENCH_N, BENCH_REPS do the
# same as the options, for "make bench".
set -eu

FIELDSYNC=${FIELDSYNC:-./fieldsync}
BENCH=${BENCH_CAPTURE:-./tests/bench/bench-capture}
MODE=${BENCH_MODE:-time}
N=${BENCH_N:-}
REPS=${BENCH_REPS:-3}
KEEP=no

while [ $# -gt 0 ]; do
	case $1 in
	--callgrind) MODE=callgrind ;;
	--reps) REPS=$2; shift ;;
	--keep) KEEP=yes ;;
	[0-9]*) N=$1 ;;
	*) echo "usage: run-bench.sh [--callgrind] [--reps R] [--keep] [N]" >&2
	   exit 2 ;;
	esac
	shift
done
case $MODE in
time) : "${N:=100000}" ;;
callgrind) : "${N:=10000}" ;;
*) echo "run-bench.sh: BENCH_MODE is time or callgrind" >&2; exit 2 ;;
esac
for p in "$FIELDSYNC" "$BENCH"; do
	[ -x "$p" ] || { echo "run-bench.sh: $p not built" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/fs-bench.XXXXXX")
[ "$KEEP" = yes ] || trap 'rm -rf "$T"' EXIT

# The two templates: the app's database, and the same enrolled.
"$BENCH" create "$T/plain.db"
cp "$T/plain.db" "$T/captured.db"
"$FIELDSYNC" -d "$T/captured.db" init --name bench >/dev/null
"$FIELDSYNC" -d "$T/captured.db" table add customer >/dev/null
for k in plain captured; do
	sqlite3 "$T/$k.db" "PRAGMA page_size; PRAGMA journal_mode" 2>/dev/null |
	    tr '\n' ' ' >"$T/$k.settings" || :
done
if [ -s "$T/plain.settings" ] &&
    ! cmp -s "$T/plain.settings" "$T/captured.settings"; then
	echo "run-bench.sh: file settings differ: plain $(cat "$T/plain.settings")," \
	    "captured $(cat "$T/captured.settings")" >&2
	exit 1
fi

fresh() {	# fresh KIND: a new copy of a template as $T/run.db
	rm -f "$T/run.db" "$T/run.db-wal" "$T/run.db-shm"
	cp "$T/$1.db" "$T/run.db"
}

# ratio A B: B / A with one decimal
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf("%.1f", (a > 0) ? b / a : 0) }'
}

if [ "$MODE" = time ]; then
	echo "capture benchmark: $N rows, best of $REPS, $(uname -m)," \
	    "sqlite $(sqlite3 -version 2>/dev/null | cut -d' ' -f1)"
	for k in plain captured; do
		echo "9999 9999" >"$T/best.$k"
	done
	r=0
	while [ "$r" -lt "$REPS" ]; do
		r=$((r + 1))
		for k in plain captured; do
			fresh "$k"
			"$BENCH" run "$T/run.db" "$N" >"$T/out"
			if [ "$k" = captured ]; then
				rows=$(awk '$1 == "log" { print $2 }' "$T/out")
				# One creation row per INSERT, one change per UPDATE.
				if [ "$rows" != "$((2 * N))" ]; then
					echo "run-bench.sh: captured $rows log rows," \
					    "expected $((2 * N))" >&2
					exit 1
				fi
			fi
			awk -v f="$T/best.$k" '
			    $1 == "insert" { i = $2 } $1 == "update" { u = $2 }
			    END { getline b < f; split(b, o, " ");
				if (o[1] < i) i = o[1]; if (o[2] < u) u = o[2];
				print i, u > f }' "$T/out"
		done
	done
	read -r pi pu <"$T/best.plain"
	read -r ci cu <"$T/best.captured"
	printf 'capture insert: %d rows  plain %.2f s  captured %.2f s  ratio %sx\n' \
	    "$N" "$pi" "$ci" "$(ratio "$pi" "$ci")"
	printf 'capture update: %d rows  plain %.2f s  captured %.2f s  ratio %sx\n' \
	    "$N" "$pu" "$cu" "$(ratio "$pu" "$cu")"
	exit 0
fi

# callgrind: instructions executed inside bench_insert / bench_update.
command -v valgrind >/dev/null 2>&1 || {
	echo "run-bench.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 77
}
echo "capture benchmark (callgrind): $N rows, instructions in each phase"
for phase in insert update; do
	for k in plain captured; do
		fresh "$k"
		out=$T/callgrind.out.$k.$phase
		valgrind --tool=callgrind --callgrind-out-file="$out" \
		    --collect-atstart=no --toggle-collect="bench_$phase" \
		    "$BENCH" run "$T/run.db" "$N" "$phase" >/dev/null 2>"$T/vg.err" || {
			cat "$T/vg.err" >&2
			exit 1
		}
		awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' \
		    "$out" >"$T/ir.$k"
	done
	pi=$(cat "$T/ir.plain")
	ci=$(cat "$T/ir.captured")
	printf 'capture %s: %d rows  plain %d Ir (%d/row)  captured %d Ir (%d/row)  ratio %sx\n' \
	    "$phase" "$N" "$pi" "$((pi / N))" "$ci" "$((ci / N))" \
	    "$(ratio "$pi" "$ci")"
done
[ "$KEEP" = no ] || echo "callgrind files kept in $T (callgrind_annotate $T/callgrind.out.captured.update)"
