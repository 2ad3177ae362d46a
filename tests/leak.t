#!/bin/sh
# leak.t - no plaintext at rest, over every program that reads or moves
# records: canaries written by api-new and api-log, then read by
# api-search and api-export (every format, -o), moved by api-grant and
# api-sync (two stores through a bare server), one case shredded by
# api-purge.  None is in any object of either store or the server (loose
# and packed, reachable or not), any file of theirs, $TMPDIR, $HOME or
# $XDG_RUNTIME_DIR; after the purge, stock age opens the purged case with
# no identity.  And core dumps: a program blocked on its passphrase has
# a core limit of 0, and killed by SIGABRT or SIGSEGV under "ulimit -c unlimited"
# leaves no core, where a control process does.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work                # identities
O=$T/o                   # exports and outputs: plaintext by request
mkdir -p "$W" "$O"
cd "$W" || exit 1
A=$T/a B=$T/b SRV=$T/srv.git
canary() { echo "CANARY-$1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }
C_NEW=$(canary new) C_LOG=$(canary log) C_PURGE=$(canary purge) C_B=$(canary b)
printf '%s\n' "$C_NEW" "$C_LOG" "$C_PURGE" "$C_B" > "$O/canaries"

team_store "$A"
ok $? "a store: an admin, a lead, two caseworkers, a case"
P=$(api-new -C "$A" -i cw1.id -m "to shred. $C_PURGE" 2> /dev/null) &&
	N=$(api-new -C "$A" -i cw1.id -m "intake. $C_NEW" 2> /dev/null) &&
	api-log -C "$A" -i cw1.id "$N" -m "a note. $C_LOG" > /dev/null 2>&1 &&
	api-grant -C "$A" -i ld.id "$N" cw2 > /dev/null 2>&1
ok $? "canaries through api-new and api-log; api-grant gives the case to cw2"

api-search -C "$A" --identity cw1.id CANARY > "$O/search" 2> /dev/null &&
	grep -qF "$C_NEW" "$O/search" && grep -qF "$C_LOG" "$O/search"
ok $? "api-search finds the canaries"
bad=
for f in html man latex xml commonmark; do
	api-export -C "$A" -i cw2.id --to $f -o "$O/x.$f" "$N" 2> "$O/err" &&
		grep -qF "${C_LOG##*-}" "$O/x.$f" || bad="$bad $f"
done
[ -z "$bad" ]
ok $? "api-export -o, every format: the canary (its random part) in the files asked for${bad:+ (not:$bad)}"

git init -q --bare "$SRV" && cp "$API_TOP/scripts/pre-receive" "$SRV/hooks/" &&
	git -C "$A" remote add origin "$SRV" &&
	api-sync -q -C "$A" -i cw1.id 2> /dev/null &&
	api-clone -q "file://$SRV" "$B" > /dev/null 2> "$O/err" &&
	api-log -C "$B" -i cw2.id "$N" -m "from B. $C_B" > /dev/null 2>&1 &&
	api-sync -q -C "$B" -i cw2.id 2> /dev/null && api-sync -q -C "$A" -i cw1.id 2> /dev/null &&
	api-search -C "$A" --identity cw1.id "$C_B" > /dev/null 2>&1
ok $? "api-sync and api-clone: a note written in the copy reaches the first store"

api-status -C "$A" -i cw1.id "$P" --set active --date 2014-02-01 > /dev/null 2>&1 &&
	api-status -C "$A" -i cw1.id "$P" --set closed --reason completed --date 2015-01-01 > /dev/null 2>&1 &&
	api-purge -C "$A" -i adm.id --force --reason "retention ended" "$P" > /dev/null 2>&1 &&
	api-sync -q -C "$A" -i adm.id 2> /dev/null && api-sync -q -C "$B" -i cw2.id 2> /dev/null
ok $? "api-purge shreds a case; synced"
D=cases/$(echo "$P" | cut -c1)/$(echo "$P" | cut -c2)/$P
opened=0
for s in "$A" "$B" "$SRV"; do
	for id in cw1 ld adm; do
		git -C "$s" show "refs/api/keys:$D/key.age" 2> /dev/null |
			age -d -i "$id.id" > /dev/null 2>&1 && opened=1
	done
	[ -z "$(git -C "$s" ls-tree -r refs/api/keys -- "$D")" ] || opened=1
done
api-show -C "$A" -i cw1.id --no-pager "$P" > "$O/show" 2>&1
[ $opened -eq 0 ] && ! grep -qF "$C_PURGE" "$O/show"
ok $? "after the purge no envelope of the case is left in either store or the server"

# --- nowhere else ------------------------------------------------------------------
# scan WHEN: every object of each repository, each of their files, the
# test's home but $O (exports asked for), $TMPDIR, $XDG_RUNTIME_DIR
scan() {
	bad=
	for s in "$A" "$B" "$SRV"; do
		git -C "$s" cat-file --batch-all-objects --batch > "$O/objects" 2> /dev/null
		grep -aq '^log: note added$' "$O/objects" || bad="$bad no-objects:$s"
		grep -aqF -f "$O/canaries" "$O/objects" && bad="$bad object:$s"
	done
	grep -raqF -f "$O/canaries" "$T" --exclude-dir=o && bad="$bad file"
	[ -z "$(find "$TMPDIR" "$XDG_RUNTIME_DIR" -mindepth 1 | head -n 1)" ] ||
		bad="$bad tmp"
	[ -z "$bad" ]
	ok $? "$1: no canary in any object (reachable or not) of the stores and the server, any of their files, \$HOME, \$TMPDIR, \$XDG_RUNTIME_DIR (both left empty)${bad:+ (found:$bad)}"
	grep -raF -l -f "$O/canaries" "$T" --exclude-dir=o 2> /dev/null | head -n 3 |
		while read -r f; do diag "in $f"; done
}
scan "loose"
for s in "$A" "$B" "$SRV"; do
	git -C "$s" gc -q --prune=now > /dev/null 2>&1 || bad=1
done
[ -n "$(find "$A/objects/pack" "$SRV/objects/pack" -name '*.pack')" ]
ok $? "git gc packs the stores and the server"
scan "packed"

# --- core dumps ------------------------------------------------------------------------
# a program blocked reading its passphrase from a fifo nobody writes
api-keygen --handle pp --passphrase-fd 3 -o pp.id > pp.pub 2> /dev/null 3<<EOF
a passphrase long enough
EOF
mkfifo "$O/fifo"
mkdir -p "$O/cwd"
# blocked CMD: starts api-status blocked on its passphrase in $O/cwd, PID
blocked() {
	(cd "$O/cwd" && exec api-status -C "$A" -i "$W/pp.id" --passphrase-fd 3 \
		3<> "$O/fifo" > /dev/null 2>&1) &
	PID=$!
	i=0
	while [ $i -lt 50 ] && ! grep -q '^State:.*S' "/proc/$PID/status" 2> /dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.3
}
blocked
grep -q '^Max core file size *0 *0 ' "/proc/$PID/limits"
ok $? "a running program: core file size limit 0 (soft and hard), in /proc/PID/limits"
kill "$PID"
wait "$PID" 2> /dev/null

case $(cat /proc/sys/kernel/core_pattern 2> /dev/null) in
core*)
	(ulimit -c unlimited 2> /dev/null && cd "$O/cwd" && sleep 30 & p=$!;
	 sleep 0.3; kill -SEGV $p; wait $p) > /dev/null 2>&1
	[ -n "$(find "$O/cwd" -name 'core*' | head -n 1)" ]
	ctl=$?
	ok $ctl "(control: sleep killed by SIGSEGV under ulimit -c unlimited leaves a core)"
	rm -f "$O/cwd"/core*
	# SIGABRT kills (134) under the sanitizers too; their handler takes
	# SIGSEGV and exits 1
	for sig in ABRT SEGV; do
		(ulimit -c unlimited 2> /dev/null
		 blocked
		 kill -$sig "$PID"
		 wait "$PID"
		 echo $? > "$O/rc") > /dev/null 2>&1
		rc=$(cat "$O/rc")
		[ "$rc" -ne 0 ] && { [ $sig = SEGV ] || [ "$rc" -eq 134 ]; } &&
			[ -z "$(find "$O/cwd" -name 'core*' | head -n 1)" ]
		ok $? "api-status killed by SIG$sig under ulimit -c unlimited: no core file (exit $rc)"
	done
	;;
*)	skip "core_pattern is not a file name: core dumps go elsewhere"
	skip "core_pattern is not a file name" ;;
esac

done_testing
