#!/bin/sh
# crash.t - writes killed with SIGKILL at random moments.  CRASH_N writes
# (default 200; `make stress`: 3000; `make valgrind`: 30), each api-new,
# api-log (a unique canary in its -m text), api-status --set, api-grant
# or api-revoke, most killed after a random delay between 0 and the
# time that kind of write takes, some by a preloaded shim at the Nth
# link()/rename() the process makes (the object and ref writes: the ref
# lock is held just then).
# Every CRASH_K writes and at the end: git fsck --strict is clean and
# api-verify passes; then, and after every kill that left a lock file,
# the next write succeeds within a few seconds (a lock file a killed
# writer left does not block it).  At the end:
# every write that exited 0 is there; none is there by halves (a case
# on main without its key envelopes, a note that does not decrypt, a
# team whose envelopes were written for another after a write that
# exited 0); no canary is in any object, file of the store, $TMPDIR,
# $XDG_RUNTIME_DIR or $HOME.  CRASH_SEED replays a run's choices (the
# moments of the kills vary with the machine's timing).
. "$(dirname "$0")/lib.sh"

workdir
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
# Under make valgrind (API_TEST_WRAP, API_VG_LOG) each program is a
# wrapper that execs valgrind on it: a kill hits the program all the
# same (same pid), the delays are measured through the wrappers below,
# and the shim is preloaded into the program under memcheck.  But every
# write is 20-50 times slower: fewer of them, and more time for the one
# after a kill.
if [ -n "${API_TEST_WRAP:-}" ]; then
	N=${CRASH_N:-30} K=${CRASH_K:-15} WAIT=${CRASH_WAIT:-60}
else
	N=${CRASH_N:-200} K=${CRASH_K:-50} WAIT=${CRASH_WAIT:-5}
fi
# WAIT: seconds the write after a kill may take
diag "CRASH_N=$N CRASH_K=$K CRASH_SEED=$SEED CRASH_WAIT=$WAIT"
# valgrind's own files in $TMPDIR: valgrind_proc_PID_cmdline_* and
# _auxv_* (a program's /proc/self/cmdline, so its canary), which it
# unlinks again unless killed first, as here.  VGEX: grep -r's option
# to pass over them, vgnot: the lines of stdin that name none of them;
# outside make valgrind nothing is passed over.
VGEX=
[ -n "${API_VG_LOG:-}" ] && VGEX=--exclude=valgrind_proc_*
vgnot() {
	if [ -n "${API_VG_LOG:-}" ]; then
		grep -v -e "^$TMPDIR/valgrind_proc_[0-9]*_cmdline_" \
			-e "^$TMPDIR/valgrind_proc_[0-9]*_auxv_"
	else
		cat
	fi
}

ms() { echo $(($(date +%s%N) / 1000000)); }

# --- the shim: SIGKILL at a chosen link()/rename() --------------------------
# CRASH_KILL_AT=N: the Nth call of either; CRASH_KILL_ON=SUFFIX: the first
# whose source path ends with SUFFIX (refs/heads/main.lock: with main's
# lock held).  libgit2 writes every object and ref to a temporary or lock
# file and then links or renames it into place.
SHIM=
CC=${CC:-cc}
cat > shim.c <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
static int calls;
static void at(const char *from)
{
	const char *n = getenv("CRASH_KILL_AT"), *s = getenv("CRASH_KILL_ON");
	size_t lf = strlen(from), ls = s ? strlen(s) : 0;
	calls++;
	if ((n && atoi(n) == calls) || (s && lf >= ls && strcmp(from + lf - ls, s) == 0))
		raise(SIGKILL);
}
int link(const char *a, const char *b)
{
	int (*f)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "link");
	at(a);
	return f(a, b);
}
int rename(const char *a, const char *b)
{
	int (*f)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	at(a);
	return f(a, b);
}
EOF
if command -v "$CC" > /dev/null 2>&1 &&
	"$CC" -shared -fPIC -o shim.so shim.c -ldl > shim.err 2>&1; then
	SHIM=$W/shim.so
fi
# an ASan build's runtime must come first, unless told not to mind
SHIM_ASAN=verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}

# --- staff and a first case ----------------------------------------------------------
for h in adm ld cw1 cw2 cw3; do
	api-keygen --handle "$h" --no-passphrase -o "$h.id" > "$h.pub" 2> /dev/null || break
done
api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw1.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw2.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw3.pub > /dev/null 2>&1 &&
	C0=$(api-new -i cw1.id -m "intake zero" 2> /dev/null) && [ -n "$C0" ]
ok $? "a store with a lead, three caseworkers and a case"
echo "$C0" > cases
echo "$C0 intake" > phases     # CASE PHASE, the last known; ? when unknown

# canary: a string found nowhere but in the note it was given to
canary() { echo "CANARY-$1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }
: > ok.notes                    # CASE NOTE CANARY, of every api-log that exited 0
: > ok.intakes                  # CASE CANARY, of every api-new that exited 0
: > all.canaries                # every canary given, written or not

team_of() { git -C "$S" show "main:$(cdir "$1")/team" 2> /dev/null | tr '\n' ' '; }
lockfiles() { find "$S" -name '*.lock' | sed "s|^$S/||" | sort | tr '\n' ' '; }

# --- how long each kind of write takes (the median of 3) --------------------------
med() { sort -n | sed -n 2p; }
for i in 1 2 3; do
	t0=$(ms); api-log -i cw1.id "$C0" -m "timing $i" > /dev/null 2>&1; echo $(($(ms) - t0)) >> d.log
	t0=$(ms); id=$(api-new -i cw1.id -m "timing $i" 2> /dev/null); echo $(($(ms) - t0)) >> d.new
	echo "$id" >> cases
	echo "$id intake" >> phases
	t0=$(ms); api-status -i cw1.id "$id" --set active > /dev/null 2>&1; echo $(($(ms) - t0)) >> d.set
	sed -i "s/^$id .*/$id active/" phases
	t0=$(ms); api-grant -i ld.id "$id" cw2 > /dev/null 2>&1; echo $(($(ms) - t0)) >> d.team
	t0=$(ms); api-revoke -i ld.id "$id" cw2 > /dev/null 2>&1; echo $(($(ms) - t0)) >> d.team
done
DLOG=$(med < d.log) DNEW=$(med < d.new) DSET=$(med < d.set) DTEAM=$(sort -n d.team | sed -n 3p)
diag "median times (ms): api-log $DLOG, api-new $DNEW, api-status --set $DSET, api-grant/revoke $DTEAM"

# --- a killed writer's lock, deterministically (needs the shim) --------------------
if [ -n "$SHIM" ]; then
	c=$(canary stale-main)
	echo "$c" >> all.canaries
	env LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
		CRASH_KILL_ON=refs/heads/main.lock api-log -i cw1.id "$C0" -m "$c" \
		> out 2> err
	rc=$?
	[ $rc -eq 137 ] && [ -f "$S/refs/heads/main.lock" ]
	ok $? "api-log killed with main's lock held leaves refs/heads/main.lock (control)"
	c=$(canary after-stale-main)
	echo "$c" >> all.canaries
	t0=$(ms)
	n=$(api-log -i cw1.id "$C0" -m "$c" 2> err)
	rc=$?
	t=$(($(ms) - t0))
	diag "the next api-log: exit $rc after $t ms: $(cat err)"
	[ $rc -eq 0 ] && [ $t -le $((WAIT * 1000)) ] && [ ! -e "$S/refs/heads/main.lock" ]
	ok $? "the next api-log succeeds within $WAIT s, and the lock is gone"
	[ $rc -eq 0 ] && echo "$C0 $n $c" >> ok.notes

	env LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
		CRASH_KILL_ON=refs/api/keys.lock api-new -i cw1.id -m "$(canary x)" \
		> out 2> err
	rc=$?
	[ $rc -eq 137 ] && [ -f "$S/refs/api/keys.lock" ]
	ok $? "api-new killed with the keys ref's lock held leaves refs/api/keys.lock (control)"
	c=$(canary after-stale-keys)
	echo "$c" >> all.canaries
	t0=$(ms)
	id=$(api-new -i cw1.id -m "$c" 2> err)
	rc=$?
	t=$(($(ms) - t0))
	diag "the next api-new: exit $rc after $t ms: $(cat err)"
	[ $rc -eq 0 ] && [ $t -le $((WAIT * 1000)) ] && [ ! -e "$S/refs/api/keys.lock" ]
	ok $? "the next api-new succeeds within $WAIT s, and the lock is gone"
	[ $rc -eq 0 ] && echo "$id $c" >> ok.intakes && echo "$id" >> cases &&
		echo "$id intake" >> phases

	y=$(date -u +%Y)
	r0=$(dtip "$S" "refs/api/reads/$y")
	env LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
		CRASH_KILL_ON="refs/api/reads/$y.lock" api-show -i ld.id --purpose test \
		"$C0" > out 2> err
	rc=$?
	[ $rc -eq 137 ] && [ -f "$S/refs/api/reads/$y.lock" ]
	ok $? "api-show killed with the read log's lock held leaves it (control)"
	t0=$(ms)
	api-show -i ld.id --purpose test "$C0" > out 2> err
	rc=$?
	t=$(($(ms) - t0))
	r1=$(dtip "$S" "refs/api/reads/$y")
	[ $rc -eq 0 ] && [ ! -s err ] && [ "$r1" != "$r0" ] &&
		[ $t -le $((WAIT * 1000)) ] && [ ! -e "$S/refs/api/reads/$y.lock" ]
	ok $? "the next api-show logs its read within $WAIT s, without a warning"

	# a revoke killed between its two writes leaves envelopes with new
	# keys main never names; a grant after it writes key.for for main
	d=$(cdir "$id")
	api-grant -i ld.id "$id" cw2 > /dev/null 2>&1 &&
		env LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" \
		CRASH_KILL_ON=refs/heads/main.lock api-revoke -i ld.id "$id" cw2 \
		> out 2> err
	[ $? -eq 137 ] && [ "$(team_of "$id")" = "cw1 cw2 " ] &&
		[ "$(git -C "$S" show "refs/api/keys:$d/key.for" | sed -n 's/^recipient //p')" != \
		"$(git -C "$S" rev-parse "main:$d/recipient")" ]
	ok $? "api-revoke killed between its two writes: new keys in the envelopes, not on main (control)"
	api-grant -i ld.id "$id" cw3 > /dev/null 2> err &&
		[ "$(git -C "$S" show "refs/api/keys:$d/key.for")" = "$(printf 'recipient %s\nteam %s' \
		"$(git -C "$S" rev-parse "main:$d/recipient")" "$(git -C "$S" rev-parse "main:$d/team")")" ] &&
		api-show -i cw3.id --purpose test "$id" > /dev/null 2>&1
	ok $? "a grant after it: key.for names main's recipient and the new team, and cw3 reads the case"
else
	diag "no C compiler for the shim: $(cat shim.err 2> /dev/null)"
	for i in 1 2 3 4 5 6 7 8; do skip "no shim (cc -shared) to kill a writer at a chosen moment"; done
fi

# --- the plan: one line a write, from the seed ------------------------------------------
# I KIND HOW ARG PICK: KIND log new set team; HOW none, delay (ARG: seconds),
# shim (ARG: the Nth link/rename); PICK in [0,1) picks the case
awk -v n="$N" -v seed="$SEED" -v shim="${SHIM:+1}" -v dl="$DLOG" -v dn="$DNEW" \
    -v ds="$DSET" -v dt="$DTEAM" 'BEGIN {
	srand(seed)
	for (i = 1; i <= n; i++) {
		r = rand()
		if (r < .45) { k = "log"; d = dl; calls = 14 }
		else if (r < .60) { k = "new"; d = dn; calls = 27 }
		else if (r < .80) { k = "set"; d = ds; calls = 12 }
		else { k = "team"; d = dt; calls = 22 }
		r = rand()
		if (r < .10) { how = "none"; arg = 0 }
		else if (r < .25 && shim) { how = "shim"; arg = 1 + int(rand() * calls) }
		else if (r < .40) { how = "delay"; arg = sprintf("%.4f", (.7 + .6 * rand()) * d / 1000) }
		else { how = "delay"; arg = sprintf("%.4f", 1.5 * rand() * d / 1000) }
		printf "%d %s %s %s %.6f\n", i, k, how, arg, rand()
	}
}' > plan

# run HOW ARG CMD...: CMD, killed as HOW says; stdout in out, stderr in err
run() {
	_how=$1 _arg=$2
	shift 2
	case $_how in
	shim) env LD_PRELOAD="$SHIM" ASAN_OPTIONS="$SHIM_ASAN" CRASH_KILL_AT="$_arg" \
		"$@" > out 2> err ;;
	none) "$@" > out 2> err ;;
	# (in a subshell, so that the shell's "Killed" goes nowhere)
	delay) ("$@" > out 2> err &
		_p=$!
		sleep "$_arg"
		kill -KILL "$_p" 2> /dev/null
		wait "$_p") 2> /dev/null ;;
	esac
}
# pick F: the case picked by $pick among the lines of F
pickcase() { awk -v p="$pick" '{ a[NR] = $1 } END { print a[int(p * NR) + 1] }' cases; }
phase_of() { awk -v c="$1" '$1 == c { print $2 }' phases; }
set_phase() { awk -v c="$1" -v p="$2" '$1 == c { $2 = p } { print }' phases > phases.new &&
	mv phases.new phases; }

# probe LABEL: a write, not killed, after whatever the last kill left: it
# exits 0 within WAIT seconds
probe() {
	_l=$(lockfiles)
	_c=$(canary probe)
	echo "$_c" >> all.canaries
	_t0=$(ms)
	_n=$(api-log -i cw1.id "$C0" -m "$_c" 2> probe.err)
	_rc=$?
	_t=$(($(ms) - _t0))
	echo "p$1 log probe $_rc" >> results
	if [ $_rc -eq 0 ]; then echo "$C0 $_n $_c" >> ok.notes
	else echo "$1 a write failed after $_t ms (locks: $_l): $(cat probe.err)" >> cp.bad; fi
	[ $_t -le $((WAIT * 1000)) ] ||
		echo "$1 a write took $_t ms (locks before: $_l)" >> cp.bad
	[ -z "$(lockfiles)" ] || echo "$1 lock files after a write: $(lockfiles)" >> cp.bad
}
# checkpoint: fsck, api-verify, and a write
: > cp.bad
checkpoint() {
	git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck > /dev/null ||
		echo "$1 fsck: $(head -n 3 fsck | tr '\n' ' ')" >> cp.bad
	api-verify > verify 2>&1 || echo "$1 api-verify: $(tail -n 2 verify | tr '\n' ' ')" >> cp.bad
	probe "$1"
	ncp=$((ncp + 1))
}

# --- the run --------------------------------------------------------------------------
: > results                     # I KIND HOW RC
: > unexpected                  # writes that failed other than by the kill
: > team.killed                 # cases whose last team change was killed
ncp=0
base=$(dtip "$S")
t0=$(ms)
while read -r i kind how arg pick; do
	case $kind in
	log) c=$(pickcase); cn=$(canary "log$i")
		echo "$cn" >> all.canaries
		run "$how" "$arg" api-log -i cw1.id "$c" -m "Note $i. $cn"
		rc=$?
		[ $rc -eq 0 ] && echo "$c $(cat out) $cn" >> ok.notes ;;
	new) cn=$(canary "new$i")
		echo "$cn" >> all.canaries
		run "$how" "$arg" api-new -i cw1.id -m "Intake $i. $cn"
		rc=$?
		if [ $rc -eq 0 ]; then
			c=$(cat out)
			echo "$c $cn" >> ok.intakes
			echo "$c" >> cases
			echo "$c intake" >> phases
		fi ;;
	set) c=$(pickcase)
		p=$(phase_of "$c")
		case $p in intake|paused) to=active ;; *) to=paused ;; esac
		run "$how" "$arg" api-status -i cw1.id "$c" --set "$to"
		rc=$?
		if [ $rc -eq 0 ]; then set_phase "$c" "$to"
		else
			# killed: read what it left, for the next change
			set_phase "$c" "$(api-status -i ld.id "$c" 2> /dev/null | cut -f2)"
		fi ;;
	team) c=$(pickcase)
		h=cw$((2 + $(echo "$pick" | cut -c4) % 2))
		case " $(team_of "$c")" in
		*" $h "*) prog=api-revoke ;;
		*) prog=api-grant ;;
		esac
		run "$how" "$arg" "$prog" -i ld.id "$c" "$h"
		rc=$?
		if [ $rc -eq 0 ]; then
			grep -v "^$c\$" team.killed > team.new; mv team.new team.killed
		else echo "$c" >> team.killed; fi
		kind=$prog ;;
	esac
	echo "$i $kind $how $rc" >> results
	# a kill that left a lock file: the next write must not be blocked
	if [ $rc -eq 137 ] && [ -n "$(lockfiles)" ]; then
		echo "$i $(lockfiles)" >> locks.left
		probe "$i"
	fi
	case $rc in
	0|137) ;;
	*) echo "$i $kind $how $arg: exit $rc: $(head -n 2 err | tr '\n' ' ')" >> unexpected ;;
	esac
	[ $((i % K)) -eq 0 ] && checkpoint "$i"
done < plan
[ $((N % K)) -eq 0 ] || checkpoint "$N"
t1=$(ms)
end=$(dtip "$S")
diag "$N writes in $(((t1 - t0) / 1000)) s: $(awk '{ s[$2 " " ($4 == 0 ? "ok" : $4 == 137 ? "killed" : "failed")]++ }
	END { for (k in s) printf "%s %d, ", k, s[k] }' results | sort)"
diag "exited 0: $(awk '$4 == 0' results | wc -l), killed: $(awk '$4 == 137' results | wc -l)"

[ ! -s unexpected ]
ok $? "every write exited 0 or was killed"
[ -s unexpected ] && diag "$(head -n 5 unexpected)"
[ "$(awk '($3 == "none" || $3 == "probe") && $4 != 0' results | wc -l)" -eq 0 ]
ok $? "every write that was not killed exited 0"
[ "$(awk '$4 == 137' results | wc -l)" -ge $((N / 4)) ] &&
	[ "$(awk '$4 == 0' results | wc -l)" -ge $((N / 10)) ]
ok $? "(control: at least a quarter of the writes were killed, and a tenth not)"
touch locks.left
diag "$(wc -l < locks.left) kills left a lock file: $(cut -d' ' -f2- locks.left | sort | uniq -c | tr -s ' \n' ' ')"
[ ! -s cp.bad ]
ok $? "at $ncp checkpoints fsck --strict clean and api-verify ok; after them and every kill that left a lock, the next write in $WAIT s, no lock left"
[ -s cp.bad ] && diag "$(head -n 5 cp.bad)"

# --- afterwards ------------------------------------------------------------------------
# one write to each ref, not killed: any lock a kill left is gone after it
c=$(canary last)
echo "$c" >> all.canaries
id=$(api-new -i cw1.id -m "$c" 2> err) && echo "$id $c" >> ok.intakes && echo "$id" >> cases &&
	echo "$id intake" >> phases &&
	api-show -i ld.id --purpose test "$id" > /dev/null 2>&1
ok $? "api-new and api-show after the run"
[ -z "$(lockfiles)" ]
ok $? "no lock file is left in the store"
[ -n "$(lockfiles)" ] && diag "$(lockfiles)"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck
ok $? "git fsck --strict: clean"
api-verify > verify 2>&1 && api-verify --reads > /dev/null 2>&1
ok $? "api-verify and api-verify --reads: ok"
git -C "$S" for-each-ref --format='%(objectname) %(refname)' > refs
bad=0
while read -r o r; do git -C "$S" cat-file -e "$o^{commit}" 2> /dev/null || bad=1; done < refs
[ $bad -eq 0 ] && grep -q ' refs/heads/main$' refs && grep -q ' refs/api/keys$' refs
ok $? "every ref names a commit that is there"

# stock age: every case's key.age opens with the lead's identity, and every
# note of every case opens with its keys (none there by halves)
git -C "$S" ls-tree -r --name-only main | awk -F/ '$1 == "cases" { print $4 }' | sort -u > main.cases
git -C "$S" ls-tree -r --name-only refs/api/keys | awk -F/ '$1 == "cases" { print $4 }' | sort -u > keys.cases
comm -23 main.cases keys.cases > nokeys
[ ! -s nokeys ] && [ -s main.cases ]
ok $? "every case on main ($(wc -l < main.cases)) has its envelopes on refs/api/keys"
[ -s nokeys ] && diag "without envelopes: $(head -n 3 nokeys | tr '\n' ' ')"
bad=0
while read -r c; do
	git -C "$S" cat-file -e "refs/api/keys:$(cdir "$c")/events.age" 2> /dev/null || bad=1
done < main.cases
[ $bad -eq 0 ]
ok $? "... both of them, key.age and events.age"
orphans=$(comm -13 main.cases keys.cases | wc -l)
killednew=$(awk '$2 == "new" && $4 == 137' results | wc -l)
diag "$orphans envelopes of a case not on main; $killednew api-new killed"
[ "$orphans" -le "$killednew" ]
ok $? "envelopes of a case not on main only as many as api-new were killed"

: > notes.bad
: > plain
nnotes=0
while read -r c; do
	d=$(cdir "$c")
	if ! git -C "$S" show "refs/api/keys:$d/key.age" | age -d -i ld.id > case.key 2> /dev/null; then
		echo "$c: key.age does not open for the lead" >> notes.bad
		continue
	fi
	git -C "$S" ls-tree --name-only "main:$d/notes" > list
	while read -r f; do
		nnotes=$((nnotes + 1))
		echo "== $c ${f%.md.age}" >> plain
		git -C "$S" show "main:$d/notes/$f" | age -d -i case.key >> plain 2> /dev/null ||
			echo "$c $f does not decrypt" >> notes.bad
		echo >> plain
	done < list
done < main.cases
rm -f case.key
[ ! -s notes.bad ] && [ $nnotes -gt 0 ]
ok $? "stock age opens all $nnotes notes of every case with the case key the lead opens"
[ -s notes.bad ] && diag "$(head -n 3 notes.bad)"

# every acknowledged note: in its case's tree, and holding its canary
: > missing
while read -r c n cn; do
	git -C "$S" cat-file -e "main:$(cdir "$c")/notes/$n.md.age" 2> /dev/null ||
		echo "$c $n" >> missing
done < ok.notes
[ ! -s missing ] && [ -s ok.notes ]
ok $? "every note whose api-log exited 0 ($(wc -l < ok.notes)) is on main"
[ -s missing ] && diag "missing: $(head -n 3 missing | tr '\n' ' ')"
awk 'FNR == NR { want[$1 " " $2] = $3; next }
	/^== / { cur = $2 " " $3; next }
	cur in want && index($0, want[cur]) { found[cur] = 1 }
	END { for (k in want) if (!(k in found)) { print k; bad = 1 } exit bad }' ok.notes plain > lost
ok $? "... and stock age finds its canary in it"
[ -s lost ] && diag "without its canary: $(head -n 3 lost | tr '\n' ' ')"
: > missing
while read -r c cn; do
	grep -qx "$c" main.cases || echo "$c" >> missing
	grep -qF -- "$cn" plain || echo "$c" >> missing
done < ok.intakes
[ ! -s missing ]
ok $? "every case whose api-new exited 0 ($(wc -l < ok.intakes)) is on main, its intake holding its canary"

# api-show, as the toolkit reads them: every acknowledged canary of a case
bad=0
while read -r c; do
	api-show -i ld.id --purpose test "$c" > show 2> /dev/null || { bad=1; continue; }
	for cn in $(awk -v c="$c" '$1 == c { print $3 }' ok.notes) \
		$(awk -v c="$c" '$1 == c { print $2 }' ok.intakes); do
		grep -qF -- "$cn" show || bad=1
	done
done < cases
[ $bad -eq 0 ]
ok $? "api-show opens every case written, with every acknowledged note"

# every acknowledged write is one commit: for each kind, at least as many
# commits of the run on main as writes that exited 0, at most as many as ran
git -C "$S" log --format='%(trailers:key=Api-Action,valueonly)' "$base..$end" |
	grep -v '^$' | sort | uniq -c > actions
bad=0
for a in log:log new:new set:phase api-grant:grant api-revoke:revoke; do
	k=${a%%:*} act=${a#*:}
	okn=$(awk -v k="$k" '$2 == k && $4 == 0' results | wc -l)
	all=$(awk -v k="$k" '$2 == k' results | wc -l)
	got=$(awk -v a="$act" '$2 == a { print $1 }' actions)
	diag "$k: $okn of $all exited 0, ${got:=0} '$act' commits"
	[ "$okn" -le "$got" ] && [ "$got" -le "$all" ] || bad=1
done
[ $bad -eq 0 ]
ok $? "each kind of write: as many commits as exited 0, or more, never more than ran"

# phases: what the last acknowledged change set, where no change was killed since
api-status -i ld.id > status 2> /dev/null
bad=0
while read -r c p; do
	[ -z "$p" ] && continue
	[ "$(awk -v c="$c" '$1 == c { print $2 }' status)" = "$p" ] || { bad=1; diag "$c: $p"; }
done < phases
[ $bad -eq 0 ]
ok $? "every case is in the phase its last acknowledged change set"

# teams: where the last change exited 0, key.for names main's recipient and
# team, and every member opens key.age
bad=0 nt=0
while read -r c; do
	grep -qx "$c" team.killed && continue
	d=$(cdir "$c")
	nt=$((nt + 1))
	[ "$(git -C "$S" show "refs/api/keys:$d/key.for")" = "$(printf 'recipient %s\nteam %s' \
		"$(git -C "$S" rev-parse "main:$d/recipient")" "$(git -C "$S" rev-parse "main:$d/team")")" ] ||
		{ bad=1; diag "$c: key.for is not main's"; }
	for h in $(team_of "$c"); do
		git -C "$S" show "refs/api/keys:$d/key.age" | age -d -i "$h.id" > /dev/null 2>&1 ||
			{ bad=1; diag "$c: $h cannot open key.age"; }
	done
done < cases
[ $bad -eq 0 ] && [ $nt -gt 0 ]
ok $? "$nt cases whose last team change was not killed: envelopes for main's team, each member opens them"

# --- no plaintext at rest ------------------------------------------------------------
# found FILE: the canaries in FILE
found() { grep -aoF -f all.canaries "$1" | sort -u; }
git -C "$S" cat-file --batch-all-objects --batch > objects 2> /dev/null
grep -aq '^log: note added$' objects
ok $? "(control: git cat-file --batch-all-objects shows object contents)"
found objects > hits
[ ! -s hits ]
ok $? "no canary in any object"
git -C "$S" log --all --format='%an %ae %cn %ce%n%B' > msgs
found msgs > hits
[ ! -s hits ]
ok $? "no canary in a commit message"
grep -raF -f all.canaries "$S" > hits 2>&1
[ ! -s hits ]
ok $? "no canary in any file of the store (loose objects, temporary files, refs)"
grep -raF $VGEX -f all.canaries "$T" --exclude-dir=work > hits 2>&1
[ ! -s hits ]
ok $? "no canary under \$HOME, \$TMPDIR, \$XDG_RUNTIME_DIR"
[ -z "$(find "$TMPDIR" "$XDG_RUNTIME_DIR" -mindepth 1 | vgnot | head -n 1)" ]
ok $? "\$TMPDIR and \$XDG_RUNTIME_DIR are empty"
diag "temporary object files a kill left: $(find "$S/objects" -name 'tmp_*' | wc -l)"

git -C "$S" gc -q > /dev/null 2>&1 && [ -n "$(find "$S/objects/pack" -name '*.pack')" ] &&
	git -C "$S" cat-file --batch-all-objects --batch > objects 2> /dev/null &&
	grep -aq '^log: note added$' objects && found objects > hits && [ ! -s hits ] &&
	! grep -raF -f all.canaries "$S" > /dev/null 2>&1
ok $? "git gc: no canary in any packed object or file of the store"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck && api-verify > /dev/null 2>&1
ok $? "after git gc: fsck --strict clean, api-verify ok"

done_testing
