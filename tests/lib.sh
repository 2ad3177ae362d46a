# tests/lib.sh - sourced by every tests/*.t: a private home, TAP helpers.
# Each test gets its own mktemp -d home, removed by a trap; no test
# depends on another.
set -u
: "${API_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${B:=build}"
case $B in /*) ;; *) B=$API_TOP/$B ;; esac
PATH=$B/bin:$B/tests:$PATH
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
# fails CMD...: the command exits non-zero
fails() { if "$@"; then return 1; else return 0; fi; }
# oneline FILE: the file holds exactly one line
oneline() { [ "$(wc -l < "$1")" -eq 1 ]; }
