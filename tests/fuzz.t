#!/bin/sh
# fuzz.t - replays the committed corpus and regression inputs of every
# fuzz target (tests/fuzz/corpus/TARGET, tests/fuzz/regress/TARGET) with
# the target built on a plain main() (tests/fuzz/replay.c): every input
# must run through without a crash, a sanitizer report (make asan) or a
# broken invariant.  `make fuzz` is what looks for new inputs.
. "$(dirname "$0")/lib.sh"

F=$API_TOP/tests/fuzz
for src in "$F"/*.c; do
	t=$(basename "$src" .c)
	[ "$t" = replay ] && continue
	set -- "$F/corpus/$t"
	[ -d "$F/regress/$t" ] && set -- "$@" "$F/regress/$t"
	want=$(find "$@" -type f ! -name '.*' | wc -l)
	"$B/fuzz/replay-$t" "$@" > "$T/out" 2> "$T/err"
	rc=$?
	n=$(sed -n 's/^replayed \([0-9]*\) inputs$/\1/p' "$T/out")
	[ "$rc" -eq 0 ] && [ "${n:-0}" -gt 0 ] && [ "$n" -eq "$want" ]
	ok $? "$t: replayed ${n:-0} of $want inputs without a crash"
	[ "$rc" -eq 0 ] || diag "$(head -n 5 "$T/err")"
done
[ "$tap_n" -gt 0 ]
ok $? "fuzz targets found in $F"
done_testing
