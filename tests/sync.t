#!/bin/sh
# sync.t - api-sync and api-clone through a path and file://, against a
# bare server with and without the pre-receive hook: first push, clone,
# concurrent work merged (notes, cases, staff on both sides), the read
# logs joined, stock git accepting every merge; a true conflict refused
# with the path and both commits named; bad input (unreachable server,
# a remote that is not a store, a history failing api-verify, a history
# rewritten on the server) refused with one line and the store unchanged;
# the hook refusing unsigned, deleting and rewriting pushes.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
A=$T/a B=$T/b SRV=$T/srv.git

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }

team_store "$A"
ok $? "a store: an admin, a lead, two caseworkers, a case of both"

git init -q --bare "$SRV" && cp "$API_TOP/scripts/pre-receive" "$SRV/hooks/" &&
	git -C "$A" remote add origin "$SRV"
run api-sync -C "$A" -i cw1.id
[ $? -eq 0 ] && same main "$A" "$SRV" && same refs/api/keys "$A" "$SRV" &&
	dverified "$SRV"
ok $? "api-sync: the first push (a path) fills an empty bare server, with its hook; api-verify passes there"
grep -q 'origin: .*push' err
ok $? "... and says on stderr what it did"

run api-clone "file://$SRV" "$B"
[ $? -eq 0 ] && [ "$(cat out)" = "$B" ] && same main "$A" "$B" &&
	same refs/api/keys "$A" "$B" && dverified "$B" &&
	[ "$(git -C "$B" config remote.origin.url)" = "file://$SRV" ] &&
	[ "$(git -C "$B" rev-parse --is-bare-repository)" = true ]
ok $? "api-clone file://: a bare store, remote origin, main and keys as the server's, verified"
[ -z "$(git -C "$B" for-each-ref refs/api/sync/)" ] && [ -z "$(git -C "$A" for-each-ref refs/api/sync/)" ]
ok $? "nothing left under refs/api/sync/"

# --- a clone from a path copies the object files -----------------------
# (no pack is made and indexed again in the process; every object copied
# is read once, its hash checked, before any ref names it)
for p in "$SRV"/objects/pack/pack-*.pack; do
	cmp -s "$p" "$B/objects/pack/$(basename "$p")" &&
		cmp -s "${p%.pack}.idx" "$B/objects/pack/$(basename "${p%.pack}").idx" ||
		{ false; break; }
done
ok $? "api-clone file://: the server's packs and indexes are in the clone as they were"

# an object no ref names (a purged case's old envelopes stay on the
# server until its next gc): a copy that holds one is not kept
U=$T/unreach.git
cp -a "$SRV" "$U" && uo=$(echo "UNREACHABLE-CANARY" | git -C "$U" hash-object -w --stdin) &&
	git -C "$U" cat-file -e "$uo"
ok $? "a copy of the server with an object no ref names"
run api-clone "$U" "$T/u"
[ $? -eq 0 ] && same main "$A" "$T/u" && dverified "$T/u" &&
	! git -C "$T/u" cat-file -e "$uo" 2> /dev/null &&
	! grep -rq UNREACHABLE-CANARY "$T/u"
r=$?
ok $r "api-clone of it: the store, verified, without the object no ref names"
[ $r -eq 0 ] || diag "$(cat err)"

L=$T/loose.git
cp -a "$SRV" "$L" && mkdir "$T/unp" && mv "$L"/objects/pack/pack-*.pack "$T/unp/" &&
	rm -f "$L"/objects/pack/* && for p in "$T"/unp/*.pack; do
		git -C "$L" unpack-objects -q < "$p" || exit 1; done &&
	[ "$(git -C "$L" count-objects | cut -d' ' -f1)" -gt 10 ]
ok $? "a copy of the server with loose objects only"
cp -a "$L" "$T/corrupt.git"
# a link out of the store in place of an object, and files that are no
# object: none is copied; for the link, nothing is, and the fetch brings
# every object (it asks only for the tips: a copy must be whole)
lf=$(find "$L/objects" -path "$L/objects/[0-9a-f][0-9a-f]/*" -type f | head -n 1)
lid=$(basename "$(dirname "$lf")")$(basename "$lf")
mv "$lf" "$T/outside" && ln -s "$T/outside" "$lf" &&
	zero=0000000000000000000000000000000000000000 &&
	echo junk > "$L/objects/pack/pack-$zero.pack" &&
	echo junk > "$L/objects/pack/tmp_pack_x" &&
	mkdir -p "$L/objects/ab" && echo junk > "$L/objects/ab/not-an-object"
run api-clone "$L" "$T/l"
[ $? -eq 0 ] && same main "$A" "$T/l" && dverified "$T/l" &&
	git -C "$T/l" cat-file -e "$lid" &&
	[ -z "$(find "$T/l" -type l)" ] &&
	[ -z "$(find "$T/l/objects" -name "pack-$zero.*" -o -name tmp_pack_x -o -name not-an-object)" ]
r=$?
ok $r "api-clone of a store with an object file that is a link, and junk: nothing copied, all fetched, verified"
[ $r -eq 0 ] || diag "$(cat err)"

# an object file larger than half the room on the clone's file system
# (a sparse file as large as all the room, named as a loose object): not
# copied, nothing copied, the fetch brings what the refs name
H=$T/huge.git
cp -a "$SRV" "$H" && mkdir -p "$H/objects/ab"
free=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if truncate -s "$((free + 1024))K" "$H/objects/ab/cdef0123456789abcdef0123456789abcdef01" 2> /dev/null; then
	run api-clone "$H" "$T/h"
	[ $? -eq 0 ] && same main "$A" "$T/h" && dverified "$T/h" &&
		[ ! -e "$T/h/objects/ab/cdef0123456789abcdef0123456789abcdef01" ] &&
		[ "$(du -sk "$T/h" | cut -f1)" -lt 102400 ]
	r=$?
	ok $r "api-clone of a store with a sparse object file larger than the free space: not copied, all fetched, verified"
	[ $r -eq 0 ] || diag "$(cat err)"
else
	skip "a sparse file of ${free} KiB cannot be made here"
fi
rm -rf "$H"

# main's tip replaced by another object's file: the copy is refused
tip=$(git -C "$T/corrupt.git" rev-parse main)
tf=$T/corrupt.git/objects/$(echo "$tip" | cut -c1-2)/$(echo "$tip" | cut -c3-)
of=$(find "$T/corrupt.git/objects" -path "*/[0-9a-f][0-9a-f]/*" -type f ! -path "$tf" | head -n 1)
chmod u+w "$tf" && cp "$of" "$tf"
run api-clone "$T/corrupt.git" "$T/c"
[ $? -eq 1 ] && oneline err && grep -q "$tip" err && [ ! -e "$T/c" ]
r=$?
ok $r "api-clone of a store with a corrupt object: exit 1, one line naming it, no directory"
[ $r -eq 0 ] || diag "$(cat err)"
cp -a "$SRV" "$T/trunc.git" && for p in "$T"/trunc.git/objects/pack/pack-*.pack; do
	chmod u+w "$p" && truncate -s -100 "$p"; done
run api-clone "$T/trunc.git" "$T/tr"
[ $? -eq 1 ] && oneline err && [ ! -e "$T/tr" ]
r=$?
ok $r "api-clone of a store with a truncated pack: exit 1, one line, no directory"
[ $r -eq 0 ] || diag "$(cat err)"

# --- work on both sides ------------------------------------------------
n1=$(api-log -C "$A" -i cw1.id "$C1" -m "from a" 2> /dev/null) &&
	n2=$(api-log -C "$B" -i cw2.id "$C1" -m "from b" 2> /dev/null) &&
	C2=$(api-new -C "$B" -i cw2.id -m "intake two" 2> /dev/null) &&
	api-show -C "$A" -i cw1.id --purpose test "$C1" > /dev/null 2>&1 &&
	api-show -C "$B" -i cw2.id --purpose test "$C1" > /dev/null 2>&1
ok $? "a note in each copy, a case opened in B, a read in each"
api-sync -q -C "$A" -i cw1.id 2> errA; ra=$?
api-sync -q -C "$B" -i cw2.id 2> errB; rb=$?
api-sync -q -C "$A" -i cw1.id 2>> errA; ra2=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] && [ $ra2 -eq 0 ] && [ ! -s errA ] && [ ! -s errB ]
ok $? "api-sync -q in A, B, A: exit 0, nothing on stderr"
same main "$A" "$B" "$SRV" && same refs/api/keys "$A" "$B" "$SRV" &&
	same refs/api/reads/$(date -u +%Y) "$A" "$B" "$SRV"
ok $? "main, the keys and the read log are the same commit in A, B and the server"
M=$(git -C "$B" log --merges -1 --format=%H main)
[ -n "$M" ] && git -C "$B" log -1 --format=%B "$M" | grep -qx 'Api-Action: merge' &&
	[ "$(git -C "$B" log -1 --format=%an "$M")" = cw2 ]
ok $? "B merged: a merge commit by cw2, Api-Action: merge"
git -C "$B" -c gpg.ssh.allowedSignersFile="$W/as" show "main:allowed_signers" > as &&
	git -C "$B" -c gpg.ssh.allowedSignersFile="$W/as" verify-commit "$M" 2> /dev/null &&
	git -C "$SRV" fsck --strict > /dev/null 2>&1 && git -C "$A" fsck --strict > /dev/null 2>&1
ok $? "stock git verify-commit accepts the merge; git fsck --strict is clean on the server and in A"
dverified "$A" && dverified "$B" && dverified "$SRV"
ok $? "api-verify (history and read logs) passes in A, B and on the server"
api-show -C "$A" -i cw1.id --purpose test "$C1" 2> /dev/null | grep -q "from b" &&
	api-show -C "$B" -i cw2.id --purpose test "$C1" 2> /dev/null | grep -q "from a" &&
	api-show -C "$A" -i cw2.id --purpose test "$C2" 2> /dev/null | grep -q "intake two"
ok $? "each copy reads the other's note, and A the case B opened"
git -C "$SRV" log --format='%s %an' refs/api/reads/$(date -u +%Y) > rl &&
	grep -q '^read: 1 case cw1$' rl && grep -q '^read: 1 case cw2$' rl &&
	git -C "$SRV" log --merges -1 --format=%B refs/api/reads/$(date -u +%Y) | grep -qx 'Api-Action: merge'
ok $? "the read log holds both copies' reads, joined by a merge"

# --- staff added on both sides: allowed_signers made again -------------
api-keygen --handle s1 --no-passphrase -o s1.id > s1.pub 2> /dev/null
api-keygen --handle s2 --no-passphrase -o s2.id > s2.pub 2> /dev/null
api-staff -C "$A" -i adm.id add --role caseworker s1.pub > /dev/null 2>&1 &&
	api-staff -C "$B" -i adm.id add --role caseworker s2.pub > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i adm.id && api-sync -q -C "$B" -i adm.id &&
	api-sync -q -C "$A" -i adm.id
ok $? "a member added in each copy: both sync"
same main "$A" "$B" "$SRV" && dverified "$B" &&
	[ "$(git -C "$B" show main:allowed_signers | grep -c '^s[12]@api\|^"*s[12]')" -ge 2 ] ||
	[ "$(git -C "$B" show main:allowed_signers | grep -c 's[12]')" -ge 2 ]
ok $? "allowed_signers made again from both: it names s1 and s2, api-verify passes"

# --- a true conflict: one case's team changed in two copies -----------
C=$T/c D=$T/d
api-clone -q "$SRV" "$C" > /dev/null && api-clone -q "$SRV" "$D" > /dev/null &&
	api-grant -C "$C" -i ld.id "$C1" s1 > /dev/null 2>&1 &&
	api-grant -C "$D" -i ld.id "$C1" s2 > /dev/null 2>&1 &&
	api-sync -q -C "$C" -i ld.id
ok $? "two copies; a lead grants s1 in one and s2 in the other; the first syncs"
before=$(drefs "$D")
run api-sync -C "$D" -i ld.id
[ $? -eq 1 ] && oneline err && grep -q "$(cdir "$C1")/team" err &&
	grep -q "$(git -C "$D" rev-parse --short=12 main)" err &&
	grep -q "$(git -C "$SRV" rev-parse --short=12 main)" err
ok $? "the second: exit 1, one line naming the team file and both commits"
diag "$(cat err)"
[ "$(drefs "$D")" = "$before" ] && dverified "$D"
ok $? "... the store unchanged (its grant kept), api-verify passes"

# --- a grant in one copy reaches the other's keys --------------------
E=$T/e2 F=$T/f2
api-clone -q "$SRV" "$E" > /dev/null && api-clone -q "$SRV" "$F" > /dev/null &&
	api-keygen --handle s3 --no-passphrase -o s3.id > s3.pub 2> /dev/null &&
	api-staff -C "$E" -i adm.id add --role caseworker s3.pub > /dev/null 2>&1 &&
	api-grant -C "$E" -i ld.id "$C2" s3 > /dev/null 2>&1 &&
	api-sync -q -C "$E" -i ld.id
ok $? "two more copies; in one, a new member s3 is granted case C2 and synced"
stale=$(dtip "$F" refs/api/keys)
api-sync -q -C "$F" -i cw2.id && same refs/api/keys "$E" "$F" "$SRV" &&
	api-show -C "$F" -i s3.id --purpose test "$C2" 2> /dev/null | grep -q "intake two"
ok $? "the other syncs: it takes the server's envelopes (written for the new team), and s3 reads C2 there"
srv0=$(drefs "$SRV")
git -C "$F" push -f "$SRV" "$stale:refs/api/keys" > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'not' err && grep -q "$C2" err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "the hook refuses the old envelopes pushed back over them, naming the case; the server unchanged"
# a keys commit without C2's envelopes, signed by a member of staff with
# stock git: the hook refuses it, as C2 is not purged on main
API_DIR=$A ssh_staff "$W" k1 caseworker adm.id && api-sync -q -C "$A" -i cw1.id &&
	rm -f "$W/kix" && GIT_INDEX_FILE=$W/kix git -C "$SRV" read-tree refs/api/keys &&
	GIT_INDEX_FILE=$W/kix git -C "$SRV" rm -q -r --cached "$(cdir "$C2")" &&
	kt=$(GIT_INDEX_FILE=$W/kix git -C "$SRV" write-tree) &&
	kc=$(GIT_AUTHOR_NAME=k1 GIT_COMMITTER_NAME=k1 GIT_AUTHOR_EMAIL=k1@api \
		GIT_COMMITTER_EMAIL=k1@api git -C "$SRV" -c gpg.format=ssh \
		-c user.signingkey="$W/k1" commit-tree -S "$kt" -m "keys") &&
	srv0=$(drefs "$SRV")
ok $? "a signed keys commit by a member of staff, without the envelopes of C2"
git -C "$SRV" push -f "$SRV" "$kc:refs/api/keys" > /dev/null 2> err
[ $? -ne 0 ] && grep -q "drops the keys of case $C2" err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "the hook refuses it: 'drops the keys of case C2'; the server unchanged"

# --- bad input ---------------------------------------------------------
before=$(drefs "$A")
run timeout 60 api-sync -C "$A" -i cw1.id "file://$T/nowhere.git"
[ $? -eq 1 ] && oneline err && [ "$(drefs "$A")" = "$before" ]
ok $? "an unreachable server: exit 1, one line, the store unchanged"
git init -q --bare "$T/other.git" && git init -q "$T/plain" &&
	git -C "$T/plain" -c user.name=x -c user.email=x@x commit -q --allow-empty -m x &&
	git -C "$T/plain" push -q "$T/other.git" HEAD:main 2> /dev/null
run api-sync -C "$A" -i cw1.id "$T/other.git"
[ $? -eq 1 ] && oneline err && grep -q 'not an api store' err && [ "$(drefs "$A")" = "$before" ] &&
	[ "$(git -C "$T/other.git" for-each-ref | wc -l)" = 1 ]
ok $? "a remote that is not a store: exit 1, 'not an api store', neither side changed"
run api-clone "$T/other.git" "$T/e"
[ $? -eq 1 ] && oneline err && [ ! -e "$T/e" ]
ok $? "api-clone of it: exit 1, one line, no directory left"
run api-clone "$SRV" "$A"
[ $? -eq 1 ] && oneline err && [ "$(drefs "$A")" = "$before" ]
ok $? "api-clone into an existing store: exit 1, one line, it unchanged"

# a server without the hook, holding a commit stock git made unsigned
NH=$T/nohook.git
git clone -q --bare "$SRV" "$NH" && api-sync -q -C "$A" -i cw1.id "$NH"
ok $? "a second server, without the hook, in step with A"
git clone -q "$NH" "$T/w" 2> /dev/null &&
	git -C "$T/w" checkout -q main 2> /dev/null &&
	echo junk > "$T/w/junk" && git -C "$T/w" add junk &&
	git -C "$T/w" -c user.name=x -c user.email=x@x commit -q -m junk &&
	git -C "$T/w" push -q origin main 2> /dev/null
ok $? "someone pushes an unsigned commit to it with stock git"
before=$(drefs "$A")
run api-sync -C "$A" -i cw1.id "$NH"
[ $? -eq 1 ] && oneline err && grep -q 'fails api-verify' err && grep -q 'signature' err &&
	[ "$(drefs "$A")" = "$before" ]
ok $? "api-sync refuses it: exit 1, one line ('fails api-verify', the rule), the store unchanged"
git -C "$NH" update-ref refs/heads/main "$(dtip "$A")~1"
run api-sync -C "$A" -i cw1.id "$NH"
[ $? -eq 1 ] && oneline err && grep -q 'rewritten' err && [ "$(drefs "$A")" = "$before" ]
ok $? "the server's main rewritten to an older commit: exit 1, 'rewritten', the store unchanged"

# keys on a server without the hook, in a commit nobody signed
NK=$T/nokeyhook.git
git clone -q --bare "$SRV" "$NK" && api-sync -q -C "$A" -i cw1.id "$NK" &&
	kc=$(git -C "$NK" commit-tree "$(git -C "$NK" rev-parse 'refs/api/keys^{tree}')" -m keys) &&
	git -C "$NK" update-ref refs/api/keys "$kc" && api-log -C "$A" -i cw1.id "$C1" -m x > /dev/null 2>&1
ok $? "a third server without the hook, whose keys someone replaced with an unsigned commit"
before=$(drefs "$A")
run api-sync -C "$A" -i cw1.id "$NK"
[ $? -eq 1 ] && oneline err && grep -q 'not signed\|signature' err && [ "$(git -C "$A" rev-parse refs/api/keys)" = "$(echo "$before" | sed -n 's| commit\trefs/api/keys$||p')" ]
ok $? "api-sync refuses its keys: exit 1, one line, the store's keys unchanged"

# a server on a path runs its hook too (libgit2 would write its refs
# itself): one that refuses everything
RH=$T/refusing.git
git clone -q --bare "$SRV" "$RH" && api-sync -q -C "$A" -i cw1.id "$RH" &&
	printf '#!/bin/sh\necho "api-verify: push refused: this server says no" >&2\nexit 1\n' \
		> "$RH/hooks/pre-receive" && chmod +x "$RH/hooks/pre-receive" &&
	api-log -C "$A" -i cw1.id "$C1" -m "for the refusing server" > /dev/null 2>&1
ok $? "a server on a path whose hook refuses every push"
rh0=$(drefs "$RH")
run api-sync -C "$A" -i cw1.id "$RH"
[ $? -eq 1 ] && oneline err && grep -q 'this server says no' err &&
	[ "$(drefs "$RH")" = "$rh0" ]
ok $? "api-sync to it: exit 1, the hook's reason on one line, the server's refs unchanged, no stray refs"

# --- the hook ----------------------------------------------------------
srv0=$(drefs "$SRV")
git clone -q "$SRV" "$T/x" 2> /dev/null && git -C "$T/x" checkout -q main 2> /dev/null &&
	echo junk > "$T/x/junk" && git -C "$T/x" add junk &&
	git -C "$T/x" -c user.name=x -c user.email=x@x commit -q -m junk
git -C "$T/x" push origin main > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'push refused' err && grep -q 'signature' err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "the hook refuses an unsigned commit; the server unchanged"
git -C "$T/x" reset -q --hard origin/main &&
	f=$(git -C "$T/x" ls-files | grep '/notes/' | head -n 1) && git -C "$T/x" rm -q "$f" &&
	git -C "$T/x" -c user.name=cw1 -c user.email=cw1@api commit -q -m "note removed"
git -C "$T/x" push origin main > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'push refused' err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "... a commit that deletes a note; the server unchanged"
git -C "$A" push -f "$SRV" "$(dtip "$SRV")~1:refs/heads/main" > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'rewrites' err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "... a forced push of an older main (a rewrite); the server unchanged"
git -C "$A" push "$SRV" :refs/api/keys > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'push refused' err && [ "$(drefs "$SRV")" = "$srv0" ]
ok $? "... the deletion of the keys; the server unchanged"
api-log -C "$A" -i cw1.id "$C1" -m "after the refusals" > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i cw1.id && same main "$A" "$SRV" && dverified "$SRV"
ok $? "a good push is accepted"

# --- no plaintext on the server ----------------------------------------
CANARY=canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
api-log -C "$B" -i cw2.id "$C1" -m "$CANARY" > /dev/null 2>&1 && api-sync -q -C "$B" -i cw2.id &&
	git -C "$SRV" cat-file --batch-all-objects --batch > objs &&
	! grep -q "$CANARY" objs && ! grep -rqa "$CANARY" "$SRV" "$B"
ok $? "a canary note synced: not in any object or file of the server or the copy"

# --- a dropped read log goes from the server and every copy ---------------
# (a drop is for a year long past; here the current year's log is
# dropped by a record an admin makes with stock git, as api-readlog drop
# records it, since no log here is old enough)
Y=$(date -u +%Y)
api-sync -q -C "$A" -i cw1.id && api-sync -q -C "$B" -i cw2.id &&
	git -C "$SRV" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null
ok $? "A, B and the server in step, the server holding the read log of $Y"
git -C "$A" push "$SRV" ":refs/api/reads/$Y" > /dev/null 2> err
[ $? -ne 0 ] && grep -q 'only once main records its drop' err &&
	git -C "$SRV" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null
ok $? "the hook refuses to delete a read log whose drop main does not record"
API_DIR=$A ssh_staff "$W" sadm admin adm.id && api-sync -q -C "$A" -i cw1.id &&
	S=$A git_commit "$W" sadm "$(git -C "$A" rev-parse 'main^{tree}')" \
	"$(printf 'readlog: a year'"'"'s read log dropped\n\nApi-Action: readlog-drop\nApi-Object: refs/api/reads/%s\nApi-Tip: %s' "$Y" "$(dtip "$A" "refs/api/reads/$Y")")" &&
	dverified "$A"
ok $? "an admin records the drop of the log of $Y on main in A"
api-sync -q -C "$A" -i cw1.id
[ $? -eq 0 ] && ! git -C "$A" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null &&
	! git -C "$SRV" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null &&
	same main "$A" "$SRV"
ok $? "A syncs: its own log of $Y goes, and the server's (the hook lets the deletion in)"
api-sync -q -C "$B" -i cw2.id && api-sync -q -C "$B" -i cw2.id &&
	! git -C "$B" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null &&
	! git -C "$SRV" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null &&
	api-clone -q "$SRV" "$T/g" > /dev/null &&
	! git -C "$T/g" rev-parse -q --verify "refs/api/reads/$Y" > /dev/null
ok $? "B syncs twice: its log of $Y goes too and does not come back; a new clone has none"

# --- a purge travels: the envelopes go from every copy and the server --
P=$(api-new -C "$A" -i cw1.id -m "to be purged" 2> /dev/null) &&
	api-status -C "$A" -i cw1.id "$P" --set active --date 2014-02-01 > /dev/null 2>&1 &&
	api-status -C "$A" -i cw1.id "$P" --set closed --reason completed --date 2015-01-01 > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i cw1.id && api-sync -q -C "$B" -i cw2.id &&
	envs=$(git -C "$B" rev-parse "refs/api/keys:$(cdir "$P")/key.age" \
		"refs/api/keys:$(cdir "$P")/events.age") && [ -n "$envs" ]
ok $? "a case closed long ago, synced: its envelopes are in B"
api-purge -C "$A" -i adm.id "$P" --reason "retention ended" > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i adm.id && api-sync -q -C "$B" -i cw2.id
ok $? "an admin purges it in A; A and B sync"
gone=0
for d in "$A" "$B" "$SRV"; do
	git -C "$d" cat-file -e "main:$(cdir "$P")/purged" || gone=1
	[ -z "$(git -C "$d" ls-tree -r --name-only refs/api/keys "$(cdir "$P")/")" ] || gone=1
done
[ $gone -eq 0 ] && same refs/api/keys "$A" "$B" "$SRV" && dverified "$B" && dverified "$SRV"
ok $? "the purge is recorded on main, and its envelopes gone from the keys, in A, B and the server"
for d in "$A" "$B" "$SRV"; do
	git -C "$d" reflog expire --expire=now --all && git -C "$d" gc -q --prune=now || gone=1
	for e in $envs; do git -C "$d" cat-file -e "$e" 2> /dev/null && gone=1; done
done
[ $gone -eq 0 ]
ok $? "after reflog expire and gc, neither envelope is in any of them"

# --- locks: what a killed sync leaves, and two syncs of one copy --------
# libgit2's fetch writes refs/api/sync/* without api-flock: a sync killed
# there leaves a lock file that a later sync must not trip over
mkdir -p "$A/refs/api/sync" && : > "$A/refs/api/sync/main.lock" &&
	api-log -C "$A" -i cw1.id "$C1" -m "after a killed sync" > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i cw1.id 2> err && [ ! -s err ] &&
	[ ! -e "$A/refs/api/sync/main.lock" ] && same main "$A" "$SRV"
ok $? "a lock file left under refs/api/sync/ by a killed sync: the next sync removes it and succeeds"
[ -s err ] && diag "$(cat err)"
# two syncs of one copy at once take turns (api-sync.lock in the copy)
api-log -C "$A" -i cw1.id "$C1" -m "two syncs at once" > /dev/null 2>&1 &&
	{ api-sync -q -C "$A" -i cw1.id 2> err1 & p1=$!
	  api-sync -q -C "$A" -i cw1.id 2> err2; r2=$?
	  wait $p1; r1=$?; } &&
	[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ ! -s err1 ] && [ ! -s err2 ] &&
	same main "$A" "$SRV" && [ "$(stat -c %a "$A/api-sync.lock")" = 600 ] &&
	[ "$(stat -c %a "$SRV/api-sync.lock")" = 600 ]
ok $? "two syncs of one copy at once: both exit 0; the copy's and the server's api-sync.lock are 0600"

done_testing
