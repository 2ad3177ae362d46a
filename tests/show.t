#!/bin/sh
# show.t - api-show: a whole case in time order as Markdown, one record by
# ID or unique prefix, --raw byte for byte what stock age decrypts,
# control characters raw to a pipe and neutralised on a terminal, the
# binding of a record to its path (a moved or renamed ciphertext is named
# as tampering), garbage, who may read, and bad arguments.
. "$(dirname "$0")/lib.sh"

workdir
have() { command -v "$1" >/dev/null 2>&1; }

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
# files ID KIND [REPO]: names of notes/ or events/ of case ID on main
files() { git -C "${3:-$S}" ls-tree --name-only "main:$(cdir "$1")/$2" 2>/dev/null; }
# newev: the event added by main's tip commit
newev() { git -C "$S" diff-tree -r --name-only --diff-filter=A main~1 main |
	sed -n 's|^cases/.*/events/\(.*\)\.age$|\1|p'; }
# casekey ID IDFILE: the case key of ID opened by stock age, into $W/ID.key
casekey() {
	git -C "$S" show "refs/api/keys:$(cdir "$1")/key.age" > "$W/env.age" &&
	age -d -i "$2" -o "$W/$1.key" "$W/env.age" 2> /dev/null
}
# agedec ID PATH-IN-CASE: that file on main, decrypted by stock age with
# the case key $W/ID.key, on stdout
agedec() { git -C "$S" show "main:$(cdir "$1")/$2" | age -d -i "$W/$1.key"; }
# refused RC WORD DESC: exit 1, nothing on stdout, one line on stderr
# beginning "api-show: " and holding WORD
refused() {
	[ "$1" -eq 1 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-show: ' "$W/err" && grep -qF -- "$2" "$W/err"
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}
# q WORD: WORD quoted for sh
q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }
# on_tty CMD ARGS...: CMD with its standard output on a terminal (through
# script(1)); what it wrote, carriage returns removed, in $W/out
on_tty() {
	_c=exec
	for _a; do _c="$_c $(q "$_a")"; done
	SHELL=/bin/sh script -qec "$_c" /dev/null < /dev/null > "$W/tty" 2>&1
	_rc=$?
	tr -d '\r' < "$W/tty" > "$W/out"
	return $_rc
}
# stockcommit REPO OP PATH [FILE]...: a commit by stock git (unsigned) on
# main of REPO, with main's tree changed by "add PATH FILE", "rm PATH",
# "cp FROM TO" (a tree entry copied, blob or tree)
stockcommit() {
	_r=$1 _ix=$W/index
	shift
	rm -f "$_ix"
	GIT_INDEX_FILE=$_ix git -C "$_r" read-tree main || return 1
	while [ $# -gt 0 ]; do
		case $1 in
		add) _o=$(git -C "$_r" hash-object -w --stdin < "$3") &&
			GIT_INDEX_FILE=$_ix git -C "$_r" update-index --add \
				--cacheinfo "100644,$_o,$2" || return 1; shift 3 ;;
		rm) printf '0 %040d\t%s\n' 0 "$2" | GIT_INDEX_FILE=$_ix \
				git -C "$_r" update-index --index-info || return 1
			shift 2 ;;
		cp) git -C "$_r" ls-tree -r main "$2" | while IFS='	' read -r _m _p; do
				printf '%s\t%s\n' "$_m" "$3${_p#"$2"}"
			done | GIT_INDEX_FILE=$_ix git -C "$_r" update-index \
				--index-info || return 1
			shift 3 ;;
		esac
	done
	_t=$(GIT_INDEX_FILE=$_ix git -C "$_r" write-tree) &&
	_c=$(git -C "$_r" commit-tree "$_t" -p main -m "log: note added") &&
	git -C "$_r" update-ref refs/heads/main "$_c"
}
# mirror NAME: a full copy of the store (main and refs/api/keys) at $W/NAME
mirror() { rm -rf "$W/$1" && git clone -q --mirror "$S" "$W/$1"; }

# --- the staff and a case ------------------------------------------------------
bad=0
for h in adm cw1 cw2 ld svc; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in cw1:caseworker cw2:caseworker ld:lead svc:service; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ]
ok $? "a store: adm (admin), cw1, cw2 (caseworkers), ld (lead), svc (service)"

INTAKE="First meeting at the probation office."
A=$(api-new -i cw1.id --date 2026-01-05 -m "$INTAKE" 2> /dev/null)
D=$(cdir "$A")
N0=$(files "$A" notes | sed 's/\.md\.age$//')
E0=$(for e in $(files "$A" events | sed 's/\.age$//'); do
	casekey "$A" cw1.id && agedec "$A" "events/$e.age" 2> /dev/null |
		grep -qx 'Type: opened' && echo "$e"; done)
[ -n "$A" ] && [ -n "$N0" ] && [ -n "$E0" ] && casekey "$A" cw1.id
ok $? "cw1 opens case A on 2026-01-05 (intake note and opened event)"

# notes and events, written out of date order
N1=$(api-log -i cw1.id "$A" -t psychosocial --date 2026-02-10 --duration 45 \
	--next 2026-02-24 -m "Talked about the flat." 2> /dev/null)
printf '# Job centre\n\nCalled *the police* liaison.\n\n- ask about the hearing\n' > n2.md
N2=$(api-log -i cw1.id "$A" -t network --partner police --date 2026-01-20 \
	-F n2.md 2> /dev/null)
N3=$(api-log -i cw1.id "$A" -t crisis --date 2026-02-10 -m "Late call." 2> /dev/null)
api-status -i cw1.id "$A" --set active --date 2026-02-01 > /dev/null 2>&1
E1=$(newev)
E2=$(api-status -i cw1.id "$A" --schedule appointment 2026-03-01 \
	--partner jobcentre 2> /dev/null)
N4=$(printf 'Bell\007 esc \033[31mred\033[0m csi \302\233x del\177 cr\r tab\there\n' |
	api-log -i cw1.id "$A" -t admin --date 2026-03-05 2> /dev/null)
N5=$(api-log -i cw1.id "$A" --corrects "$N1" --date 2026-02-11 -m "It was the flat on the corner." \
	2> /dev/null)
[ -n "$N1" ] && [ -n "$N2" ] && [ -n "$N3" ] && [ -n "$N4" ] && [ -n "$N5" ] &&
	[ -n "$E1" ] && [ -n "$E2" ]
ok $? "five notes and two events (phase, appointment), written out of date order"

# --- the whole case ------------------------------------------------------------
# the two records of 2026-01-05 sort by ID
blk_n0() { printf '\n## 2026-01-05 note: intake (cw1)\n\nID: %s\n\n%s\n' "$N0" "$INTAKE"; }
blk_e0() { printf '\n## 2026-01-05 event: opened (cw1)\n\nPhase: intake  \nEvent: %s\n' "$E0"; }
first=$(printf '%s\n%s\n' "$N0" "$E0" | LC_ALL=C sort | head -n 1)
{
	printf '# Case %s\n\nTeam: cw1 (lead)\n' "$A"
	if [ "$first" = "$N0" ]; then blk_n0; blk_e0; else blk_e0; blk_n0; fi
	printf '\n## 2026-01-20 note: network (cw1)\n\nPartner: police  \nID: %s\n\n' "$N2"
	cat n2.md
	printf '\n## 2026-02-01 event: phase (cw1)\n\nPhase: active  \nFrom: intake  \nEvent: %s\n' "$E1"
	printf '\n## 2026-02-10 note: psychosocial (cw1)\n\nDuration: 45  \nNext: 2026-02-24  \nID: %s\n\nTalked about the flat.\n' "$N1"
	printf '\n## 2026-02-10 note: crisis (cw1)\n\nID: %s\n\nLate call.\n' "$N3"
	printf '\n## 2026-02-11 note: psychosocial (cw1)\n\nCorrects: %s  \nID: %s\n\nIt was the flat on the corner.\n' "$N1" "$N5"
	printf '\n## 2026-03-01 event: appointment (cw1)\n\nPartner: jobcentre  \nEvent: %s\n' "$E2"
	printf '\n## 2026-03-05 note: admin (cw1)\n\nID: %s\n\n' "$N4"
	printf 'Bell\007 esc \033[31mred\033[0m csi \302\233x del\177 cr\r tab\there\n'
} > want.md
run api-show -i cw1.id "$A"
rc=$?
[ $rc -eq 0 ] && [ ! -s err ]
ok $? "api-show CASE: exit 0, nothing on stderr"
cmp -s out want.md
ok $? "the whole case as Markdown, byte for byte: by Date, then ID; contact events left out"
cmp -s out want.md || diag "$(diff want.md out | head -n 20)"
run api-show -i cw1.id "$(echo "$A" | cut -c1-5 | tr 'A-Z' 'a-z')"
[ $? -eq 0 ] && cmp -s out want.md
ok $? "a lower-case prefix of the case ID shows the same"
run api-show -C "$S" -i cw1.id --no-pager "$A"
[ $? -eq 0 ] && cmp -s out want.md
ok $? "-C DIR and --no-pager: the same"

# --- one record ----------------------------------------------------------------
printf '\n## 2026-02-10 note: psychosocial (cw1)\n\nDuration: 45  \nNext: 2026-02-24  \nID: %s\n\nTalked about the flat.\n' "$N1" > want1.md
run api-show -i cw1.id "$A" "$N1"
[ $? -eq 0 ] && [ ! -s err ] && cmp -s out want1.md
ok $? "api-show CASE NOTE: that note alone, as Markdown"
P1=$(echo "$N1" | sed 's/...$//')
run api-show -i cw1.id "$A" "$P1"
[ $? -eq 0 ] && cmp -s out want1.md
ok $? "a unique prefix of the note ID ($P1)"
printf '\n## 2026-03-01 event: appointment (cw1)\n\nPartner: jobcentre  \nEvent: %s\n' "$E2" > want2.md
run api-show -i cw1.id "$A" "$E2"
[ $? -eq 0 ] && cmp -s out want2.md
ok $? "api-show CASE EVENT: an event alone"

# --- --raw: what stock age decrypts -----------------------------------------------
agedec "$A" "notes/$N1.md.age" > n1.plain 2> /dev/null
run api-show -i cw1.id --raw "$A" "$N1"
[ $? -eq 0 ] && [ -s n1.plain ] && cmp -s out n1.plain
ok $? "--raw CASE NOTE: byte-identical to stock age -d through the case key"
[ "$(head -n 2 out)" = "$(printf 'Case: %s\nNote: %s' "$A" "$N1")" ]
ok $? "... which begins with Case: and Note: (the binding)"
agedec "$A" "notes/$N4.md.age" > n4.plain 2> /dev/null
run api-show -i cw1.id --raw "$A" "$N4"
[ $? -eq 0 ] && cmp -s out n4.plain && tail -c 50 out | grep -q "$(printf '\033')"
ok $? "--raw of the note with control characters: identical, ESC kept"
agedec "$A" "events/$E2.age" > e2.plain 2> /dev/null
run api-show -i cw1.id --raw "$A" "$E2"
[ $? -eq 0 ] && cmp -s out e2.plain
ok $? "--raw CASE EVENT: identical to stock age"
# the whole case raw: each record in time order, a form feed line between
: > wantraw
n=0
if [ "$first" = "$N0" ]; then order="n:$N0 e:$E0"; else order="e:$E0 n:$N0"; fi
for r in $order n:$N2 e:$E1 n:$N1 n:$N3 n:$N5 e:$E2 n:$N4; do
	# a form feed line between records; after one that does not end
	# in a newline, a newline first
	[ $n -gt 0 ] && { [ -z "$(tail -c 1 wantraw)" ] || echo; } >> wantraw &&
		printf '\f\n' >> wantraw
	case $r in
	n:*) agedec "$A" "notes/${r#n:}.md.age" >> wantraw 2> /dev/null ;;
	e:*) agedec "$A" "events/${r#e:}.age" >> wantraw 2> /dev/null ;;
	esac
	n=$((n + 1))
done
run api-show -i cw1.id --raw "$A"
[ $? -eq 0 ] && cmp -s out wantraw
ok $? "--raw CASE: every record (contacts aside) as stock age gives it, in time order, form feeds between"

# --- control characters ----------------------------------------------------------
run api-show -i cw1.id "$A" "$N4"
printf '\n## 2026-03-05 note: admin (cw1)\n\nID: %s\n\n' "$N4" > want4.md
printf 'Bell\007 esc \033[31mred\033[0m csi \302\233x del\177 cr\r tab\there\n' >> want4.md
[ $? -eq 0 ] && cmp -s out want4.md
ok $? "stdout not a terminal: control characters printed as they are"
R=$(printf '\357\277\275')
printf '\n## 2026-03-05 note: admin (cw1)\n\nID: %s\n\n' "$N4" > want4t.md
printf 'Bell%s esc %s[31mred%s[0m csi %sx del%s cr%s tab\there\n' "$R" "$R" "$R" "$R" "$R" "$R" >> want4t.md
if have script; then
	on_tty api-show -i cw1.id --no-pager "$A" "$N4"
	[ $? -eq 0 ] && cmp -s out want4t.md
	ok $? "on a terminal (--no-pager): C0, C1, DEL and CR become U+FFFD; tab and newline stay"
	cmp -s out want4t.md || diag "$(od -c out | head -n 12)"
	(export PAGER=cat; on_tty api-show -i cw1.id "$A" "$N4")
	[ $? -eq 0 ] && cmp -s out want4t.md
	ok $? "on a terminal through PAGER=cat: neutralised the same"
	(export PAGER=cat; on_tty api-show -i cw1.id "$A")
	[ $? -eq 0 ] && ! grep -q "$(printf '\033')" out &&
		[ "$(grep -c "$R" out)" = 1 ] && grep -q '^# Case ' out
	ok $? "the whole case on a terminal: no ESC reaches it"
	on_tty api-show -i cw1.id --no-pager --raw "$A" "$N4"
	[ $? -eq 0 ] && ! grep -q "$(printf '\033')" out && grep -q "csi ${R}x" out
	ok $? "--raw on a terminal: neutralised too"
else
	for i in 1 2 3 4; do skip "script(1) not installed"; done
fi

# --- who may read -----------------------------------------------------------------
# leads hold every case's keys (to assign it), and may read it
run api-show -i ld.id "$A"
[ $? -eq 0 ] && grep -q "^# Case $A" out
ok $? "a lead off the team reads the case: leads hold the keys of every case"
for who in cw2 svc; do
	run api-show -i $who.id "$A"
	refused $? "$who is not on the team of case $A" "$who (not on the team): refused, one line"
	grep -q 'a lead (ld) can grant' err && grep -q "api grant $A $who" err
	ok $? "... naming the leads, who hold the keys and can grant access (ld)"
done
run api-show -i cw2.id --raw "$A" "$N1"
refused $? "cw2 is not on the team" "cw2 asking for one note --raw: refused too"

# --- binding: moved, renamed, copied ciphertexts ---------------------------------------
B=$(api-new -i cw1.id --assign ld --date 2026-04-01 -m "Case B." 2> /dev/null)
DB=$(cdir "$B")
[ -n "$B" ] && [ "$B" != "$A" ]
ok $? "cw1 opens case B with ld on its team"
FAKE=20260101T000000.000Z-aaaaaa

# a note renamed inside its case
mirror m1
git -C m1 show "main:$D/notes/$N1.md.age" > n1.age
stockcommit m1 rm "$D/notes/$N1.md.age" add "$D/notes/$FAKE.md.age" n1.age
ok $? "stock git: a note renamed inside case A"
run api-show -C m1 -i cw1.id "$A"
refused $? "$D/notes/$FAKE.md.age" "api-show CASE: the renamed note is named, exit 1"
grep -q 'tampering' err && grep -q 'moved ciphertext' err
ok $? "... as tampering (moved ciphertext)"
run api-show -C m1 -i cw1.id "$A" "$FAKE"
refused $? "moved ciphertext" "api-show CASE NOTE of the renamed note: the same"
run api-show -C m1 -i cw1.id --raw "$A" "$FAKE"
refused $? "moved ciphertext" "... and with --raw: nothing printed"
run api-show -C m1 -i cw1.id "$A" "$N2"
[ $? -eq 0 ] && grep -qx "ID: $N2" out
ok $? "another note of that case is still shown by itself"

# a note of case A copied into case B, whose team can read both
mirror m2
stockcommit m2 cp "$D/notes/$N2.md.age" "$DB/notes/$N2.md.age"
ok $? "stock git: a note of case A copied into case B"
run api-show -C m2 -i cw1.id "$B"
refused $? "$DB/notes/$N2.md.age" "api-show B: the copied note is named, exit 1"
grep -q 'tampering' err && grep -q 'moved ciphertext' err
ok $? "... as tampering (moved ciphertext), not as a missing right"
run api-show -C m2 -i cw1.id "$A"
[ $? -eq 0 ] && cmp -s out want.md
ok $? "case A itself still shows as before"

# an event of case A copied into case B: ld decrypts it with ld's own key
mirror m3
stockcommit m3 cp "$D/events/$E2.age" "$DB/events/$E2.age"
ok $? "stock git: an event of case A copied into case B"
run api-show -C m3 -i ld.id "$B"
refused $? "$DB/events/$E2.age" "ld (on B's team) reading B: the event is named, exit 1"
grep -q 'tampering' err && grep -q 'moved ciphertext' err
ok $? "... as tampering (moved ciphertext): it decrypts but names case A"
run api-show -C m3 -i cw1.id "$B"
refused $? "$DB/events/$E2.age" "cw1 reading B: named as well"
grep -q 'moved ciphertext' err
ok $? "... as moved ciphertext"

# a note replaced by garbage
mirror m4
printf 'this is not an age file\n' > garbage
stockcommit m4 add "$D/notes/$N3.md.age" garbage
ok $? "stock git: a note replaced by garbage"
run api-show -C m4 -i cw1.id "$A"
refused $? "$D/notes/$N3.md.age" "api-show CASE: one line naming the garbage file, exit 1"
run api-show -C m4 -i cw1.id "$A" "$N3"
refused $? "$D/notes/$N3.md.age" "api-show CASE NOTE: the same"
head -c 200 n1.age > cut.age
stockcommit m4 add "$D/notes/$N1.md.age" cut.age
run api-show -C m4 -i cw1.id "$A" "$N1"
refused $? "$D/notes/$N1.md.age" "a truncated ciphertext: one line naming it"

# --- unknown and ambiguous names ----------------------------------------------------
U=ZZZZZZZZZZ
[ "$A" = "$U" ] || [ "$B" = "$U" ] && U=YYYYYYYYYY
run api-show -i cw1.id "$U"
refused $? "no case $U" "an unknown case: exit 1, one line naming it"
run api-show -i cw1.id 'ab$cd'
refused $? 'ab$cd' "not a case ID: exit 1, one line"
run api-show -i cw1.id "$(echo "$A" | cut -c1-3)"
refused $? "$(echo "$A" | cut -c1-3)" "a 3-character prefix: refused"
# a second case directory sharing A's first 9 characters
A9=$(echo "$A" | cut -c1-9)
case $(echo "$A" | cut -c10) in 0) A2=${A9}1 ;; *) A2=${A9}0 ;; esac
mirror m5
stockcommit m5 cp "$D" "$(cdir "$A2")"
run api-show -C m5 -i cw1.id "$(echo "$A" | cut -c1-6)"
refused $? ambiguous "an ambiguous case prefix: exit 1, one line"
grep -q "$(echo "$A" | cut -c1-6)" err
ok $? "... naming the prefix"
run api-show -i cw1.id "$A" 2026
refused $? ambiguous "an ambiguous record prefix: exit 1, one line"
grep -q "$A" err && grep -q 2026 err
ok $? "... naming the prefix and the case"
run api-show -i cw1.id "$A" "$FAKE"
refused $? "$FAKE" "an unknown note ID: exit 1, one line naming it"
run api-show -i "$W/missing.id" "$A"
refused $? missing.id "a missing identity file: named"

# --- usage ---------------------------------------------------------------------------
run api-show -i cw1.id
[ $? -eq 2 ] && [ ! -s out ] && grep -q '^usage: api-show' err
ok $? "no CASE: exit 2, usage"
run api-show -i cw1.id "$A" "$N1" extra
[ $? -eq 2 ] && [ ! -s out ]
ok $? "three arguments: exit 2"
run api-show -i cw1.id --frob "$A"
[ $? -eq 2 ] && [ ! -s out ]
ok $? "an unknown option: exit 2"
run api-show --help
[ $? -eq 0 ] && head -n 1 out | grep -q '^api-show - .' && grep -q '^usage: api-show' out
ok $? "--help"

done_testing
