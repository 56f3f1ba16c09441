#!/bin/sh
# sync-callgrind.sh - the incremental sync's big/small in instructions.
#
#   sync-callgrind.sh BENCH_SYNC [RECORDS [BIG_ROWS]]
#
# Wall-clock times of a 100-record sync swing by half between runs on a
# shared virtual CPU, and raw SQLite's own big/small with them.  This
# runs "bench-sync --incremental BIG_ROWS" under valgrind --tool=callgrind
# with instrumentation on only around the measured syncs (both sides:
# the passive is a thread of that process) and around the same raw
# updates, a dump after each, and prints instructions per sync and per 100 raw updates for
# the 1,000-row and the BIG_ROWS-row table:
#
#   incremental sync of 100 records, instructions: 1000-row table ...
#
# Instructions are what runs in user space: the kernel's page reads and
# writes and the CPU's cache misses, which grow with the table for raw
# SQLite too, are not in them.  RECORDS is accepted (and ignored) so that
# "make bench" can pass its BENCH_SYNC_ARGS.
set -eu

BENCH=${1:?usage: sync-callgrind.sh BENCH_SYNC [RECORDS [BIG_ROWS]]}
BIG=${3:-1000000}
ROUNDS=15	# INC_RUNS in bench-sync.c

command -v valgrind >/dev/null 2>&1 || {
	echo "sync-callgrind.sh: valgrind is not installed (apt-get install" \
	    "valgrind); instruction counts skipped" >&2
	exit 0
}
[ -x "$BENCH" ] || { echo "sync-callgrind.sh: $BENCH not built" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/fs-sync-cg.XXXXXX")
trap 'rm -rf "$T"' EXIT

valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$T/cg.out" "$BENCH" --incremental "$BIG" \
    >"$T/stdout" 2>"$T/vg.err" || {
	cat "$T/vg.err" >&2
	exit 1
}

# The dumps made by CALLGRIND_DUMP_STATS_AT(name), one per round: the
# sum of their instructions.
total() {
	awk -v want="desc: Trigger: Client Request: $1" '
		FNR == 1 { named = 0 }
		$0 == want { named = 1; n++ }
		named && $1 == "totals:" { sum += $2 }
		END {
			if (n == 0) {
				print "sync-callgrind.sh: no dump named " \
				    substr(want, 32) > "/dev/stderr"
				exit 1
			}
			printf("%.0f\n", sum)
		}' "$T"/cg.out.*
}
ss=$(total sync-small)
rs=$(total raw-small)
sb=$(total sync-big)
rb=$(total raw-big)
awk -v ss="$ss" -v rs="$rs" -v sb="$sb" -v rb="$rb" -v n="$ROUNDS" \
    -v big="$BIG" 'BEGIN {
	printf("incremental sync of 100 records, instructions (callgrind, " \
	    "user space): 1000-row table %.2f M per sync (%.2fx raw " \
	    "updates)  %d-row table %.2f M (%.2fx)  big/small %.2f (target " \
	    "<= 1.20; raw updates big/small %.2f)\n", ss / n / 1e6, ss / rs,
	    big, sb / n / 1e6, sb / rb, sb / ss, rb / rs)
}'
