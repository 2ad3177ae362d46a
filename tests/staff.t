#!/bin/sh
# staff.t - api-staff: adding, listing and retiring staff, who may do it,
# refusals that leave refs alone, concurrent writers, and the audit trail
# as stock git and ssh-keygen see it.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
S=$W/store
have() { command -v "$1" >/dev/null 2>&1; }
# run CMD ARGS...: stdout in $W/out, stderr in $W/err (stdin as given)
run() { "$@" > "$W/out" 2> "$W/err"; }
# st ARGS...: api-staff on the store, as admin1
st() { run api-staff -C "$S" -i "$W/admin1.id" "$@"; }
tip() { git -C "$S" rev-parse main 2>/dev/null; }
# last FORMAT: a field of main's tip
last() { git -C "$S" log -1 --format="$1" main; }
# trailer KEY: the value of a trailer of main's tip
trailer() { last %B | git interpret-trailers --parse | sed -n "s/^$1: //p"; }
# signers: main's allowed_signers at an absolute path (git resolves a
# relative one against the store), printed
signers() { git -C "$S" show main:allowed_signers > "$W/as" && echo "$W/as"; }
# refused WHAT: exit 1, nothing on stdout, one line on stderr, main unchanged
refused() {
	rc=$1
	[ "$rc" -eq 1 ] && [ ! -s out ] && oneline err && [ "$(tip)" = "$before" ]
	ok $? "$2"
}

for h in admin1 cw lead1 aud svc adm2 late other; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || break
done
ok $? "identities for eight people"
api-init -i admin1.id "$S" 2> /dev/null
ok $? "a store with admin1 as its first admin"

# --- adding -----------------------------------------------------------------
before=$(tip)
st add --role caseworker < cw.pub
[ $? -eq 0 ] && [ ! -s out ] && oneline err && grep -q '^api-staff: added cw' err
ok $? "add --role caseworker, the public line on stdin: exit 0, one line"
[ "$(git -C "$S" rev-parse main~1)" = "$before" ]
ok $? "one new commit on main"
git -C "$S" show main:staff/cw > f 2>/dev/null && grep -qx 'role: caseworker' f &&
	grep -qx 'handle: cw' f && grep -qx 'added-by: admin1' f &&
	grep -qx "ssh: $(cut -d' ' -f3- cw.pub)" f && grep -qx "age: $(cut -d' ' -f2 cw.pub)" f
ok $? "staff/cw: handle, role, keys, added-by"
[ "$(trailer Api-Action)" = staff-add ] && [ "$(trailer Api-Object)" = staff/cw ]
ok $? "trailers Api-Action: staff-add, Api-Object: staff/cw"
[ "$(last '%an <%ae>')" = 'admin1 <admin1@api>' ] && [ "$(last %s)" = "staff: member added" ]
ok $? "authored by admin1 <admin1@api>, generic subject"
vf=$(sed -n 's/^valid-from: //p' f | tr -d ':T-')
git -C "$S" show main:allowed_signers |
	grep -Fqx "cw namespaces=\"git\",valid-after=\"$vf\" $(cut -d' ' -f3- cw.pub)"
ok $? "allowed_signers gains cw's line"

st add --role lead lead1.pub < /dev/null
[ $? -eq 0 ] && git -C "$S" show main:staff/lead1 | grep -qx 'role: lead'
ok $? "add --role lead PUBFILE: from a file"
st add --role auditor audit2 < aud.pub
[ $? -eq 0 ] && git -C "$S" show main:staff/audit2 > f 2>/dev/null &&
	grep -qx 'handle: audit2' f && grep -qx 'role: auditor' f &&
	! git -C "$S" cat-file -e main:staff/aud 2>/dev/null
ok $? "add --role auditor HANDLE < line: HANDLE overrides the line's handle"
git -C "$S" show main:allowed_signers | grep -q "^audit2 .* $(cut -d' ' -f3- aud.pub)$"
ok $? "... and allowed_signers names audit2 as principal"
st add --role service cron svc.pub < /dev/null
[ $? -eq 0 ] && git -C "$S" show main:staff/cron | grep -qx 'role: service' &&
	! git -C "$S" cat-file -e main:staff/svc 2>/dev/null
ok $? "add --role service HANDLE PUBFILE"
run api-staff add --role lead -C "$S" -i admin1.id - < late.pub
[ $? -eq 0 ] && git -C "$S" cat-file -e main:staff/late 2>/dev/null
ok $? "options after the command, PUBFILE '-' for stdin"

# --- listing ------------------------------------------------------------------
run api-staff -C "$S" list
[ $? -eq 0 ] && [ ! -s err ]
ok $? "list: exit 0, nothing on stderr"
[ "$(cut -f1 out | tr '\n' ' ')" = "admin1 audit2 cron cw late lead1 " ]
ok $? "list: one line per member, sorted by handle"
awk -F'\t' 'NF != 7 { bad = 1 } END { exit bad }' out
ok $? "list: seven tab-separated columns"
grep -q "^cw	caseworker	active	[0-9-]*T[0-9:]*Z	-	$(cut -d' ' -f2 cw.pub)	$(cut -d' ' -f3- cw.pub)$" out
ok $? "list columns: handle role status valid_from valid_until age ssh"
API_DIR=$S run api-staff list && [ "$(wc -l < out)" = 6 ]
ok $? "list without -C reads \$API_DIR"
run api-staff -C "$S" list --json
ok $? "list --json: exit 0"
if have python3; then
	python3 -c 'import json,sys; json.load(sys.stdin)' < out
	ok $? "list --json is valid JSON"
	python3 -c '
import json, sys
v = json.load(sys.stdin)
m = {x["handle"]: x for x in v}
assert [x["handle"] for x in v] == ["admin1", "audit2", "cron", "cw", "late", "lead1"]
c = m["cw"]
assert set(c) == {"handle", "role", "active", "valid_from", "valid_until",
	"added_by", "age", "ssh"}, set(c)
assert c["role"] == "caseworker" and c["active"] is True
assert c["valid_until"] is None and c["added_by"] == "admin1"
assert c["age"] == sys.argv[1] and c["ssh"] == sys.argv[2]
' "$(cut -d' ' -f2 cw.pub)" "$(cut -d' ' -f3- cw.pub)" < out
	ok $? "list --json: the fields of each member"
else
	skip "python3 not installed"
	skip "python3 not installed"
fi
run api-staff -C "$S" list --json -i "$W/nonexistent.id"
[ $? -eq 0 ]
ok $? "list needs no identity"

# --- who may write --------------------------------------------------------------
before=$(tip)
run api-staff -C "$S" -i cw.id add --role lead < other.pub
refused $? "a caseworker cannot add: exit 1, one line, main unchanged"
grep -q 'cw' err && grep -q 'admin' err
ok $? "... the message names cw and the admin role"
run api-staff -C "$S" -i cw.id retire lead1
refused $? "a caseworker cannot retire"
run api-staff -C "$S" -i lead1.id add --role caseworker < other.pub
refused $? "a lead cannot add"
run api-staff -C "$S" -i other.id add --role caseworker < other.pub
refused $? "someone who is not staff cannot add themselves"
# a key file whose handle is admin1 but whose key is another
sed 's/^# handle: other$/# handle: admin1/' other.id > fake.id && chmod 600 fake.id
run api-staff -C "$S" -i fake.id add --role caseworker < other.pub
refused $? "an identity claiming admin1's handle with another key cannot add"
grep -q 'admin1' err && grep -q 'key' err
ok $? "... the message names admin1 and the key"

# --- refusals ------------------------------------------------------------------
st add --role boss < other.pub
rc=$?
[ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]
ok $? "an unknown role: exit 1 or 2"
grep -q boss err && [ "$(tip)" = "$before" ]
ok $? "... a message naming it, main unchanged"
sed 's/^other /cw /' other.pub > cw2.pub
st add --role lead < cw2.pub
refused $? "a handle already taken: exit 1, one line"
grep -q cw err
ok $? "... naming the handle"
st add --role lead newname < cw.pub
refused $? "a signing key already registered, under a new handle: exit 1"
echo 'other age1notakey ssh-ed25519 AAAA' | st add --role lead
refused $? "a malformed public line: exit 1, one line"
grep -q stdin err
ok $? "... naming where it came from"
st add --role lead < /dev/null
refused $? "no public line at all: exit 1, one line"
st add --role lead "$W/missing.pub" < /dev/null
refused $? "a missing PUBFILE: exit 1, one line"
grep -q 'missing\.pub' err
ok $? "... naming it"
st add --role lead 'Bad!Handle' other.pub < /dev/null
rc=$?
{ [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ "$(tip)" = "$before" ] &&
	grep -q 'Bad!Handle' err
ok $? "an invalid HANDLE: refused, named, main unchanged"
st retire nobody
refused $? "retiring an unknown handle: exit 1, one line"
grep -q nobody err
ok $? "... naming it"
st retire admin1
refused $? "retiring the last admin: exit 1, one line"
grep -q 'admin' err
ok $? "... saying why"

# --- a second admin, who signs, and is retired ---------------------------------
st add --role admin adm2.pub < /dev/null
ok $? "admin1 adds a second admin, adm2"
run api-staff -C "$S" -i adm2.id add --role caseworker < other.pub
[ $? -eq 0 ] && [ "$(last %an)" = adm2 ] && [ "$(last %ae)" = adm2@api ]
ok $? "adm2 adds a member: the commit is authored by adm2"
adm2_commit=$(tip)
# the retirement must be later than adm2's valid-from
sleep 1
before=$(tip)
st retire adm2
[ $? -eq 0 ] && [ ! -s out ] && oneline err && grep -q 'retired adm2' err
ok $? "admin1 retires adm2: exit 0, one line"
[ "$(trailer Api-Action)" = staff-retire ] && [ "$(trailer Api-Object)" = staff/adm2 ] &&
	[ "$(last %s)" = "staff: member retired" ]
ok $? "trailers Api-Action: staff-retire, Api-Object: staff/adm2"
until=$(git -C "$S" show main:staff/adm2 | sed -n 's/^valid-until: //p')
echo "$until" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
ok $? "staff/adm2 gains valid-until in UTC"
vb=$(echo "$until" | tr -d ':T-')
vf=$(git -C "$S" show main:staff/adm2 | sed -n 's/^valid-from: //p' | tr -d ':T-')
git -C "$S" show main:allowed_signers |
	grep -Fqx "adm2 namespaces=\"git\",valid-after=\"$vf\",valid-before=\"$vb\" $(cut -d' ' -f3- adm2.pub)"
ok $? "allowed_signers: adm2's line gains the same valid-before"
run api-staff -C "$S" list
grep -q "^adm2	admin	retired	.*	$until	" out
ok $? "list shows adm2 retired, with valid_until"
before=$(tip)
st retire adm2
refused $? "retiring adm2 again: exit 1, one line"
grep -q adm2 err
ok $? "... naming adm2"
run api-staff -C "$S" -i adm2.id add --role caseworker other2 < other.pub
refused $? "retired adm2 can no longer add"
grep -q 'retired' err
ok $? "... saying adm2 is retired"
st retire admin1
refused $? "admin1 is the last active admin again: retiring refused"
sleep 1
st retire cw
[ $? -eq 0 ] && git -C "$S" show main:staff/cw | grep -q '^valid-until: '
ok $? "retiring a caseworker"
[ "$(git -C "$S" show main:allowed_signers | wc -l)" = 8 ] &&
	[ "$(git -C "$S" ls-tree --name-only main staff/ | wc -l)" = 8 ]
ok $? "allowed_signers keeps a line for every member, retired or not"

# --- a protected admin identity ------------------------------------------------
printf 'correct horse\n' > pw
api-keygen --handle padm --passphrase-fd 3 --work-factor 10 -o padm.id 3< pw > padm.pub 2> /dev/null &&
	st add --role admin padm.pub < /dev/null
ok $? "a protected identity added as admin"
api-keygen --handle pnew --no-passphrase -o pnew.id > pnew.pub 2> /dev/null
run api-staff -C "$S" -i padm.id --passphrase-fd 3 add --role lead pnew.pub < /dev/null 3< pw
[ $? -eq 0 ] && [ "$(last %an)" = padm ]
ok $? "--passphrase-fd: the protected admin adds a member"

# --- not a store ----------------------------------------------------------------
mkdir "$T/emptydir"
run api-staff -C "$T/emptydir" list
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q "$T/emptydir" err
ok $? "-C an empty directory: exit 1, one line naming it"
git init -q plain
run api-staff -C plain list
[ $? -eq 1 ] && oneline err && grep -q plain err
ok $? "-C a git repository without commits: one line naming it"
git -C plain commit -q --allow-empty -m x && git -C plain branch -q -M main
run api-staff -C plain list
[ $? -eq 1 ] && oneline err && grep -q plain err && grep -q 'api.conf' err
ok $? "-C a git repository without api.conf on main: one line naming it"
run api-staff -C plain -i admin1.id add --role lead < other.pub
[ $? -eq 1 ] && oneline err && grep -q plain err &&
	[ "$(git -C plain rev-list --count main)" = 1 ]
ok $? "add there: one line naming it, the repository untouched"
run api-staff -C "$W/nowhere" list
[ $? -eq 1 ] && oneline err && grep -q nowhere err && [ ! -e nowhere ]
ok $? "-C a missing directory: one line naming it, nothing made"
# a corrupt api.conf (committed with stock git): refused, refs unchanged
git clone -q --bare "$S" broken 2>/dev/null &&
	printf '[programme\n\tname = x\n' > badconf &&
	bt=$(printf '100644 blob %s\tapi.conf\n040000 tree %s\tstaff\n100644 blob %s\tallowed_signers\n' \
		"$(git -C broken hash-object -w "$W/badconf")" \
		"$(git -C broken rev-parse main:staff)" \
		"$(git -C broken rev-parse main:allowed_signers)" | git -C broken mktree) &&
	bc=$(git -C broken commit-tree "$bt" -p main -m x) &&
	git -C broken update-ref refs/heads/main "$bc"
brefs=$(git -C broken for-each-ref)
run api-staff -C broken -i admin1.id add --role lead < other.pub
[ $? -eq 1 ] && oneline err && grep -q 'api.conf line 1' err &&
	grep -q broken err && [ "$(git -C broken for-each-ref)" = "$brefs" ]
ok $? "a corrupt api.conf: one line naming the file and line, refs unchanged"
run api-staff -C broken list
[ $? -eq 1 ] && oneline err && grep -q 'api.conf' err
ok $? "... also for list"

# a clone with a working tree: readable, but writes are refused
git clone -q "$S" wt 2>/dev/null
wtip=$(git -C wt rev-parse main)
api-staff -C "$S" list > list.bare 2> /dev/null
run api-staff -C wt list
[ $? -eq 0 ] && cmp -s out list.bare
ok $? "a clone with a working tree can be listed"
run api-staff -C wt -i admin1.id add --role lead < other.pub
[ $? -eq 1 ] && oneline err && grep -q 'working tree' err &&
	[ "$(git -C wt rev-parse main)" = "$wtip" ] && [ -z "$(git -C wt status --porcelain)" ]
ok $? "... but a write is refused: one line, main and git status unchanged"

# --- usage ------------------------------------------------------------------------
run api-staff -C "$S"
[ $? -eq 2 ] && grep -q '^usage: api-staff' err
ok $? "no command: exit 2, usage"
run api-staff -C "$S" frob
[ $? -eq 2 ] && grep -q frob err
ok $? "an unknown command: exit 2, naming it"
before=$(tip)
st add < other.pub
[ $? -eq 2 ] && grep -q '^usage:' err && [ "$(tip)" = "$before" ]
ok $? "add without --role: exit 2"
st retire
[ $? -eq 2 ]
ok $? "retire without a handle: exit 2"
st retire a b
[ $? -eq 2 ] && [ "$(tip)" = "$before" ]
ok $? "retire with two handles: exit 2"
run api-staff -C "$S" list extra
[ $? -eq 2 ]
ok $? "list with an argument: exit 2"
run api-staff --help
[ $? -eq 0 ] && [ ! -s err ] && head -n 1 out | grep -q '^api-staff - .' &&
	grep -q '^usage: api-staff' out
ok $? "--help: exit 0, first line 'api-staff - ...', the usage"
run api-staff --version
[ $? -eq 0 ] && oneline out && grep -Eq '^api-staff [0-9]+\.[0-9]+' out
ok $? "--version: 'api-staff VERSION'"

# --- six writers at once -------------------------------------------------------------
n0=$(git -C "$S" rev-list --count main)
pids=
for i in 1 2 3 4 5 6; do
	api-keygen --handle con$i --no-passphrase -o con$i.id > con$i.pub 2> /dev/null
done
for i in 1 2 3 4 5 6; do
	api-staff -C "$S" -i admin1.id add --role caseworker con$i.pub \
		< /dev/null > con$i.out 2> con$i.err &
	pids="$pids $!"
done
fail=0
for p in $pids; do wait "$p" || fail=1; done
[ "$fail" -eq 0 ]
ok $? "six concurrent adds all exit 0"
[ $fail -eq 0 ] || cat con*.err | sed 's/^/# /'
run api-staff -C "$S" list
[ "$(grep -c '^con[1-6]	caseworker	active	' out)" = 6 ]
ok $? "all six are in the list"
[ "$(git -C "$S" rev-list --count main)" = $((n0 + 6)) ]
ok $? "six new commits"
[ -z "$(git -C "$S" rev-list --min-parents=2 main)" ] &&
	[ "$(git -C "$S" rev-list --max-parents=0 main | wc -l)" = 1 ]
ok $? "history is linear: one root, every other commit has one parent"
for i in 1 2 3 4 5 6; do
	git -C "$S" show main:allowed_signers | grep -q "^con$i " || break
done
ok $? "allowed_signers has all six"

# --- the whole history, as an auditor sees it with stock tools -----------------------
git -C "$S" fsck --strict > fsck 2>&1
ok $? "git fsck --strict exits 0"
! grep -v '^dangling ' fsck
ok $? "... and reports nothing but dangling objects"
[ -s fsck ] && diag "fsck: $(wc -l < fsck) dangling objects (lost compare-and-swap rounds)"
AS=$(signers)
git -C "$S" -c gpg.ssh.allowedSignersFile="$AS" log --format=%G? main > g 2>/dev/null
[ -s g ] && ! grep -vx G g
ok $? "every commit shows %G? = G with the absolute allowed_signers path"
git -C "$S" -c gpg.ssh.allowedSignersFile="$AS" log --format='%an %GS' main |
	awk '$1 != $2 { bad = 1 } END { exit bad }'
ok $? "every commit's signer (%GS) is its author"
bad=0
for c in $(git -C "$S" rev-list main); do
	git -C "$S" -c gpg.ssh.allowedSignersFile="$AS" verify-commit "$c" > /dev/null 2> vc || bad=1
	grep -v '^Good "git" signature for ' vc && bad=1
done
[ $bad -eq 0 ]
ok $? "git verify-commit passes every commit, and says nothing else"
[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$AS" log -1 --format=%G? "$adm2_commit")" = G ]
ok $? "retired adm2's earlier commit still verifies"
git -C "$S" log --format=%B main | grep -q 'age1\|ssh-ed25519\|BEGIN'
[ $? -eq 1 ]
ok $? "no commit message carries a key"

# The signature of adm2's commit, checked by ssh-keygen at a time before
# and after the retirement (what git does with the committer time).
if have ssh-keygen && have date; then
	git -C "$S" cat-file commit "$adm2_commit" | awk '
		!body && /^gpgsig / { s = 1; sub(/^gpgsig /, ""); print > "sig"; next }
		!body && s && /^ / { sub(/^ /, ""); print > "sig"; next }
		{ s = 0; if ($0 == "") body = 1; print > "payload" }'
	ct=$(git -C "$S" log -1 --format=%ct "$adm2_commit")
	at=$(date -u -d "@$ct" +%Y%m%d%H%M%SZ)
	later=$(date -u -d "@$(( $(date -u -d "$(echo "$until" | tr T ' ')" +%s) + 3600 ))" +%Y%m%d%H%M%SZ)
	[ "$(ssh-keygen -Y find-principals -s sig -f "$AS" -Overify-time="$at" 2>/dev/null)" = adm2 ]
	ok $? "ssh-keygen -Y find-principals at the commit time: adm2"
	ssh-keygen -Y verify -f "$AS" -I adm2 -n git -s sig -Overify-time="$at" < payload > /dev/null 2>&1
	ok $? "ssh-keygen -Y verify at the commit time: good"
	fails ssh-keygen -Y verify -f "$AS" -I adm2 -n git -s sig -Overify-time="$later" < payload > /dev/null 2>&1
	ok $? "ssh-keygen -Y verify an hour after the retirement: refused"
	[ -z "$(ssh-keygen -Y find-principals -s sig -f "$AS" -Overify-time="$later" 2>/dev/null)" ]
	ok $? "ssh-keygen -Y find-principals after the retirement: nobody"
else
	for i in 1 2 3 4; do skip "ssh-keygen or date not installed"; done
fi

# --- a member retired within the second they were added ------------------------------
# ssh-keygen rejects a line whose valid-before is not after its
# valid-after ("bad options") and skips it, and stock git passes that
# complaint on.  Only checkable when both happen in one second.
S2=$W/s2
api-init -i admin1.id "$S2" 2> /dev/null
t0=$(date +%s)
api-staff -C "$S2" -i admin1.id add --role caseworker other.pub < /dev/null 2> /dev/null &&
	api-staff -C "$S2" -i admin1.id retire other 2> /dev/null
if [ "$(date +%s)" = "$t0" ]; then
	git -C "$S2" show main:allowed_signers | sed -n 's/.*valid-after="\([0-9Z]*\)",valid-before="\([0-9Z]*\)".*/\1 \2/p' |
		awk '{ if (!($2 > $1)) bad = 1 } END { exit bad }'
	ok $? "add and retire in one second: valid-before still after valid-after"
else
	skip "add and retire did not fall in one second"
fi
# and every line of the main store's allowed_signers is well formed for ssh-keygen
git -C "$S" show main:allowed_signers | sed -n 's/.*valid-after="\([0-9Z]*\)",valid-before="\([0-9Z]*\)".*/\1 \2/p' > vab
[ -s vab ] && awk '{ if (!($2 > $1)) bad = 1 } END { exit bad }' vab
ok $? "every valid-before in allowed_signers is after its valid-after"

[ -z "$(find "$T" -name '*.tmp.*' -o -name '*.lock')" ]
ok $? "no temporary or lock files anywhere"

done_testing
