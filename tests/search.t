#!/bin/sh
# search.t - api-search: grep the notes of the cases one can read, in
# memory.  The output ("CASE NOTE DATE: line", -l, -z, --tsv), exit
# status as grep's (0 found, 1 none, 2 error), -i ignore-case, -t, --since,
# CASE arguments, which cases an identity searches (its team's; a lead's:
# all), one line at a time, control characters in --tsv and on a
# terminal, the read log (one commit per search, the cases searched, the
# purpose; a mandatory log that cannot be written refuses the search),
# and no plaintext at rest: a canary found by a search is nowhere on disk.
. "$(dirname "$0")/lib.sh"

workdir
YEAR=$(date -u +%Y)
R=refs/api/reads/$YEAR
have() { command -v "$1" >/dev/null 2>&1; }
# Under make valgrind (scripts/valgrind sets API_VG_LOG) valgrind writes
# files of its own: its log in $API_VG_LOG, and in $TMPDIR, for each
# program, valgrind_proc_PID_cmdline_* and _auxv_* (the program's
# /proc/self/cmdline, so its arguments) that it unlinks again unless
# killed first.  vgown FILE: FILE is one of those; VGEX: grep -r's
# option to pass over them.  Outside make valgrind: nothing is.
vgown() {
	[ -n "${API_VG_LOG:-}" ] || return 1
	case $1 in
	"$API_VG_LOG"/*|"$TMPDIR"/valgrind_proc_[0-9]*_cmdline_*|"$TMPDIR"/valgrind_proc_[0-9]*_auxv_*) return 0 ;;
	esac
	return 1
}
VGEX=
[ -n "${API_VG_LOG:-}" ] && VGEX=--exclude=valgrind_proc_*

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
# srch WHO ARGS...: api-search as WHO (--identity), into $W/out and $W/err
srch() { _w=$1; shift; run api-search --identity "$_w.id" "$@"; }
refs() { git -C "$S" for-each-ref 2> /dev/null; }
# nlog: the number of commits of the year's read log
nlog() { git -C "$S" rev-list --count "$R" 2>/dev/null || echo 0; }
# trailer KEY: a trailer of the newest read
trailer() {
	git -C "$S" log -1 --format=%B "$R" |
		git interpret-trailers --parse | sed -n "s/^$1: //p"
}
# logged IDS...: the newest read lists exactly these cases
logged() { [ "$(git -C "$S" show "$R:cases")" = "$(printf '%s\n' "$@" | LC_ALL=C sort)" ]; }
# notes ID: the note IDs of case ID on main
notes() { git -C "$S" ls-tree --name-only "main:$(cdir "$1")/notes" | sed 's/\.md\.age$//'; }
# bysort: lines in the order api-search writes them: by case ID, then
# note ID (the time it was written), then line (the sort is stable)
bysort() { LC_ALL=C sort -s -k1,2; }
# error RC WORD DESC: exit 2, nothing on stdout, one line on stderr that
# begins "api-search: " and holds WORD; nothing logged
error() {
	[ "$1" -eq 2 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-search: ' "$W/err" && grep -qF -- "$2" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}

# --- a store: cw on A and B, other on C, ld the lead ---------------------------
bad=0
for h in adm ld cw other; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in ld:lead cw:caseworker other:caseworker; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ] && ssh_staff "$T" sadm admin adm.id
ok $? "a store: adm, sadm (admins), ld (lead), cw and other (caseworkers)"

A=$(api-new -i cw.id --date 2026-01-05 -m "Intake at the probation office. Housing is urgent." 2> /dev/null)
B=$(api-new -i cw.id --date 2026-01-06 -m "Second client, referred by the school." 2> /dev/null)
C=$(api-new -i other.id --date 2026-01-07 -m "Third client; housing and debts." 2> /dev/null)
NA0=$(notes "$A") NB0=$(notes "$B") NC0=$(notes "$C")
[ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] && [ -n "$NA0" ] && [ -n "$NB0" ] && [ -n "$NC0" ]
ok $? "cases A and B opened by cw, C by other, each with its intake note"

NA1=$(api-log -i cw.id "$A" -t psychosocial --date 2026-02-10 \
	-m "Talked about the flat and the HOUSING office." 2> /dev/null)
NA2=$(api-log -i cw.id "$A" -t crisis --date 2026-03-01 \
	-m "$(printf 'Late call.\nHousing benefit refused\nwill appeal\nhousing again')" 2> /dev/null)
CTRL='Bell\007 esc \033[31mred\033[0m csi \302\233x del\177 cr\r tab\there housing'
NA3=$(printf "$CTRL\\n" | api-log -i cw.id "$A" -t admin --date 2026-03-05 2> /dev/null)
NB1=$(api-log -i cw.id "$B" -t network --date 2026-02-20 \
	-m "Job centre about housing support." 2> /dev/null)
NC1=$(api-log -i other.id "$C" -t crisis --date 2026-02-15 \
	-m "Housing crisis at night." 2> /dev/null)
[ -n "$NA1" ] && [ -n "$NA2" ] && [ -n "$NA3" ] && [ -n "$NB1" ] && [ -n "$NC1" ] &&
	[ -z "$(git -C "$S" for-each-ref refs/api/reads)" ]
ok $? "notes of several types and dates (one of four lines, one with control characters); no read yet"

# --- a match, no match, a bad pattern ----------------------------------------------
before=$(refs)
srch cw housing
rc=$?
{
	echo "$A $NA2 2026-03-01: housing again"
	printf "$A $NA3 2026-03-05: $CTRL\\n"
	echo "$B $NB1 2026-02-20: Job centre about housing support."
} | bysort > want
[ $rc -eq 0 ] && [ ! -s err ]
ok $? "a match: exit 0, nothing on stderr"
cmp -s out want
ok $? "'CASE NOTE DATE: line' for each matching line, byte for byte (to a pipe, the line as written)"
cmp -s out want || diag "$(diff want out | head -n 10)"
! grep -q "$C" out
ok $? "C's text matches, but cw is not on C: no line of C"
[ "$(nlog)" -eq 1 ] && [ "$(trailer Api-Program)" = api-search ] &&
	[ "$(trailer Api-Purpose)" = search ] && [ "$(trailer Api-Action)" = read ] &&
	[ "$(trailer Api-Cases)" = 2 ] && [ -z "$(trailer Api-Case)" ] && logged "$A" "$B" &&
	[ "$(git -C "$S" log -1 --format='%an' "$R")" = cw ]
ok $? "one read logged by cw: Api-Program api-search, Api-Purpose search, Api-Cases 2, cases A and B (not C)"

n=$(nlog)
srch cw 'no such word anywhere'
[ $? -eq 1 ] && [ ! -s out ] && [ ! -s err ]
ok $? "no match: exit 1, nothing on stdout or stderr"
[ "$(nlog)" -eq $((n + 1)) ] && logged "$A" "$B"
ok $? "... the search is logged all the same: the notes were decrypted"

before=$(refs)
srch cw 'hous(ing'
error $? 'hous(ing' "a bad regex: exit 2, one line naming it, nothing printed, nothing logged"
srch cw '[[:nosuch:]]'
error $? 'nosuch' "an unknown character class: exit 2"

# --- options -----------------------------------------------------------------------
srch cw -i housing
rc=$?
{
	echo "$A $NA0 2026-01-05: Intake at the probation office. Housing is urgent."
	echo "$A $NA1 2026-02-10: Talked about the flat and the HOUSING office."
	echo "$A $NA2 2026-03-01: Housing benefit refused"
	echo "$A $NA2 2026-03-01: housing again"
	printf "$A $NA3 2026-03-05: $CTRL\\n"
	echo "$B $NB1 2026-02-20: Job centre about housing support."
} | bysort > want
[ $rc -eq 0 ] && cmp -s out want
ok $? "-i ignores case (HOUSING, Housing, housing); the lines of a note in order"
srch cw --ignore-case HOUSING
[ $? -eq 0 ] && cmp -s out want
ok $? "--ignore-case too"

srch cw -l -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$A" "$B" | LC_ALL=C sort)" ]
ok $? "-l: the case IDs, once each, however many notes match"
srch cw -l 'Late call'
[ $? -eq 0 ] && [ "$(cat out)" = "$A" ]
ok $? "-l: only the cases that match"

srch cw -z -i housing
rc=$?
[ $rc -eq 0 ] && [ "$(tr -cd '\n' < out | wc -c)" -eq 0 ] &&
	[ "$(od -An -tx1 -v out | tr ' ' '\n' | grep -c '^00$')" -eq 6 ] &&
	tr '\0' '\n' < out | cmp -s - want
ok $? "-z: the same six lines, each ended by a NUL, no newline"
srch cw -l -z -i housing
rc=$?
# shellcheck disable=SC2046
printf '%s\000' $(printf '%s\n' "$A" "$B" | LC_ALL=C sort) > want.z
[ $rc -eq 0 ] && cmp -s out want.z && [ "$(wc -c < out)" -eq 22 ] &&
	[ "$(od -An -tx1 -v out | tr ' ' '\n' | grep -c '^00$')" -eq 2 ]
ok $? "-l -z: CASE NUL CASE NUL (22 bytes, two of them NUL)"

srch cw --tsv housing
[ $? -eq 0 ] && [ "$(wc -l < out)" -eq 3 ] && awk -F'\t' 'NF != 4 { exit 1 }' out &&
	grep -qx "$B	$NB1	2026-02-20	Job centre about housing support." out
ok $? "--tsv: four tab-separated fields: case, note, date, line"
TSVLINE='Bell  esc  [31mred [0m csi  x del  cr  tab here housing'
srch cw --tsv tab
[ $? -eq 0 ] && [ "$(cat out)" = "$A	$NA3	2026-03-05	$TSVLINE" ]
ok $? "--tsv: tab, CR, BEL, ESC, DEL and a C1 control in the line each become a space"
! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" out &&
	! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" out && [ "$(tr -cd '\t' < out | wc -c)" -eq 3 ]
ok $? "... no raw control character in the output, three tabs only"

srch cw -t crisis -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$A $NA2 2026-03-01: Housing benefit refused" \
	"$A $NA2 2026-03-01: housing again")" ]
ok $? "-t crisis: only the notes of that type"
srch cw --type network -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$B $NB1 2026-02-20: Job centre about housing support." ]
ok $? "--type network"
srch cw -t assessment -i housing
[ $? -eq 1 ] && [ ! -s out ]
ok $? "-t of a type without notes: exit 1"

srch cw --since 2026-03-01 -i housing
rc=$?
{
	echo "$A $NA2 2026-03-01: Housing benefit refused"
	echo "$A $NA2 2026-03-01: housing again"
	printf "$A $NA3 2026-03-05: $CTRL\\n"
} > want
[ $rc -eq 0 ] && cmp -s out want
ok $? "--since 2026-03-01: only notes dated from that day on (that day included)"
srch cw --since 2026-02-20 -i housing
[ $? -eq 0 ] && [ "$(cut -d' ' -f1,3 out | sort -u)" = "$(printf '%s\n' "$A 2026-03-01:" \
	"$A 2026-03-05:" "$B 2026-02-20:" | LC_ALL=C sort)" ]
ok $? "--since 2026-02-20: B's note of that day is in, A's of 2026-02-10 out"
srch cw --since 2026-03-06 -i housing
[ $? -eq 1 ] && [ ! -s out ]
ok $? "--since after the last note: exit 1"
before=$(refs)
srch cw --since 2026-13-01 housing
error $? 2026-13-01 "--since with a bad date: exit 2, one line"

# --- which cases ----------------------------------------------------------------------
n=$(nlog)
srch cw housing "$B"
[ $? -eq 0 ] && [ "$(cat out)" = "$B $NB1 2026-02-20: Job centre about housing support." ]
ok $? "CASE: only that case is searched"
[ "$(nlog)" -eq $((n + 1)) ] && [ "$(trailer Api-Case)" = "$B" ] &&
	[ "$(trailer Api-Cases)" = 1 ] && logged "$B"
ok $? "... and only that case is logged (Api-Case B)"
srch cw -l -i housing "$B" "$(echo "$A" | cut -c1-5 | tr 'A-Z' 'a-z')" "$B" "$A"
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$B" "$A")" ] &&
	[ "$(trailer Api-Cases)" = 2 ] && logged "$A" "$B"
ok $? "B, a lower-case prefix of A, B again, A: B then A (the order given), each once, in output and log"
before=$(refs)
srch cw housing "$A" "$C"
error $? "$C" "a CASE the user is not on: exit 2, one line naming the case, nothing printed, nothing logged"
srch cw housing NOSUCHCASE
error $? NOSUCHCASE "a CASE that does not exist: exit 2, one line"

srch other -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$C $NC0 2026-01-07: Third client; housing and debts." \
	"$C $NC1 2026-02-15: Housing crisis at night." | bysort)" ] && logged "$C"
ok $? "other finds in C only, and only C is logged"
srch ld -l -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$A" "$B" "$C" | LC_ALL=C sort)" ] &&
	[ "$(trailer Api-Cases)" = 3 ] && logged "$A" "$B" "$C" &&
	[ "$(git -C "$S" log -1 --format='%an' "$R")" = ld ]
ok $? "the lead holds every case's keys: finds across A, B and C, all logged"
srch ld -t crisis -i housing
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\n' "$A $NA2 2026-03-01: Housing benefit refused" \
	"$A $NA2 2026-03-01: housing again" "$C $NC1 2026-02-15: Housing crisis at night." | bysort)" ]
ok $? "... with -t, in case order"
n=$(nlog)
srch adm -i housing
[ $? -eq 1 ] && [ ! -s out ] && [ ! -s err ] && [ "$(nlog)" -eq "$n" ]
ok $? "an admin on no team reads no case: exit 1, nothing logged"

# --- one line at a time ------------------------------------------------------------
srch cw appeal
[ $? -eq 0 ] && [ "$(cat out)" = "$A $NA2 2026-03-01: will appeal" ]
ok $? "a multi-line note: only the matching line is printed"
srch cw '^will appeal$'
[ $? -eq 0 ] && [ "$(cat out)" = "$A $NA2 2026-03-01: will appeal" ]
ok $? "^ and \$ anchor at each line of the note"
srch cw 'refused.*appeal'
[ $? -eq 1 ] && [ ! -s out ]
ok $? "a pattern across two lines does not match"
srch cw -E 'x' 2> /dev/null
[ $? -eq 2 ] && grep -q '^usage: api-search' err
ok $? "an unknown option: exit 2 with the usage"

# --- on a terminal -------------------------------------------------------------------
if have script; then
	SHELL=/bin/sh script -qec "exec api-search --identity '$W/cw.id' 'tab'" \
		/dev/null < /dev/null > tty 2>&1
	rc=$?
	tr -d '\r' < tty > out
	[ $rc -eq 0 ] && [ "$(cat out)" = "$A $NA3 2026-03-05: $TSVLINE" ]
	ok $? "on a terminal, control characters (C1 too) become spaces"
else
	skip "script(1) not installed"
fi

# --- a date header that is not a date ---------------------------------------------
# a note of A made with stock age, its Date header holding a tab and ESC:
# it must not add a field to --tsv either
git -C "$S" show "refs/api/keys:$(cdir "$A")/key.age" | age -d -i cw.id > A.key 2> /dev/null &&
	NX=20260401T000000.000Z-xxxxxx &&
	printf 'Case: %s\nNote: %s\nAuthor: cw\nDate: 2026-04-01\t\033[2Jx\nType: admin\n\nforged tabulator line\n' \
		"$A" "$NX" | age -r "$(age-keygen -y A.key | head -n 1)" > nx.age &&
	rm -f A.key && t=$(git_tree "$W" add "$(cdir "$A")/notes/$NX.md.age" nx.age) &&
	git_commit "$T" - "$t" "log: note added"
ok $? "a note of A written with stock age, whose Date header holds a tab and ESC"
srch cw --tsv tabulator
[ $? -eq 0 ] && [ "$(cat out)" = "$A	$NX	2026-04-01  [2Jx	forged tabulator line" ]
ok $? "--tsv: the date field too has its control characters as spaces: still four fields"
git -C "$S" update-ref refs/heads/main main~1

# --- --purpose ------------------------------------------------------------------------
n=$(nlog)
srch cw --purpose "court order 12/2026 (Bürgeramt)" -l housing
[ $? -eq 0 ] && [ "$(nlog)" -eq $((n + 1)) ] &&
	[ "$(trailer Api-Purpose)" = "court order 12/2026 (Bürgeramt)" ] &&
	[ "$(trailer Api-Program)" = api-search ] && logged "$A" "$B"
ok $? "--purpose TEXT is the Api-Purpose of the read"
before=$(refs)
for p in "$(printf 'a\tb')" "$(printf 'esc\033[31m')" "$(printf 'line\nbreak')" ""; do
	srch cw --purpose "$p" housing
	[ $? -eq 2 ] && [ ! -s out ] && oneline err && grep -q '^api-search: --purpose: ' err &&
		[ "$(refs)" = "$before" ] || break
	p=ok
done
[ "$p" = ok ]
ok $? "--purpose with a tab, ESC, a newline, or empty: exit 2, one line, nothing logged"

# --- a mandatory log that cannot be written -------------------------------------------
# setconf KEY VALUE: api.conf with KEY set, in a commit sadm signs with stock git
setconf() {
	git -C "$S" show main:api.conf > "$T/conf" &&
	git config -f "$T/conf" "$1" "$2" &&
	_t=$(git_tree "$W" add api.conf "$T/conf") &&
	git_commit "$T" sadm "$_t" "conf: $1"
}
setconf readlog.mandatory true && api-verify > /dev/null 2>&1
ok $? "sadm sets readlog.mandatory = true (main verifies)"
: > "$S/$R.lock"
before=$(refs)
srch cw housing
error $? "read refused" "the log cannot be written: the search is refused (exit 2), nothing printed"
rm -f "$S/$R.lock"
n=$(nlog)
srch cw -l housing
[ $? -eq 0 ] && [ -s out ] && [ "$(nlog)" -eq $((n + 1)) ]
ok $? "with the log writable again, the search runs and is logged"

# --- nothing written to disk ------------------------------------------------------------
CAN="CANARY-search-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
NB2=$(api-log -i cw.id "$B" -t crisis --date 2026-03-10 -m "$(printf 'before\nsaw %s at the door\nafter' "$CAN")" 2> /dev/null)
[ -n "$NB2" ]
ok $? "a note of B holding a canary (given on the command line, never in a file)"
# the output is kept in memory, in shell variables
got=$(api-search --identity cw.id "$CAN" 2> /dev/null)
rc=$?
got2=$(api-search --identity ld.id --tsv -i "$CAN" "$B" 2> /dev/null)
[ $rc -eq 0 ] && [ "$got" = "$B $NB2 2026-03-10: saw $CAN at the door" ] &&
	[ "$got2" = "$B	$NB2	2026-03-10	saw $CAN at the door" ]
ok $? "api-search finds the canary (as cw, and as ld with --tsv)"
if have strace && strace -f -o /dev/null true 2> /dev/null; then
	strace -f -qq -e trace=open,openat,creat,rename,renameat,renameat2,link,linkat \
		-o trace api-search --identity cw.id -l "$CAN" > /dev/null 2>&1
	grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(|rename|link' trace |
		grep -v ' = -1 ' | grep -o '"[^"]*"' | tr -d '"' | sort -u > written
	bad=0
	while read -r f; do
		case $f in
		"$S"/objects/*|"$S"/refs/api/reads/*|"$S"/logs/refs/api/reads/*|"$S"/api-flock) ;;
		*) vgown "$f" || { bad=1; diag "written: $f"; } ;;
		esac
	done < written
	[ $bad -eq 0 ] && grep -q "^$S/objects/" written
	ok $? "strace: api-search opens for writing only the read log's objects and ref"
else
	skip "strace not usable here"
fi
git -C "$S" cat-file --batch-all-objects --batch 2> /dev/null | grep -aq '^Api-Program: api-search$'
ok $? "(control: git cat-file --batch-all-objects shows the read log's commits)"
! git -C "$S" cat-file --batch-all-objects --batch 2> /dev/null | grep -aqF "$CAN"
ok $? "no canary in any git object"
printf '%s\n' "$got" | grep -qF "$CAN" && ! grep -raqF $VGEX "$CAN" "$S" "$TMPDIR" "$XDG_RUNTIME_DIR"
ok $? "no canary in any file of the store, \$TMPDIR or \$XDG_RUNTIME_DIR"
! grep -raqF $VGEX "$CAN" "$T"
ok $? "no canary anywhere under the test's directory (home and work included)"
git -C "$S" gc -q > /dev/null 2>&1 && [ -n "$(find "$S/objects/pack" -name '*.pack')" ] &&
	got=$(api-search --identity cw.id "$CAN" 2> /dev/null) && [ -n "$got" ] &&
	git -C "$S" cat-file --batch-all-objects --batch 2> /dev/null | grep -aq '^Api-Program: api-search$' &&
	! git -C "$S" cat-file --batch-all-objects --batch 2> /dev/null | grep -aqF "$CAN" &&
	! grep -raqF $VGEX "$CAN" "$T"
ok $? "packed by git gc and searched again: no canary in any object or file"

# --- usage -----------------------------------------------------------------------------
mkdir plain
before=$(refs)
srch cw -C "$W/plain" housing
error $? "$W/plain" "outside a store (-C a plain directory): exit 2, one line"
run api-search --identity "$W/nosuch.id" housing
error $? nosuch.id "a missing identity file: exit 2, one line"
srch cw
[ $? -eq 2 ] && [ ! -s out ] && grep -q '^usage: api-search' err
ok $? "no PATTERN: exit 2 with the usage"
run api-search --help
[ $? -eq 0 ] && head -n 1 out | grep -q '^api-search - ' && grep -q '^usage: api-search' out &&
	grep -q 'PATTERN \[CASE\.\.\.\]' out && [ ! -s err ]
ok $? "--help: exit 0, the summary and the usage on stdout"
run api-search --version
[ $? -eq 0 ] && grep -q '^api-search ' out
ok $? "--version"
api-verify --reads > /dev/null 2>&1
ok $? "api-verify --reads accepts every read the searches logged"

done_testing
