#!/bin/sh
# grant.t - api-grant and api-revoke: who may change a team (a lead, an
# admin who holds the keys, the team itself where api.conf sets
# access.teamMayGrant), the team file, the trailers and the two key
# envelopes they write; what a granted member can read, and exactly what
# a revoked member can and cannot still decrypt with stock age, with and
# without --reencrypt; what api-verify makes of real and forged
# re-encryptions; and bad input: each refusal one line, nothing changed.
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
# team ID: the team file of case ID on main
team() { git -C "$S" show "main:$(cdir "$1")/team"; }
# env ID NAME [REF]: the envelope NAME (key.age, events.age) of case ID
# on refs/api/keys (or REF), into $W/env.age
env() { git -C "$S" show "${3:-refs/api/keys}:$(cdir "$1")/$2" > "$W/env.age"; }
# unwrap ENVFILE IDFILE OUT: stock age opens an envelope with an identity
unwrap() { age -d -i "$2" -o "$3" "$1" 2> /dev/null; }
# casekey ID IDFILE OUT: the current key.age of ID, opened with IDFILE
casekey() { env "$1" key.age && unwrap "$W/env.age" "$2" "$3"; }
# evkey ID IDFILE OUT: the current events.age of ID, opened with IDFILE
evkey() { env "$1" events.age && unwrap "$W/env.age" "$2" "$3"; }
# open ID KIND NAME KEYFILE [REV]: notes/NAME.md.age or events/NAME.age
# of case ID on REV (main), decrypted by stock age with KEYFILE, into
# $W/plain
open() {
	_sfx=.age
	[ "$2" = notes ] && _sfx=.md.age
	git -C "$S" show "${5:-main}:$(cdir "$1")/$2/$3$_sfx" > "$W/rec.age" &&
	age -d -i "$4" -o "$W/plain" "$W/rec.age" 2> /dev/null
}
# files ID KIND [REV]: IDs of the notes or events of case ID on REV (main)
files() {
	git -C "$S" ls-tree --name-only "${3:-main}:$(cdir "$1")/$2" 2>/dev/null |
		sed 's/\.md\.age$//; s/\.age$//'
}
# opens ID KEYFILE [REV]: how many of the notes and events of case ID
# (those on main, as they are on REV) KEYFILE opens, "NOTES EVENTS"
opens() {
	_n=0 _e=0
	for _f in $(files "$1" notes); do open "$1" notes "$_f" "$2" "${3:-main}" && _n=$((_n + 1)); done
	for _f in $(files "$1" events); do open "$1" events "$_f" "$2" "${3:-main}" && _e=$((_e + 1)); done
	echo "$_n $_e"
}
# count ID: how many notes and events case ID has on main, "NOTES EVENTS"
count() { echo "$(files "$1" notes | wc -l) $(files "$1" events | wc -l)"; }
# shape FILE: a decrypted envelope with each key written K
shape() { sed 's/^AGE-SECRET-KEY-1[0-9A-Z]*$/K/' "$1"; }
# section FILE notes|events: the keys of that section of an envelope
section() { sed -n "/^# $2\$/,/^# /p" "$1" | grep '^AGE-SECRET-KEY-1'; }
# changed [REV]: what the tip of main (or REV) changed, "STATUS PATH" lines
changed() { git -C "$S" diff-tree -r --no-commit-id --name-status "${1:-main}"; }
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
# granted RC TEAM DESC: exit 0, the new team on stdout, nothing on stderr
granted() {
	[ "$1" -eq 0 ] && [ "$(cat "$W/out")" = "$2" ] && [ ! -s "$W/err" ]
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}
# wrote ACTION OBJECT SUBJECT WHO ID DESC: one commit on main (on $main0)
# and one parentless commit on refs/api/keys, with these trailers
wrote() {
	[ "$(git -C "$S" rev-parse main~1)" = "$main0" ] &&
		[ "$(last %s)" = "$3" ] && [ "$(trailer Api-Action)" = "$1" ] &&
		[ "$(trailer Api-Case)" = "$5" ] && [ "$(trailer Api-Object)" = "$2" ] &&
		[ "$(last '%an <%ae>')" = "$4 <$4@api>" ] &&
		[ "$(tip refs/api/keys)" != "$keys0" ] &&
		[ -z "$(git -C "$S" rev-list --parents -1 refs/api/keys | cut -s -d' ' -f2)" ] &&
		[ "$(last %s refs/api/keys)" = "keys: case keys written" ] &&
		[ "$(trailer Api-Action refs/api/keys)" = case-key ] &&
		[ "$(trailer Api-Case refs/api/keys)" = "$5" ] &&
		[ -z "$(trailer Api-Object refs/api/keys)" ] &&
		[ "$(last %an refs/api/keys)" = "$4" ]
	ok $? "$6"
}
mark() { before=$(refs); main0=$(tip); keys0=$(tip refs/api/keys); }

# OpenSSH keys registered as staff, so that stock git can sign: for an
# admin's edit of api.conf, which no api program writes, and for forged
# commits that api-verify must catch.
# sshmember NAME ROLE: an OpenSSH key $W/NAME and an age identity
# $W/NAME.age, registered as NAME by adm
sshmember() { ssh_staff "$W" "$1" "$2" adm.id; }
# gitcommit SIGNER TREE MSG: a commit on main made by stock git, signed
# with SIGNER's OpenSSH key; main moves to it
gitcommit() { git_commit "$W" "$@"; }
# tree OP PATH [FILE] ...: main's tree with "add PATH FILE" / "rm PATH"
# (FILE in $W)
tree() { git_tree "$W" "$@"; }
# verdict RULE DESC [PATH]: api-verify names RULE (and PATH) for the tip
# of main, exit 1; main is reset to $GOOD
verdict() {
	api-verify > "$W/vout" 2> "$W/verr"
	_rc=$?
	[ $_rc -eq 1 ] && oneline "$W/vout" && [ ! -s "$W/verr" ] &&
		[ "$(cut -d' ' -f1 "$W/vout")" = "$(tip)" ] &&
		[ "$(cut -d' ' -f2 "$W/vout")" = "$1" ] &&
		{ [ -z "${3:-}" ] || [ "$(cut -d' ' -f3 "$W/vout")" = "$3:" ]; }
	ok $? "$2 -> $1"
	diag "$(cat "$W/vout" "$W/verr")"
	git -C "$S" update-ref refs/heads/main "$GOOD"
}
# verified DESC: api-verify passes
verified() {
	api-verify > "$W/vout" 2> "$W/verr"
	[ $? -eq 0 ] && grep -Eq '^ok: [0-9]+ commits verified' "$W/vout" && [ ! -s "$W/verr" ]
	_v=$?
	ok $_v "$1"
	[ $_v -eq 0 ] || diag "$(cat "$W/vout" "$W/verr")"
}

# --- the staff ---------------------------------------------------------------------
bad=0
for h in adm cw bob cw2 cw3 ld svc aud old tmp; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in cw:caseworker bob:caseworker cw2:caseworker cw3:caseworker \
	    ld:lead svc:service aud:auditor old:caseworker tmp:caseworker; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && api-staff -i adm.id retire old > /dev/null 2>&1 && [ $bad -eq 0 ]
ok $? "a store: adm (admin), cw, bob, cw2, cw3 (caseworkers), ld (the only lead), svc, aud, old (retired)"

# --- a grant by a lead who is not on the team ----------------------------------------
A=$(api-new -i cw.id -m "Intake of A." 2> /dev/null)
api-log -i cw.id "$A" -m "A, second meeting." > /dev/null 2>&1
casekey "$A" cw.id a0.key
ok $? "case A, opened by cw (team: cw), two notes; cw opens its key.age"
mark
run api-grant -i ld.id "$A" bob
granted $? "cw bob" "api-grant A bob by ld: exit 0, the new team on stdout, nothing on stderr"
[ "$(team "$A")" = "$(printf 'cw\nbob')" ] &&
	[ "$(git -C "$S" show "main:$(cdir "$A")/team" | wc -c)" = 7 ]
ok $? "the team file: cw, then bob, a line each"
wrote grant "team +bob" "team: access granted" ld "$A" \
	"main: 'team: access granted', Api-Action: grant, Api-Object: team +bob, by ld; keys: a new root 'keys: case keys written' (case-key)"
[ "$(changed)" = "$(printf 'M\t%s/team' "$(cdir "$A")")" ]
ok $? "a grant changes the team file only: the keys and the recipient stay"
casekey "$A" bob.id a-bob.key && cmp -s a0.key a-bob.key
ok $? "stock age opens the new key.age with bob's identity: the same keys as before"
[ "$(shape a-bob.key)" = "$(printf '# api case keys: %s\n# notes\nK\n# events\nK' "$A")" ]
ok $? "key.age is an age identity file: '# api case keys: ID', '# notes', its key, '# events', its key"
[ "$(git -C "$S" show "main:$(cdir "$A")/recipient")" = "$(age-keygen -y a-bob.key)" ]
ok $? "the recipient on main is the public half of both keys, notes first"
[ "$(opens "$A" a-bob.key)" = "$(count "$A")" ] && [ "$(count "$A")" = "2 3" ]
ok $? "with it, stock age opens both notes and all three events"
evkey "$A" bob.id a-bob.ev &&
	[ "$(shape a-bob.ev)" = "$(printf '# api case events keys: %s\n# events\nK' "$A")" ] &&
	[ "$(section a-bob.ev events)" = "$(section a-bob.key events)" ]
ok $? "events.age: '# api case events keys: ID', an events section only, the same key"
run api-show -i bob.id "$A"
[ $? -eq 0 ] && grep -q '^Intake of A\.$' out && grep -q '^A, second meeting\.$' out &&
	grep -q '^Team: cw (lead), bob$' out
ok $? "api-show as bob: the whole case"
run api-log -i bob.id "$A" -m "Bob's first meeting."
BOBNOTE=$(cat out)
[ -n "$BOBNOTE" ] && [ "$(count "$A")" = "3 4" ]
ok $? "bob logs a note"
casekey "$A" ld.id a-ld.key && cmp -s a0.key a-ld.key && ! casekey "$A" adm.id x.key &&
	! casekey "$A" svc.id x.key && ! casekey "$A" cw2.id x.key && evkey "$A" svc.id x.key
ok $? "key.age: the lead opens it (leads hold every case's keys), adm, svc and cw2 do not; svc still opens events.age"
run api-show -i ld.id "$A"
[ $? -eq 0 ] && grep -q "^Bob's first meeting\.$" out
ok $? "api-show as ld, not on the team: the whole case"

# --- who may grant --------------------------------------------------------------------
mark
run api-grant -i adm.id "$A" cw2
refused $? 1 "adm does not hold the keys of case $A" "an admin off the team holds no keys and cannot grant: one line says so"
run api-grant -i cw.id "$A" cw2
refused $? 1 access.teamMayGrant "a caseworker on the team, without access.teamMayGrant: refused, naming the setting"
run api-revoke -i cw.id "$A" bob
refused $? 1 access.teamMayGrant "... nor revoke"
run api-grant -i cw2.id "$A" cw2
refused $? 1 cw2 "a caseworker off the team cannot grant themselves"
run api-grant -i aud.id "$A" cw2
refused $? 1 aud "an auditor cannot grant"
run api-grant -i svc.id "$A" cw2
refused $? 1 svc "a service identity cannot grant"
run api-grant -i old.id "$A" cw2
refused $? 1 old "a retired member cannot grant"
B=$(api-new -i adm.id --assign cw -m "Intake of B." 2> /dev/null)
mark
run api-grant -i adm.id "$B" cw2
granted $? "cw adm cw2" "an admin on the team (opened the case) holds its keys and grants"
wrote grant "team +cw2" "team: access granted" adm "$B" "... trailers and keys commit as for a lead"

# --- bad input --------------------------------------------------------------------------
mark
run api-grant -i ld.id "$A" nobody
refused $? 1 nobody "an unknown handle: exit 1, one line naming it, refs unchanged"
run api-grant -i ld.id "$A" old
refused $? 1 "old was retired on" "a retired handle: named, with the date"
run api-grant -i ld.id "$A" svc
refused $? 1 "svc has role service" "a service identity: named, with its role"
run api-grant -i ld.id "$A" aud
refused $? 1 "aud has role auditor" "an auditor: named, with its role"
run api-grant -i ld.id "$A" bob
refused $? 1 "bob is on the team of case $A already" "a member already on the team"
run api-grant -i ld.id "$A" cw2 nobody
refused $? 1 nobody "a good handle and an unknown one: nothing granted"
run api-grant -i ld.id "$A" 'Bad!'
refused $? 1 'Bad!' "an invalid handle"
run api-grant -i ld.id ZZZZZZZZZZ cw2
refused $? 1 ZZZZZZZZZZ "an unknown case"
run api-revoke -i ld.id "$A" cw2
refused $? 1 "cw2 is not on the team of case $A" "revoking someone not on the team"
run api-revoke -i ld.id "$A" nobody
refused $? 1 nobody "revoking an unknown handle"
run api-revoke -i ld.id "$A" cw bob
refused $? 1 "last member" "revoking the whole team: refused as revoking the last member"
L=$(api-new -i ld.id -m "Intake of L." 2> /dev/null)
api-grant -i ld.id "$L" cw > /dev/null 2>&1
mark
run api-revoke -i ld.id "$L" ld
refused $? 1 "no other lead" "the only lead revoking themselves: refused (nobody else could manage the case)"
run api-revoke -i ld.id "$L" ld cw
refused $? 1 "last member" "revoking the last members"
run api-revoke -i ld.id "$A" bob bob --bogus
usage $? "an unknown option: exit 2, usage"
run api-grant -i ld.id --reencrypt "$A" cw2
usage $? "api-grant --reencrypt: exit 2"
run api-grant -i ld.id "$A"
usage $? "api-grant CASE without a handle: exit 2"
run api-revoke -i ld.id
usage $? "api-revoke without arguments: exit 2"
run api-grant --help
[ $? -eq 0 ] && [ ! -s err ] && head -n 1 out | grep -q '^api-grant - .' &&
	grep -q '^usage: api-grant' out
ok $? "api-grant --help"
run api-revoke --help
[ $? -eq 0 ] && [ ! -s err ] && head -n 1 out | grep -q '^api-revoke - .' &&
	grep -q -- '--reencrypt' out
ok $? "api-revoke --help"

# a team member retired since: the envelopes cannot be written to them
R=$(api-new -i cw.id --assign tmp -m "Intake of R." 2> /dev/null)
api-staff -i adm.id retire tmp > /dev/null 2>&1
mark
run api-grant -i ld.id "$R" bob
refused $? 1 "tmp, on the team of case $R, was retired" "a team that lists a retired member: the grant is refused, naming them"
grep -qF "api revoke $R tmp" err
ok $? "... and the command that revokes them"
run api-revoke -i ld.id "$R" tmp
granted $? "cw" "revoking the retired member works"
mark
run api-grant -i ld.id "$R" bob bob
granted $? "cw bob" "a handle given twice is granted once"
[ "$(trailer Api-Object)" = "team +bob" ]
ok $? "... and named once in Api-Object"

# a purged case has no keys, and its team no longer changes
P=$(api-new -i cw.id -m "Intake of P." 2> /dev/null)
api-status -i cw.id "$P" --set closed --reason completed > /dev/null 2>&1 &&
	api-purge -i adm.id --force --reason "test" "$P" > /dev/null 2>&1
ok $? "case P, closed and purged (api-purge --force)"
mark
run api-grant -i ld.id "$P" bob
refused $? 1 "case $P was purged" "granting on a purged case: refused, saying so"
run api-revoke -i ld.id "$P" cw
refused $? 1 "case $P was purged" "revoking on a purged case: refused, saying so"

# --- two refs, and the undo -----------------------------------------------------------
# The envelopes are written first, then the team on main.  A lock on
# main makes the second write fail: the envelopes are put back.
mark
ktree=$(git -C "$S" rev-parse 'refs/api/keys^{tree}')
: > "$S/refs/heads/main.lock"
run api-revoke -i ld.id "$A" bob
rc=$?
rm -f "$S/refs/heads/main.lock"
[ $rc -eq 1 ] && [ ! -s out ] && oneline err && [ "$(tip)" = "$main0" ] &&
	git -C "$S" for-each-ref refs/heads refs/tags > r1 && echo "$before" |
	grep -v '	refs/api/' | cmp -s - r1
ok $? "main cannot be written: exit 1, one line, main as it was"
[ "$(last %s refs/api/keys)" = "keys: case keys put back (team not changed)" ] &&
	[ "$(trailer Api-Action refs/api/keys)" = case-key-undo ] &&
	[ "$(trailer Api-Case refs/api/keys)" = "$A" ] &&
	[ "$(git -C "$S" rev-parse 'refs/api/keys^{tree}')" = "$ktree" ] &&
	[ -z "$(git -C "$S" rev-list --parents -1 refs/api/keys | cut -s -d' ' -f2)" ]
ok $? "refs/api/keys: a root 'keys: case keys put back (team not changed)', case-key-undo, the very same tree"
casekey "$A" bob.id x.key && cmp -s x.key a0.key
ok $? "bob still opens key.age, which holds the old keys only: the new ones are gone"

# --- revoke -----------------------------------------------------------------------------
# bob kept a copy of the envelopes and of the keys in them
env "$A" key.age && cp env.age kept-key.age && env "$A" events.age &&
	cp env.age kept-events.age && unwrap kept-key.age bob.id bob-old.key &&
	cmp -s bob-old.key a0.key
ok $? "bob keeps copies of key.age and events.age, and the keys in them"
oldblob=$(git -C "$S" rev-parse "refs/api/keys:$(cdir "$A")/key.age")
oldrcp=$(git -C "$S" show "main:$(cdir "$A")/recipient")
mark
run api-revoke -i ld.id "$A" bob
granted $? "cw" "api-revoke A bob by ld: exit 0, the new team on stdout"
[ "$(team "$A")" = cw ]
ok $? "the team file: cw alone"
wrote revoke "team -bob" "team: access revoked" ld "$A" \
	"main: 'team: access revoked', Api-Action: revoke, Api-Object: team -bob, by ld; keys: 'keys: case keys written'"
[ "$(changed | sort)" = "$(printf 'M\t%s/recipient\nM\t%s/team' "$(cdir "$A")" "$(cdir "$A")")" ]
ok $? "a revoke changes the team and the recipient, no note or event"
casekey "$A" cw.id a1.key &&
	[ "$(shape a1.key)" = "$(printf '# api case keys: %s\n# notes\nK\nK\n# events\nK\nK' "$A")" ]
ok $? "the new key.age: two notes keys and two events keys, oldest first"
[ "$(section a1.key notes | head -n 1)" = "$(section a0.key notes)" ] &&
	[ "$(section a1.key events | head -n 1)" = "$(section a0.key events)" ] &&
	section a1.key notes | tail -n 1 > new-notes.key &&
	section a1.key events | tail -n 1 > new-events.key &&
	[ "$(git -C "$S" show "main:$(cdir "$A")/recipient")" = \
		"$(age-keygen -y new-notes.key; age-keygen -y new-events.key)" ] &&
	[ "$(git -C "$S" show "main:$(cdir "$A")/recipient")" != "$oldrcp" ]
ok $? "the old keys first, then the new ones, whose public halves are the new recipient"
evkey "$A" svc.id a1.ev && [ "$(shape a1.ev)" = "$(printf '# api case events keys: %s\n# events\nK\nK' "$A")" ]
ok $? "the new events.age, for svc: both events keys"

# what the revoked identity can still decrypt, and what not
fails casekey "$A" bob.id x.key && fails evkey "$A" bob.id x.key
ok $? "bob's identity opens neither the current key.age nor the current events.age"
unwrap kept-key.age bob.id x.key && cmp -s x.key a0.key && unwrap kept-events.age bob.id x.ev
ok $? "but it still opens the copies of the old envelopes that bob kept: they cannot be recalled"
git -C "$S" cat-file -e "$oldblob" && [ "$(git -C "$S" rev-parse "refs/api/keys:$(cdir "$A")/key.age")" != "$oldblob" ]
ok $? "... and the old key.age is still an object of the store (unreachable, until git gc prunes it; in older copies, for good)"
[ "$(opens "$A" bob-old.key)" = "$(count "$A")" ] && [ "$(count "$A")" = "3 4" ]
ok $? "with the old keys, stock age opens every note and event written before the revoke (3 notes, 4 events)"
mark
run api-show -i bob.id "$A"
refused $? 1 "bob is not on the team of case $A" "api-show as bob: refused"
grep -qF "a lead (ld) can grant access with: api grant $A bob" err
ok $? "... naming the lead who can grant access"
run api-log -i bob.id "$A" -m "Not on the team any more."
refused $? 1 bob "api-log as bob: refused"
run api-log -i cw.id "$A" -m "After the revoke."
AFTER=$(cat out)
AFTEREV=$(changed | sed -n "s|^A\t$(cdir "$A")/events/\(.*\)\.age\$|\1|p")
[ -n "$AFTER" ] && [ -n "$AFTEREV" ]
ok $? "cw logs a note after the revoke"
fails open "$A" notes "$AFTER" bob.id && fails open "$A" notes "$AFTER" bob-old.key &&
	fails open "$A" events "$AFTEREV" bob.id && fails open "$A" events "$AFTEREV" bob-old.key
ok $? "neither bob's identity nor the old keys bob copied open that note or its event"
open "$A" notes "$AFTER" new-notes.key && grep -qx 'After the revoke.' plain &&
	open "$A" events "$AFTEREV" new-events.key && grep -qx "Note: $AFTER" plain &&
	! open "$A" notes "$AFTER" a0.key
ok $? "the note is encrypted to the new notes key alone, its event to the new events key"
open "$A" notes "$AFTER" a1.key && evkey "$A" svc.id x.ev && open "$A" events "$AFTEREV" x.ev
ok $? "the team opens it through key.age; svc opens its event through events.age"
[ "$(opens "$A" a1.key)" = "$(count "$A")" ]
ok $? "the team's key.age opens every note and event, old keys and new"
run api-show -i cw.id "$A"
[ $? -eq 0 ] && grep -q '^After the revoke\.$' out && grep -q "^Bob's first meeting\.$" out &&
	grep -q '^Team: cw (lead)$' out
ok $? "api-show as cw: old and new notes; the team without bob"
run api-show -i ld.id "$A"
[ $? -eq 0 ] && grep -q '^After the revoke\.$' out
ok $? "api-show as ld: the lead reads it too"

# --- revoke --reencrypt -----------------------------------------------------------------
E=$(api-new -i cw.id -m "Intake of E." 2> /dev/null)
api-grant -i ld.id "$E" cw2 > /dev/null 2>&1 &&
	api-log -i cw2.id "$E" -m "E, by cw2." > /dev/null 2>&1 &&
	api-log -i cw.id "$E" -t crisis -m "E, a crisis." > /dev/null 2>&1 &&
	api-status -i cw.id "$E" --set active > /dev/null 2>&1 &&
	casekey "$E" cw2.id e-cw2.key && [ "$(count "$E")" = "3 5" ]
ok $? "case E: cw, then cw2; 3 notes, 5 events; cw2 copies the keys"
# every record's plain text, before
bad=0
for k in notes events; do
	for f in $(files "$E" $k); do open "$E" $k "$f" e-cw2.key && cp plain "e0.$f" || bad=1; done
done
[ $bad -eq 0 ]
ok $? "the plain text of every record, as it was"
api-show -i cw.id "$E" | grep -v '^Team:' > e0.show
mark
run api-revoke -i ld.id --reencrypt "$E" cw2
granted $? "cw" "api-revoke --reencrypt E cw2 by ld: exit 0"
wrote revoke-reencrypt "team -cw2" "team: access revoked" ld "$E" \
	"main: Api-Action: revoke-reencrypt, Api-Object: team -cw2; keys written"
D=$(cdir "$E")
changed | sort > ch
{ printf 'M\t%s/recipient\nM\t%s/team\n' "$D" "$D"
  for f in $(files "$E" events); do printf 'M\t%s/events/%s.age\n' "$D" "$f"; done
  for f in $(files "$E" notes); do printf 'M\t%s/notes/%s.md.age\n' "$D" "$f"; done; } |
	sort | cmp -s - ch
ok $? "one commit rewrites every note and event of E, its team and its recipient; nothing added, removed or elsewhere"
casekey "$E" cw.id e1.key && section e1.key notes | tail -n 1 > e-notes.key &&
	section e1.key events | tail -n 1 > e-events.key &&
	[ "$(opens "$E" e-notes.key)" = "3 0" ] && [ "$(opens "$E" e-events.key)" = "0 5" ]
ok $? "every note is now encrypted to the new notes key, every event to the new events key"
bad=0
for k in notes events; do
	for f in $(files "$E" $k); do open "$E" $k "$f" e1.key && cmp -s plain "e0.$f" || bad=1; done
done
[ $bad -eq 0 ]
ok $? "... each with exactly the plain text it had"
[ "$(opens "$E" e-cw2.key)" = "0 0" ] && fails casekey "$E" cw2.id x.key
ok $? "the keys cw2 copied open none of the current files, and cw2 opens no envelope"
[ "$(opens "$E" e-cw2.key main~1)" = "3 5" ]
ok $? "but the old blobs stay in the history and still open with the old keys: --reencrypt cannot recall what is in copies of the store"
api-show -i cw.id "$E" | grep -v '^Team:' | cmp -s - e0.show
ok $? "api-show as cw: the case reads exactly as before"
evkey "$E" svc.id e.ev && [ "$(opens "$E" e.ev)" = "0 5" ]
ok $? "svc reads every event through the new events.age, no note"
verified "api-verify: ok after a revoke-reencrypt by a lead"

# --- forged re-encryptions --------------------------------------------------------------
sshmember adm2 admin && sshmember xcw caseworker
ok $? "staff with OpenSSH keys, for stock git: adm2 (admin), xcw (caseworker)"
api-grant -i ld.id "$A" xcw > /dev/null 2>&1 && api-grant -i ld.id "$B" xcw > /dev/null 2>&1 &&
	casekey "$A" "$W/xcw.age" x.key
ok $? "xcw on the teams of A and B, by ld; xcw's age identity opens A's key.age"
GOOD=$(tip)
DA=$(cdir "$A")
DB=$(cdir "$B")
NA=$(files "$A" notes | head -n 1)
NB=$(files "$B" notes | head -n 1)
git -C "$S" show "main:$DA/recipient" | head -n 1 > rcpA
git -C "$S" show "main:$DB/recipient" | head -n 1 > rcpB
echo "Case: $A" | age -R rcpA > fakeA
echo "Case: $B" | age -R rcpB > fakeB
printf 'cw\n' > teamA
msgA=$(printf 'team: access revoked\n\nApi-Action: revoke-reencrypt\nApi-Case: %s\nApi-Object: team -xcw' "$A")
gitcommit xcw "$(tree add "$DA/notes/$NA.md.age" fakeA)" "$msgA"
verdict append-only "a revoke-reencrypt commit by a caseworker on the team, without access.teamMayGrant, rewriting a note" "$DA/notes/$NA.md.age"
gitcommit xcw "$(tree add "$DA/team" teamA add "$DA/notes/$NA.md.age" fakeA)" "$msgA"
verdict case-write "the same with the team changed too" "$DA/team"
gitcommit adm2 "$(tree add "$DB/notes/$NB.md.age" fakeB)" "$msgA"
verdict append-only "a revoke-reencrypt commit for case A that rewrites a note of case B, by an admin" "$DB/notes/$NB.md.age"
{ age-keygen -y "$W/adm2.age"; age-keygen -y "$W/adm2.age"; } > newrcp 2> /dev/null
gitcommit adm2 "$(tree add "$DA/notes/$NA.md.age" fakeA add "$DA/recipient" newrcp add "$DB/notes/$NB.md.age" fakeB)" "$msgA"
verdict append-only "... with a note of A rewritten as well: B's is named" "$DB/notes/$NB.md.age"
gitcommit adm2 "$(tree rm "$DA/notes/$NA.md.age")" "$msgA"
verdict append-only "a revoke-reencrypt commit that removes a note of its case" "$DA/notes/$NA.md.age"
gitcommit adm2 "$(tree add "$DA/notes/$NA.md.age" fakeA)" \
	"$(printf 'team: access revoked\n\nApi-Action: revoke\nApi-Case: %s' "$A")"
verdict append-only "a rewrite in a plain revoke commit (Api-Action: revoke)" "$DA/notes/$NA.md.age"
gitcommit adm2 "$(tree add "$DA/notes/$NA.md.age" fakeA)" "$msgA"
verdict append-only "a revoke-reencrypt commit that rewrites a note of its case without new keys for it" "$DA/notes/$NA.md.age"
gitcommit adm2 "$(tree add "$DA/notes/$NA.md.age" fakeA add "$DA/recipient" newrcp)" "$msgA"
verified "... with new keys (a new recipient) it passes: api-verify checks who, which case and that it was re-keyed, and cannot read what was written"
git -C "$S" update-ref refs/heads/main "$GOOD"

# --- access.teamMayGrant -----------------------------------------------------------------
C=$(api-new -i cw.id -m "Intake of C." 2> /dev/null)
mark
run api-grant -i cw.id "$C" cw2
refused $? 1 access.teamMayGrant "case C (team: cw): cw may not grant yet"
git -C "$S" show main:api.conf > conf &&
	printf '[access]\n\tteamMayGrant = true\n' >> conf &&
	gitcommit adm2 "$(tree add api.conf conf)" \
		"$(printf 'conf: settings changed\n\nApi-Action: conf\nApi-Object: api.conf')" &&
	[ "$(git -C "$S" show main:api.conf | git config -f - access.teamMayGrant)" = true ]
ok $? "adm2 sets access.teamMayGrant = true in api.conf, in a commit signed with stock git"
verified "api-verify: the admin's change of api.conf is ok"
mark
run api-grant -i cw.id "$C" cw2
granted $? "cw cw2" "now cw, on C's team, grants cw2"
wrote grant "team +cw2" "team: access granted" cw "$C" "... Api-Action: grant, Api-Object: team +cw2, by cw"
casekey "$C" cw2.id x.key && [ "$(opens "$C" x.key)" = "$(count "$C")" ]
ok $? "cw2 opens C's key.age and every record with stock age"
run api-show -i cw2.id "$C"
[ $? -eq 0 ] && grep -q '^Intake of C\.$' out
ok $? "api-show as cw2: C"
mark
run api-grant -i cw2.id "$C" cw3
granted $? "cw cw2 cw3" "cw2, granted by a team member, grants cw3 in turn"
mark
run api-grant -i bob.id "$C" bob
refused $? 1 access.teamMayGrant "bob, not on C's team, may not grant even so"
run api-revoke -i cw.id --reencrypt "$C" cw3
granted $? "cw cw2" "cw revokes cw3 with --reencrypt"
[ "$(trailer Api-Action)" = revoke-reencrypt ] && [ "$(last %an)" = cw ] &&
	set -- $(count "$C") && [ "$(changed | grep -c "/notes/\|/events/")" = $(($1 + $2)) ]
ok $? "... Api-Action: revoke-reencrypt by cw, every record rewritten"
mark
run api-revoke -i cw2.id "$C" cw2
granted $? "cw" "cw2 revokes themselves: a lead (ld) is left to manage the case"
verified "api-verify: grants and revokes by team members are ok while the parent's api.conf allows them"
GOOD=$(tip)
DC=$(cdir "$C")
printf 'cw\nxcw\n' > teamC
gitcommit xcw "$(tree add "$DC/team" teamC)" \
	"$(printf 'team: access granted\n\nApi-Action: grant\nApi-Case: %s\nApi-Object: team +xcw' "$C")"
verdict case-write "a caseworker off C's team adding themselves, even with access.teamMayGrant" "$DC"

# --- a lead newer than a case's keys -------------------------------------------------------
api-keygen --handle ld2 --no-passphrase -o ld2.id > ld2.pub 2> /dev/null &&
	api-staff -i adm.id add --role lead ld2.pub < /dev/null > /dev/null 2>&1
ok $? "a second lead, ld2, joins"
mark
run api-grant -i ld2.id "$L" bob
refused $? 1 "keys of case $L were last written before ld2 became one" "ld2 cannot grant on a case whose keys were written before: one line says why"
run api-grant -i ld.id "$L" bob
granted $? "ld cw bob" "ld grants: the envelopes are written again, to both leads"
casekey "$L" ld2.id x.key
ok $? "now ld2 opens L's key.age"
mark
run api-revoke -i ld.id "$L" ld
granted $? "cw bob" "and ld may revoke themselves from L, another lead being left"

# --- the whole store ------------------------------------------------------------------------
verified "api-verify: ok"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck
ok $? "git fsck --strict: clean (dangling commits aside: replaced key envelopes)"
git -C "$S" show main:allowed_signers > "$W/allowed"
git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --format=%G? \
	main refs/api/keys > g 2> /dev/null
[ -s g ] && [ "$(sort -u g)" = G ]
ok $? "every commit on main and refs/api/keys: %G? = G"
git -C "$S" log --format=%B main | grep '^Api-Object: team ' | sort -u > objs
! grep -Ev '^Api-Object: team( [+-][a-z0-9][a-z0-9._-]*)+$' objs
ok $? "every Api-Object of a team change: 'team' and +handle or -handle"
[ -z "$(find "$S" -name '*.lock' -o -name '*.tmp.*')" ]
ok $? "no lock or temporary files left in the store"

done_testing
