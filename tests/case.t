#!/bin/sh
# case.t - api-new and api-log: the ID and the tree they write, the team,
# commits and their trailers, what stock git and stock age make of it
# (a team member opens notes through the case key; a service identity
# reads events only), who may log, and bad input: each refusal is one
# line on stderr naming the problem, with the store's refs untouched.
. "$(dirname "$0")/lib.sh"

workdir
# a private directory on a memory file system for the editor, removed
# with $T (lib.sh's $XDG_RUNTIME_DIR is on the disk that holds $TMPDIR)
SHM=
trap 'rm -rf "$T" ${SHM:+"$SHM"}' EXIT
have() { command -v "$1" >/dev/null 2>&1; }
fstype() { stat -f -c %T "$1" 2>/dev/null; }
case $(fstype /dev/shm) in
tmpfs|ramfs) SHM=$(mktemp -d /dev/shm/api-test.XXXXXX 2>/dev/null) &&
	chmod 700 "$SHM" || SHM= ;;
esac

# Case IDs: 10 Crockford base32 characters.  Note and event IDs: UTC time
# (to the second, or the millisecond), a dash, 6 lower-case Crockford.
CASE_RE='[0-9A-HJKMNP-TV-Z]{10}'
OBJ_RE='[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z-[0-9a-hjkmnp-tv-z]{6}'

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref; }
tip() { git -C "$S" rev-parse "${1:-main}" 2>/dev/null; }
# last FORMAT [REF]: a field of the tip of REF (main)
last() { git -C "$S" log -1 --format="$1" "${2:-main}"; }
# trailer KEY [REF]: a trailer of the tip of REF (main)
trailer() { last %B "${2:-main}" | git interpret-trailers --parse | sed -n "s/^$1: //p"; }
# casekey ID IDFILE: the case key of ID opened by stock age with IDFILE,
# into $W/ID.key
casekey() {
	git -C "$S" show "refs/api/keys:$(cdir "$1")/key.age" > "$W/env.age" &&
	age -d -i "$2" -o "$W/$1.key" "$W/env.age" 2> /dev/null
}
# evkey ID IDFILE: the events key of ID (events.age, for leads and service
# staff) opened by stock age with IDFILE, into $W/ID.evkey
evkey() {
	git -C "$S" show "refs/api/keys:$(cdir "$1")/events.age" > "$W/env.age" &&
	age -d -i "$2" -o "$W/$1.evkey" "$W/env.age" 2> /dev/null
}
# open ID KIND NAME KEYFILE: notes/NAME.md.age or events/NAME.age of case
# ID, decrypted by stock age with KEYFILE, into $W/plain
open() {
	_sfx=.age
	[ "$2" = notes ] && _sfx=.md.age
	git -C "$S" show "main:$(cdir "$1")/$2/$3$_sfx" > "$W/rec.age" &&
	age -d -i "$4" -o "$W/plain" "$W/rec.age" 2> /dev/null
}
# header / body FILE: a decrypted record's header lines, its body
header() { sed '/^$/,$d' "$1"; }
body() { sed '1,/^$/d' "$1"; }
# files ID KIND: names of notes/ or events/ of case ID on main
files() { git -C "$S" ls-tree --name-only "main:$(cdir "$1")/$2" 2>/dev/null; }
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
# q WORD: WORD quoted for sh
q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }
# on_tty CMD ARGS...: CMD with a terminal as its standard input (through
# script(1)), stdout in $W/out and stderr in $W/err; CMD's exit status
on_tty() {
	_c=exec
	for _a; do _c="$_c $(q "$_a")"; done
	SHELL=/bin/sh script -qec "$_c > $(q "$W/out") 2> $(q "$W/err")" \
		/dev/null < /dev/null > "$W/tty" 2>&1
}

# --- the staff ---------------------------------------------------------------
bad=0
for h in adm cw bob cw2 ld svc aud; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] &&
	printf 'right horse\n' > pw && printf 'wrong horse\n' > badpw &&
	api-keygen --handle pcw --passphrase-fd 3 --work-factor 10 -o pcw.id \
		3< pw > pcw.pub 2> /dev/null &&
	api-init -i adm.id 2> /dev/null &&
	for m in cw:caseworker bob:caseworker cw2:caseworker pcw:caseworker \
	    ld:lead svc:service aud:auditor; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done &&
	[ $bad -eq 0 ]
ok $? "a store: adm (admin), cw, bob, cw2, pcw (caseworkers), ld (lead), svc (service), aud (auditor)"

# --- api-new -------------------------------------------------------------------
INTAKE="First meeting at the probation office; talked about housing."
before=$(refs)
main0=$(tip)
run api-new -i cw.id --assign bob --date 2026-03-01 -m "$INTAKE"
rc=$?
ID=$(cat out)
[ $rc -eq 0 ] && oneline out && grep -Eqx "$CASE_RE" out && [ ! -s err ]
ok $? "api-new: exit 0, the case ID alone on stdout, nothing on stderr"
D=$(cdir "$ID")
git -C "$S" ls-tree -r --name-only main "$D" > tree
NOTE0=$(sed -n "s|^$D/notes/\(.*\)\.md\.age\$|\1|p" tree)
[ "$(wc -l < tree)" = 5 ] && grep -qx "$D/team" tree && grep -qx "$D/recipient" tree &&
	[ "$(grep -c "^$D/notes/" tree)" = 1 ] && [ "$(grep -c "^$D/events/" tree)" = 2 ] &&
	echo "$NOTE0" | grep -Eqx "$OBJ_RE" &&
	[ "$(grep "^$D/events/" tree | sed "s|^$D/events/||; s|\.age\$||" |
		grep -Ecx "$OBJ_RE")" = 2 ]
ok $? "cases/S/H/ID/: team, recipient, notes/NOTE.md.age, two events/EVENT.age"
[ "$(git -C "$S" ls-tree --name-only main cases/)" = "cases/$(echo "$ID" | cut -c1)" ]
ok $? "the shard directories are the ID's first and second characters"
[ "$(git -C "$S" ls-tree -r --name-only refs/api/keys)" = "$(printf '%s\n%s\n%s' "$D/events.age" "$D/key.age" "$D/key.for")" ] &&
	[ -z "$(git -C "$S" ls-tree -r --name-only main | grep 'key')" ]
ok $? "the case keys are on refs/api/keys at cases/S/H/ID/key.age and events.age, not on main"
[ "$(git -C "$S" show "refs/api/keys:$D/key.for")" = "$(printf 'recipient %s\nteam %s' \
	"$(git -C "$S" rev-parse "main:$D/recipient")" "$(git -C "$S" rev-parse "main:$D/team")")" ]
ok $? "key.for names the blob ids of the recipient and team files on main"
[ "$(git -C "$S" show "main:$D/team")" = "$(printf 'cw\nbob')" ] &&
	[ "$(git -C "$S" show "main:$D/team" | wc -c)" = 7 ]
ok $? "team: the caseworker who opened it first, then --assign bob"
[ "$(git -C "$S" rev-parse main~1)" = "$main0" ] &&
	[ "$(last %s)" = "new: case opened" ] && [ "$(trailer Api-Action)" = new ] &&
	[ "$(trailer Api-Case)" = "$ID" ] && [ "$(trailer Api-Object)" = "$NOTE0" ] &&
	[ "$(last '%an <%ae>')" = "cw <cw@api>" ]
ok $? "one commit on main: 'new: case opened', Api-Action: new, Api-Case, Api-Object: the intake note"
[ -z "$(git -C "$S" rev-list --parents -1 refs/api/keys | cut -s -d' ' -f2)" ] &&
	[ "$(last %s refs/api/keys)" = "keys: case keys written" ] &&
	[ "$(trailer Api-Action refs/api/keys)" = case-key ] &&
	[ "$(trailer Api-Case refs/api/keys)" = "$ID" ] &&
	[ "$(last %an refs/api/keys)" = cw ]
ok $? "refs/api/keys: one parentless commit 'keys: case keys written', Api-Action: case-key"

casekey "$ID" cw.id
ok $? "stock age opens the key envelope with a team member's identity (cw)"
[ "$(head -n 1 "$ID.key")" = "# api case keys: $ID" ] &&
	[ "$(grep -c '^AGE-SECRET-KEY-1[0-9A-Z]*$' "$ID.key")" = 2 ] &&
	[ "$(grep -vc '^#' "$ID.key")" = 2 ]
ok $? "the envelope is an age identity file: '# api case keys: ID', two AGE-SECRET-KEY-1 lines (notes, events)"
[ "$(git -C "$S" show "main:$D/recipient")" = "$(age-keygen -y "$ID.key")" ] &&
	[ "$(git -C "$S" show "main:$D/recipient" | wc -l)" = 2 ]
ok $? "recipient: the two public keys (notes, events), a line each"
cp "$ID.key" cw.key && casekey "$ID" bob.id && cmp -s "$ID.key" cw.key
ok $? "the assigned member (bob) opens the envelope too"
open "$ID" notes "$NOTE0" "$ID.key"
ok $? "stock age decrypts a note given the team member's identity (through the case key)"
[ "$(header plain)" = "$(printf 'Case: %s\nNote: %s\nAuthor: cw\nDate: 2026-03-01\nType: intake' \
	"$ID" "$NOTE0")" ] && [ "$(body plain)" = "$INTAKE" ]
ok $? "the intake note: Case:, Note: bound to its path, Author, Date, Type: intake; the text"
bad=0
for e in $(files "$ID" events | sed 's/\.age$//'); do
	open "$ID" events "$e" "$ID.key" && cp plain "ev.$e" || bad=1
done
[ $bad -eq 0 ]
ok $? "both events open with the case key"
grep -l '^Type: opened$' ev.* > opened && grep -l '^Type: contact$' ev.* > contact &&
	oneline opened && oneline contact &&
	[ "$(header "$(cat opened)")" = "$(printf 'Case: %s\nEvent: %s\nAuthor: cw\nDate: 2026-03-01\nType: opened\nPhase: intake' \
		"$ID" "$(sed 's/^ev\.//' opened)")" ] &&
	[ "$(header "$(cat contact)")" = "$(printf 'Case: %s\nEvent: %s\nAuthor: cw\nDate: 2026-03-01\nType: contact\nNote: %s\nKind: intake' \
		"$ID" "$(sed 's/^ev\.//' contact)" "$NOTE0")" ] &&
	[ -z "$(body "$(cat opened)")" ] && [ -z "$(body "$(cat contact)")" ]
ok $? "events: 'opened' (Phase: intake) and 'contact' (Note: the intake), header only"

# the service identity: events yes, notes and the envelope no
bad=0
evkey "$ID" svc.id || bad=1
for e in $(files "$ID" events | sed 's/\.age$//'); do
	open "$ID" events "$e" "$ID.evkey" && cmp -s plain "ev.$e" || bad=1
done
[ $bad -eq 0 ] && [ "$(grep -c '^AGE-SECRET-KEY-1' "$ID.evkey")" = 1 ]
ok $? "the service identity decrypts every event through events.age (one key)"
fails casekey "$ID" svc.id
ok $? "... but not the key envelope"
ld_events_ok=0
evkey "$ID" ld.id || ld_events_ok=1
for e in $(files "$ID" events | sed 's/\.age$//'); do
	open "$ID" events "$e" "$ID.evkey" || ld_events_ok=1
done
[ $ld_events_ok -eq 0 ] && casekey "$ID" ld.id && fails casekey "$ID" cw2.id &&
	fails evkey "$ID" cw2.id
ok $? "a lead off the team opens both envelopes (leads hold every case's keys); cw2 neither"

# --- team order -------------------------------------------------------------------
run api-new -i adm.id --assign bob --assign cw -m "intake"
A1=$(cat out)
[ "$(git -C "$S" show "main:$(cdir "$A1")/team")" = "$(printf 'bob\ncw\nadm')" ]
ok $? "an admin opening with --assign bob --assign cw: bob, cw, then adm"
run api-new -i ld.id -m "intake"
A2=$(cat out)
[ "$(git -C "$S" show "main:$(cdir "$A2")/team")" = ld ]
ok $? "a lead opening without --assign: the lead alone"
run api-new -i cw.id --assign bob --assign cw --assign bob -m "intake"
A3=$(cat out)
[ "$(git -C "$S" show "main:$(cdir "$A3")/team")" = "$(printf 'cw\nbob')" ]
ok $? "a caseworker assigning themselves and bob twice: cw, bob, no repeats"
run api-new -i cw.id --referral probation -m "referral received"
A4=$(cat out)
[ $? -eq 0 ] && [ "$(files "$A4" events | wc -l)" = 1 ] && casekey "$A4" cw.id &&
	open "$A4" events "$(files "$A4" events | sed 's/\.age$//')" "$A4.key" &&
	grep -qx 'Type: opened' plain && grep -qx 'Phase: referral' plain &&
	grep -qx 'Referral: probation' plain &&
	open "$A4" notes "$(files "$A4" notes | sed 's/\.md\.age$//')" "$A4.key" &&
	grep -qx 'Referral: probation' plain && grep -qx 'Type: intake' plain
ok $? "--referral: phase referral, no contact event, Referral: in note and event"

# --- api-log ---------------------------------------------------------------------------
before=$(refs)
main0=$(tip)
keys0=$(tip refs/api/keys)
TEXT="Talked about the job centre appointment."
run api-log -i cw.id "$ID" -m "$TEXT"
rc=$?
N1=$(cat out)
[ $rc -eq 0 ] && oneline out && grep -Eqx "$OBJ_RE" out && [ ! -s err ]
ok $? "api-log -m: exit 0, the note ID alone on stdout, nothing on stderr"
[ "$(git -C "$S" rev-parse main~1)" = "$main0" ] &&
	[ "$(tip refs/api/keys)" = "$keys0" ] &&
	[ "$(last %s)" = "log: note added" ] && [ "$(trailer Api-Action)" = log ] &&
	[ "$(trailer Api-Case)" = "$ID" ] && [ "$(trailer Api-Object)" = "$N1" ] &&
	[ "$(last '%an <%ae>')" = "cw <cw@api>" ]
ok $? "one commit on main: 'log: note added', Api-Action: log, Api-Case, Api-Object: the note; keys untouched"
[ "$(files "$ID" notes | wc -l)" = 2 ] && [ "$(files "$ID" events | wc -l)" = 3 ] &&
	files "$ID" notes | grep -qx "$N1.md.age"
ok $? "the case gains notes/NOTE.md.age and one event"
open "$ID" notes "$N1" "$ID.key" &&
	[ "$(header plain)" = "$(printf 'Case: %s\nNote: %s\nAuthor: cw\nDate: %s\nType: psychosocial' \
		"$ID" "$N1" "$(date -u +%Y-%m-%d)")" ] && [ "$(body plain)" = "$TEXT" ]
ok $? "the note: Case, Note, Author, Date (today, UTC), Type: psychosocial (default); the text"
new_event() { git -C "$S" diff-tree -r --name-only --diff-filter=A main~1 main |
	sed -n "s|^$D/events/\(.*\)\.age\$|\1|p"; }
E1=$(new_event)
evkey "$ID" svc.id && open "$ID" events "$E1" "$ID.evkey" &&
	[ "$(cat plain)" = "$(printf 'Case: %s\nEvent: %s\nAuthor: cw\nDate: %s\nType: contact\nNote: %s\nKind: psychosocial' \
		"$ID" "$E1" "$(date -u +%Y-%m-%d)" "$N1")" ]
ok $? "its contact event, readable by the service identity: Case, Event, Date, Note, Kind; no text"

printf '# Housing\n\nThe flat on *Hauptstrasse* fell through.\n\n- call the landlord\n' > note.md
run api-log -i bob.id "$ID" -t network --date 2026-03-02 --duration 090 \
	--partner jobcentre --next 2026-03-16 -F note.md
N2=$(cat out)
open "$ID" notes "$N2" "$ID.key" &&
	[ "$(header plain)" = "$(printf 'Case: %s\nNote: %s\nAuthor: bob\nDate: 2026-03-02\nType: network\nDuration: 90\nPartner: jobcentre\nNext: 2026-03-16' \
		"$ID" "$N2")" ] && body plain | cmp -s - note.md
ok $? "-F FILE by bob, with every option: all header fields, the file byte for byte"
E2=$(new_event)
open "$ID" events "$E2" "$ID.evkey" &&
	[ "$(cat plain)" = "$(printf 'Case: %s\nEvent: %s\nAuthor: bob\nDate: 2026-03-02\nType: contact\nNote: %s\nKind: network\nPartner: jobcentre\nNext: 2026-03-16' \
		"$ID" "$E2" "$N2")" ]
ok $? "... its event carries Kind, Partner (for the statistics) and Next, but not the text"
printf 'From standard input.\n' | run api-log -i cw.id "$ID" -t crisis
N3=$(cat out)
open "$ID" notes "$N3" "$ID.key" && grep -qx 'Type: crisis' plain &&
	[ "$(body plain)" = "From standard input." ]
ok $? "the text from standard input when it is not a terminal"
printf 'Via -F -.\n' | run api-log -i cw.id "$ID" -F -
N4=$(cat out)
open "$ID" notes "$N4" "$ID.key" && [ "$(body plain)" = "Via -F -." ]
ok $? "-F - reads standard input"
run api-log -i cw.id "$ID" --corrects "$N1" -m "Correction: it was the welfare office."
N5=$(cat out)
open "$ID" notes "$N5" "$ID.key" && grep -qx "Corrects: $N1" plain
ok $? "--corrects an existing note: Corrects: names it"
run api-log -i ld.id "$ID" -t assessment -m "Risk review."
[ $? -eq 0 ] && [ "$(last %an)" = ld ]
ok $? "a lead who is not on the team may log (the policy api-verify checks)"

P4=$(echo "$ID" | cut -c1-4)
P6=$(echo "$ID" | cut -c1-6 | tr 'A-Z' 'a-z')
run api-log -i cw.id "$P4" -m "by prefix"
N6=$(cat out)
[ -n "$N6" ] && files "$ID" notes | grep -qx "$N6.md.age"
ok $? "a 4-character prefix of the case ID"
run api-log -i cw.id "$P6" -m "by lower-case prefix"
N7=$(cat out)
[ -n "$N7" ] && files "$ID" notes | grep -qx "$N7.md.age"
ok $? "a 6-character lower-case prefix"

# a protected identity
run api-new -i pcw.id --passphrase-fd 3 -m "intake" 3< pw
PC=$(cat out)
run api-log -i pcw.id --passphrase-fd 3 "$PC" -m "note" 3< pw
[ $? -eq 0 ] && [ "$(last %an)" = pcw ] && [ "$(trailer Api-Case)" = "$PC" ]
ok $? "--passphrase-fd: a protected identity opens a case and logs"

# a 10 MB note
head -c 7500000 /dev/urandom | base64 > big.txt
run api-log -i cw.id "$ID" -F big.txt
NB=$(cat out)
[ "$(wc -c < big.txt)" -ge 10000000 ] && [ -n "$NB" ] &&
	open "$ID" notes "$NB" "$ID.key" &&
	n=$(sed -n '/^$/{=;q;}' plain) && tail -n +$((n + 1)) plain | cmp -s - big.txt
ok $? "a 10 MB note is accepted and stock age decrypts it back byte for byte"
rm -f big.txt plain rec.age

# --- who may log -----------------------------------------------------------------------
before=$(refs)
run api-log -i cw2.id "$ID" -m "not mine"
refused $? 1 cw2 "a caseworker not on the team cannot log: exit 1, one line naming cw2"
grep -q "$ID" err
ok $? "... and the case"
run api-log -i aud.id "$ID" -m "audit"
refused $? 1 aud "an auditor cannot log"
run api-log -i svc.id "$ID" -m "cron"
refused $? 1 svc "a service identity cannot log"

# --- bad input: api-log ----------------------------------------------------------------
run api-log -i cw.id ZZZZZZZZZZ -m x
refused $? 1 ZZZZZZZZZZ "an unknown case: exit 1, named"
run api-log -i cw.id "$(echo "$ID" | cut -c1-3)" -m x
refused $? 1 "$(echo "$ID" | cut -c1-3)" "a prefix of 3 characters: refused, named"
run api-log -i cw.id 'ab$cd' -m x
refused $? 1 'ab$cd' "a case ID with characters outside Crockford base32"
run api-log -i cw2.id "$P4" -m x
refused $? 1 cw2 "a case not on my team, by prefix"
run api-log -i cw.id "$ID" --date 2026-02-30 -m x
refused $? 1 2026-02-30 "--date 2026-02-30: refused, named"
run api-log -i cw.id "$ID" --date tomorrow -m x
refused $? 1 tomorrow "--date tomorrow"
run api-log -i cw.id "$ID" --date 2026-3-1 -m x
refused $? 1 2026-3-1 "--date 2026-3-1 (not YYYY-MM-DD)"
run api-log -i cw.id "$ID" --next 2025-02-29 -m x
refused $? 1 2025-02-29 "--next 2025-02-29 (not a leap year)"
run api-log -i cw.id "$ID" -t therapy -m x
refused $? 1 therapy "an unknown type: refused, named"
run api-log -i cw.id "$ID" -t '' -m x
rc=$?
[ $rc -ne 0 ] && [ "$(refs)" = "$before" ] && oneline err
ok $? "an empty type: refused"
run api-log -i cw.id "$ID" --duration 0 -m x
refused $? 1 "'0'" "--duration 0"
run api-log -i cw.id "$ID" --duration 1h -m x
refused $? 1 1h "--duration 1h"
run api-log -i cw.id "$ID" -m ""
refused $? 1 empty "-m '': refused as empty"
run api-log -i cw.id "$ID" -m "$(printf ' \t\n \n')  "
refused $? 1 empty "-m with white space only"
run api-log -i cw.id "$ID" < /dev/null
refused $? 1 empty "empty standard input"
printf '\n\t \r\n' | run api-log -i cw.id "$ID"
refused $? 1 empty "standard input with white space only"
: > empty.md
run api-log -i cw.id "$ID" -F empty.md
refused $? 1 empty "an empty -F FILE"
printf 'line one\nline\000two\n' | run api-log -i cw.id "$ID"
refused $? 1 NUL "a NUL byte on standard input: refused, named"
grep -q 'line 2' err
ok $? "... with its line"
printf 'caf\351\n' | run api-log -i cw.id "$ID"
refused $? 1 UTF-8 "invalid UTF-8 on standard input (Latin-1)"
printf 'a\300\257b' > overlong.md
run api-log -i cw.id "$ID" -F overlong.md
refused $? 1 UTF-8 "invalid UTF-8 in -F FILE (an overlong '/')"
printf 'surrogate \355\240\200\n' > surr.md
run api-log -i cw.id "$ID" -F surr.md
refused $? 1 UTF-8 "invalid UTF-8: an encoded surrogate"
run api-log -i cw.id "$ID" -m "$(printf 'caf\351')"
refused $? 1 UTF-8 "invalid UTF-8 in -m"
run api-log -i cw.id "$ID" --partner "$(printf 'job\351')" -m x
refused $? 1 Partner "invalid UTF-8 in --partner"
run api-log -i cw.id "$ID" --partner "$(printf 'a\tb')" -m x
refused $? 1 Partner "a control character in --partner"
run api-log -i cw.id "$ID" -F "$W/missing.md"
refused $? 1 missing.md "a missing -F FILE: named"
head -c 17000000 /dev/zero | tr '\0' a > huge.md
run api-log -i cw.id "$ID" -F huge.md
refused $? 1 16777216 "a note over 16 MiB in -F: refused with the limit"
run api-log -i cw.id "$ID" < huge.md
refused $? 1 16777216 "a note over 16 MiB on standard input"
rm -f huge.md
run api-log -i cw.id "$ID" --corrects 20260101T000000Z-zzzzzz -m x
refused $? 1 20260101T000000Z-zzzzzz "--corrects an unknown note: refused, named"
run api-log -i cw.id "$ID" --corrects "$NOTE0.md.age" -m x
refused $? 1 "$NOTE0.md.age" "--corrects a file name instead of a note ID"
run api-log -i "$W/missing.id" "$ID" -m x
refused $? 1 missing.id "no identity file (-i): named"
run api-log "$ID" -m x
refused $? 1 "$XDG_CONFIG_HOME/api/identity" "no identity at the default place: the path named"
run api-log -i pcw.id --passphrase-fd 3 "$PC" -m x 3< badpw
refused $? 1 passphrase "a wrong passphrase: refused, named"
run api-log -i pcw.id "$PC" -m x < /dev/null
refused $? 1 passphrase-fd "a protected identity and no terminal: told to use --passphrase-fd"
chmod 644 cw.id
run api-log -i cw.id "$ID" -m x
refused $? 1 cw.id "an identity file readable by others"
chmod 600 cw.id

run api-log -i cw.id "$ID" --bogus -m x
usage $? "an unknown option: exit 2, usage"
run api-log -i cw.id "$ID" -m x -F note.md
usage $? "-m and -F together: exit 2"
run api-log -i cw.id -m x
usage $? "no CASE: exit 2"
run api-log -i cw.id "$ID" "$ID" -m x
usage $? "two CASEs: exit 2"
run api-log -i cw.id "$ID" -t
usage $? "-t without its argument: exit 2"
run api-log --help
[ $? -eq 0 ] && [ ! -s err ] && head -n 1 out | grep -q '^api-log - .' &&
	grep -q '^usage: api-log' out
ok $? "api-log --help"

# --- bad input: api-new ------------------------------------------------------------------
run api-new -i cw.id --date 2026-02-30 -m x
refused $? 1 2026-02-30 "api-new --date 2026-02-30"
run api-new -i cw.id --date tomorrow -m x
refused $? 1 tomorrow "api-new --date tomorrow"
run api-new -i cw.id -m ""
refused $? 1 empty "api-new -m ''"
run api-new -i cw.id < /dev/null
refused $? 1 empty "api-new with empty standard input"
printf 'a\000b' | run api-new -i cw.id
refused $? 1 NUL "api-new: a NUL byte on standard input"
printf 'caf\351' | run api-new -i cw.id
refused $? 1 UTF-8 "api-new: invalid UTF-8 on standard input"
run api-new -i cw.id --assign nobody -m x
refused $? 1 nobody "--assign someone who is not staff: named"
run api-new -i cw.id --assign svc -m x
refused $? 1 svc "--assign a service identity"
run api-new -i cw.id --assign 'Bad!' -m x
refused $? 1 'Bad!' "--assign an invalid handle"
run api-new -i aud.id -m x
refused $? 1 aud "an auditor cannot open a case"
run api-new -i svc.id -m x
refused $? 1 svc "a service identity cannot open a case"
run api-new -i "$W/missing.id" -m x
refused $? 1 missing.id "api-new: no identity file"
run api-new -i pcw.id --passphrase-fd 3 -m x 3< badpw
refused $? 1 passphrase "api-new: a wrong passphrase"
run api-new -i cw.id --referral "$(printf 'a\nb')" -m x
refused $? 1 Referral "api-new: a newline in --referral"
git clone -q --bare "$S" "$W/copy" 2> /dev/null &&
	! git -C "$W/copy" rev-parse -q --verify refs/api/keys > /dev/null
ok $? "a plain clone of the store has no refs/api/keys"
copyrefs=$(git -C "$W/copy" for-each-ref)
run api-new -C "$W/copy" -i cw.id -m x
rc=$?
[ $rc -eq 1 ] && [ ! -s out ] && oneline err && grep -q 'refs/api/keys' err &&
	[ "$(git -C "$W/copy" for-each-ref)" = "$copyrefs" ]
ok $? "api-new there: refused naming refs/api/keys (a new one would replace every case's key), refs unchanged"
run api-new -i cw.id -m x extra
usage $? "api-new with an argument: exit 2"
run api-new -i cw.id -m x -F note.md
usage $? "api-new -m and -F: exit 2"
run api-new -i cw.id --frob
usage $? "api-new --frob: exit 2"

# --- the editor --------------------------------------------------------------------------
# ed-fill: keeps the template, sets Type and Partner, adds a body
cat > ed-fill <<EOF
#!/bin/sh
cp "\$1" '$W/tmpl'
stat -c %a "\$1" > '$W/fmode'
stat -c %a "\$(dirname "\$1")" > '$W/dmode'
dirname "\$1" > '$W/edir'
sed -i 's/^Type:.*/Type: crisis/; s/^Partner:.*/Partner: police/' "\$1"
printf 'Body from the editor.\n' >> "\$1"
EOF
printf '#!/bin/sh\nexit 3\n' > ed-fail
printf '#!/bin/sh\n: > "$1"\n' > ed-empty
printf '#!/bin/sh\nprintf "Type: crisis" > "$1"\n' > ed-headonly
printf '#!/bin/sh\nprintf "Mood: good\\n\\nbody\\n" > "$1"\n' > ed-badfield
chmod +x ed-fill ed-fail ed-empty ed-headonly ed-badfield
NT=$(stat -f -c %T "$XDG_RUNTIME_DIR" 2>/dev/null)
case $NT in
tmpfs|ramfs) NONTMPFS=$(mktemp -d /var/tmp/api-test.XXXXXX 2>/dev/null) &&
	case $(fstype "$NONTMPFS") in tmpfs|ramfs) rm -rf "$NONTMPFS"; NONTMPFS= ;; esac ;;
*) NONTMPFS=$XDG_RUNTIME_DIR ;;
esac
if ! have script; then
	for i in $(seq 21); do skip "script(1) not installed: the editor runs only on a terminal"; done
elif [ -z "$SHM" ]; then
	for i in $(seq 21); do skip "no tmpfs at /dev/shm for the editor"; done
else
	before=$(refs)
	main0=$(tip)
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-fill"
	 on_tty api-log -i cw.id "$ID" -t network --date 2026-05-01)
	rc=$?
	NE=$(cat out)
	[ $rc -eq 0 ] && oneline out && grep -Eqx "$OBJ_RE" out && [ ! -s err ] &&
		[ "$(git -C "$S" rev-parse main~1)" = "$main0" ]
	ok $? "the editor on a terminal: exit 0, the note ID alone, one commit"
	[ $rc -eq 0 ] || diag "exit $rc: $(cat err tty)"
	grep -qx 'Type: network' tmpl && grep -qx 'Date: 2026-05-01' tmpl &&
		grep -qx 'Partner: ' tmpl && grep -q '^<!-- .*-->$' tmpl
	ok $? "the template: the header from the options, a marker line"
	[ "$(cat fmode)" = 600 ] && [ "$(cat dmode)" = 700 ]
	ok $? "the file being edited is 0600, in a 0700 directory"
	case $(cat edir) in "$SHM"/api-edit.*) true ;; *) false ;; esac &&
		[ ! -e "$(cat edir)" ] && [ -z "$(ls -A "$SHM")" ]
	ok $? "the directory was under \$XDG_RUNTIME_DIR, and is gone"
	open "$ID" notes "$NE" "$ID.key" &&
		[ "$(header plain)" = "$(printf 'Case: %s\nNote: %s\nAuthor: cw\nDate: 2026-05-01\nType: crisis\nPartner: police' \
			"$ID" "$NE")" ] &&
		[ "$(body plain)" = "Body from the editor." ] && ! grep -q '<!--' plain
	ok $? "the note: header fields as edited, the body without the marker"

	before=$(refs)
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-fail"
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 editor "an editor that exits 3: exit 1, one line, nothing written"
	grep -q "status 3" err && [ -z "$(ls -A "$SHM")" ]
	ok $? "... naming its status; the directory is wiped"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR=true
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 unchanged "an untouched template (EDITOR=true): nothing written"
	[ -z "$(ls -A "$SHM")" ]
	ok $? "... the directory is wiped"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-empty"
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 empty "an editor that empties the file: nothing written"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-headonly"
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 empty "an editor that leaves one header line without a newline: empty"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-badfield"
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 Mood "an unknown header field from the editor: named"
	rm -f tmpl
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-fill"
	 on_tty api-log -i cw2.id "$ID")
	refused $? 1 cw2 "not on the team: refused before the editor runs"
	[ ! -e tmpl ] && [ -z "$(ls -A "$SHM")" ]
	ok $? "... the editor never ran, nothing in the tmpfs directory"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-fill"
	 on_tty api-log -i cw.id "$ID" -t therapy --date tomorrow)
	refused $? 1 therapy "-t therapy: refused before the editor runs"
	[ ! -e tmpl ]
	ok $? "... the editor never ran"
	if [ -n "$NONTMPFS" ]; then
		(export XDG_RUNTIME_DIR="$NONTMPFS" EDITOR="$W/ed-fill"
		 on_tty api-log -i cw.id "$ID")
		refused $? 1 "$NONTMPFS" "\$XDG_RUNTIME_DIR on a disk: refused, naming it"
		[ -z "$(ls -A "$NONTMPFS")" ]
		ok $? "... and nothing was made there"
	else
		skip "no directory outside a tmpfs found"
		skip "no directory outside a tmpfs found"
	fi
	case $NONTMPFS in /var/tmp/*) rm -rf "$NONTMPFS" ;; esac
	(export XDG_RUNTIME_DIR="$SHM/missing" EDITOR="$W/ed-fill"
	 on_tty api-log -i cw.id "$ID")
	refused $? 1 "$SHM/missing" "\$XDG_RUNTIME_DIR missing: refused, naming it"
	(unset XDG_RUNTIME_DIR; export EDITOR="$W/ed-fill"
	 on_tty api-log -i cw.id "$ID")
	[ $? -eq 0 ] && case $(cat edir) in /dev/shm/api-edit.*) true ;; *) false ;; esac &&
		[ ! -e "$(cat edir)" ]
	ok $? "\$XDG_RUNTIME_DIR unset: the editor works in /dev/shm, which is cleaned"
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed-fill"
	 on_tty api-new -i cw.id --date 2026-05-02)
	A5=$(cat out)
	grep -qx 'Date: 2026-05-02' tmpl && grep -q '^Referral:' tmpl &&
		echo "$A5" | grep -Eqx "$CASE_RE" && casekey "$A5" cw.id &&
		open "$A5" notes "$(files "$A5" notes | sed 's/\.md\.age$//')" "$A5.key" &&
		[ "$(body plain)" = "Body from the editor." ] && grep -qx 'Date: 2026-05-02' plain
	ok $? "api-new through the editor: the intake as written"
fi

# --- least privilege, over every note written above ------------------------------------------
nn=0 svc_read=0 ld_read=0 team_read=0
for n in $(files "$ID" notes | sed 's/\.md\.age$//'); do
	nn=$((nn + 1))
	open "$ID" notes "$n" svc.id && svc_read=$((svc_read + 1))
	open "$ID" notes "$n" ld.id && ld_read=$((ld_read + 1))
	open "$ID" notes "$n" "$ID.key" && grep -qx "Note: $n" plain &&
		grep -qx "Case: $ID" plain && team_read=$((team_read + 1))
done
[ $nn -ge 10 ] && [ $svc_read -eq 0 ]
ok $? "the service identity opens none of the case's $nn notes"
[ $ld_read -eq 0 ]
ok $? "nor does a lead's own identity directly (a lead reads through key.age)"
[ $team_read -eq $nn ]
ok $? "the case key opens every one, each bound to its case and name"
ne=0 svc_read=0
evkey "$ID" svc.id
for e in $(files "$ID" events | sed 's/\.age$//'); do
	ne=$((ne + 1))
	open "$ID" events "$e" svc.id && svc_read=$((svc_read - 1000))
	open "$ID" events "$e" "$ID.evkey" && grep -qx "Event: $e" plain &&
		grep -qx "Case: $ID" plain && svc_read=$((svc_read + 1))
done
[ $ne -ge 10 ] && [ $svc_read -eq $ne ]
ok $? "the service identity opens all $ne events (through events.age, none directly), each bound to its case and name"

# --- the whole store, as an auditor sees it ------------------------------------------------
run api-verify
[ $? -eq 0 ] && grep -Eqx 'ok: [0-9]+ commits verified' out && [ ! -s err ]
ok $? "api-verify: ok"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck
ok $? "git fsck --strict: clean (dangling commits aside: replaced key envelopes)"
git -C "$S" show main:allowed_signers > "$W/allowed"
git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --format=%G? \
	main refs/api/keys > g 2> /dev/null
[ -s g ] && [ "$(sort -u g)" = G ]
ok $? "every commit on main and refs/api/keys: %G? = G"
git -C "$S" log --format=%B main refs/api/keys | grep -v '^$' | grep -Evx \
	"(new: case opened|log: note added|keys: case keys written|keys: case keys removed \\(case not opened\\)|init: store created|staff: member added|Api-Action: [a-z-]+|Api-Case: $CASE_RE|Api-Object: ($OBJ_RE|staff/[a-z0-9._-]+|api\.conf))" > bad
[ ! -s bad ]
ok $? "commit messages: generic subjects and Api- trailers, nothing else"
[ -s bad ] && diag "$(head -n 3 bad)"
git -C "$S" log --format=%B main refs/api/keys |
	grep -E 'probation|job ?centre|police|Housing|housing|Body from' > bad
[ ! -s bad ]
ok $? "no text, partner or referral in any commit message"
[ -z "$(find "$S" -name '*.lock' -o -name '*.tmp.*')" ]
ok $? "no lock or temporary files left in the store"

done_testing
