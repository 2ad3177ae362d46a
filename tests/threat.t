#!/bin/sh
# threat.t - claims of api-security(7) that no other test checks: an
# auditor reads no note, by api-show or by stock age, and the events
# only of cases whose envelopes were written after they joined; a
# colleague on another team who writes to a case, or adds themselves to
# its team, with stock git and their own signature, is refused by the
# server's hook and named by api-verify; a retired member's commit dated
# back before the retirement is refused by api-verify though stock git
# shows its signature as good; what the metadata does tell: the length
# of a note, when it was written, that a phase changed; and a purged
# case leaves the state cache of api-status of whoever lists the cases.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
S=$API_DIR SRV=$T/srv.git

team_store "$S" &&
	api-keygen --handle aud --no-passphrase -o aud.id > aud.pub 2> /dev/null &&
	api-staff -i adm.id add --role auditor aud.pub > /dev/null 2>&1 &&
	ssh_staff "$T" oth caseworker adm.id &&
	api-log -i cw1.id "$C1" -m "second note" > /dev/null 2>&1 &&
	api-status -i cw1.id "$C1" --set active > /dev/null 2>&1
ok $? "a store: adm, ld, cw1, cw2 (team of C1), aud (auditor), oth (caseworker on no team, OpenSSH key); C1 with two notes and a phase change"

D=$(cdir "$C1")
# every note and event of C1 on main, one path a line
git -C "$S" ls-tree -r --name-only main "$D/notes" "$D/events" > records
[ "$(grep -c '\.md\.age$' records)" -eq 2 ] && [ "$(grep -c '/events/' records)" -ge 3 ]
ok $? "C1 holds 2 notes and at least 3 events"

# --- an auditor reads no note ---------------------------------------------------
# opens ID REF:PATH: stock age decrypts the blob with the identity ID
opens() { git -C "$S" show "$2" | age -d -i "$1" > /dev/null 2>&1; }
bad=0
for e in key.age events.age; do opens aud.id "refs/api/keys:$D/$e" && bad=1; done
while read -r p; do opens aud.id "main:$p" && bad=1; done < records
opens cw1.id "refs/api/keys:$D/key.age" || bad=1
[ $bad -eq 0 ]
ok $? "C1, whose envelopes predate the auditor: the auditor's identity opens no envelope and no record, with stock age"
C2=$(api-new -i cw1.id -m "intake two" 2> /dev/null) &&
	api-log -i cw1.id "$C2" -m "a note" > /dev/null 2>&1
ok $? "C2, opened by cw1 after the auditor joined, two notes"
D2=$(cdir "$C2")
git -C "$S" show "refs/api/keys:$D2/events.age" | age -d -i aud.id > ev.key 2> /dev/null
ev=$?
bad=0 ne=0 nn=0
for p in $(git -C "$S" ls-tree -r --name-only main "$D2/events"); do
	ne=$((ne + 1))
	opens ev.key "main:$p" || bad=1
	opens aud.id "main:$p" && bad=1
done
for p in $(git -C "$S" ls-tree -r --name-only main "$D2/notes"); do
	nn=$((nn + 1))
	opens aud.id "main:$p" && bad=1
	opens ev.key "main:$p" && bad=1
done
opens aud.id "refs/api/keys:$D2/key.age" && bad=1
[ $ev -eq 0 ] && [ $bad -eq 0 ] && [ $ne -ge 3 ] && [ $nn -eq 2 ]
ok $? "C2: the auditor opens events.age and every event through it; not key.age, and no note"
rm -f ev.key
api-show -i aud.id "$C1" > out 2> err
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q "aud is not on the team" err
ok $? "api-show as the auditor: refused"
api-verify > out 2> err
[ $? -eq 0 ] && [ ! -s err ]
ok $? "the auditor's own tool, api-verify, passes"

# --- a colleague on another team, with stock git ----------------------------
git init -q --bare "$SRV" && cp "$API_TOP/scripts/pre-receive" "$SRV/hooks/" &&
	api-sync -q -i cw1.id "$SRV" 2> /dev/null &&
	[ "$(git -C "$SRV" rev-parse main)" = "$(git -C "$S" rev-parse main)" ]
ok $? "a server with the pre-receive hook, in step with the store"
GOOD=$(git -C "$S" rev-parse main)
srv0=$(git -C "$SRV" for-each-ref)
git -C "$S" show "main:$D/recipient" | sed -n 1p > notes.rcp
echo "written by someone off the team" | age -R notes.rcp > forged.age
git_commit "$T" oth "$(git_tree "$T" add "$D/notes/20261127T000000.000Z-aaaaaa.md.age" forged.age)" \
	"$(printf 'log: note added\n\nApi-Action: log\nApi-Case: %s\nApi-Object: 20261127T000000.000Z-aaaaaa' "$C1")" &&
	[ "$(git -C "$S" log -1 --format=%an main)" = oth ]
ok $? "oth signs a note into C1 with stock git (a good age file, to the case's notes key)"
git -C "$S" push -q "$SRV" main > out 2> err
[ $? -ne 0 ] && grep -q 'case-write' err && [ "$(git -C "$SRV" for-each-ref)" = "$srv0" ]
ok $? "the hook refuses the push, naming the case-write rule; the server unchanged"
api-verify > out 2> err
[ $? -eq 1 ] && [ "$(cut -d' ' -f2 out)" = case-write ]
ok $? "api-verify names case-write"
git -C "$S" update-ref refs/heads/main "$GOOD"
{ git -C "$S" show "main:$D/team"; echo oth; } > team2
git_commit "$T" oth "$(git_tree "$T" add "$D/team" team2)" "team: access granted" &&
	git -C "$S" show "main:$D/team" | grep -qx oth
ok $? "oth adds themselves to C1's team with stock git"
git -C "$S" push -q "$SRV" main > out 2> err
[ $? -ne 0 ] && grep -q 'case-write' err && [ "$(git -C "$SRV" for-each-ref)" = "$srv0" ]
ok $? "the hook refuses that too; the server unchanged"
bad=0
for e in key.age events.age; do
	git -C "$S" show "refs/api/keys:$D/$e" | age -d -i "$T/oth.age" > /dev/null 2>&1 && bad=1
done
[ $bad -eq 0 ]
ok $? "and the envelopes were never written to oth: its age key opens neither"
git -C "$S" update-ref refs/heads/main "$GOOD"

# --- a retired member, and the date a commit claims --------------------------
ssh_staff "$T" gone caseworker adm.id
ok $? "gone joins (OpenSSH key)"
sleep 3
api-staff -i adm.id retire gone > /dev/null 2>&1
ok $? "... and is retired three seconds later"
GOOD=$(git -C "$S" rev-parse main)
from=$(git -C "$S" show main:staff/gone | sed -n 's/^valid-from: //p')
until=$(git -C "$S" show main:staff/gone | sed -n 's/^valid-until: //p')
f=$(date -u -d "$from" +%s) u=$(date -u -d "$until" +%s)
[ -n "$from" ] && [ -n "$until" ] && [ $((u - f)) -ge 2 ]
ok $? "staff/gone: valid-from and valid-until two seconds or more apart"
mid=$(((f + u) / 2))
c=$(GIT_AUTHOR_NAME=gone GIT_COMMITTER_NAME=gone GIT_AUTHOR_EMAIL=gone@api \
	GIT_COMMITTER_EMAIL=gone@api GIT_AUTHOR_DATE="@$mid +0000" GIT_COMMITTER_DATE="@$mid +0000" \
	git -C "$S" -c gpg.format=ssh -c user.signingkey="$T/gone" \
	commit-tree -S "$(git -C "$S" rev-parse 'main^{tree}')" -p main -m "x") &&
	git -C "$S" update-ref refs/heads/main "$c"
ok $? "gone signs a commit after the retirement, dated between joining and retiring"
git -C "$S" show main:allowed_signers > "$W/allowed"
[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log -1 --format=%G? main)" = G ]
ok $? "stock git shows G for it, by its claimed date"
api-verify > out 2> err
[ $? -eq 1 ] && [ "$(cut -d' ' -f2 out)" = signer ] && grep -q 'retired' out
ok $? "a commit dated before the retirement: api-verify names the signer rule"
git -C "$S" update-ref refs/heads/main "$GOOD"
sleep 2   # ssh-keygen counts the second of valid-before as valid
c=$(GIT_AUTHOR_NAME=gone GIT_COMMITTER_NAME=gone GIT_AUTHOR_EMAIL=gone@api \
	GIT_COMMITTER_EMAIL=gone@api git -C "$S" -c gpg.format=ssh -c user.signingkey="$T/gone" \
	commit-tree -S "$(git -C "$S" rev-parse 'main^{tree}')" -p main -m "x") &&
	[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log -1 --format=%G? "$c")" != G ]
ok $? "(control: dated now, stock git does not show G)"

# --- what the metadata tells --------------------------------------------------
d0=$(date -u +%Y%m%d)
short=$(api-log -i cw1.id "$C1" -m "x" 2> /dev/null) &&
	long=$(api-log -i cw1.id "$C1" -m "$(printf '%01000d' 0)" 2> /dev/null)
ok $? "two notes, of 1 and 1000 characters"
size() { git -C "$S" cat-file -s "main:$D/notes/$1.md.age"; }
[ $(($(size "$long") - $(size "$short"))) -eq 999 ]
ok $? "their ciphertexts differ in length by exactly 999 bytes: the length of a note shows"
d1=$(date -u +%Y%m%d)
case $long in "$d0"T* | "$d1"T*) true ;; *) false ;; esac
ok $? "a note's file name is the time it was written"
git -C "$S" log --format=%s main -- "$D/events" | grep -qx 'status: phase changed' &&
	! git -C "$S" log --format=%B main | grep -qi 'active'
ok $? "a phase change shows as 'status: phase changed', not which phase"

# --- a purge reaches the state cache of api-status --------------------------------
P=$(api-new -i cw1.id -m "to be purged" 2> /dev/null) &&
	api-status -i ld.id "$P" --set closed --reason completed --date 2015-01-01 > /dev/null 2>&1 &&
	api-status -i ld.id > /dev/null 2>&1
ok $? "case P, closed in 2015; ld lists the cases"
# incache: the case is in ld's state cache, which stock age opens
incache() { for f in "$HOME"/.cache/api/*; do age -d -i ld.id "$f" 2> /dev/null; done | grep -aq "$1"; }
incache "$P" && incache "$C1"
ok $? "(control: ld's cache, opened with stock age, holds P and C1)"
api-purge -i adm.id --force --reason "retention ended" "$P" > /dev/null 2>&1 && api-status -i ld.id > out 2> /dev/null &&
	! grep -q "$P" out
ok $? "P purged; ld lists the cases again, without P"
! incache "$P" && incache "$C1"
ok $? "ld's cache no longer holds P (C1 it does): crypto-shredding reaches it"

done_testing
