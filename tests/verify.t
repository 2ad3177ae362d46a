#!/bin/sh
# api-verify: a good history passes; each kind of tampering is named by
# the rule it breaks.  Tampering commits are made with stock git (and
# OpenSSH keys registered as staff), then main is reset to the good tip.
. "$(dirname "$0")/lib.sh"

S=$API_DIR
api-keygen --handle adm --no-passphrase > /dev/null 2>&1 &&
	api-init > /dev/null 2>&1
ok $? "a store to audit"

# sshmember NAME ROLE: an OpenSSH key $T/NAME, registered as NAME.
sshmember() { ssh_staff "$T" "$1" "$2"; }
# gitcommit SIGNER TREE MSG [PARENT]: a commit made by stock git, signed
# with SIGNER's OpenSSH key (SIGNER "-": unsigned); main moves to it.
gitcommit() { git_commit "$T" "$@"; }
# tree OP PATH [FILE] ...: main's tree with "add PATH FILE" / "rm PATH".
tree() { git_tree "$T" "$@"; }
# verdict RULE DESC: api-verify names RULE on stdout and exits 1; resets.
verdict() {
	api-verify > "$T/out" 2> "$T/err"
	_rc=$?
	_tamper=$(git -C "$S" rev-parse main)
	[ $_rc -eq 1 ] && oneline "$T/out" && [ ! -s "$T/err" ] &&
		[ "$(cut -d' ' -f2 "$T/out")" = "$1" ] &&
		[ "$(cut -d' ' -f1 "$T/out")" = "$_tamper" ]
	ok $? "$2 -> $1"
	[ $_rc -eq 1 ] || diag "exit $_rc"
	diag "$(cat "$T/out" "$T/err")"
	git -C "$S" update-ref refs/heads/main "$GOOD"
}

sshmember adm2 admin && sshmember ld lead && sshmember cw caseworker
ok $? "staff with OpenSSH keys: adm2 (admin), ld (lead), cw (caseworker)"

# a case made by adm2 with stock git and stock age
printf 'adm2\ncw\n' > "$T/team"
echo "first contact" | age -r "$(age-keygen -y "$T/adm2.age")" > "$T/note1"
{ age-keygen -y "$T/adm2.age"; age-keygen -y "$T/adm2.age"; } > "$T/rcp0"
t=$(tree add cases/A/B/ABCDEFGH23/team "$T/team" \
	add cases/A/B/ABCDEFGH23/recipient "$T/rcp0" \
	add cases/A/B/ABCDEFGH23/notes/20261126T143000.001Z-aaaaaa.md.age "$T/note1") &&
	gitcommit adm2 "$t" "new: case opened"
ok $? "a case opened by a commit signed by stock git"
GOOD=$(git -C "$S" rev-parse main)

api-verify > "$T/out" 2> "$T/err"
ok $? "a good history verifies"
grep -qx 'ok: 5 commits verified' "$T/out" && [ ! -s "$T/err" ]
ok $? "ok: N commits verified, nothing on stderr"
[ "$(api-verify --json)" = '{"ok":true,"commits":5}' ]
ok $? "--json"
[ "$(api-verify --since main~2)" = 'ok: 2 commits verified' ]
ok $? "--since starts after the given commit"
git -C "$S" fsck --strict > /dev/null 2>&1
ok $? "git fsck --strict passes"
git -C "$S" show main:allowed_signers > "$T/allowed"
[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$T/allowed" log \
	--format=%G? | sort -u)" = G ]
ok $? "git log %G? shows G on every commit"

api-verify --help | head -1 | grep -qx 'api-verify - audit the whole history'
ok $? "--help"
api-verify --bogus > /dev/null 2>&1
[ $? -eq 2 ]
ok $? "usage error exits 2"
api-verify -C "$T" > "$T/out" 2> "$T/err"
[ $? -eq 1 ] && [ ! -s "$T/out" ] && oneline "$T/err"
ok $? "not a store: one line on stderr, exit 1"

# (1) a commit made with plain git, unsigned
gitcommit - "$(git -C "$S" rev-parse 'main^{tree}')" "plain"
verdict signature "an unsigned commit"

# (2) signed by a key not in staff/
ssh-keygen -q -t ed25519 -N '' -C '' -f "$T/stranger"
GIT_AUTHOR_NAME=adm GIT_COMMITTER_NAME=adm c=$(git -C "$S" -c gpg.format=ssh \
	-c user.signingkey="$T/stranger" commit-tree -S \
	"$(git -C "$S" rev-parse 'main^{tree}')" -p main -m x) &&
	git -C "$S" update-ref refs/heads/main "$c"
verdict signer "a key that is not staff"

# (3) a forged message after a valid signature
git -C "$S" cat-file commit main | sed 's/new: case opened/new: case closed/' |
	git -C "$S" hash-object -t commit -w --stdin > "$T/forged" &&
	git -C "$S" update-ref refs/heads/main "$(cat "$T/forged")"
verdict signature "a message edited after signing"

# (4) a signature in the message body of an unsigned commit.  The body's
# signature is valid over the rest of the object, as libgit2 1.5's
# extractor would reassemble it: only the header check catches this.
now=$(date +%s)
{
	printf 'tree %s\nparent %s\n' "$(git -C "$S" rev-parse 'main^{tree}')" "$GOOD"
	printf 'author adm2 <adm2@api> %s +0000\ncommitter adm2 <adm2@api> %s +0000\n' \
		"$now" "$now"
	printf '\nlog: note added\n'
} > "$T/body"
ssh-keygen -q -Y sign -n git -f "$T/adm2" "$T/body" > /dev/null 2>&1
{
	cat "$T/body"
	sed '1s/^/gpgsig /; 2,$s/^/ /' "$T/body.sig"
} | git -C "$S" hash-object -t commit -w --stdin > "$T/c4" &&
	git -C "$S" update-ref refs/heads/main "$(cat "$T/c4")"
verdict signature "a gpgsig block in the message body"

# (6) a lead changing staff/
git -C "$S" show main:staff/adm | sed 's/^added-by: adm$/added-by: ld/' > "$T/f"
gitcommit ld "$(tree add staff/adm "$T/f")" "staff: edited"
verdict staff-admin "a lead editing staff/"

# (7) a note rewritten, (8) removed, (9) plaintext under cases/
echo "other" | age -r "$(age-keygen -y "$T/adm2.age")" > "$T/note2"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.001Z-aaaaaa.md.age "$T/note2")" "x"
verdict append-only "a note rewritten"
gitcommit adm2 "$(tree rm cases/A/B/ABCDEFGH23/notes/20261126T143000.001Z-aaaaaa.md.age)" "x"
verdict append-only "a note removed"
echo "name, date of birth" > "$T/plain"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.002Z-aaaaab.md.age "$T/plain")" "x"
verdict age-format "a plaintext note"

# more: layout, team format, allowed_signers, case-write, author name
printf 'adm2\nfoo bar\n' > "$T/badteam"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/team "$T/badteam")" "x"
verdict layout "a team file that is not one handle a line"
printf 'adm2\ncw\nadm2\n' > "$T/dupteam"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/team "$T/dupteam")" "x"
verdict layout "a team file that lists a handle twice"
gitcommit adm2 "$(tree add README "$T/plain")" "x"
verdict layout "an unexpected top-level file"
echo "adm2 ssh-ed25519 AAAA" > "$T/as"
gitcommit adm2 "$(tree add allowed_signers "$T/as")" "x"
verdict allowed-signers "allowed_signers not derived from staff/"
printf 'adm2\n' > "$T/team2"
gitcommit ld "$(tree add cases/C/D/CDEFGHJK23/team "$T/team2" \
	add cases/C/D/CDEFGHJK23/recipient "$T/rcp0" \
	add cases/C/D/CDEFGHJK23/notes/20261126T143000.003Z-aaaaac.md.age "$T/note2")" "x"
api-verify > /dev/null
ok $? "a lead may open a case for another team"
gitcommit cw "$(tree add cases/C/D/CDEFGHJK23/notes/20261126T143000.004Z-aaaaad.md.age "$T/note2")" "x"
verdict case-write "a caseworker writing outside their team"
gitcommit cw "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.004Z-aaaaad.md.age "$T/note2")" "x"
api-verify > /dev/null
ok $? "a caseworker may write to their own case"
git -C "$S" update-ref refs/heads/main "$GOOD"
c=$(GIT_AUTHOR_NAME=adm GIT_COMMITTER_NAME=adm2 git -C "$S" -c gpg.format=ssh \
	-c user.signingkey="$T/adm2" commit-tree -S "$(tree)" -p main -m x) &&
	git -C "$S" update-ref refs/heads/main "$c"
verdict signer "author name not the signer's handle"

# cases: team and key changes, recipient format, names, armor, api.conf
git -C "$S" update-ref refs/heads/main "$GOOD"
printf 'adm2\ncw\nld\n' > "$T/team3"
gitcommit cw "$(tree add cases/A/B/ABCDEFGH23/team "$T/team3")" "x"
verdict case-write "a caseworker changing a team"
gitcommit ld "$(tree add cases/A/B/ABCDEFGH23/team "$T/team3")" "x"
api-verify > /dev/null
ok $? "a lead may change a team"
git -C "$S" update-ref refs/heads/main "$GOOD"
gitcommit adm2 "$(tree rm cases/A/B/ABCDEFGH23/team)" "x"
verdict append-only "a case's team removed"
echo "not a key" > "$T/rcp"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/recipient "$T/rcp")" "x"
verdict layout "a recipient file that is not an age recipient"
{ age-keygen -y "$T/adm2.age"; age-keygen -y "$T/cw.age"; } > "$T/rcp"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/recipient "$T/rcp")" "x"
api-verify > /dev/null
ok $? "a recipient file with an age recipient verifies"
git -C "$S" update-ref refs/heads/main "$GOOD"
echo "x" | age -a -r "$(age-keygen -y "$T/adm2.age")" > "$T/armored"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.008Z-aaaaah.md.age "$T/armored")" "x"
verdict age-format "an armored age file under cases/"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/n1.md.age "$T/note1")" "x"
verdict layout "a note whose name is not a note ID"
gitcommit adm2 "$(tree add cases/X/Y/ABCDEFGH23/team "$T/team")" "x"
verdict layout "a case under the wrong shard"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGHIU/team "$T/team")" "x"
verdict layout "a case ID outside Crockford base32"
: > "$T/emptyteam"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/team "$T/emptyteam")" "x"
verdict layout "an empty team file"
gitcommit adm2 "$(tree add cases/E/F/EFGHJKMN23/team "$T/team")" "x"
verdict layout "a new case without a recipient file"
printf '[programme\nname = x\n' > "$T/badconf"
gitcommit adm2 "$(tree add api.conf "$T/badconf")" "x"
verdict layout "a corrupt api.conf"

# a merge that brings in content from neither parent
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.005Z-aaaaae.md.age "$T/note1")" "a"
A=$(git -C "$S" rev-parse main)
git -C "$S" update-ref refs/heads/main "$GOOD"
gitcommit adm2 "$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.006Z-aaaaaf.md.age "$T/note2")" "b"
B=$(git -C "$S" rev-parse main)
t=$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.005Z-aaaaae.md.age "$T/note1")
c=$(GIT_AUTHOR_NAME=adm2 GIT_COMMITTER_NAME=adm2 git -C "$S" -c gpg.format=ssh \
	-c user.signingkey="$T/adm2" commit-tree -S "$t" -p "$B" -p "$A" -m merge) &&
	git -C "$S" update-ref refs/heads/main "$c"
api-verify > /dev/null
ok $? "a clean merge verifies"
t=$(tree add cases/A/B/ABCDEFGH23/notes/20261126T143000.007Z-aaaaag.md.age "$T/note1")
c=$(GIT_AUTHOR_NAME=adm2 GIT_COMMITTER_NAME=adm2 git -C "$S" -c gpg.format=ssh \
	-c user.signingkey="$T/adm2" commit-tree -S "$t" -p "$B" -p "$A" -m merge) &&
	git -C "$S" update-ref refs/heads/main "$c"
verdict merge "a merge with new content"

# (5) a retired member signing after retirement
api-staff retire cw > /dev/null 2>&1
GOOD=$(git -C "$S" rev-parse main)
api-verify > /dev/null
ok $? "retiring verifies"
gitcommit cw "$(git -C "$S" rev-parse 'main^{tree}')" "x"
verdict signer "a retired key"

api-verify --json > "$T/out"
grep -q '"ok":true' "$T/out"
ok $? "reset to good"
gitcommit - "$(git -C "$S" rev-parse 'main^{tree}')" "plain"
api-verify --json > "$T/out"
[ $? -eq 1 ] && grep -q '^{"ok":false,"commit":"[0-9a-f]\{40\}","rule":"signature","path":"-","message":".*"}$' "$T/out"
ok $? "--json names the violation"

done_testing
