#!/bin/sh
# sync-multi.t - four copies of one store, cloned from a bare server with
# the pre-receive hook, written to at once: four writers log 50 notes each
# into two shared cases and sync at random moments (concurrent pushes,
# refused pushes retried), then every copy syncs twice over.  Every write
# and every sync succeeds, no conflict is reported, every copy and the
# server end on the same main and keys, holding all 200 notes, verified.
# Then two copies open a case each at the same moment and sync: both
# cases reach the server and both copies.
#
# SYNC_SEED=N replays a run's choice of sync moments (printed as diag).
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
A=$T/store SRV=$T/srv.git
WRITERS=4
# under make valgrind (API_TEST_WRAP), 10 notes a writer; SYNC_EACH sets it
if [ -n "${API_TEST_WRAP:-}" ]; then EACH=${SYNC_EACH:-10}; else EACH=${SYNC_EACH:-50}; fi
TOTAL=$((WRITERS * EACH))
# rounds a sync may take when the server keeps refusing its push: four
# copies push at random moments, so a few rounds are common, and under
# the sanitizers (make asan), where each round is slow, many
TRIES=40
OBJ_RE='[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z-[0-9a-hjkmnp-tv-z]{6}'
t0=$(date +%s)

# notes DIR CASE: the note IDs of CASE on DIR's main, one a line
notes() {
	git -C "$1" ls-tree --name-only "main:$(cdir "$2")/notes" | sed 's/\.md\.age$//'
}
clone() { echo "$T/clone$1"; }

# --- a store, two cases of four caseworkers, pushed to the server -------
for h in adm ld w1 w2 w3 w4; do
	api-keygen --handle "$h" --no-passphrase -o "$h.id" > "$h.pub" 2> /dev/null
done
api-init -i adm.id "$A" 2> /dev/null &&
	api-staff -C "$A" -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -C "$A" -i adm.id add --role caseworker w1.pub > /dev/null 2>&1 &&
	api-staff -C "$A" -i adm.id add --role caseworker w2.pub > /dev/null 2>&1 &&
	api-staff -C "$A" -i adm.id add --role caseworker w3.pub > /dev/null 2>&1 &&
	api-staff -C "$A" -i adm.id add --role caseworker w4.pub > /dev/null 2>&1 &&
	C1=$(api-new -C "$A" -i w1.id -m "intake one" 2> /dev/null) &&
	C2=$(api-new -C "$A" -i w2.id -m "intake two" 2> /dev/null) &&
	api-grant -C "$A" -i ld.id "$C1" w2 w3 w4 > /dev/null 2>&1 &&
	api-grant -C "$A" -i ld.id "$C2" w1 w3 w4 > /dev/null 2>&1 &&
	[ "$(git -C "$A" show "main:$(cdir "$C1")/team" | sort | tr '\n' ' ')" = "w1 w2 w3 w4 " ] &&
	[ "$(git -C "$A" show "main:$(cdir "$C2")/team" | sort | tr '\n' ' ')" = "w1 w2 w3 w4 " ]
rc=$?
ok $rc "a store: an admin, a lead, caseworkers w1..w4, two cases with all four on the team"
[ $rc -eq 0 ] || { echo "Bail out! no store"; exit 1; }

# (api-sync pushes through libgit2, whose transport for paths and file://
# writes the server's refs itself: the hook is installed but, there, not run)
git init -q --bare "$SRV" && cp "$API_TOP/scripts/pre-receive" "$SRV/hooks/pre-receive" &&
	chmod +x "$SRV/hooks/pre-receive" && git -C "$A" remote add origin "$SRV" &&
	api-sync -q -C "$A" -i adm.id 2> err && [ ! -s err ] &&
	same main "$A" "$SRV" && same refs/api/keys "$A" "$SRV" && dverified "$SRV"
rc=$?
ok $rc "api-sync pushes the store to a bare server with the pre-receive hook; api-verify passes there"
[ -s err ] && diag "$(cat err)"
[ $rc -eq 0 ] || { echo "Bail out! the first push failed"; exit 1; }

bad=0
for j in 1 2 3 4; do
	api-clone -q "file://$SRV" "$(clone $j)" > out 2> err &&
		[ "$(cat out)" = "$(clone $j)" ] && dverified "$(clone $j)" &&
		same main "$SRV" "$(clone $j)" ||
		{ bad=1; diag "clone $j: $(cat err)"; }
done
ok $bad "api-clone file:// x 4: each exits 0, its main the server's, api-verify passes"
[ $bad -eq 0 ] || { echo "Bail out! a clone failed"; exit 1; }

# --- four writers at once -----------------------------------------------
SEED=${SYNC_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
diag "seed $SEED (SYNC_SEED=$SEED replays the sync moments)"
# writer J: EACH notes, alternating between the cases, into clone J as wJ;
# after each, with probability 1/4, a sync.  Per writer: ids.J (note IDs),
# logrc.J ("I STATUS" per api-log), logerr.J, syncrc.J ("I STATUS" per
# sync), serr.J.I (a sync's stderr)
writer() {
	_c=$(clone "$1")
	awk -v s="$SEED" -v j="$1" -v n="$EACH" \
		'BEGIN { srand(s * 10 + j); for (i = 1; i <= n; i++) print (rand() < 0.25) }' \
		> "moments.$1"
	_i=0
	while read -r _sync; do
		_i=$((_i + 1))
		if [ $((_i % 2)) -eq 1 ]; then _case=$C1; else _case=$C2; fi
		_n=$(api-log -C "$_c" -i "w$1.id" "$_case" -m "writer $1 note $_i" 2>> "logerr.$1")
		echo "$_i $?" >> "logrc.$1"
		echo "$_n" >> "ids.$1"
		if [ "$_sync" = 1 ]; then
			api-sync -q -C "$_c" -i "w$1.id" --tries "$TRIES" 2> "serr.$1.$_i"
			echo "$_i $?" >> "syncrc.$1"
		fi
	done < "moments.$1"
}
t1=$(date +%s)
pids=
for j in 1 2 3 4; do
	: > "logrc.$j"; : > "ids.$j"; : > "logerr.$j"; : > "syncrc.$j"
	writer "$j" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
t2=$(date +%s)
nsync=$(cat syncrc.* | wc -l)
diag "$TOTAL notes and $nsync syncs by $WRITERS writers in $((t2 - t1)) s"

[ "$(cat logrc.* | wc -l)" -eq $TOTAL ] && [ -z "$(awk '$2 != 0' logrc.*)" ] &&
	[ ! -s logerr.1 ] && [ ! -s logerr.2 ] && [ ! -s logerr.3 ] && [ ! -s logerr.4 ]
ok $? "$TOTAL api-log, $EACH in each clone, while the others sync: every one exits 0, nothing on stderr"
[ -n "$(cat logerr.*)" ] && diag "$(cat logerr.* | sort | uniq -c | head -n 5)"

cat ids.* > ids
[ "$(wc -l < ids)" -eq $TOTAL ] && [ "$(sort -u ids | wc -l)" -eq $TOTAL ] &&
	[ "$(grep -Ecx "$OBJ_RE" ids)" -eq $TOTAL ]
ok $? "$TOTAL note IDs printed, all distinct and well formed"

# the syncs that failed, with their stderr
for f in syncrc.*; do
	j=${f#syncrc.}
	awk '$2 != 0 { print $1, $2 }' "$f" | while read -r i rc; do
		diag "writer $j, after note $i: api-sync exit $rc: $(cat "serr.$j.$i")"
	done
done
[ "$nsync" -gt 0 ] && [ -z "$(awk '$2 != 0' syncrc.*)" ]
ok $? "$nsync api-sync -q while the others write and sync (--tries $TRIES): every one exits 0"

# the final round: each clone in turn, twice over
t3=$(date +%s)
: > finalrc
for r in 1 2; do
	for j in 1 2 3 4; do
		api-sync -q -C "$(clone $j)" -i "w$j.id" --tries "$TRIES" 2> "ferr.$r.$j"
		rc=$?
		echo "$r $j $rc" >> finalrc
		[ $rc -eq 0 ] || diag "final round $r, clone $j: exit $rc: $(cat "ferr.$r.$j")"
	done
done
t4=$(date +%s)
diag "final round: 8 syncs in $((t4 - t3)) s"
[ "$(wc -l < finalrc)" -eq 8 ] && [ -z "$(awk '$3 != 0' finalrc)" ]
ok $? "then each clone syncs in turn, twice over: every sync exits 0"

cat serr.* ferr.* > allerr 2> /dev/null
grep -Ei 'conflict|differs' allerr > conflicts
[ ! -s conflicts ]
ok $? "no sync reports a conflict ('conflict', 'differs') on stderr"
[ -s conflicts ] && diag "$(head -n 3 conflicts)"
[ -s allerr ] && diag "stderr of the syncs: $(sort allerr | uniq -c | head -n 5)"

same main "$SRV" "$(clone 1)" "$(clone 2)" "$(clone 3)" "$(clone 4)"; rc=$?
ok $rc "main is one commit in every clone and on the server"
[ $rc -eq 0 ] || for d in "$SRV" "$(clone 1)" "$(clone 2)" "$(clone 3)" "$(clone 4)"; do
	diag "main $(dtip "$d") $d"
done
same refs/api/keys "$SRV" "$(clone 1)" "$(clone 2)" "$(clone 3)" "$(clone 4)"
ok $? "refs/api/keys is one commit in every clone and on the server"

sort ids > ids.sorted
bad=0
for d in "$SRV" "$(clone 1)" "$(clone 2)" "$(clone 3)" "$(clone 4)"; do
	{ notes "$d" "$C1" && notes "$d" "$C2"; } > held 2> /dev/null || { bad=1; continue; }
	n=$(wc -l < held)
	m=$(sort held | comm -13 - ids.sorted | wc -l)
	[ "$n" -eq $((TOTAL + 2)) ] && [ "$m" -eq 0 ] ||
		{ bad=1; diag "$d: $n notes, $m of the written ones missing"; }
done
[ $bad -eq 0 ]
ok $? "every clone and the server hold $TOTAL notes and the 2 intakes, every printed note ID among them"

bad=0
for d in "$SRV" "$(clone 1)" "$(clone 2)" "$(clone 3)" "$(clone 4)"; do
	api-verify -C "$d" > out 2> err || { bad=1; diag "api-verify $d: $(cat err)"; }
done
[ $bad -eq 0 ]
ok $? "api-verify passes on every clone and on the server"
diag "merges on main: $(git -C "$SRV" rev-list --count --min-parents=2 main)"

# (the server's HEAD names master, which git init made and nobody uses)
git -C "$SRV" fsck --strict > fsck 2>&1 &&
	! grep -v -e '^dangling ' -e '^notice: HEAD points to an unborn branch' fsck
ok $? "git fsck --strict: the server is clean"

api-show -C "$(clone 4)" -i w4.id --purpose test "$C1" 2> /dev/null | grep -q "writer 1 note 1$" &&
	api-show -C "$(clone 4)" -i w4.id --purpose test "$C2" 2> /dev/null | grep -q "writer 1 note 2$"
ok $? "w4, in clone 4, reads notes writer 1 wrote in clone 1, in both cases"

# --- two new cases at the same moment -----------------------------------
api-new -C "$(clone 1)" -i w1.id -m "opened in one" > new.1 2> newerr.1 & p1=$!
api-new -C "$(clone 2)" -i w2.id -m "opened in two" > new.2 2> newerr.2 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
N1=$(cat new.1) N2=$(cat new.2)
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ -n "$N1" ] && [ -n "$N2" ] && [ "$N1" != "$N2" ]
ok $? "api-new in clone 1 and clone 2 at once: both exit 0, two different case IDs"
diag "new cases: $N1 $N2"

: > newsync
for r in 1 2; do
	for j in 1 2; do
		api-sync -q -C "$(clone $j)" -i "w$j.id" --tries "$TRIES" 2> "nerr.$r.$j"
		rc=$?
		echo "$r $j $rc" >> newsync
		[ $rc -eq 0 ] || diag "round $r, clone $j: exit $rc: $(cat "nerr.$r.$j")"
	done
done
[ -z "$(awk '$3 != 0' newsync)" ] && ! cat nerr.* | grep -Eqi 'conflict|differs'
ok $? "clone 1 and clone 2 sync, then sync again: every sync exits 0, no conflict"

bad=0
for d in "$SRV" "$(clone 1)" "$(clone 2)"; do
	for c in "$N1" "$N2"; do
		git -C "$d" cat-file -e "main:$(cdir "$c")/team" 2> /dev/null &&
			[ "$(notes "$d" "$c" | wc -l)" -eq 1 ] &&
			git -C "$d" cat-file -e "refs/api/keys:$(cdir "$c")/key.age" 2> /dev/null ||
			{ bad=1; diag "$d: case $c or its keys missing"; }
	done
done
[ $bad -eq 0 ] && same main "$SRV" "$(clone 1)" "$(clone 2)" &&
	same refs/api/keys "$SRV" "$(clone 1)" "$(clone 2)"
ok $? "both new cases, with their intake and keys, on the server and in both clones; main and keys the same"
api-show -C "$(clone 2)" -i w1.id --purpose test "$N1" > /dev/null 2>&1 &&
	api-show -C "$(clone 1)" -i w2.id --purpose test "$N2" > /dev/null 2>&1 ||
	diag "(not asserted) a creator cannot read their new case in the other clone"

dverified "$SRV" && dverified "$(clone 1)" && dverified "$(clone 2)"
ok $? "api-verify passes on the server and in both clones"

diag "total time: $(($(date +%s) - t0)) s"
done_testing
