# tests/lib.sh - sourced by every tests/*.t: a private home, TAP helpers.
# Each test gets its own mktemp -d home, removed by a trap; no test
# depends on another.
set -u
: "${API_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${B:=build}"
case $B in /*) ;; *) B=$API_TOP/$B ;; esac
# API_TEST_WRAP: a directory of wrappers of the same names run first
# (scripts/valgrind runs every program under memcheck this way)
PATH=${API_TEST_WRAP:+$API_TEST_WRAP:}$B/bin:$B/tests:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/api-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 129' HUP INT TERM
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" API_DIR="$T/store"
export TMPDIR="$T/tmp" XDG_RUNTIME_DIR="$T/run"
unset API_IDENTITY VISUAL EDITOR
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$TMPDIR" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.org
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.org
VECTORS=${API_AGE_VECTORS:-$API_TOP/../shared/testdata/age}

tap_n=0
tap_failed=0
plan() { echo "1..$1"; }
ok() {
	# ok COND-EXIT-STATUS DESCRIPTION: usage "cmd; ok $? desc"
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"
	else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"; }
diag() { echo "# $*"; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
# workdir: the usual start of a test: umask 022, a working directory
# W=$T/work entered, and S the store ($API_DIR)
workdir() {
	umask 022
	W=$T/work
	mkdir -p "$W" && cd "$W" || exit 1
	S=$API_DIR
}
# fails CMD...: the command exits non-zero
fails() { if "$@"; then return 1; else return 0; fi; }
# oneline FILE: the file holds exactly one line
oneline() { [ "$(wc -l < "$1")" -eq 1 ]; }

# --- stock git and OpenSSH keys, for commits the api programs would not
# make (tampering, settings); S is the store ------------------------------

# cdir ID: the directory of a case, cases/S/H/ID
cdir() { echo "cases/$(echo "$1" | cut -c1)/$(echo "$1" | cut -c2)/$1"; }

# ssh_staff DIR NAME ROLE [IDFILE]: an OpenSSH key DIR/NAME and an age key
# DIR/NAME.age, registered as staff NAME by api-staff (as IDFILE, else the
# default identity); the public line in DIR/NAME.line
ssh_staff() {
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$1/$2" &&
	age-keygen -o "$1/$2.age" 2> /dev/null &&
	echo "$2 $(age-keygen -y "$1/$2.age") $(cut -d' ' -f1,2 "$1/$2.pub")" \
		> "$1/$2.line" &&
	api-staff ${4:+-i "$4"} add --role "$3" "$1/$2.line" > /dev/null 2>&1
}

# git_commit DIR SIGNER TREE MSG [PARENT]: a commit made by stock git,
# signed with SIGNER's OpenSSH key DIR/SIGNER (SIGNER "-": unsigned, by
# adm); main moves to it
git_commit() {
	_who=$2 _sign=-S
	[ "$_who" = - ] && _who=adm _sign=
	_c=$(GIT_AUTHOR_NAME=$_who GIT_COMMITTER_NAME=$_who \
		GIT_AUTHOR_EMAIL=$_who@api GIT_COMMITTER_EMAIL=$_who@api \
		git -C "$S" -c gpg.format=ssh -c user.signingkey="$1/$_who" \
		commit-tree $_sign "$3" -p "${5:-main}" -m "$4") &&
	git -C "$S" update-ref refs/heads/main "$_c"
}

# git_tree DIR OP PATH [FILE] ...: main's tree with "add PATH FILE" and
# "rm PATH" applied (FILE relative to the current directory), through an
# index in DIR
git_tree() {
	_ix=$1/index
	shift
	rm -f "$_ix"
	GIT_INDEX_FILE=$_ix git -C "$S" read-tree main || return 1
	while [ $# -gt 0 ]; do
		case $1 in
		add) case $3 in /*) _f=$3 ;; *) _f=$PWD/$3 ;; esac
			_o=$(git -C "$S" hash-object -w "$_f") &&
			GIT_INDEX_FILE=$_ix git -C "$S" update-index --add \
				--cacheinfo "100644,$_o,$2" || return 1; shift 3 ;;
		rm) printf '0 %040d\t%s\n' 0 "$2" | GIT_INDEX_FILE=$_ix \
				git -C "$S" update-index --index-info || return 1
			shift 2 ;;
		esac
	done
	GIT_INDEX_FILE=$_ix git -C "$S" write-tree
}

# --- copies of a store (sync): DIR names a store or a server --------------

# drefs DIR: every ref of the repository DIR
drefs() { git -C "$1" for-each-ref; }
# dtip DIR [REF]: the commit REF (main) names in DIR
dtip() { git -C "$1" rev-parse --verify -q "${2:-main}" 2>/dev/null; }
# same REF DIR...: REF is one commit, the same, in every DIR
same() {
	_r=$1
	shift
	_t=$(dtip "$1" "$_r") || return 1
	for _d in "$@"; do [ "$(dtip "$_d" "$_r")" = "$_t" ] || return 1; done
}
# dverified DIR: api-verify passes on DIR's history and its read logs
dverified() {
	api-verify -C "$1" > /dev/null 2>&1 && api-verify -C "$1" --reads > /dev/null 2>&1
}
# team_store DIR: identities adm, ld, cw1, cw2 (files NAME.id, NAME.pub in
# the current directory) and a store in DIR made by adm, with ld a lead,
# cw1 and cw2 caseworkers, and case C1 opened by cw1 and granted to cw2
team_store() {
	for _h in adm ld cw1 cw2; do
		api-keygen --handle "$_h" --no-passphrase -o "$_h.id" > "$_h.pub" 2> /dev/null
	done
	api-init -i adm.id "$1" 2> /dev/null &&
		api-staff -C "$1" -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
		api-staff -C "$1" -i adm.id add --role caseworker cw1.pub > /dev/null 2>&1 &&
		api-staff -C "$1" -i adm.id add --role caseworker cw2.pub > /dev/null 2>&1 &&
		C1=$(api-new -C "$1" -i cw1.id -m "intake one" 2> /dev/null) &&
		api-grant -C "$1" -i ld.id "$C1" cw2 > /dev/null 2>&1
}
