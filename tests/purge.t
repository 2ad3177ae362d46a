#!/bin/sh
# purge.t - api-purge: crypto-shredding a closed case whose retention has
# ended.  Who may purge, and what is refused (each refusal one line,
# nothing changed); what it writes (the record on main first, then the
# keys), and that running it again finishes a purge whose keys remain.
# Then the proof: after git gc, every identity of the test, with stock
# age, tries every blob of the object database, and every key found that
# way is tried on every blob again: nothing of a purged case opens, while
# the same sweep opens every record of a case that was not purged, and
# opened the purged ones before gc.  A mirror made before the purge still
# opens them until it fetches and drops its reflogs and old objects.
# api-verify passes over the whole history and counts the purges; the
# other programs refuse a purged case in one line, and forged purge
# records, rewrites and writes to a purged case are named by api-verify.
. "$(dirname "$0")/lib.sh"

workdir

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref; }
tip() { git -C "$S" rev-parse "${1:-main}" 2>/dev/null; }
# cdir ID: the case's directory in the tree
# last FORMAT [REF]: a field of the tip of REF (main)
last() { git -C "$S" log -1 --format="$1" "${2:-main}"; }
# trailer KEY [REF]: a trailer of the tip of REF (main)
trailer() { last %B "${2:-main}" | git interpret-trailers --parse | sed -n "s/^$1: //p"; }
# keyfiles ID: the envelopes of case ID on refs/api/keys (key.for, which
# names the team and recipient they were written for, aside)
keyfiles() {
	git -C "$S" ls-tree -r --name-only refs/api/keys "$(cdir "$1")/" |
		grep -v '/key\.for$'
}
# allkeyfiles ID: every file of case ID on refs/api/keys
allkeyfiles() { git -C "$S" ls-tree -r --name-only refs/api/keys "$(cdir "$1")/"; }
# files ID: the paths of case ID's notes and events on main
files() { git -C "$S" ls-tree -r --name-only main "$(cdir "$1")/" | grep -E '/(notes|events)/'; }
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
mark() { before=$(refs); main0=$(tip); keys0=$(tip refs/api/keys); }
# rep N CHAR: CHAR written N times
rep() { _s=; _i=0; while [ $_i -lt "$1" ]; do _s=$_s$2; _i=$((_i + 1)); done; printf %s "$_s"; }

# OpenSSH keys registered as staff, so that stock git can sign the forged
# commits api-verify must catch.
# sshmember NAME ROLE: an OpenSSH key $W/NAME and an age identity
# $W/NAME.age, registered as NAME by adm
sshmember() { ssh_staff "$W" "$1" "$2" adm.id; }
# gitcommit SIGNER TREE MSG: a commit on main made by stock git, signed
# with SIGNER's OpenSSH key; main moves to it
gitcommit() { git_commit "$W" "$@"; }
# tree OP PATH [FILE] ...: main's tree with "add PATH FILE" / "rm PATH"
# (FILE in $W)
tree() { git_tree "$W" "$@"; }
# verdict RULE DESC PATH WORDS: api-verify names RULE and PATH for the
# tip of main, in a sentence with WORDS, exit 1; main is reset to $GOOD
verdict() {
	api-verify > "$W/vout" 2> "$W/verr"
	_rc=$?
	[ $_rc -eq 1 ] && oneline "$W/vout" && [ ! -s "$W/verr" ] &&
		[ "$(cut -d' ' -f1 "$W/vout")" = "$(tip)" ] &&
		[ "$(cut -d' ' -f2 "$W/vout")" = "$1" ] &&
		[ "$(cut -d' ' -f3 "$W/vout")" = "$3:" ] &&
		grep -qF -- "$4" "$W/vout"
	ok $? "$2 -> $1"
	diag "$(cat "$W/vout" "$W/verr")"
	git -C "$S" update-ref refs/heads/main "$GOOD"
}

# sweep REPO: what stock age can open in REPO.  Every identity of the
# test ($IDS) is tried on every blob of the object database (git cat-file
# --batch-all-objects: reachable or not, loose or packed); then every
# AGE-SECRET-KEY found in what opened is tried on every blob not yet
# opened, again until no new key turns up.  Writes $W/sw/opened, one
# line "BLOB CASE" per blob opened, CASE the case its plain text names
# (a record's "Case:", an envelope's comment), and $W/sw/paths, the
# "BLOB PATH" of every blob reachable from a ref (git rev-list --objects
# --all), so that the blobs of a case are known by path as well.
sweep() {
	_r=$1 _d=$W/sw
	rm -rf "$_d"
	mkdir -p "$_d/b" "$_d/p"
	git -C "$_r" cat-file --batch-all-objects \
		--batch-check='%(objecttype) %(objectname)' | sed -n 's/^blob //p' > "$_d/blobs"
	git -C "$_r" rev-list --objects --all | awk 'NF == 2' > "$_d/paths"
	while read -r _o; do
		git -C "$_r" cat-file blob "$_o" > "$_d/b/$_o" || return 1
	done < "$_d/blobs"
	for _i in $IDS; do
		while read -r _o; do
			[ -e "$_d/p/$_o" ] && continue
			age -d -i "$_i" -o "$_d/p/$_o" "$_d/b/$_o" 2> /dev/null ||
				rm -f "$_d/p/$_o"
		done < "$_d/blobs"
	done
	: > "$_d/keys"
	while :; do
		cat "$_d/p/"* 2> /dev/null | grep '^AGE-SECRET-KEY-1' | sort -u > "$_d/keys.new"
		cmp -s "$_d/keys" "$_d/keys.new" && break
		mv "$_d/keys.new" "$_d/keys"
		while read -r _o; do
			[ -e "$_d/p/$_o" ] && continue
			age -d -i "$_d/keys" -o "$_d/p/$_o" "$_d/b/$_o" 2> /dev/null ||
				rm -f "$_d/p/$_o"
		done < "$_d/blobs"
	done
	: > "$_d/opened"
	for _p in "$_d/p/"*; do
		[ -e "$_p" ] || continue
		_c=$(sed -n 's/^Case: //p; s/^# api case \(events \)\{0,1\}keys: //p' "$_p" | head -1)
		echo "$(basename "$_p") ${_c:--}" >> "$_d/opened"
	done
	diag "sweep of $(basename "$_r"): $(wc -l < "$_d/blobs") blobs, $(wc -l < "$_d/keys") keys found, $(wc -l < "$_d/opened") blobs opened"
}
# opened ID: how many blobs of case ID the last sweep opened: those whose
# plain text names ID, and those reachable at a path of ID's directory
opened() {
	_n=$(grep -c " $1\$" "$W/sw/opened")
	for _o in $(grep " $(cdir "$1")/" "$W/sw/paths" | cut -d' ' -f1 | sort -u); do
		grep -q "^$_o " "$W/sw/opened" && _n=$((_n + 1))
	done
	echo "$_n"
}
# records ID: how many of case ID's notes and events on main the last
# sweep opened, "OPENED OF"
records() {
	_n=0 _t=0
	for _f in $(files "$1"); do
		_o=$(git -C "$S" rev-parse "main:$_f")
		_t=$((_t + 1))
		grep -q "^$_o $1\$" "$W/sw/opened" && _n=$((_n + 1))
	done
	echo "$_n $_t"
}

# --- the staff ---------------------------------------------------------------------
bad=0
for h in adm ld cw cw2 svc; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in ld:lead cw:caseworker cw2:caseworker svc:service; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ] && sshmember sadm admin && sshmember sld lead
ok $? "a store: adm (admin), ld (lead), cw, cw2 (caseworkers), svc (service); sadm (admin) and sld (lead) with OpenSSH keys"
# every identity of the test: api-keygen's files and the age identities
# of the OpenSSH members
IDS="$W/adm.id $W/ld.id $W/cw.id $W/cw2.id $W/svc.id $W/sadm.age $W/sld.age"

# --- the cases ---------------------------------------------------------------------
# A: notes and events, a member granted and revoked (so that its keys were
# rotated and old envelopes exist), closed in 2015: retention ended.
A=$(api-new -i cw.id --date 2014-01-10 -m "Intake of A at the probation office." 2> /dev/null) &&
	api-log -i cw.id "$A" --date 2014-02-01 -m "A, second meeting: housing." > /dev/null 2>&1 &&
	api-status -i cw.id "$A" --schedule appointment 2014-03-01 > /dev/null 2>&1 &&
	api-grant -i ld.id "$A" cw2 > /dev/null 2>&1 &&
	api-log -i cw2.id "$A" --date 2014-03-01 -m "A, with cw2: the job centre." > /dev/null 2>&1 &&
	api-revoke -i ld.id "$A" cw2 > /dev/null 2>&1 &&
	api-log -i cw.id "$A" --date 2014-12-01 -m "A, last meeting before closing." > /dev/null 2>&1 &&
	api-status -i cw.id "$A" --set active --date 2014-02-01 > /dev/null 2>&1 &&
	api-status -i cw.id "$A" --set closed --reason completed --date 2015-01-01 > /dev/null 2>&1 &&
	[ "$(git -C "$S" log --format=%s main -- "$(cdir "$A")/recipient" | grep -c 'access revoked')" = 1 ]
ok $? "case A: cw's, 4 notes and their events, an appointment; cw2 granted, then revoked (keys rotated); closed on 2015-01-01"
# B: the control, never purged
B=$(api-new -i cw.id -m "Intake of B." 2> /dev/null) &&
	api-log -i cw.id "$B" -m "B, second meeting." > /dev/null 2>&1 &&
	api-status -i cw.id "$B" --schedule review 2027-01-10 > /dev/null 2>&1
ok $? "case B: open, cw's, two notes and an event scheduled (the control)"
# C: closed today, still in retention
C=$(api-new -i cw2.id -m "Intake of C." 2> /dev/null) &&
	api-log -i cw2.id "$C" -m "C, second meeting." > /dev/null 2>&1 &&
	api-status -i cw2.id "$C" --set closed --reason declined > /dev/null 2>&1
ok $? "case C: cw2's, closed today: still in retention"
# D: closed in 2015 as well, for a purge under a phases.list of tabs
D=$(api-new -i cw.id --date 2014-05-01 -m "Intake of D." 2> /dev/null) &&
	api-status -i cw.id "$D" --set closed --reason referred --date 2015-01-01 > /dev/null 2>&1
ok $? "case D: cw's, closed on 2015-01-01"
DA=$(cdir "$A") DB=$(cdir "$B") DC=$(cdir "$C") DD=$(cdir "$D")
[ "$(git -C "$S" rev-parse --is-bare-repository)" = true ] &&
	[ ! -e "$S/logs/refs/api/keys" ] && [ ! -e "$S/logs/refs/heads/main" ]
ok $? "the store is bare and keeps no reflog of refs/api/keys (nor of main)"
# a backup made now, before any purge: a mirror has refs/api/keys too
git clone -q --mirror "$S" "$T/backup.git" 2> /dev/null &&
	git -C "$T/backup.git" rev-parse -q --verify refs/api/keys > /dev/null
ok $? "a backup: git clone --mirror, with refs/api/keys"

# --- api-status --due: the retention item -------------------------------------------
for who in adm svc; do
	run api-status -i $who.id --due
	rc=$?
	[ $rc -eq 0 ] &&
		grep -qx "$(printf 'cw\t%s\t2019-12-31\toverdue\tretention\tretention period ends (closed 2015-01-01)' "$A")" out &&
		! grep -q "$C" out
	ok $? "api-status --due as $who: A's retention ended on 2019-12-31 (5y after closing), overdue; C is not due"
done

# --- refusals ------------------------------------------------------------------------
REASON="retention ended; reviewed by the programme"
for who in ld cw svc; do
	mark
	run api-purge -i $who.id "$A" --reason "$REASON"
	refused $? 1 "needs admin" "a purge by $who (not an admin): exit 1, one line, nothing changed"
done
mark
run api-purge -i sld.age "$A" --reason "$REASON"
[ $? -ne 0 ] && [ ! -s out ] && [ "$(refs)" = "$before" ]
ok $? "... nor with a file that is no api identity"
mark
run api-purge -i adm.id "$B" --reason "$REASON"
refused $? 1 "not closed" "an open case: exit 1, 'case B is intake, not closed', nothing changed"
run api-purge -i adm.id "$B" --reason "$REASON" --force
refused $? 1 "not closed" "... --force does not change that"
run api-purge -i adm.id "$C" --reason "$REASON"
refused $? 1 "still in retention (until " "a closed case still in retention, without --force: exit 1, names the end, nothing changed"
grep -qF "(until $(date -u -d "+1825 days" +%Y-%m-%d 2>/dev/null || echo x))" err ||
	grep -q '(until 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9])' err
ok $? "... the day its retention ends"
run api-purge -i adm.id "$A"
refused $? 2 "--reason" "no --reason: exit 2, one line, nothing changed"
for what in tab newline bell escape delete csi blanks empty; do
	case $what in
	tab) r=$(printf 'a\tb') d="a tab" ;;
	newline) r=$(printf 'one\ntwo') d="a newline" ;;
	bell) r=$(printf 'bell\007') d="a BEL" ;;
	escape) r=$(printf 'esc\033[31m') d="an escape sequence" ;;
	delete) r=$(printf 'del\177') d="a DEL" ;;
	csi) r=$(printf 'c1 \302\23331m') d="a C1 control (U+009B)" ;;
	blanks) r='   ' d="blanks only" ;;
	empty) r= d="nothing" ;;
	esac
	run api-purge -i adm.id "$A" --reason "$r"
	refused $? 2 "--reason" "--reason with $d: exit 2, one line, nothing changed"
done
run api-purge -i adm.id "$A" --reason "$(rep 201 x)"
refused $? 2 "200 characters" "--reason of 201 characters: exit 2, nothing changed"
run api-purge -i adm.id "$A" --reason "$(rep 201 é)"
refused $? 2 "200 characters" "--reason of 201 two-byte characters: exit 2"
run api-purge -i ld.id "$A" --reason "$(rep 200 é)"
refused $? 1 "needs admin" "--reason of 200 two-byte characters (400 bytes) is accepted: the refusal is the lead's role"
run api-purge -i adm.id ZZZZZZZZZZ --reason "$REASON"
refused $? 1 "ZZZZZZZZZZ" "no such case: exit 1, nothing changed"
run api-purge -i adm.id --reason "$REASON"
[ $? -eq 2 ] && grep -q '^usage: api-purge' err && [ ! -s out ] && [ "$(refs)" = "$before" ]
ok $? "no CASE: the usage, exit 2"
run api-purge --help
[ $? -eq 0 ] && head -1 out | grep -q '^api-purge - ' && grep -q -- '--reason' out
ok $? "--help"

# --- the purge of A ------------------------------------------------------------------
TODAY=$(date -u +%Y-%m-%d)
keyfiles "$A" > envA
[ "$(wc -l < envA)" = 2 ]
ok $? "before: A's two envelopes are on refs/api/keys"
mark
run api-purge -i adm.id "$A" --reason "$REASON"
rc=$?
[ $rc -eq 0 ] && [ "$(cat out)" = "$A" ] && oneline err &&
	grep -q 'gc --prune=now' err && grep -q 'reflog expire' err
ok $? "api-purge A by adm: exit 0, the case ID on stdout, one line on stderr naming the reflog and gc steps"
[ $rc -eq 0 ] || diag "exit $rc: $(cat err)"
[ "$(git -C "$S" rev-parse main~1)" = "$main0" ] &&
	[ "$(last %s)" = "purge: case keys destroyed" ] && [ "$(trailer Api-Action)" = purge ] &&
	[ "$(trailer Api-Case)" = "$A" ] && [ "$(trailer Api-Object)" = purged ] &&
	[ "$(last '%an <%ae>')" = "adm <adm@api>" ] &&
	[ "$(git -C "$S" diff-tree -r --no-commit-id --name-status main)" = "$(printf 'A\t%s/purged' "$DA")" ]
ok $? "main: one commit 'purge: case keys destroyed' by adm, Api-Action: purge, Api-Case A, Api-Object: purged; it adds the purged file only"
printf 'purged: %s\nby: adm\nreason: %s\n' "$TODAY" "$REASON" > want
git -C "$S" show "main:$DA/purged" > got && cmp -s want got
ok $? "the purge record: 'purged: TODAY', 'by: adm', 'reason: ...'"
[ -z "$(git -C "$S" rev-list --parents -1 refs/api/keys | cut -s -d' ' -f2)" ] &&
	[ "$(last %s refs/api/keys)" = "keys: case keys destroyed" ] &&
	[ "$(trailer Api-Action refs/api/keys)" = purge ] &&
	[ "$(trailer Api-Case refs/api/keys)" = "$A" ] &&
	[ -z "$(trailer Api-Object refs/api/keys)" ] &&
	[ "$(last %an refs/api/keys)" = adm ] &&
	[ -z "$(allkeyfiles "$A")" ] && [ "$(keyfiles "$B" | wc -l)" = 2 ] &&
	[ "$(keyfiles "$C" | wc -l)" = 2 ]
ok $? "refs/api/keys: a new root 'keys: case keys destroyed' by adm (Api-Action: purge, Api-Case A), without A's envelopes; B's and C's stay"
[ "$(last %ct)" -le "$(last %ct refs/api/keys)" ] &&
	[ "$(git -C "$S" for-each-ref --format='%(refname)' | grep -vc '^refs/api/reads/')" = 2 ]
ok $? "the record on main is not younger than the keys' commit; no other ref was made"
api-verify > vout 2> verr
[ $? -eq 0 ] && grep -Eqx 'ok: [0-9]+ commits verified, 1 recorded purge among them' vout && [ ! -s verr ]
ok $? "api-verify: ok, '1 recorded purge among them'"
diag "$(cat vout)"
api-verify --json > vout
grep -Eqx '\{"ok":true,"commits":[0-9]+,"purges":1\}' vout
ok $? "api-verify --json: \"purges\":1"
mark
run api-purge -i adm.id "$A" --reason "$REASON"
refused $? 1 "purged already" "api-purge A again: 'case A was purged already', exit 1, nothing changed"
run api-purge -i ld.id "$A" --reason "$REASON"
refused $? 1 "needs admin" "... by a lead: refused for the role"

# --- a purge that stopped half-way: C, with --force ------------------------------------
# refs/api/keys locked: the record is written, the keys stay
: > "$S/refs/api/keys.lock"
mark
run api-purge -i adm.id "$C" --force --reason "consent withdrawn; erase now"
rc=$?
rm -f "$S/refs/api/keys.lock"
[ $rc -eq 1 ] && [ ! -s out ] && oneline err && grep -q "the purge is recorded" err &&
	grep -q 'run api-purge again' err &&
	[ "$(tip)" != "$main0" ] && git -C "$S" cat-file -e "main:$DC/purged" &&
	[ "$(tip refs/api/keys)" = "$keys0" ] && [ "$(keyfiles "$C" | wc -l)" = 2 ]
ok $? "C with --force, refs/api/keys locked: exit 1, 'the purge is recorded ... run api-purge again'; main has C's record, its keys remain"
[ $rc -eq 1 ] || diag "exit $rc: $(cat err)"
mark
run api-show -i cw2.id --no-pager "$C"
refused $? 1 "purged" "meanwhile api-show refuses C: nothing of a purged case is read, keys or not"
run api-log -i cw2.id "$C" -m "one more"
refused $? 1 "purged" "... and api-log refuses to write to it"
run api-grant -i ld.id "$C" cw
refused $? 1 "purged" "... and api-grant, which would write its envelopes again"
mark
run api-purge -i adm.id "$C" --reason "finishing"
[ $? -eq 0 ] && [ "$(cat out)" = "$C" ] && [ "$(tip)" = "$main0" ] &&
	[ -z "$(keyfiles "$C")" ] && [ "$(last %s refs/api/keys)" = "keys: case keys destroyed" ] &&
	[ "$(trailer Api-Case refs/api/keys)" = "$C" ]
ok $? "api-purge C again (no --force needed): exit 0, main untouched, C's envelopes removed"
grep -qx "reason: consent withdrawn; erase now" "$(git -C "$S" show "main:$DC/purged" > pc; echo pc)"
ok $? "... C's record keeps the reason of the first run"
mark
run api-purge -i adm.id "$C" --reason "finishing"
refused $? 1 "purged already" "a third time: purged already, nothing changed"

# --- a phases.list separated by tabs; a purge left with events.age only: D -------------
git -C "$S" show main:api.conf | grep -v '^[[:space:]]*list = ' > conf &&
	printf '[phases]\n\tlist = "referral\\tintake\\tactive\\tpaused\\taftercare\\tclosed"\n' >> conf &&
	gitcommit sadm "$(tree add api.conf conf)" \
		"$(printf 'conf: settings changed\n\nApi-Action: conf\nApi-Object: api.conf')" &&
	[ "$(git -C "$S" show main:api.conf | git config -f - phases.list)" = "$(printf 'referral\tintake\tactive\tpaused\taftercare\tclosed')" ] &&
	api-verify > /dev/null 2>&1
ok $? "sadm (stock git) sets phases.list with tabs between the phases; api-verify passes"
: > "$S/refs/api/keys.lock"
mark
run api-purge -i adm.id "$D" --reason "$REASON"
rc=$?
rm -f "$S/refs/api/keys.lock"
[ $rc -eq 1 ] && grep -q "the purge is recorded" err && git -C "$S" cat-file -e "main:$DD/purged"
ok $? "D, refs/api/keys locked: D is taken as closed under that list, its purge recorded (keys left)"
[ $rc -eq 1 ] || diag "exit $rc: $(cat err)"
# a keys commit by hand (stock git, sadm) that takes key.age away and
# leaves events.age, as an interrupted removal might
ix=$W/kindex
rm -f "$ix"
GIT_INDEX_FILE=$ix git -C "$S" read-tree refs/api/keys &&
	printf '0 %040d\t%s\n' 0 "$DD/key.age" | GIT_INDEX_FILE=$ix git -C "$S" update-index --index-info &&
	kt=$(GIT_INDEX_FILE=$ix git -C "$S" write-tree) &&
	kc=$(GIT_AUTHOR_NAME=sadm GIT_COMMITTER_NAME=sadm GIT_AUTHOR_EMAIL=sadm@api \
		GIT_COMMITTER_EMAIL=sadm@api git -C "$S" -c gpg.format=ssh \
		-c user.signingkey="$W/sadm" commit-tree -S "$kt" \
		-m "$(printf 'keys: case keys destroyed\n\nApi-Action: purge\nApi-Case: %s' "$D")") &&
	git -C "$S" update-ref refs/api/keys "$kc" &&
	[ "$(keyfiles "$D")" = "$DD/events.age" ]
ok $? "refs/api/keys by hand: D's key.age gone, its events.age left"
mark
run api-purge -i adm.id "$D" --reason "$REASON"
[ $? -eq 0 ] && [ "$(cat out)" = "$D" ] && [ "$(tip)" = "$main0" ] && [ -z "$(keyfiles "$D")" ]
ok $? "api-purge D again removes the events.age that was left: exit 0"
mark
run api-purge -i adm.id "$D" --reason "$REASON"
refused $? 1 "purged already" "... and then says it was purged already"

# --- the other programs on purged cases -------------------------------------------------
for who in cw ld adm; do
	mark
	run api-show -i $who.id --no-pager "$A"
	refused $? 1 "purged" "api-show A as $who: one line, exit 1"
done
mark
run api-log -i cw.id "$A" -m "after the purge"
refused $? 1 "purged" "api-log A: one line, exit 1, nothing written"
run api-status -i cw.id "$A" --set reopen
refused $? 1 "purged" "api-status A --set reopen: one line, exit 1"
run api-status -i ld.id "$A" --schedule retention "$TODAY"
refused $? 1 "purged" "api-status A --schedule: one line, exit 1"
run api-status -i cw.id "$A"
refused $? 1 "purged" "api-status A (the listing of one case): one line, exit 1"
for who in cw ld adm svc; do
	run api-status -i $who.id
	rc=$?
	[ $rc -eq 0 ] && ! grep -q "$A" out && ! grep -q "$C" out && grep -q "^$B	" out && [ ! -s err ]
	ok $? "api-status as $who lists B, and leaves A and C out without a word"
	run api-status -i $who.id --due --within 100000
	[ $? -eq 0 ] && ! grep -q "$A" out && ! grep -q "$C" out && [ ! -s err ]
	ok $? "api-status --due as $who: nothing of A or C"
done
mark
run api-revoke -i ld.id "$A" cw
refused $? 1 "purged" "api-revoke A: one line, exit 1"

# --- the proof: nothing of A or C opens after gc ------------------------------------------
sweep "$S"
[ "$(opened "$A")" -gt 0 ] && [ "$(opened "$C")" -gt 0 ]
ok $? "before gc, the replaced envelopes are still objects of the store: the sweep opens A ($(opened "$A") blobs) and C ($(opened "$C")); so it can fail"
[ -d "$S/logs" ] && git -C "$S" reflog expire --expire=now --all
git -C "$S" gc -q --prune=now 2> /dev/null
ok $? "git reflog expire (if any reflog exists) and git gc --prune=now"
git -C "$S" count-objects -v | grep -qx 'count: 0'
ok $? "no loose objects are left"
sweep "$S"
[ "$(opened "$A")" = 0 ]
ok $? "after gc, no identity of the test, nor any key found with them, opens any blob of A, at any commit"
[ "$(opened "$C")" = 0 ] && [ "$(opened "$D")" = 0 ]
ok $? "... nor of C or D"
[ "$(grep -c " $DA/" sw/paths)" -gt 0 ] && [ "$(records "$A" | cut -d' ' -f2)" -ge 9 ] &&
	[ "$(records "$A" | cut -d' ' -f1)" = 0 ]
ok $? "A's notes and events are still on main ($(records "$A" | cut -d' ' -f2) of them, $(grep -c " $DA/" sw/paths) blobs at its paths): none of them opened"
[ "$(records "$B")" = "$(records "$B" | cut -d' ' -f2) $(records "$B" | cut -d' ' -f2)" ] &&
	[ "$(records "$B" | cut -d' ' -f2)" -ge 4 ]
ok $? "the control: the same sweep opens every note and event of B ($(records "$B"))"
grep -q " $B\$" sw/opened && [ "$(grep -v " $B\$" sw/opened | grep -vc ' -$')" = 0 ]
ok $? "what opens names B, or is no record (the identities' own files aside, none)"
for id in adm ld cw cw2 svc; do
	for env in key.age events.age; do
		git -C "$S" show "refs/api/keys:$DB/$env" > env.age
		age -d -i $id.id -o /dev/null env.age 2> /dev/null && echo "$id $env"
	done
done > bopen
[ "$(cat bopen)" = "$(printf 'adm events.age\nld key.age\nld events.age\ncw key.age\ncw events.age\nsvc events.age')" ]
ok $? "B's envelopes: key.age opens for cw (team) and ld (lead), events.age also for adm and svc"

# --- a backup made before the purge -------------------------------------------------------
sweep "$T/backup.git"
[ "$(opened "$A")" -gt 0 ] && [ "$(records "$A" | cut -d' ' -f1)" -gt 0 ]
ok $? "the mirror made before the purge still opens A: crypto-shredding does not reach it"
git -C "$T/backup.git" config core.logAllRefUpdates always &&
	git -C "$T/backup.git" fetch -q --prune origin 2> /dev/null &&
	[ "$(git -C "$T/backup.git" rev-parse refs/api/keys)" = "$(tip refs/api/keys)" ] &&
	git -C "$T/backup.git" gc -q --prune=now 2> /dev/null
ok $? "the mirror fetches (a reflog kept this time) and runs git gc --prune=now"
sweep "$T/backup.git"
[ "$(opened "$A")" -gt 0 ]
ok $? "... its reflog still holds the replaced keys commit: A still opens"
git -C "$T/backup.git" reflog expire --expire=now --all &&
	git -C "$T/backup.git" gc -q --prune=now 2> /dev/null
sweep "$T/backup.git"
[ "$(opened "$A")" = 0 ] && [ "$(opened "$C")" = 0 ] && [ "$(opened "$D")" = 0 ] &&
	[ "$(records "$B" | cut -d' ' -f1)" -ge 4 ]
ok $? "after git reflog expire --expire=now --all and gc, nothing of A, C or D opens in the mirror; B does"

# --- the audit -------------------------------------------------------------------------------
api-verify > vout 2> verr
[ $? -eq 0 ] && grep -Eqx 'ok: [0-9]+ commits verified, 3 recorded purges among them' vout && [ ! -s verr ]
ok $? "api-verify over the whole history: ok, '3 recorded purges among them'"
diag "$(cat vout)"
api-verify --json > vout
grep -Eqx '\{"ok":true,"commits":[0-9]+,"purges":3\}' vout
ok $? "api-verify --json: \"purges\":3"
git -C "$S" fsck --strict > fsck.out 2>&1
ok $? "git fsck --strict passes"
git -C "$S" show main:allowed_signers > allowed
[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --all --format=%G? | sort -u)" = G ] &&
	[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --format='%G? %an %s' \
		--grep='^Api-Action: purge$' --all | sort)" = "$(printf 'G adm keys: case keys destroyed\nG adm purge: case keys destroyed\nG adm purge: case keys destroyed\nG adm purge: case keys destroyed')" ]
ok $? "%G? is G for every commit of every ref: the three purges on main among them, and the tip of refs/api/keys (D's purge; it keeps no history)"

# --- forged purge records and writes, made with stock git -----------------------------------
GOOD=$(tip)
printf 'purged: %s\nby: sld\nreason: forged\n' "$TODAY" > recsld
printf 'purged: %s\nby: sadm\nreason: forged\n' "$TODAY" > recsadm
PMSG=$(printf 'purge: case keys destroyed\n\nApi-Action: purge\nApi-Case: %s\nApi-Object: purged' "$B")
gitcommit sadm "$(tree add "$DB/purged" recsadm)" "$PMSG" && api-verify > vout 2>&1 &&
	grep -Eqx 'ok: [0-9]+ commits verified, 4 recorded purges among them' vout
ok $? "a purge record for B by an admin (sadm, stock git) in an Api-Action: purge commit passes: the rules can be met"
git -C "$S" update-ref refs/heads/main "$GOOD"
gitcommit sld "$(tree add "$DB/purged" recsld)" "$PMSG"
verdict case-write "a purge record for B added by a lead, in an Api-Action: purge commit" "$DB/purged" "purge record not written by an admin"
gitcommit sadm "$(tree add "$DB/purged" recsadm)" \
	"$(printf 'log: note added\n\nApi-Action: log\nApi-Case: %s' "$B")"
verdict case-write "a purge record for B by an admin, in a commit that is no purge" "$DB/purged" "Api-Action: purge"
printf 'purged: %s\nby: adm\nreason: forged\n' "$TODAY" > recadm
gitcommit sadm "$(tree add "$DB/purged" recadm)" "$PMSG"
verdict layout "a purge record for B by sadm that names another admin" "$DB/purged" "by: sadm"
printf 'gone\n' > recbad
gitcommit sadm "$(tree add "$DB/purged" recbad)" "$PMSG"
verdict layout "a purge record that is not 'purged: DATE' ..." "$DB/purged" "purged:"
printf 'purged: 2015-01-01\nby: sadm\nreason: rewritten\n' > recnew
gitcommit sadm "$(tree add "$DA/purged" recnew)" \
	"$(printf 'purge: case keys destroyed\n\nApi-Action: purge\nApi-Case: %s\nApi-Object: purged' "$A")"
verdict case-write "A's purge record rewritten, by an admin in a purge commit" "$DA/purged" "purged case"
gitcommit sadm "$(tree rm "$DA/purged")" "x"
verdict case-write "A's purge record removed" "$DA/purged" "purged case"
echo "a note after the purge" | age -r "$(age-keygen -y sadm.age)" > latenote
gitcommit sadm "$(tree add "$DA/notes/20991231T000000.000Z-aaaaaa.md.age" latenote)" \
	"$(printf 'log: note added\n\nApi-Action: log\nApi-Case: %s\nApi-Object: 20991231T000000.000Z-aaaaaa' "$A")"
verdict case-write "a note written to purged A by an admin" "$DA/notes" "purged case"
gitcommit sld "$(tree add "$DA/events/20991231T000000.000Z-aaaaab.age" latenote)" \
	"$(printf 'status: event recorded\n\nApi-Action: schedule\nApi-Case: %s\nApi-Object: 20991231T000000.000Z-aaaaab' "$A")"
verdict case-write "an event written to purged A by a lead" "$DA/events" "purged case"
printf 'sld\n' > teamsld
gitcommit sld "$(tree add "$DA/team" teamsld)" \
	"$(printf 'team: access granted\n\nApi-Action: grant\nApi-Case: %s\nApi-Object: team +sld' "$A")"
verdict case-write "A's team changed by a lead after the purge" "$DA/team" "purged case"
[ "$(tip)" = "$GOOD" ] && api-verify > /dev/null 2>&1
ok $? "main is back at the good tip, which verifies"

done_testing
