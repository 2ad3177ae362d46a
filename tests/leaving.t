#!/bin/sh
# leaving.t - a member of staff leaves: an admin retires them, and
# api-staff retire lists the cases they are still on; a lead takes them
# off every one with api-revoke --all (one commit on refs/api/keys and one
# on main per case), which rotates each case's keys so that nothing the
# leaver holds opens what is written afterwards, and leaves the other
# cases alone; a rerun finds nothing to do; with --reencrypt every file
# is encrypted again; refusals change nothing, and a case the run cannot
# finish stops it there, with the cases before it done and a rerun
# finishing the rest.
# Then the same in one step: api-staff retire HANDLE --revoke-all, run by
# an admin, revokes the leaver everywhere, signed by a lead given with
# --lead-identity (--lead-passphrase-fd for a protected one), then writes
# the retirement, signed by the admin.  Without an identity that opens
# the keys of every case the leaver is on (the admin's own holds no notes
# keys) it changes nothing and the leaver stays active; usage errors and
# unknown or retired handles change nothing; --reencrypt rewrites every
# file; a case where the leaver is the last member stops it with the
# cases before it done and the leaver not retired, and a rerun finishes,
# the retirement too.
. "$(dirname "$0")/lib.sh"

workdir

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref; }
tip() { git -C "$S" rev-parse "${1:-main}" 2>/dev/null; }
# team ID: the team of case ID on main, on one line
team() { git -C "$S" show "main:$(cdir "$1")/team" | tr '\n' ' ' | sed 's/ $//'; }
# rcp ID: the recipient of case ID on main
rcp() { git -C "$S" show "main:$(cdir "$1")/recipient"; }
# envs ID: the object IDs of the two envelopes of case ID on refs/api/keys
envs() {
	git -C "$S" rev-parse "refs/api/keys:$(cdir "$1")/key.age" \
		"refs/api/keys:$(cdir "$1")/events.age"
}
# state ID: all of case ID that a revoke changes, to compare before and after
state() { team "$1"; rcp "$1"; envs "$1"; }
# unwrap ENVFILE IDFILE OUT: stock age opens an envelope with an identity
unwrap() { age -d -i "$2" -o "$3" "$1" 2> /dev/null; }
# casekey ID IDFILE OUT / evkey ID IDFILE OUT: the current key.age /
# events.age of case ID, opened with IDFILE by stock age
casekey() {
	git -C "$S" show "refs/api/keys:$(cdir "$1")/key.age" > "$W/env.age" &&
		unwrap "$W/env.age" "$2" "$3"
}
evkey() {
	git -C "$S" show "refs/api/keys:$(cdir "$1")/events.age" > "$W/env.age" &&
		unwrap "$W/env.age" "$2" "$3"
}
# files ID KIND: the file names of the notes or events of case ID on main
files() { git -C "$S" ls-tree --name-only "main:$(cdir "$1")/$2" 2>/dev/null; }
# opens ID KEYFILE: how many of the notes and events of case ID on main
# stock age opens with KEYFILE, "NOTES EVENTS"
opens() {
	_n=0 _e=0
	for _f in $(files "$1" notes); do
		git -C "$S" show "main:$(cdir "$1")/notes/$_f" |
			age -d -i "$2" > /dev/null 2>&1 && _n=$((_n + 1))
	done
	for _f in $(files "$1" events); do
		git -C "$S" show "main:$(cdir "$1")/events/$_f" |
			age -d -i "$2" > /dev/null 2>&1 && _e=$((_e + 1))
	done
	echo "$_n $_e"
}
# count ID: how many notes and events case ID has on main, "NOTES EVENTS"
count() { echo "$(files "$1" notes | wc -l | tr -d ' ') $(files "$1" events | wc -l | tr -d ' ')"; }
# trailers KEY A..B: the trailer KEY of each commit of main in A..B, oldest first
trailers() {
	for _c in $(git -C "$S" rev-list --reverse "$2"); do
		git -C "$S" log -1 --format=%B "$_c" | git interpret-trailers --parse |
			sed -n "s/^$1: //p"
	done
}
# sorted WORDS...: the words, one a line, sorted
sorted() { printf '%s\n' "$@" | LC_ALL=C sort; }
# refused RC CODE WORD DESC: exit CODE, nothing on stdout, one line on
# stderr that begins with the program's name and names WORD, the refs
# exactly as in $before
refused() {
	_rc=$1 _code=$2 _word=$3
	[ "$_rc" -eq "$_code" ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-[a-z]*: ' "$W/err" && grep -qF -- "$_word" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$4"
	[ $_v -eq 0 ] || diag "exit $_rc (want $_code): $(head -c 300 "$W/err")"
}
# usage RC DESC: exit 2, the usage on stderr, nothing on stdout, refs as before
usage() {
	[ "$1" -eq 2 ] && [ ! -s "$W/out" ] && grep -q '^usage: api-' "$W/err" &&
		[ "$(refs)" = "$before" ]
	ok $? "$2"
}
# verified DESC: api-verify passes
verified() {
	api-verify > "$W/vout" 2> "$W/verr"
	[ $? -eq 0 ] && grep -Eq '^ok: [0-9]+ commits verified' "$W/vout" && [ ! -s "$W/verr" ]
	_v=$?
	ok $_v "$1"
	[ $_v -eq 0 ] || diag "$(cat "$W/vout" "$W/verr")"
}
mark() { before=$(refs); main0=$(tip); }
# status HANDLE: the status column of HANDLE in api-staff list (active,
# retired; empty for no such member)
status() { api-staff list 2> /dev/null | awk -F'\t' -v h="$1" '$1 == h { print $3 }'; }
# signers A..B: "%G? %GS %an" of each commit of main in A..B, oldest
# first, as stock git verifies them against main's allowed_signers
signers() {
	git -C "$S" show main:allowed_signers > "$W/allowed" &&
		git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --reverse \
			--format='%G? %GS %an' "$1" 2> /dev/null
}
# rep N LINE: LINE, N times
rep() { _i=0; while [ $_i -lt "$1" ]; do echo "$2"; _i=$((_i + 1)); done; }
# nkeys: how many commits the reflog of refs/api/keys holds
nkeys() { git -C "$S" reflog refs/api/keys 2> /dev/null | wc -l; }

# --- the staff and the cases --------------------------------------------------------
bad=0
for h in adm ld cw cw2 leaver leaver2 leaver3; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in ld:lead cw:caseworker cw2:caseworker leaver:caseworker \
	    leaver2:caseworker leaver3:caseworker; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ]
ok $? "a store: adm (admin), ld (lead), cw, cw2, leaver, leaver2, leaver3 (caseworkers)"

# new CREATOR MSG: a new case opened by CREATOR, its ID on stdout
new() { api-new -i "$1.id" -m "$2" 2> /dev/null; }
# grant ID HANDLE...: ld grants access
grant() { _c=$1; shift; api-grant -i ld.id "$_c" "$@" > /dev/null 2>&1; }
# note ID WHO MSG: WHO logs a note
note() { api-log -i "$2.id" "$1" -m "$3" > /dev/null 2>&1; }

# C1: the leaver is its lead caseworker; C2, C3: the leaver is a second
# or later member; C4, C5: without the leaver; P: had the leaver, purged
C1=$(new leaver "Intake of C1.") && grant "$C1" cw2 && note "$C1" leaver "C1, by the leaver." &&
	C2=$(new cw "Intake of C2.") && grant "$C2" leaver && note "$C2" leaver "C2, by the leaver." &&
	C3=$(new cw2 "Intake of C3.") && grant "$C3" leaver cw &&
	C4=$(new cw "Intake of C4.") && grant "$C4" cw2 &&
	C5=$(new cw2 "Intake of C5.") &&
	P=$(new cw "Intake of P.") && grant "$P" leaver &&
	api-status -i cw.id "$P" --set closed --reason completed > /dev/null 2>&1 &&
	api-purge -i adm.id --force --reason "test" "$P" > /dev/null 2>&1 &&
	[ "$(team "$C1")" = "leaver cw2" ] && [ "$(team "$C2")" = "cw leaver" ] &&
	[ "$(team "$C3")" = "cw2 leaver cw" ] && [ "$(team "$C4")" = "cw cw2" ] &&
	[ "$(team "$C5")" = cw2 ]
ok $? "cases: C1 (leaver cw2), C2 (cw leaver), C3 (cw2 leaver cw), C4 (cw cw2), C5 (cw2); P had the leaver and is purged"
# R1, R2: leaver2's, for --reencrypt
R1=$(new cw "Intake of R1.") && grant "$R1" leaver2 && note "$R1" leaver2 "R1, by leaver2." &&
	note "$R1" cw "R1, by cw." &&
	R2=$(new leaver2 "Intake of R2.") && grant "$R2" cw2 &&
	api-status -i leaver2.id "$R2" --set active > /dev/null 2>&1
ok $? "cases: R1 (cw leaver2), R2 (leaver2 cw2), with notes by leaver2"
# what the leavers copied while they had access: the keys of their cases
bad=0
for c in "$C1" "$C2" "$C3"; do casekey "$c" leaver.id "copy-$c.key" || bad=1; done
for c in "$R1" "$R2"; do casekey "$c" leaver2.id "copy-$c.key" || bad=1; done
[ $bad -eq 0 ] && [ "$(opens "$C2" "copy-$C2.key")" = "$(count "$C2")" ]
ok $? "the leavers copy the keys of their cases, which open every record"
# the reflog of refs/api/keys counts its commits (each is a new root)
git -C "$S" config core.logAllRefUpdates always
verified "api-verify: ok before anyone leaves"

# --- api-staff retire: the list -----------------------------------------------------------
ON=$(sorted "$C1" "$C2" "$C3")
run api-staff -i adm.id retire leaver
[ $? -eq 0 ] && [ "$(LC_ALL=C sort out)" = "$ON" ] && [ "$(wc -l < out)" -eq 3 ]
ok $? "api-staff retire leaver: exit 0, on stdout exactly C1, C2 and C3, one a line (not P, purged; not C4, C5)"
git -C "$S" ls-tree -r --name-only main cases | sed -n 's|^cases/[^/]/[^/]/\([^/]*\)/team$|\1|p' |
	grep -Fx -f out | cmp -s - out
ok $? "... in the order of the case tree"
ORDER=$(cat out)
[ "$(wc -l < err)" -eq 2 ] && grep -q '^api-staff: retired leaver, commit ' err &&
	grep -qF "api-staff: leaver is still on the team of 3 cases (listed on stdout); a lead revokes them with api revoke --all leaver" err
ok $? "stderr: the retirement, and the count of cases with the command that revokes them"

# --- refusals, before the revoke --------------------------------------------------------------
mark
run api-grant -i ld.id --all leaver
usage $? "api-grant --all: a usage error, exit 2"
run api-revoke -i ld.id --all
usage $? "api-revoke --all without a handle: exit 2"
run api-revoke -i cw.id --all leaver
refused $? 1 access.teamMayGrant "--all by a caseworker, without access.teamMayGrant: exit 1, one line naming the setting, refs unchanged"
run api-revoke -i adm.id --all leaver
refused $? 1 "adm does not hold the keys of case" "--all by an admin, who holds no case keys: exit 1, one line, refs unchanged"
run api-revoke -i ld.id --all levaer
refused $? 1 "levaer: no such member of staff" "--all with a handle that is no member of staff (a typo): exit 1, one line naming it, refs unchanged"
run api-revoke -i ld.id --all leaver levaer
refused $? 1 levaer "... also beside a good one: nothing revoked"

# --- api-revoke --all ------------------------------------------------------------------------------
for c in "$C1" "$C2" "$C3" "$C4" "$C5" "$R1" "$R2"; do state "$c" > "before-$c"; done
ptree=$(git -C "$S" rev-parse "main:$(cdir "$P")")
nkeys=$(git -C "$S" reflog refs/api/keys 2> /dev/null | wc -l)
mark
run api-revoke -i ld.id --all leaver
rc=$?
want=$(for c in $ORDER; do
	case $c in "$C1") printf '%s\tcw2\n' "$c" ;; "$C2") printf '%s\tcw\n' "$c" ;;
	"$C3") printf '%s\tcw2 cw\n' "$c" ;; esac; done)
[ $rc -eq 0 ] && [ "$(cat out)" = "$want" ] && [ ! -s err ]
ok $? "api-revoke -i ld.id --all leaver: exit 0, 'CASE<TAB>new team' for C1, C2, C3 in the order of the list, nothing on stderr"
[ $rc -eq 0 ] || diag "exit $rc: $(head -c 300 err)"
[ "$(team "$C1")" = cw2 ] && [ "$(team "$C2")" = cw ] && [ "$(team "$C3")" = "cw2 cw" ]
ok $? "the teams on main: C1 cw2 (the lead caseworker gone, the next one leads), C2 cw, C3 cw2 cw"
[ "$(git -C "$S" rev-list --count "$main0..main")" = 3 ] &&
	[ "$(trailers Api-Case "$main0..main")" = "$ORDER" ] &&
	[ "$(trailers Api-Action "$main0..main" | sort -u)" = revoke ] &&
	[ "$(trailers Api-Object "$main0..main" | sort -u)" = "team -leaver" ] &&
	[ "$(git -C "$S" log --format='%an %s' "$main0..main" | sort -u)" = "ld team: access revoked" ]
ok $? "main: one commit per case, in that order, each 'team: access revoked' by ld, Api-Action: revoke, Api-Object: team -leaver"
[ "$(git -C "$S" reflog refs/api/keys 2> /dev/null | wc -l)" = $((nkeys + 3)) ] &&
	[ "$(git -C "$S" log -1 --format=%B refs/api/keys | git interpret-trailers --parse |
		sed -n 's/^Api-Case: //p')" = "$(echo "$ORDER" | tail -n 1)" ] &&
	[ "$(git -C "$S" log -1 --format=%s refs/api/keys)" = "keys: case keys written" ]
ok $? "refs/api/keys: one commit per case (its reflog), the last for the last case"
bad=0
for c in "$C1" "$C2" "$C3"; do
	[ "$(rcp "$c")" != "$(sed -n 2,3p "before-$c")" ] || bad=1
	[ "$(envs "$c")" != "$(sed -n '4,$p' "before-$c")" ] || bad=1
done
[ $bad -eq 0 ]
ok $? "C1, C2, C3: a new recipient (new keys) and new envelopes each"
bad=0
for c in "$C4" "$C5" "$R1" "$R2"; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ] && [ "$(git -C "$S" rev-parse "main:$(cdir "$P")")" = "$ptree" ] &&
	! git -C "$S" cat-file -e "refs/api/keys:$(cdir "$P")/key.age" 2> /dev/null
ok $? "C4, C5, R1, R2 (without the leaver): team, recipient and envelopes untouched; purged P untouched, still without keys"
bad=0
for c in "$C1" "$C2" "$C3" "$C4" "$C5" "$R1" "$R2"; do
	casekey "$c" leaver.id x.key && bad=1
	evkey "$c" leaver.id x.key && bad=1
done
[ $bad -eq 0 ]
ok $? "the leaver's identity opens no current key.age or events.age of any case"
bad=0
for c in "$C1" "$C2" "$C3"; do
	casekey "$c" "$(echo "$(team "$c")" | cut -d' ' -f1).id" "now-$c.key" || bad=1
	[ "$(opens "$c" "now-$c.key")" = "$(count "$c")" ] || bad=1
done
[ $bad -eq 0 ]
ok $? "the remaining lead caseworker of each opens its new key.age, which opens every record, old and new keys"

# notes logged afterwards
note "$C1" cw2 "C1, after the leaver left." && note "$C2" cw "C2, after the leaver left." &&
	note "$C3" cw "C3, after the leaver left."
ok $? "the teams log a note on C1, C2 and C3"
bad=0
for c in "$C1" "$C2" "$C3"; do
	n=$(files "$c" notes | LC_ALL=C sort | tail -n 1)
	e=$(files "$c" events | LC_ALL=C sort | tail -n 1)
	for k in leaver.id "copy-$c.key"; do
		git -C "$S" show "main:$(cdir "$c")/notes/$n" | age -d -i "$k" > /dev/null 2>&1 && bad=1
		git -C "$S" show "main:$(cdir "$c")/events/$e" | age -d -i "$k" > /dev/null 2>&1 && bad=1
	done
	casekey "$c" "$(echo "$(team "$c")" | cut -d' ' -f1).id" x.key &&
		git -C "$S" show "main:$(cdir "$c")/notes/$n" | age -d -i x.key | grep -q 'after the leaver left' || bad=1
done
[ $bad -eq 0 ]
ok $? "neither the leaver's identity nor the keys the leaver copied open those notes or their events; the team does"
[ "$(opens "$C2" "copy-$C2.key")" = "$(($(count "$C2" | cut -d' ' -f1) - 1)) $(($(count "$C2" | cut -d' ' -f2) - 1))" ]
ok $? "(the copied keys still open what was written before the revoke: a revoke works forward)"

# again: nothing left to do
mark
run api-revoke -i ld.id --all leaver
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ] && [ "$(refs)" = "$before" ]
ok $? "api-revoke --all leaver again: prints nothing, exit 0, refs unchanged"
verified "api-verify: ok after the revokes"


# --- --reencrypt ---------------------------------------------------------------------------------------
# the plain text of every record of leaver2's cases, as it was
bad=0
for c in "$R1" "$R2"; do
	for k in notes events; do
		for f in $(files "$c" $k); do
			git -C "$S" show "main:$(cdir "$c")/$k/$f" |
				age -d -i "copy-$c.key" > "plain0-$c-$f" 2> /dev/null || bad=1
		done
	done
done
[ $bad -eq 0 ] && [ "$(count "$R1")" = "3 4" ] && [ "$(count "$R2")" = "1 3" ]
ok $? "R1 (3 notes, 4 events) and R2 (1 note, 3 events): the plain text of every record"
run api-staff -i adm.id retire leaver2
[ $? -eq 0 ] && [ "$(LC_ALL=C sort out)" = "$(sorted "$R1" "$R2")" ] &&
	grep -qF "leaver2 is still on the team of 2 cases (listed on stdout); a lead revokes them with api revoke --all leaver2" err
ok $? "api-staff retire leaver2: R1 and R2 on stdout; the count and the command on stderr"
ORDER2=$(cat out)
for c in "$C1" "$C2" "$C3" "$C4" "$C5"; do state "$c" > "before-$c"; done
mark
run api-revoke -i ld.id --reencrypt --all leaver2
rc=$?
want=$(for c in $ORDER2; do
	case $c in "$R1") printf '%s\tcw\n' "$c" ;; "$R2") printf '%s\tcw2\n' "$c" ;; esac; done)
[ $rc -eq 0 ] && [ "$(cat out)" = "$want" ] && [ ! -s err ]
ok $? "api-revoke --reencrypt --all leaver2: exit 0, 'CASE<TAB>new team' for R1 and R2"
[ $rc -eq 0 ] || diag "exit $rc: $(head -c 300 err)"
[ "$(git -C "$S" rev-list --count "$main0..main")" = 2 ] &&
	[ "$(trailers Api-Case "$main0..main")" = "$ORDER2" ] &&
	[ "$(trailers Api-Action "$main0..main" | sort -u)" = revoke-reencrypt ] &&
	[ "$(trailers Api-Object "$main0..main" | sort -u)" = "team -leaver2" ]
ok $? "main: one commit per case, Api-Action: revoke-reencrypt, Api-Object: team -leaver2"
bad=0
for c in $(git -C "$S" rev-list "$main0..main"); do
	id=$(git -C "$S" log -1 --format=%B "$c" | git interpret-trailers --parse | sed -n 's/^Api-Case: //p')
	D=$(cdir "$id")
	git -C "$S" diff-tree -r --no-commit-id --name-status "$c" | sort > ch
	{ printf 'M\t%s/recipient\nM\t%s/team\n' "$D" "$D"
	  for f in $(files "$id" notes); do printf 'M\t%s/notes/%s\n' "$D" "$f"; done
	  for f in $(files "$id" events); do printf 'M\t%s/events/%s\n' "$D" "$f"; done; } |
		sort | cmp -s - ch || bad=1
done
[ $bad -eq 0 ]
ok $? "each commit rewrites every note and event of its case, its team and recipient, and nothing else"
bad=0
for c in "$R1" "$R2"; do
	[ "$(opens "$c" "copy-$c.key")" = "0 0" ] || bad=1
	casekey "$c" leaver2.id x.key && bad=1
	evkey "$c" leaver2.id x.key && bad=1
	casekey "$c" "$(team "$c").id" "now-$c.key" || bad=1
	for k in notes events; do
		for f in $(files "$c" $k); do
			git -C "$S" show "main:$(cdir "$c")/$k/$f" | age -d -i "now-$c.key" 2> /dev/null |
				cmp -s - "plain0-$c-$f" || bad=1
		done
	done
done
[ $bad -eq 0 ]
ok $? "the keys leaver2 copied open none of the current files of R1 and R2, leaver2's identity no envelope; the team's new keys open each file, with its old text"
bad=0
for c in "$C1" "$C2" "$C3" "$C4" "$C5"; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ]
ok $? "the other cases untouched"
mark
run api-revoke -i ld.id --reencrypt --all leaver2
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ] && [ "$(refs)" = "$before" ]
ok $? "again: prints nothing, exit 0, refs unchanged"
verified "api-verify: ok after the re-encryptions"

# --- a leaver who is the last member of a case's team --------------------------------------------------
# L0 is leaver3's alone; the others are cw's, with leaver3 second.  A
# candidate for L0 that does not come between two of them in the case
# tree is granted to cw too, and becomes one of them.
# between ID IDS...: ID comes after one of IDS and before another
between() { _z=$1; shift; sorted "$@" | awk -v z="$_z" '$0 < z { b = 1 } $0 > z { a = 1 } END { exit !(a && b) }'; }
LS=
for i in 1 2; do c=$(new cw "Intake, with leaver3.") && grant "$c" leaver3 && LS="$LS $c"; done
n=0
while [ $n -lt 20 ]; do
	n=$((n + 1))
	L0=$(new leaver3 "Intake of L0.") || break
	between "$L0" $LS && break
	grant "$L0" cw && LS="$LS $L0"
done
between "$L0" $LS && [ "$(team "$L0")" = leaver3 ]
ok $? "L0, whose team is leaver3 alone, and $(echo $LS | wc -w) cases with leaver3 on them, at least one before L0 in the case tree and one after"
BEFORE=$(sorted $LS | awk -v z="$L0" '$0 < z')
AFTER=$(sorted $LS | awk -v z="$L0" '$0 > z')
run api-staff -i adm.id retire leaver3
[ $? -eq 0 ] && [ "$(cat out)" = "$(sorted $LS "$L0")" ]
ok $? "api-staff retire leaver3: L0 and the others, in the order of the case tree"
for c in $LS "$L0"; do state "$c" > "before-$c"; done
mark
run api-revoke -i ld.id --all leaver3
rc=$?
[ $rc -eq 1 ] && oneline err && grep -q '^api-revoke: ' err &&
	grep -qF "revoking the last member of case $L0's team" err
ok $? "api-revoke --all leaver3: exit 1, one line naming L0 as the case where leaver3 is the last member"
[ "$(cat out)" = "$(for c in $BEFORE; do printf '%s\tcw\n' "$c"; done)" ] &&
	[ "$(trailers Api-Case "$main0..main")" = "$BEFORE" ]
ok $? "stdout: 'CASE<TAB>cw' for each case before L0, each with its commit on main"
bad=0
for c in $BEFORE; do [ "$(team "$c")" = cw ] || bad=1; casekey "$c" leaver3.id x.key && bad=1; done
for c in "$L0" $AFTER; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ]
ok $? "the cases before L0 are done (team cw, leaver3 opens no key.age); L0 and those after it untouched"
grep -qF "api grant $L0 HANDLE" err
ok $? "... the error names the way on: grant access to someone else first"
run api-grant -i ld.id "$L0" cw
[ $? -eq 0 ] && [ "$(cat out)" = "leaver3 cw" ] && [ ! -s err ] &&
	casekey "$L0" cw.id x.key && ! casekey "$L0" leaver3.id x.key
ok $? "a lead grants cw on L0, whose only member retired: team leaver3 cw; key.age opens for cw, not for leaver3"
run api-revoke -i ld.id --all leaver3
[ $? -eq 0 ] && [ ! -s err ] &&
	[ "$(cat out)" = "$(for c in "$L0" $AFTER; do printf '%s\tcw\n' "$c"; done)" ]
ok $? "running it again finishes the rest: L0 and the cases after it, nothing else"
bad=0
for c in $LS "$L0"; do [ "$(team "$c")" = cw ] || bad=1; done
[ $bad -eq 0 ]
ok $? "leaver3 is on no team any more"
verified "api-verify: ok after leaver3's revokes"

# --- api-staff retire --revoke-all: the staff and the cases -------------------------------------
# ld2, a second lead with a protected identity, is added before the cases
# below, so that their envelopes open for it too.  leaver4 is on K0
# (cw2 leaver4) and on cases of cw, at least one before K0 in the case
# tree.  ld3, a lead added after K0 was opened, holds the keys of those
# but not of K0: a run with ld3 shows that the keys are checked before
# anything is written.
echo 'the second lead' > pw
echo 'not the passphrase' > badpw
bad=0
api-keygen --handle ld2 --passphrase-fd 3 --work-factor 10 -o ld2.id 3< pw > ld2.pub 2> /dev/null &&
	api-staff -i adm.id add --role lead ld2.pub < /dev/null 2> /dev/null || bad=1
for h in ld3 leaver4 leaver5 leaver6 extra; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
for h in leaver4 leaver5 leaver6; do
	api-staff -i adm.id add --role caseworker $h.pub < /dev/null 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && [ "$(status ld2)" = active ] && [ "$(status leaver4)" = active ] &&
	[ "$(status leaver5)" = active ] && [ "$(status leaver6)" = active ] && [ -z "$(status extra)" ]
ok $? "more staff: ld2 (lead, passphrase-protected identity), leaver4, leaver5, leaver6 (caseworkers); extra not added"

# K0: the first case of cw2 whose ID sorts after H (so that cases before
# it in the case tree are easy to come by), with leaver4 granted
n=0 K0=
while [ $n -lt 20 ]; do
	n=$((n + 1))
	c=$(new cw2 "Intake, for K0?") || break
	[ "$(sorted "$c" H | head -n 1)" = H ] && K0=$c && break
done
[ -n "$K0" ] && grant "$K0" leaver4 && note "$K0" leaver4 "K0, by leaver4." &&
	api-staff -i adm.id add --role lead ld3.pub < /dev/null 2> /dev/null
ok $? "K0 (cw2 leaver4); then ld3 joins as a lead"
KS=
n=0
while [ $n -lt 20 ]; do
	n=$((n + 1))
	c=$(new cw "Intake, with leaver4.") && grant "$c" leaver4 && note "$c" leaver4 "By leaver4." || break
	KS="$KS $c"
	[ $n -ge 2 ] && [ "$(sorted $KS "$K0" | head -n 1)" != "$K0" ] && break
done
KALL=$(sorted "$K0" $KS)
KFIRST=$(sorted $KS | head -n 1)
bad=0
[ "$(team "$K0")" = "cw2 leaver4" ] || bad=1
for c in $KS; do [ "$(team "$c")" = "cw leaver4" ] || bad=1; done
[ $bad -eq 0 ] && [ -n "$KFIRST" ] && [ "$(sorted "$KFIRST" "$K0" | head -n 1)" = "$KFIRST" ]
ok $? "cases: K0 (cw2 leaver4) and $(echo $KS | wc -w) cases of cw with leaver4 (cw leaver4), one of them before K0 in the case tree"
OTHERS="$C1 $C2 $C3 $C4 $C5 $R1 $R2 $LS $L0"
for c in $KALL $OTHERS; do state "$c" > "before-$c"; done
FIRST=$(echo "$KALL" | head -n 1)

# --- api-staff retire --revoke-all: refusals, usage ----------------------------------------------
mark
run api-staff -i adm.id retire leaver4 --revoke-all
refused $? 1 "adm cannot open the keys of case $FIRST, which leaver4 is on; nothing changed" \
	"retire leaver4 --revoke-all by the admin alone, who holds no notes keys: exit 1, one line naming the first of leaver4's cases, refs unchanged"
[ "$(status leaver4)" = active ]
ok $? "... leaver4 is not retired"
casekey "$KFIRST" ld3.id x.key && ! casekey "$K0" ld3.id x.key
ok $? "(ld3 opens the key.age of the first of leaver4's cases, before K0 in the case tree, and not K0's)"
run api-staff -i adm.id retire leaver4 --revoke-all --lead-identity ld3.id
refused $? 1 "ld3 cannot open the keys of case $K0, which leaver4 is on; nothing changed" \
	"--lead-identity ld3.id: exit 1, one line naming K0, refs unchanged: nothing revoked on the cases before it (all keys are checked first)"
[ "$(status leaver4)" = active ]
ok $? "... leaver4 is not retired"
run api-staff -i adm.id retire leaver4 --revoke-all --lead-identity ld2.id --lead-passphrase-fd 3 3< badpw
refused $? 1 "wrong passphrase" "--lead-identity ld2.id with a wrong passphrase on --lead-passphrase-fd: exit 1, one line, refs unchanged"
run api-staff -i adm.id retire leaver4 --lead-identity ld.id
[ $? -eq 2 ] && [ ! -s out ] && oneline err && grep -q '^api-staff: ' err &&
	grep -qF -- --revoke-all err && [ "$(refs)" = "$before" ] && [ "$(status leaver4)" = active ]
ok $? "--lead-identity without --revoke-all: exit 2, one line naming --revoke-all, refs unchanged, leaver4 not retired"
run api-staff -i adm.id retire leaver4 --reencrypt
[ $? -eq 2 ] && [ ! -s out ] && oneline err && grep -qF -- --revoke-all err &&
	[ "$(refs)" = "$before" ] && [ "$(status leaver4)" = active ]
ok $? "--reencrypt without --revoke-all: exit 2, the same"
run api-staff -i adm.id add --role caseworker extra.pub --revoke-all
usage $? "add ... --revoke-all: exit 2, the usage, refs unchanged"
[ -z "$(status extra)" ]
ok $? "... extra not added"
run api-staff list --revoke-all
usage $? "list --revoke-all: exit 2, the usage"
run api-staff -i adm.id retire levaer4 --revoke-all --lead-identity ld.id
refused $? 1 "levaer4: no such member of staff" "retire levaer4 --revoke-all (no such member): exit 1, one line naming it, refs unchanged"
run api-staff -i adm.id retire leaver --revoke-all --lead-identity ld.id
refused $? 1 "leaver was already retired" "retire leaver --revoke-all (retired already): exit 1, one line, refs unchanged"

# --- api-staff retire --revoke-all --lead-identity -------------------------------------------------
NK=$(echo "$KALL" | wc -l)
k0=$(nkeys)
mark
run api-staff -i adm.id retire leaver4 --revoke-all --lead-identity ld.id
rc=$?
want=$(for c in $KALL; do
	if [ "$c" = "$K0" ]; then printf '%s\tcw2\n' "$c"; else printf '%s\tcw\n' "$c"; fi; done)
[ $rc -eq 0 ] && [ "$(cat out)" = "$want" ] && oneline err &&
	grep -q '^api-staff: retired leaver4, commit [0-9a-f]\{12\}$' err
ok $? "api-staff -i adm.id retire leaver4 --revoke-all --lead-identity ld.id: exit 0, 'CASE<TAB>new team' for exactly leaver4's $NK cases in the order of the case tree; on stderr the retirement alone"
[ $rc -eq 0 ] || diag "exit $rc: $(head -c 300 err)"
[ "$(git -C "$S" rev-list --count "$main0..main")" = $((NK + 1)) ] &&
	[ "$(trailers Api-Case "$main0..main")" = "$KALL" ] &&
	[ "$(trailers Api-Action "$main0..main")" = "$(rep $NK revoke; echo staff-retire)" ] &&
	[ "$(trailers Api-Object "$main0..main")" = "$(rep $NK 'team -leaver4'; echo staff/leaver4)" ] &&
	[ "$(git -C "$S" log --reverse --format='%an %s' "$main0..main")" = \
		"$(rep $NK 'ld team: access revoked'; echo 'adm staff: member retired')" ]
ok $? "main: one commit per case in that order, 'team: access revoked' by ld, Api-Action: revoke, Api-Object: team -leaver4; then 'staff: member retired' by adm, Api-Action: staff-retire"
[ "$(signers "$main0..main")" = "$(rep $NK 'G ld ld'; echo 'G adm adm')" ]
ok $? "stock git verifies them: the revokes signed with ld's key, the retirement with adm's"
[ "$(nkeys)" = $((k0 + NK)) ] &&
	[ "$(git -C "$S" log -1 --format=%B refs/api/keys | git interpret-trailers --parse |
		sed -n 's/^Api-Case: //p')" = "$(echo "$KALL" | tail -n 1)" ] &&
	[ "$(git -C "$S" log -1 --format='%an %s' refs/api/keys)" = "ld keys: case keys written" ]
ok $? "refs/api/keys: one commit per case, by ld, the last for the last case"
bad=0
for c in $KALL; do
	[ "$(rcp "$c")" != "$(sed -n 2,3p "before-$c")" ] || bad=1
	[ "$(envs "$c")" != "$(sed -n '4,$p' "before-$c")" ] || bad=1
	casekey "$c" leaver4.id x.key && bad=1
	evkey "$c" leaver4.id x.key && bad=1
	casekey "$c" "$(team "$c").id" "now-$c.key" || bad=1
	[ "$(opens "$c" "now-$c.key")" = "$(count "$c")" ] || bad=1
	casekey "$c" ld.id x.key || bad=1
done
[ $bad -eq 0 ]
ok $? "leaver4's cases: new recipient and envelopes; leaver4's identity opens no key.age or events.age; the remaining team's key.age opens every record; ld's too"
bad=0
for c in $KS; do [ "$(team "$c")" = cw ] || bad=1; done
for c in $OTHERS; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ]
ok $? "the teams: K0 cw2, the others cw; every other case untouched (team, recipient, envelopes)"
api-staff list > list 2> /dev/null &&
	grep -q "^leaver4	caseworker	retired	[^	]*	[0-9TZ:-]*Z	" list
ok $? "api-staff list: leaver4 retired, with valid_until"
mark
run api-staff -i adm.id retire leaver4 --revoke-all --lead-identity ld.id
refused $? 1 "leaver4 was already retired" "again: exit 1, one line (already retired), refs unchanged"

# --- api-staff retire --revoke-all --reencrypt, by a protected lead ------------------------------------
Q1=$(new cw "Intake of Q1.") && grant "$Q1" leaver5 && note "$Q1" leaver5 "Q1, by leaver5." &&
	Q2=$(new leaver5 "Intake of Q2.") && grant "$Q2" cw2 &&
	api-status -i leaver5.id "$Q2" --set active > /dev/null 2>&1
bad=$?
for c in "$Q1" "$Q2"; do
	casekey "$c" leaver5.id "copy-$c.key" || bad=1
	for k in notes events; do
		for f in $(files "$c" $k); do
			git -C "$S" show "main:$(cdir "$c")/$k/$f" |
				age -d -i "copy-$c.key" > "plain0-$c-$f" 2> /dev/null || bad=1
		done
	done
done
[ $bad -eq 0 ] && [ "$(team "$Q1")" = "cw leaver5" ] && [ "$(team "$Q2")" = "leaver5 cw2" ]
ok $? "cases Q1 (cw leaver5), Q2 (leaver5 cw2); leaver5 copies their keys, and the plain text of every record"
for c in $KALL $OTHERS; do state "$c" > "before-$c"; done
QALL=$(sorted "$Q1" "$Q2")
mark
run api-staff -i adm.id retire --revoke-all --reencrypt --lead-identity ld2.id --lead-passphrase-fd 3 leaver5 3< pw
rc=$?
want=$(for c in $QALL; do
	if [ "$c" = "$Q1" ]; then printf '%s\tcw\n' "$c"; else printf '%s\tcw2\n' "$c"; fi; done)
[ $rc -eq 0 ] && [ "$(cat out)" = "$want" ] && oneline err && grep -q '^api-staff: retired leaver5, commit ' err
ok $? "retire --revoke-all --reencrypt --lead-identity ld2.id --lead-passphrase-fd 3 leaver5 (options before the handle): exit 0, 'CASE<TAB>new team' for Q1 and Q2"
[ $rc -eq 0 ] || diag "exit $rc: $(head -c 300 err)"
[ "$(trailers Api-Case "$main0..main")" = "$QALL" ] &&
	[ "$(trailers Api-Action "$main0..main")" = "$(rep 2 revoke-reencrypt; echo staff-retire)" ] &&
	[ "$(trailers Api-Object "$main0..main")" = "$(rep 2 'team -leaver5'; echo staff/leaver5)" ] &&
	[ "$(signers "$main0..main")" = "$(rep 2 'G ld2 ld2'; echo 'G adm adm')" ]
ok $? "main: Api-Action: revoke-reencrypt for each case, signed by ld2, then staff-retire, signed by adm"
bad=0
for c in $(git -C "$S" rev-list "$main0..main^"); do
	id=$(git -C "$S" log -1 --format=%B "$c" | git interpret-trailers --parse | sed -n 's/^Api-Case: //p')
	D=$(cdir "$id")
	git -C "$S" diff-tree -r --no-commit-id --name-status "$c" | sort > ch
	{ printf 'M\t%s/recipient\nM\t%s/team\n' "$D" "$D"
	  for f in $(files "$id" notes); do printf 'M\t%s/notes/%s\n' "$D" "$f"; done
	  for f in $(files "$id" events); do printf 'M\t%s/events/%s\n' "$D" "$f"; done; } |
		sort | cmp -s - ch || bad=1
done
for c in "$Q1" "$Q2"; do
	[ "$(opens "$c" "copy-$c.key")" = "0 0" ] || bad=1
	casekey "$c" leaver5.id x.key && bad=1
	casekey "$c" "$(team "$c").id" "now-$c.key" || bad=1
	for k in notes events; do
		for f in $(files "$c" $k); do
			git -C "$S" show "main:$(cdir "$c")/$k/$f" | age -d -i "now-$c.key" 2> /dev/null |
				cmp -s - "plain0-$c-$f" || bad=1
		done
	done
done
[ $bad -eq 0 ]
ok $? "each revoke rewrites every note and event of its case; the keys leaver5 copied open none of them, the team's new keys each, with its old text"
bad=0
for c in $KALL $OTHERS; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ] && [ "$(status leaver5)" = retired ]
ok $? "the other cases untouched; leaver5 retired"

# --- api-staff retire --revoke-all: leaver6, the last member of M0 ---------------------------------
MS=
for i in 1 2; do c=$(new cw "Intake, with leaver6.") && grant "$c" leaver6 && MS="$MS $c"; done
n=0
while [ $n -lt 20 ]; do
	n=$((n + 1))
	M0=$(new leaver6 "Intake of M0.") || break
	between "$M0" $MS && break
	grant "$M0" cw && MS="$MS $M0"
done
between "$M0" $MS && [ "$(team "$M0")" = leaver6 ]
ok $? "M0, whose team is leaver6 alone, and $(echo $MS | wc -w) cases with leaver6 on them, at least one before M0 in the case tree and one after"
MBEFORE=$(sorted $MS | awk -v z="$M0" '$0 < z')
MAFTER=$(sorted $MS | awk -v z="$M0" '$0 > z')
for c in $MS "$M0"; do state "$c" > "before-$c"; done
mark
run api-staff -i adm.id retire leaver6 --revoke-all --lead-identity ld.id
rc=$?
[ $rc -eq 1 ] && oneline err && grep -q '^api-staff: ' err &&
	grep -qF "revoking the last member of case $M0's team" err
ok $? "retire leaver6 --revoke-all: exit 1, one line naming M0, where leaver6 is the last member"
[ "$(cat out)" = "$(for c in $MBEFORE; do printf '%s\tcw\n' "$c"; done)" ] &&
	[ "$(trailers Api-Case "$main0..main")" = "$MBEFORE" ] &&
	[ "$(trailers Api-Action "$main0..main" | sort -u)" = revoke ]
ok $? "stdout: 'CASE<TAB>cw' for each case before M0, each with its revoke commit on main, and no retirement commit"
bad=0
for c in $MBEFORE; do [ "$(team "$c")" = cw ] || bad=1; casekey "$c" leaver6.id x.key && bad=1; done
for c in "$M0" $MAFTER; do state "$c" | cmp -s - "before-$c" || bad=1; done
[ $bad -eq 0 ] && [ "$(status leaver6)" = active ]
ok $? "the cases before M0 done, M0 and those after it untouched; leaver6 not retired"
grant "$M0" cw
mark
run api-staff -i adm.id retire leaver6 --revoke-all --lead-identity ld.id
[ $? -eq 0 ] && [ "$(cat out)" = "$(for c in "$M0" $MAFTER; do printf '%s\tcw\n' "$c"; done)" ] &&
	oneline err && grep -q '^api-staff: retired leaver6, commit ' err &&
	[ "$(trailers Api-Action "$main0..main")" = "$(rep $(echo "$M0" $MAFTER | wc -w) revoke; echo staff-retire)" ]
ok $? "after a lead grants cw on M0, running it again finishes: M0 and the cases after it, then the retirement"
bad=0
for c in $MS "$M0"; do [ "$(team "$c")" = cw ] || bad=1; done
[ $bad -eq 0 ] && [ "$(status leaver6)" = retired ]
ok $? "leaver6 is on no team and retired"
# --- a leaving lead: every case gets new keys ----------------------------
# a lead holds the envelopes of every case (key.age goes to all active
# leads), so its departure re-keys the cases whose team does not list it
# too, and no envelope written in the run goes to it
api-keygen --handle ldx --no-passphrase -o ldx.id > ldx.pub 2> /dev/null &&
	api-staff -i adm.id add --role lead ldx.pub > /dev/null 2>&1 &&
	X=$(api-new -i cw.id -m "intake x" 2> /dev/null) &&
	Y=$(api-new -i cw.id -m "intake y" 2> /dev/null) && grant "$Y" ldx &&
	casekey "$X" ldx.id x.key && casekey "$Y" ldx.id y.key
ok $? "a lead ldx, on case Y but not X, opens both cases' key.age"
live=$(api-status -i ld.id --json 2> /dev/null | grep -o '"case":"[0-9A-Z]*"' | wc -l)
mark
run api-staff -i adm.id retire ldx --revoke-all --lead-identity ld.id
[ $? -eq 0 ] && [ "$(status ldx)" = retired ] &&
	grep -q "^$Y	cw\$" out && grep -q "^$X	cw\$" out
ok $? "retire ldx --revoke-all: exit 0, ldx retired; Y with its new team, X as it was, on stdout"
[ "$(trailers Api-Action "$main0..main" | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')" = "rekey revoke staff-retire " ] &&
	[ "$(wc -l < out)" -eq "$live" ]
ok $? "one revoke (Y), a rekey for every other case not purged, then the retirement"
bad=0
for c in "$X" "$Y"; do
	casekey "$c" ldx.id z.key && bad=1
	evkey "$c" ldx.id z.key && bad=1
	casekey "$c" ld.id z.key || bad=1
	casekey "$c" cw.id z.key || bad=1
done
[ $bad -eq 0 ]
ok $? "ldx opens neither envelope of X or Y any more; the remaining lead and the team do"
n=$(api-log -i cw.id "$X" -m "after ldx left" 2> /dev/null) &&
	git -C "$S" show "main:$(cdir "$X")/notes/$n.md.age" > n.age &&
	! age -d -i x.key n.age > /dev/null 2>&1 && ! age -d -i ldx.id n.age > /dev/null 2>&1 &&
	api-show -i ld.id --purpose test "$X" 2> /dev/null | grep -q "after ldx left"
ok $? "a note written afterwards: the keys ldx copied do not open it; the remaining lead reads it"
verified "api-verify: ok after a lead left"
api-keygen --handle ldy --no-passphrase -o ldy.id > ldy.pub 2> /dev/null &&
	api-staff -i adm.id add --role lead ldy.pub > /dev/null 2>&1 &&
	api-log -i cw.id "$X" -m "while ldy leads" > /dev/null 2>&1 &&
	grant "$X" ld && casekey "$X" ldy.id y2.key
ok $? "another lead ldy, on no team, opens X's key.age once it is written again"
run api-staff -i adm.id retire ldy
[ $? -eq 0 ] && grep -q 'ldy was a lead, whose keys open every case' err &&
	grep -q 'api revoke --all ldy' err
ok $? "api-staff retire ldy (no --revoke-all): stderr says a lead's keys open every case, and how to re-key"
mark
run api-revoke -i ld.id --all ldy
[ $? -eq 0 ] && [ "$(trailers Api-Action "$main0..main" | sort -u)" = rekey ] &&
	! casekey "$X" ldy.id z.key && casekey "$X" ld.id z.key
ok $? "api-revoke --all ldy by a lead: every case re-keyed (Api-Action: rekey); ldy opens X's key.age no more"

done_testing
