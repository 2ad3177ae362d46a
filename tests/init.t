#!/bin/sh
# init.t - api-init: a bare store whose first commit stock git verifies,
# api.conf that stock git reads, and refusals that leave nothing behind.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
have() { command -v "$1" >/dev/null 2>&1; }
# run CMD ARGS...: stdout in $W/out, stderr in $W/err, no stdin
run() { "$@" > "$W/out" 2> "$W/err" < /dev/null; }
# tree DIR: a listing of everything under DIR (names, types, sizes)
tree() { (cd "$1" && find . -printf '%p %y %s\n' | LC_ALL=C sort); }
# signers STORE: main's allowed_signers extracted to an absolute path,
# which is printed (git resolves a relative one against the store)
signers() { git -C "$1" show main:allowed_signers > "$W/$2" && echo "$W/$2"; }
# g STORE SIGNERS ARGS...: git in STORE with allowedSignersFile set
g() { _s=$1 _a=$2; shift 2; git -C "$_s" -c gpg.ssh.allowedSignersFile="$_a" "$@"; }

api-keygen --handle admin1 --no-passphrase -o admin1.id > admin1.pub 2> /dev/null
ok $? "an unprotected identity for admin1"

# --- a store in a new directory ---------------------------------------------
run api-init -i admin1.id "$W/s"
ok $? "api-init -i FILE DIR exits 0"
[ ! -s out ] && oneline err && grep -q '^api-init: .*admin1' err
ok $? "nothing on stdout, one line on stderr naming the admin"
[ "$(git -C s rev-parse --is-bare-repository 2>/dev/null)" = true ]
ok $? "the store is a bare repository"
[ "$(git -C s symbolic-ref HEAD 2>/dev/null)" = refs/heads/main ]
ok $? "HEAD points at refs/heads/main"
[ "$(git -C s rev-list --count main 2>/dev/null)" = 1 ]
ok $? "main has exactly one commit"
[ "$(git -C s for-each-ref --format='%(refname)')" = refs/heads/main ]
ok $? "main is the only ref"
git -C s ls-tree -r --name-only main > files 2>/dev/null &&
	printf 'allowed_signers\napi.conf\nstaff/admin1\n' | cmp -s - files
ok $? "the tree: allowed_signers, api.conf, staff/admin1, nothing else"
git -C s ls-tree -r main | awk '$1 != "100644" { bad = 1 } END { exit bad }'
ok $? "every file is a plain blob (mode 100644)"

git -C s show main:staff/admin1 > staff 2>/dev/null &&
	grep -qx 'handle: admin1' staff && grep -qx 'role: admin' staff &&
	grep -qx 'added-by: admin1' staff &&
	grep -Eqx 'valid-from: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' staff &&
	! grep -q '^valid-until' staff
ok $? "staff/admin1: handle, role admin, added-by, valid-from in UTC, no valid-until"
ssh=$(cut -d' ' -f3- admin1.pub)
age=$(cut -d' ' -f2 admin1.pub)
grep -qx "ssh: $ssh" staff && grep -qx "age: $age" staff
ok $? "staff/admin1 holds the keys of the public line"
! grep -q 'SECRET\|SIGNING-KEY' staff && ! git -C s grep -q 'SECRET-KEY\|SIGNING-KEY' main
ok $? "no secret key anywhere in the tree"
vf=$(sed -n 's/^valid-from: //p' staff | tr -d ':T-')
git -C s show main:allowed_signers > as 2>/dev/null && oneline as &&
	grep -Fqx "admin1 namespaces=\"git\",valid-after=\"$vf\" $ssh" as
ok $? "allowed_signers: one line, principal admin1, namespace git, valid-after in UTC"

# --- the first commit, as stock git sees it ----------------------------------
AS=$(signers s as1)
case $AS in /*) true ;; *) false ;; esac
ok $? "the allowed_signers path handed to git is absolute"
[ "$(g s "$AS" log --format=%G? main 2>/dev/null)" = G ]
ok $? "git log --format=%G? prints G"
[ "$(g s "$AS" log --format=%GS main 2>/dev/null)" = admin1 ]
ok $? "git log --format=%GS names the signer admin1"
g s "$AS" verify-commit main > /dev/null 2> vc
ok $? "git verify-commit main succeeds"
grep -q 'Good "git" signature for admin1' vc
ok $? "... with a good git-namespace signature for admin1"
[ "$(git -C s -c gpg.ssh.allowedSignersFile=/dev/null log --format=%G? main 2>/dev/null)" != G ]
ok $? "without admin1 in allowed_signers it is not G (the check can fail)"
git -C s fsck --strict > fsck 2>&1
ok $? "git fsck --strict exits 0"
[ ! -s fsck ]
ok $? "git fsck --strict prints nothing"
git -C s cat-file commit main > commit 2>/dev/null &&
	grep -q '^gpgsig -----BEGIN SSH SIGNATURE-----$' commit
ok $? "the signature is an SSHSIG in the gpgsig header"
[ "$(git -C s log -1 --format='%an <%ae>|%cn <%ce>' main)" = 'admin1 <admin1@api>|admin1 <admin1@api>' ]
ok $? "author and committer: admin1 <admin1@api>"
git -C s log -1 --format=%B main > msg 2>/dev/null
[ "$(git interpret-trailers --parse < msg | grep -c '^Api-Action: init$')" = 1 ]
ok $? "the message has the trailer Api-Action: init"
[ "$(head -n 1 msg)" = "init: store created" ]
ok $? "the subject is generic"
! grep -q 'admin1\|age1\|ssh-ed25519\|@' msg
ok $? "the message names no person and no key"
[ "$(git -C s log -1 --format=%P main)" = "" ]
ok $? "the commit has no parent"

# --- api.conf, as stock git reads it -----------------------------------------
git -C s show main:api.conf > api.conf 2>/dev/null
git config -f api.conf --list > conf.list 2> conf.err
ok $? "git config -f api.conf --list parses it"
[ ! -s conf.err ] && [ "$(wc -l < conf.list)" -ge 10 ]
ok $? "... without complaint, ten or more settings"
[ -n "$(git config -f api.conf programme.classification)" ]
ok $? "programme.classification is set"
missing=
for k in programme.name phases.list phases.closeReasons remind.contactGapActive \
	remind.riskReview retention.afterClosure readlog.enabled; do
	git config -f api.conf "$k" > /dev/null || missing="$missing $k"
done
[ -z "$missing" ] || diag "missing:$missing"
[ -z "$missing" ]
ok $? "the documented keys are present"
[ "$(git config -f api.conf --type=bool readlog.enabled)" = true ]
ok $? "readlog.enabled is a boolean true for git"

# --- refusals ------------------------------------------------------------------
mkdir full
echo keep > full/file
before=$(tree full)
run api-init -i admin1.id full
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q 'full' err
ok $? "a non-empty directory: exit 1, one line naming it"
[ "$(tree full)" = "$before" ]
ok $? "... and the directory is unchanged"

before=$(tree s)
tip=$(git -C s rev-parse main)
run api-init -i admin1.id s
[ $? -eq 1 ] && oneline err && grep -Eq '(^|[ /])s( |:|$)' err
ok $? "an existing store: exit 1, one line"
[ "$(tree s)" = "$before" ] && [ "$(git -C s rev-parse main)" = "$tip" ]
ok $? "... and the store is unchanged"

echo x > afile
run api-init -i admin1.id afile
[ $? -eq 1 ] && oneline err && [ "$(cat afile)" = x ]
ok $? "a regular file as DIR: exit 1, one line, file unchanged"

run api-init -i "$W/missing.id" "$W/m1"
[ $? -eq 1 ] && oneline err && grep -q 'missing\.id' err
ok $? "a missing identity: exit 1, one line naming it"
[ ! -e m1 ]
ok $? "... and no directory left behind"
run api-init "$W/m2"
[ $? -eq 1 ] && oneline err && grep -q "$XDG_CONFIG_HOME/api/identity" err && [ ! -e m2 ]
ok $? "no identity at the default place: one line naming it, no directory"
mkdir m3
run api-init -i "$W/missing.id" m3
[ $? -eq 1 ] && [ -d m3 ] && [ -z "$(ls -A m3)" ]
ok $? "a missing identity with an empty directory: it stays empty"

# --- an empty directory, API_DIR, $API_IDENTITY ------------------------------
mkdir empty
run api-init -i admin1.id empty
[ $? -eq 0 ] && [ "$(git -C empty rev-parse --is-bare-repository)" = true ]
ok $? "an existing empty directory becomes a store"
[ ! -e "$API_DIR" ]
ok $? "API_DIR is not there yet"
run api-init -i admin1.id
[ $? -eq 0 ] && [ "$(git -C "$API_DIR" rev-parse --is-bare-repository)" = true ] &&
	[ ! -e "$W/HEAD" ]
ok $? "without DIR: the store is made in \$API_DIR, not in the current directory"
(unset API_DIR; mkdir "$W/cwd" && cd "$W/cwd" && api-init -i ../admin1.id > /dev/null 2>&1) &&
	[ "$(git -C cwd rev-parse --is-bare-repository)" = true ]
ok $? "without DIR and \$API_DIR: the current directory"
API_IDENTITY=$W/admin1.id run api-init "$W/envid"
[ $? -eq 0 ] && [ "$(git -C envid log --format=%an main)" = admin1 ]
ok $? "\$API_IDENTITY names the identity"
mkdir -p "$XDG_CONFIG_HOME/api" && cp admin1.id "$XDG_CONFIG_HOME/api/identity"
run api-init "$W/defid"
[ $? -eq 0 ] && [ "$(git -C defid log --format=%an main)" = admin1 ]
ok $? "the default identity place is used"
rm -f "$XDG_CONFIG_HOME/api/identity"

# --- a passphrase-protected identity -------------------------------------------
printf 'correct horse\n' > pw
printf 'wrong horse\n' > badpw
api-keygen --handle boss --passphrase-fd 3 --work-factor 10 -o boss.id 3< pw \
	> boss.pub 2> /dev/null
ok $? "a protected identity for boss"
run api-init -i boss.id --passphrase-fd 3 "$W/p" 3< pw
[ $? -eq 0 ] && [ "$(git -C p log --format=%an main)" = boss ]
ok $? "--passphrase-fd: the protected identity signs the first commit"
AS=$(signers p as2)
[ "$(g p "$AS" log --format=%G? main)" = G ] && g p "$AS" verify-commit main 2>/dev/null
ok $? "... and stock git verifies it"
run api-init -i boss.id --passphrase-fd 3 "$W/p2" 3< badpw
[ $? -eq 1 ] && oneline err && [ ! -e p2 ]
ok $? "a wrong passphrase: exit 1, one line, no directory"

# --- usage ---------------------------------------------------------------------
run api-init --help
[ $? -eq 0 ] && [ ! -s err ]
ok $? "--help exits 0, nothing on stderr"
head -n 1 out | grep -q '^api-init - .'
ok $? "--help: first line 'api-init - ...'"
grep -q '^usage: api-init' out
ok $? "--help shows the usage"
run api-init --version
[ $? -eq 0 ] && oneline out && grep -Eq '^api-init [0-9]+\.[0-9]+' out
ok $? "--version: 'api-init VERSION'"
run api-init -i admin1.id a b
[ $? -eq 2 ] && grep -q '^usage: api-init' err && [ ! -e a ] && [ ! -e b ]
ok $? "two directories: exit 2, usage, nothing made"
run api-init --bogus
[ $? -eq 2 ] && grep -q '^usage: api-init' err
ok $? "an unknown option: exit 2, usage"
run api-init --passphrase-fd x
[ $? -eq 2 ] && oneline err
ok $? "--passphrase-fd x: exit 2, one line"

# --- nothing left lying around -------------------------------------------------
[ -z "$(find "$T" -name '*.tmp.*' -o -name '*.lock')" ]
ok $? "no temporary or lock files anywhere"

done_testing
