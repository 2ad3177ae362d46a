#!/bin/sh
# readlog.t - the read log: api-show and api-status log who read which
# case, when and why, as signed commits on refs/api/reads/YEAR and never
# on main; stock git verifies them; api-verify --reads checks them and
# names a forged commit; a read that cannot be logged is refused when
# api.conf says the log is mandatory, else it goes on with a warning;
# --purpose with control characters is refused; api-readlog lists the
# log and drops an old year's log (admins only, after its retention),
# and main stays valid.  Settings are changed, and forgeries made, with
# stock git and OpenSSH keys registered as staff.
. "$(dirname "$0")/lib.sh"

workdir
YEAR=$(date -u +%Y)
R=refs/api/reads/$YEAR

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref 2> /dev/null; }
tip() { git -C "$S" rev-parse "${1:-main}" 2>/dev/null; }
# trailer KEY [REF]: a trailer of the tip of REF (the year's log)
trailer() {
	git -C "$S" log -1 --format=%B "${2:-$R}" |
		git interpret-trailers --parse | sed -n "s/^$1: //p"
}
# nlog: the number of commits of the year's log
nlog() { git -C "$S" rev-list --count "$R" 2>/dev/null || echo 0; }
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
# sshmember NAME ROLE: an OpenSSH key $T/NAME, registered as NAME by adm.
sshmember() { ssh_staff "$T" "$1" "$2" adm.id; }
# sgit WHO ARGS...: stock git as WHO, signing with WHO's OpenSSH key
sgit() {
	_w=$1
	shift
	GIT_AUTHOR_NAME=$_w GIT_COMMITTER_NAME=$_w GIT_AUTHOR_EMAIL=$_w@api \
		GIT_COMMITTER_EMAIL=$_w@api git -C "$S" -c gpg.format=ssh \
		-c user.signingkey="$T/$_w" "$@"
}
# setconf KEY VALUE: api.conf on main with KEY set, in a commit that the
# admin sadm signs with stock git
setconf() {
	git -C "$S" show main:api.conf > "$T/conf" &&
	git config -f "$T/conf" "$1" "$2" &&
	_o=$(git -C "$S" hash-object -w "$T/conf") &&
	rm -f "$T/index" &&
	GIT_INDEX_FILE=$T/index git -C "$S" read-tree main &&
	GIT_INDEX_FILE=$T/index git -C "$S" update-index \
		--cacheinfo "100644,$_o,api.conf" &&
	_t=$(GIT_INDEX_FILE=$T/index git -C "$S" write-tree) &&
	_c=$(sgit sadm commit-tree -S "$_t" -p main -m "conf: $1") &&
	git -C "$S" update-ref refs/heads/main "$_c"
}
# readcommit WHO PARENT MSGFILE CASES... : a read-log commit made with
# stock git, signed by WHO (OpenSSH key; "-": unsigned), "cases" holding
# CASES one a line; its id on stdout
readcommit() {
	_w=$1 _p=$2 _m=$3
	shift 3
	printf '%s\n' "$@" > "$T/cases" &&
	_b=$(git -C "$S" hash-object -w "$T/cases") &&
	_t=$(printf '100644 blob %s\tcases\n' "$_b" | git -C "$S" mktree) &&
	if [ "$_w" = - ]; then
		GIT_AUTHOR_NAME=cw GIT_COMMITTER_NAME=cw GIT_AUTHOR_EMAIL=cw@api \
			GIT_COMMITTER_EMAIL=cw@api \
			git -C "$S" commit-tree "$_t" ${_p:+-p "$_p"} -F "$_m"
	else
		sgit "$_w" commit-tree -S "$_t" ${_p:+-p "$_p"} -F "$_m"
	fi
}
# msg FILE CASE PURPOSE: the message of a read of one case, as api-show writes it
msg() {
	printf 'read: 1 case\n\nApi-Action: read\nApi-Case: %s\nApi-Program: api-show\nApi-Purpose: %s\nApi-Cases: 1\n' \
		"$2" "$3" > "$1"
}
# verdict RULE COMMIT DESC: api-verify --reads names COMMIT and RULE on
# the year's log in one line on stdout and exits 1, refs untouched; the
# log is then reset to $GOOD
verdict() {
	before=$(refs)
	api-verify --reads > "$W/out" 2> "$W/err"
	_rc=$?
	[ $_rc -eq 1 ] && oneline "$W/out" && [ ! -s "$W/err" ] &&
		[ "$(cut -d' ' -f1-3 "$W/out")" = "$2 $1 $R:" ] &&
		[ "$(refs)" = "$before" ]
	ok $? "$3 -> $1"
	diag "$(cat "$W/out" "$W/err")"
	git -C "$S" update-ref "$R" "$GOOD"
}

# --- a store ----------------------------------------------------------------------
bad=0
for h in adm cw cw2 ld svc aud; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in cw:caseworker cw2:caseworker ld:lead svc:service aud:auditor; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ] &&
	sshmember sadm admin && sshmember sold caseworker &&
	A=$(api-new -i cw.id --date 2026-01-05 -m "First meeting." 2> /dev/null) &&
	B=$(api-new -i cw2.id --date 2026-01-06 -m "Second client." 2> /dev/null) &&
	C=$(api-new -i cw.id --assign cw2 --date 2026-01-07 -m "Third." 2> /dev/null) &&
	api-log -i cw.id "$A" --date 2026-01-20 -m "A note on housing." > /dev/null 2>&1
ok $? "a store: adm, sadm (admins), cw, cw2, sold (caseworkers), ld, svc, aud; cases A (cw), B (cw2), C (cw, cw2)"
git -C "$S" show main:api.conf > conf &&
	[ "$(git config -f conf --type=bool readlog.enabled)" = true ] &&
	[ "$(git config -f conf --type=bool readlog.mandatory)" = false ] &&
	[ "$(git config -f conf readlog.retention)" = 2y ]
ok $? "a new store logs reads: readlog.enabled true, mandatory false, retention 2y"
[ -z "$(git -C "$S" for-each-ref refs/api/reads)" ]
ok $? "writes are not reads: no read log yet"
run api-verify --reads
[ $? -eq 0 ] && [ "$(cat out)" = "ok: no read logs" ] &&
	[ "$(api-verify --reads --json)" = '{"ok":true,"logs":[]}' ]
ok $? "api-verify --reads without logs: ok: no read logs"

# --- a read is logged ---------------------------------------------------------------
main0=$(tip)
run api-show -i cw.id "$A"
[ $? -eq 0 ] && grep -q '^# Case ' out && grep -q 'A note on housing' out && [ ! -s err ]
ok $? "api-show: the case is shown, nothing on stderr"
[ "$(nlog)" -eq 1 ] && [ "$(tip)" = "$main0" ] &&
	[ -z "$(git -C "$S" log --format=%H --grep='^Api-Action: read' main)" ] &&
	! git -C "$S" merge-base --is-ancestor "$R" main
ok $? "one commit on $R, main untouched: the log is never on main"
[ "$(git -C "$S" log -1 --format=%s "$R")" = "read: 1 case" ] &&
	[ "$(trailer Api-Action)" = read ] && [ "$(trailer Api-Case)" = "$A" ] &&
	[ "$(trailer Api-Program)" = api-show ] && [ "$(trailer Api-Purpose)" = show ] &&
	[ "$(trailer Api-Cases)" = 1 ] &&
	[ "$(git -C "$S" log -1 --format='%an <%ae> %cn' "$R")" = "cw <cw@api> cw" ]
ok $? "subject 'read: 1 case'; Api-Action read, Api-Case, Api-Program api-show, default Api-Purpose show, Api-Cases 1; by cw"
[ "$(git -C "$S" ls-tree "$R" | cut -f2)" = cases ] &&
	[ "$(git -C "$S" show "$R:cases")" = "$A" ] &&
	[ "$(git -C "$S" rev-list --parents -1 "$R" | wc -w)" -eq 1 ]
ok $? "its tree is one file, cases, holding the case ID; the year's first read has no parent"
first=$(tip "$R")
run api-show -i cw.id --purpose "court order 12/2026 (Bürgeramt)" "$A" NOSUCH
[ $? -eq 1 ] && [ "$(nlog)" -eq 2 ] && [ "$(tip "$R^")" = "$first" ] &&
	[ "$(trailer Api-Purpose)" = "court order 12/2026 (Bürgeramt)" ]
ok $? "--purpose TEXT (UTF-8) is the Api-Purpose; the next read's parent is the last: a chain"
[ "$(git -C "$S" ls-tree "$R" | wc -l)" -eq 1 ]
ok $? "the tree does not grow: still one file"
run api-show -i cw2.id "$A"
[ $? -eq 1 ] && [ "$(nlog)" -eq 2 ]
ok $? "a refused read (not on the team) is not logged"

# api-status: one commit per run, however many cases it read
run api-status -i ld.id --due --as-of 2026-03-01
[ $? -eq 0 ] && [ "$(nlog)" -eq 3 ] && [ "$(trailer Api-Cases)" = 3 ] &&
	[ -z "$(trailer Api-Case)" ] && [ "$(trailer Api-Program)" = api-status ] &&
	[ "$(trailer Api-Purpose)" = status ] &&
	[ "$(git -C "$S" log -1 --format=%s "$R")" = "read: 3 cases" ] &&
	[ "$(git -C "$S" show "$R:cases")" = "$(printf '%s\n' "$A" "$B" "$C" | LC_ALL=C sort)" ]
ok $? "api-status --due as a lead: one commit listing the 3 cases read, sorted; Api-Cases 3, no Api-Case"
run api-status -i cw2.id --purpose "weekly review"
[ $? -eq 0 ] && [ "$(wc -l < out)" -eq 2 ] && [ "$(nlog)" -eq 4 ] &&
	[ "$(trailer Api-Cases)" = 2 ] && [ "$(trailer Api-Purpose)" = "weekly review" ] &&
	[ "$(git -C "$S" show "$R:cases")" = "$(printf '%s\n' "$B" "$C" | LC_ALL=C sort)" ]
ok $? "api-status listing: only the cases cw2 read (B, C), with --purpose"
run api-status -i cw.id "$A"
[ $? -eq 0 ] && [ "$(nlog)" -eq 5 ] && [ "$(trailer Api-Case)" = "$A" ]
ok $? "api-status CASE: one case read"
main1=$(tip)
run api-status -i cw.id "$A" --set active
[ $? -eq 0 ] && [ "$(nlog)" -eq 5 ] && [ "$(tip)" != "$main1" ]
ok $? "api-status --set is a signed write on main, not logged again as a read"
run api-status -i aud.id --due
[ $? -eq 0 ] && [ "$(nlog)" -eq 5 ]
ok $? "a run that reads no case logs nothing"

# --- stock git ----------------------------------------------------------------------
git -C "$S" show main:allowed_signers > "$T/allowed_signers"
[ -z "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$T/allowed_signers" \
	log --format='%G?' "$R" | grep -vx G)" ] &&
	git -C "$S" -c gpg.ssh.allowedSignersFile="$T/allowed_signers" \
		verify-commit "$R" 2> /dev/null
ok $? "stock git verifies every read commit (%G? G) against main's allowed_signers"
git -C "$S" fsck --strict > fsck.out 2>&1 && ! grep -v '^dangling' fsck.out | grep -q .
ok $? "git fsck --strict: clean"
[ "$(git -C "$S" log --format='%(trailers:key=Api-Purpose,valueonly,separator=)' "$R" |
	sed -n 4p)" = "court order 12/2026 (Bürgeramt)" ]
ok $? "stock git reads the trailers"

# --- api-verify --reads ---------------------------------------------------------------
run api-verify --reads
[ $? -eq 0 ] && [ "$(cat out)" = "ok: 5 reads verified in $YEAR (8 cases read)" ] && [ ! -s err ]
ok $? "api-verify --reads: ok: 5 reads verified in $YEAR (8 cases read)"
run api-verify --reads "$YEAR" --json
[ $? -eq 0 ] && [ "$(cat out)" = "{\"ok\":true,\"logs\":[{\"year\":$YEAR,\"reads\":5,\"cases\":8}]}" ]
ok $? "--reads YEAR --json"
run api-verify
[ $? -eq 0 ] && [ "$(cat out)" = "ok: $(git -C "$S" rev-list --count main) commits verified" ]
ok $? "api-verify without --reads: main only, as before"
api-staff -i adm.id retire cw2 > /dev/null 2>&1 && run api-verify --reads
[ $? -eq 0 ] && grep -q '^ok: 5 reads' out
ok $? "cw2 retired after reading: the reads stay valid (staff at the time of the read)"
GOOD=$(tip "$R")

# forged commits on the log
msg "$T/m1" "$A" "by hand"
c=$(readcommit sadm "$GOOD" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c" &&
	run api-verify --reads && grep -q '^ok: 6 reads' out
ok $? "a read commit made and signed with stock git by a member of staff verifies: the format is open"
git -C "$S" update-ref "$R" "$GOOD"
c=$(readcommit - "$GOOD" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c"
verdict signature "$c" "an unsigned commit"
git -C "$S" cat-file commit "$GOOD" | sed 's/^Api-Purpose: .*/Api-Purpose: nothing to see/' |
	git -C "$S" hash-object -t commit -w --stdin > "$T/c" &&
	git -C "$S" update-ref "$R" "$(cat "$T/c")"
verdict signature "$(cat "$T/c")" "a signed read with its purpose edited"
git -C "$S" cat-file commit "$GOOD" | sed "s/^Api-Case: .*/Api-Case: $B/" |
	git -C "$S" hash-object -t commit -w --stdin > "$T/c" &&
	git -C "$S" update-ref "$R" "$(cat "$T/c")"
verdict signature "$(cat "$T/c")" "a signed read with its case edited"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/mallory"
c=$(readcommit mallory "$GOOD" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c"
verdict signer "$c" "signed by a key of no member of staff"
api-staff -i adm.id retire sold > /dev/null 2>&1
# a second later: valid-until is inclusive, as for ssh-keygen
later="@$(($(date +%s) + 2)) +0000"
c=$(GIT_COMMITTER_DATE=$later GIT_AUTHOR_DATE=$later readcommit sold "$GOOD" "$T/m1" "$A") &&
	git -C "$S" update-ref "$R" "$c"
verdict signer "$c" "signed by a retired member after retirement"
msg "$T/m1b" "$B" "by hand"
c=$(readcommit sadm "$GOOD" "$T/m1" "$A") && d=$(readcommit sadm "$GOOD" "$T/m1b" "$B") &&
	msg "$T/m2" "$A" merge &&
	m=$(sgit sadm commit-tree -S "$(tip "$c^{tree}")" -p "$c" -p "$d" -F "$T/m2") &&
	git -C "$S" update-ref "$R" "$m"
verdict merge "$m" "a merge"
# shellcheck disable=SC2046
c=$(readcommit sadm "$GOOD" "$T/m1" $(printf '%s\n' "$A" "$B" | LC_ALL=C sort)) &&
	git -C "$S" update-ref "$R" "$c"
verdict trailers "$c" "Api-Cases 1 for a cases file of two"
{ cat "$T/m1"; echo "Api-Note: a name"; } > "$T/m3"
c=$(readcommit sadm "$GOOD" "$T/m3" "$A") && git -C "$S" update-ref "$R" "$c"
verdict trailers "$c" "an unexpected trailer"
msg "$T/m4" "$A" "$(printf 'x\033[2Jy')"
c=$(readcommit sadm "$GOOD" "$T/m4" "$A") && git -C "$S" update-ref "$R" "$c"
verdict trailers "$c" "a purpose with a control character"
c=$(readcommit sadm "$GOOD" "$T/m1" "not-a-case") && git -C "$S" update-ref "$R" "$c"
verdict layout "$c" "a cases file that is not case IDs"
c=$(readcommit sadm "$GOOD" "$T/m1" "$A" "$A") && git -C "$S" update-ref "$R" "$c"
verdict layout "$c" "a case listed twice"
printf 'Ali Example, born 1990-01-01\n' > "$T/name"
o=$(git -C "$S" hash-object -w "$T/name") && printf '%s\n' "$A" > "$T/cases" &&
	b=$(git -C "$S" hash-object -w "$T/cases") &&
	t=$(printf '100644 blob %s\tcases\n100644 blob %s\tnote\n' "$b" "$o" | git -C "$S" mktree) &&
	c=$(sgit sadm commit-tree -S "$t" -p "$GOOD" -F "$T/m1") &&
	git -C "$S" update-ref "$R" "$c"
verdict layout "$c" "a tree with another file"
git -C "$S" update-ref "$R" "$c"
run api-show -i cw.id "$A"
[ $? -eq 0 ] && [ "$(git -C "$S" ls-tree --name-only "$R")" = cases ] &&
	[ "$(tip "$R^")" = "$c" ]
ok $? "a read on top of that: its tree is one file again, whatever the tip held"
git -C "$S" update-ref "$R" "$GOOD"
c=$(GIT_COMMITTER_DATE="2020-06-01T12:00:00Z" GIT_AUTHOR_DATE="2020-06-01T12:00:00Z" \
	readcommit sadm "$GOOD" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c"
verdict signer "$c" "a read dated 2020, before its signer was staff"
c=$(readcommit sadm "$GOOD" "$T/m1" "$A") &&
	c=$(readcommit - "$c" "$T/m1" "$A") && x=$c &&
	c=$(readcommit sadm "$c" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c"
verdict signature "$x" "an unsigned commit in the middle of the chain: the first offending one"
git -C "$S" update-ref "$R" "$(tip main)"
run api-verify --reads
[ $? -eq 1 ] && [ "$(cut -d' ' -f1,3 out)" = "$(git -C "$S" rev-list --max-parents=0 main) $R:" ]
ok $? "main's history under a reads ref: its root is named"
git -C "$S" update-ref "$R" "$GOOD"
c=$(readcommit - "$GOOD" "$T/m1" "$A") && git -C "$S" update-ref "$R" "$c"
run api-verify --reads --json
[ $? -eq 1 ] && grep -q "^{\"ok\":false,\"commit\":\"$c\",\"rule\":\"signature\",\"path\":\"$R\",\"message\":\".*\"}\$" out
ok $? "--json names the violation"
git -C "$S" update-ref "$R" "$GOOD"
git -C "$S" update-ref refs/api/reads/latest "$GOOD"
run api-verify --reads
[ $? -eq 1 ] && [ "$(cut -d' ' -f1-3 out)" = "$GOOD layout refs/api/reads/latest:" ]
ok $? "a ref under refs/api/reads/ that is not a year -> layout"
git -C "$S" update-ref -d refs/api/reads/latest
run api-verify --reads
[ $? -eq 0 ]
ok $? "reset: the log verifies again"

# --- when the log cannot be written ---------------------------------------------------
# a stale lock on the year's ref (libgit2 retries, then gives up)
before=$(refs)
: > "$S/$R.lock"
run api-show -i cw.id "$A"
[ $? -eq 0 ] && grep -q 'A note on housing' out && oneline err &&
	grep -q '^api-show: warning: this read is not logged: ' err &&
	grep -qF "$R" err && [ "$(refs)" = "$before" ]
ok $? "readlog.mandatory false: one warning on stderr, the read goes on"
rm -f "$S/$R.lock"
setconf readlog.mandatory true && api-verify > /dev/null
ok $? "sadm sets readlog.mandatory = true (a signed commit; main verifies)"
before=$(refs)
: > "$S/$R.lock"
run api-show -i cw.id "$A"
refused $? 1 "read refused" "readlog.mandatory true: the read is refused, nothing printed"
grep -q 'readlog.mandatory' err
ok $? "... and the message says why"
run api-status -i ld.id --due --as-of 2026-03-01
refused $? 1 "read refused" "api-status --due too: refused, nothing printed"
rm -f "$S/$R.lock"
mv "$S/refs/api/reads" "$S/refs/api/reads.d" && : > "$S/refs/api/reads"
before=$(refs)
run api-show -i cw.id "$A"
refused $? 1 "read refused" "an unwritable refs/api/reads: refused at once"
rm -f "$S/refs/api/reads" && mv "$S/refs/api/reads.d" "$S/refs/api/reads"
n=$(nlog)
run api-show -i cw.id "$A"
[ $? -eq 0 ] && [ "$(nlog)" -eq $((n + 1)) ]
ok $? "with the log writable again, the read is logged"

# --- --purpose ----------------------------------------------------------------------------
before=$(refs)
for p in "$(printf 'a\tb')" "$(printf 'line\nbreak')" "$(printf 'esc\033[31m')" \
    "$(printf 'c1 \302\233x')" "$(printf 'del\177')" "" "   " " leading" \
    "$(head -c 201 /dev/zero | tr '\0' x)"; do
	run api-show -i cw.id --purpose "$p" "$A"
	[ $? -eq 2 ] && [ ! -s out ] && oneline err &&
		grep -q '^api-show: --purpose: ' err && [ "$(refs)" = "$before" ] || break
	run api-status -i cw.id --purpose "$p"
	[ $? -eq 2 ] && [ ! -s out ] && oneline err &&
		grep -q '^api-status: --purpose: ' err && [ "$(refs)" = "$before" ] || break
	p=ok
done
[ "$p" = ok ]
ok $? "--purpose with a control character, empty, only spaces, a leading space, 201 bytes: exit 2, one line, nothing logged"
grep -q 'control character' err || {
	run api-show -i cw.id --purpose "$(printf 'a\tb')" "$A"
	grep -q 'control character' err
}
ok $? "... the message names the control character"
run api-show -i cw.id --purpose "$(head -c 200 /dev/zero | tr '\0' x)" "$A"
[ $? -eq 0 ] && [ "$(trailer Api-Purpose | wc -c)" -eq 201 ]
ok $? "200 bytes are fine"

# --- disabled ---------------------------------------------------------------------------------
setconf readlog.enabled false
n=$(nlog)
run api-show -i cw.id "$A"
[ $? -eq 0 ] && [ ! -s err ] && [ "$(nlog)" -eq "$n" ]
ok $? "readlog.enabled false: nothing logged"
setconf readlog.enabled true

# --- api-readlog list ---------------------------------------------------------------------
run api-readlog list
[ $? -eq 0 ] && [ ! -s err ] &&
	[ "$(wc -l < out)" -eq "$(git -C "$S" log --format=%H "$R" | while read -r c; do
		git -C "$S" show "$c:cases"; done | wc -l)" ] &&
	awk -F'\t' 'NF != 5 { exit 1 }' out &&
	grep -q "^$YEAR-[0-9-]*T[0-9:]*Z	cw	api-show	$A	court order 12/2026 (Bürgeramt)\$" out &&
	grep -q "	ld	api-status	$B	status\$" out
ok $? "list: one TSV line per case read: time, handle, program, case, purpose"
[ "$(head -n 1 out | cut -f2-5)" = "cw	api-show	$A	show" ]
ok $? "... oldest first"
run api-readlog list "$YEAR" --json
[ $? -eq 0 ] && head -n 1 out | grep -qx '\[' && tail -n 1 out | grep -qx '\]' &&
	grep -q "^{\"time\":\"$YEAR-.*\",\"handle\":\"cw\",\"program\":\"api-show\",\"case\":\"$A\",\"purpose\":\"show\",\"commit\":\"[0-9a-f]\{40\}\"},\$" out
ok $? "list YEAR --json"
run api-readlog list 2019
[ $? -eq 1 ] && oneline err && grep -q 'no read log for 2019' err
ok $? "list of a year without a log: exit 1, one line"

# --- dropping a year ------------------------------------------------------------------
# an old year's log, here made with stock git: reads of 2020 on a chain of
# its own (its signer was not staff then; verifying does not matter here)
msg "$T/m5" "$A" "old"
old=$(GIT_COMMITTER_DATE="2020-06-01T12:00:00Z" GIT_AUTHOR_DATE="2020-06-01T12:00:00Z" \
	readcommit sadm "" "$T/m5" "$A") &&
	git -C "$S" update-ref refs/api/reads/2020 "$old" &&
	git -C "$S" update-ref "refs/api/reads/$((YEAR - 1))" "$R"
ok $? "old logs: refs/api/reads/2020, and $((YEAR - 1)) as a copy of $YEAR"
run api-verify --reads
[ $? -eq 1 ] && grep -q "^$old signer refs/api/reads/2020: " out
ok $? "api-verify --reads checks every year, oldest first"
git -C "$S" update-ref refs/api/reads/2020 "$R"
run api-verify --reads
[ $? -eq 1 ] && grep -q "^$(git -C "$S" rev-list --max-parents=0 "$R") year refs/api/reads/2020: dated $YEAR-" out
ok $? "a year's log holding reads of another year -> year"
git -C "$S" update-ref refs/api/reads/2020 "$old"
run api-verify --reads "$YEAR"
[ $? -eq 0 ] && grep -q "^ok: .* in $YEAR " out
ok $? "--reads YEAR checks that year only"
before=$(refs)
run api-readlog -i cw.id drop 2020
refused $? 1 admin "drop by a caseworker: refused"
run api-readlog -i ld.id drop 2020
refused $? 1 admin "drop by a lead: refused"
run api-readlog -i adm.id drop "$YEAR"
refused $? 1 "$YEAR" "drop of the current year: refused"
run api-readlog -i adm.id drop "$((YEAR - 1))"
refused $? 1 retention "drop of last year, within readlog.retention (2y): refused"
run api-readlog -i adm.id drop 2019
refused $? 1 "no read log for 2019" "drop of a year without a log: exit 1"
run api-readlog -i adm.id drop 20x0
[ $? -eq 2 ] && [ "$(refs)" = "$before" ]
ok $? "drop of a bad year: usage error"
main2=$(tip)
run api-readlog -i adm.id drop 2020
[ $? -eq 0 ] && [ ! -s out ] && oneline err && grep -q 'gc --prune=now' err &&
	! git -C "$S" rev-parse -q --verify refs/api/reads/2020 > /dev/null &&
	[ "$(tip "$R")" = "$(tip "refs/api/reads/$((YEAR - 1))")" ]
ok $? "drop 2020 by an admin: the ref is gone, the others stay; stderr says to run git gc --prune=now"
[ "$(tip main^)" = "$main2" ] &&
	[ "$(git -C "$S" log -1 --format='%an %s' main)" = "adm readlog: a year's read log dropped" ] &&
	[ "$(trailer Api-Action main)" = readlog-drop ] &&
	[ "$(trailer Api-Object main)" = refs/api/reads/2020 ] &&
	[ "$(trailer Api-Tip main)" = "$old" ] &&
	[ "$(git -C "$S" diff main^ main | wc -c)" -eq 0 ]
ok $? "the drop is recorded on main by the admin: Api-Action readlog-drop, Api-Object the ref, Api-Tip; no change to the tree"
run api-verify
[ $? -eq 0 ] && grep -q '^ok: ' out &&
	git -C "$S" show main:allowed_signers > "$T/allowed_signers" &&
	git -C "$S" -c gpg.ssh.allowedSignersFile="$T/allowed_signers" verify-commit main 2> /dev/null
ok $? "main's history stays valid (api-verify, stock git)"
git -C "$S" gc -q --prune=now 2> /dev/null && ! git -C "$S" cat-file -e "$old" 2> /dev/null &&
	git -C "$S" cat-file -e "$GOOD" && git -C "$S" fsck --strict > /dev/null 2>&1
ok $? "after git gc --prune=now the dropped reads are gone; the rest is whole (fsck --strict)"
git -C "$S" update-ref -d "refs/api/reads/$((YEAR - 1))"
run api-verify --reads
[ $? -eq 0 ] && oneline out && grep -q "^ok: .* in $YEAR " out
ok $? "api-verify --reads: the remaining log verifies"

# --- usage ------------------------------------------------------------------------------------
for args in "" "frob" "list 2026 2027" "drop" "drop 2020 --json" "list --frob"; do
	# shellcheck disable=SC2086
	run api-readlog $args
	[ $? -eq 2 ] && grep -q '^usage: api-readlog' err && [ ! -s out ] || break
	args=ok
done
[ "$args" = ok ]
ok $? "api-readlog usage errors: exit 2 with the usage (last tried: $args)"
run api-verify --reads --since main
[ $? -eq 2 ] && grep -q '^usage: api-verify' err
ok $? "api-verify --reads with --since: usage error"
run api-verify --reads 20x6
[ $? -eq 2 ] && oneline err
ok $? "api-verify --reads with a bad year: usage error"
run api-readlog --help
[ $? -eq 0 ] && head -n 1 out | grep -q '^api-readlog - ' && grep -q '^usage: api-readlog' out
ok $? "api-readlog --help"

done_testing
