#!/bin/sh
# sync-ssh.t - api-sync and api-clone over ssh:// against a private OpenSSH
# server: /usr/sbin/sshd on 127.0.0.1, a free port, run as this user with
# its own host key, config and authorized_keys in the test's directory,
# killed on exit.  A store pushed, cloned, worked on in two copies and
# synced both ways, with the client key from --ssh-key, $API_SSH_KEY and
# ssh-agent; the host key checked against $HOME/.ssh/known_hosts, plain
# or hashed.  Refused with one line, the store (and the server) unchanged
# and no login made: a changed host key, an unknown host (no known_hosts,
# or the key known only for another port), both before any client key is
# offered; a client key the server does not know, no key at all, a closed
# port (without hanging); a server that accepts and never answers
# (libgit2 1.5 would wait for ever: --timeout gives up).
. "$(dirname "$0")/lib.sh"

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] || ! command -v ssh > /dev/null ||
	! command -v ssh-keygen > /dev/null || ! command -v ssh-agent > /dev/null; then
	plan 1
	skip "no OpenSSH server ($SSHD) or client (Debian packages openssh-server, openssh-client)"
	exit 0
fi

umask 022
W=$T/work SD=$T/sshd
mkdir -p "$W" "$SD" "$HOME/.ssh"
chmod 700 "$HOME/.ssh"
cd "$W" || exit 1
# only the keys this test names: no agent of the caller's
unset SSH_AUTH_SOCK SSH_AGENT_PID API_SSH_KEY
KH=$HOME/.ssh/known_hosts
ME=$(id -un)
BIN=$B/bin
A=$T/a B=$T/b SRV=$T/srv.git

# the daemons this test starts, stopped by their pid on exit (lib.sh's
# trap removed $T; so does this one, after them)
sshd_pid='' agent_pid='' silent_pid=''
stop_daemons() {
	for _p in $sshd_pid $agent_pid $silent_pid; do
		kill "$_p" 2> /dev/null && wait "$_p" 2> /dev/null
	done
	sshd_pid='' agent_pid='' silent_pid=''
}
trap 'stop_daemons; rm -rf "$T"' EXIT

# --- the server ----------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C host -f "$SD/host" &&
	ssh-keygen -q -t ed25519 -N '' -C other -f "$SD/other" &&
	ssh-keygen -q -t ed25519 -N '' -C client -f "$W/client" &&
	ssh-keygen -q -t ed25519 -N '' -C stranger -f "$W/stranger" &&
	cp "$W/client.pub" "$SD/authorized_keys" || exit 1
HOSTKEY=$(cut -d' ' -f1,2 "$SD/host.pub")
OTHERKEY=$(cut -d' ' -f1,2 "$SD/other.pub")

# sshd_cfg PORT: the server's config for PORT in $SD/cfg
sshd_cfg() {
	cat > "$SD/cfg" <<-EOF
	ListenAddress 127.0.0.1
	Port $1
	HostKey $SD/host
	PidFile $SD/sshd.pid
	AuthorizedKeysFile $SD/authorized_keys
	StrictModes no
	UsePAM no
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin prohibit-password
	AllowTcpForwarding no
	X11Forwarding no
	PrintMotd no
	PrintLastLog no
	LogLevel VERBOSE
	EOF
	printf '%s' "$sshd_extra" >> "$SD/cfg"
}
# options this sshd may not know, kept where it does: git on the server
# reads no config of the account's (OpenSSH 8.7 and later); no shutting
# out of a source after failed logins, which this test makes on purpose
# (9.8 and later)
sshd_extra=
for _o in "SetEnv GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null" \
	"PerSourcePenalties no"; do
	_e=$sshd_extra
	sshd_extra="$_e$_o
"
	sshd_cfg 22
	"$SSHD" -t -f "$SD/cfg" 2> /dev/null || sshd_extra=$_e
done
sshd_cfg 22
if ! "$SSHD" -t -f "$SD/cfg" 2> "$SD/t.err"; then
	plan 1
	skip "$SSHD refuses the test's config: $(head -n 1 "$SD/t.err")"
	exit 0
fi

# sshd_start: sshd on a random free port in 20000-59999 (a port another
# program holds makes it exit: the next one is tried); PORT and sshd_pid
sshd_start() {
	for _try in 1 2 3 4 5 6 7 8 9 10; do
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		sshd_cfg "$PORT"
		: > "$SD/log"
		"$SSHD" -D -e -f "$SD/cfg" 2>> "$SD/log" &
		sshd_pid=$!
		for _i in $(seq 100); do
			grep -q "^Server listening on 127.0.0.1 port $PORT" "$SD/log" && return 0
			kill -0 "$sshd_pid" 2> /dev/null || break
			sleep 0.05
		done
		kill "$sshd_pid" 2> /dev/null
		wait "$sshd_pid" 2> /dev/null
		sshd_pid=
	done
	return 1
}
if ! sshd_start; then
	plan 1
	skip "$SSHD did not start on 127.0.0.1 (ten ports tried): $(tail -n 1 "$SD/log")"
	exit 0
fi
URL=ssh://$ME@127.0.0.1:$PORT$SRV
diag "sshd (pid $sshd_pid) on 127.0.0.1:$PORT, url $URL"

# known HOSTPATTERN KEY...: known_hosts is these lines, one per KEY
known() { _h=$1; shift; : > "$KH"; for _k in "$@"; do echo "$_h $_k" >> "$KH"; done; }
# run CMD ARGS...: stdout in $W/out, stderr in $W/err; $rc its exit status
run() { "$@" > "$W/out" 2> "$W/err"; rc=$?; }
# logins: how many times sshd let someone in so far; offers: how many
# keys clients offered it (accepted or not)
logins() { grep -c '^Accepted publickey' "$SD/log"; }
offers() { grep -cE '^(Accepted|Failed|Postponed) publickey' "$SD/log"; }
# refused: the last run failed (not killed by timeout), said one line,
# and changed neither A nor the server, nor logged anyone in
refused() {
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && oneline "$W/err" &&
		[ "$(drefs "$A")" = "$a0" ] && [ "$(drefs "$SRV")" = "$srv0" ] &&
		[ "$(logins)" -eq "$in0" ]
}
# before: what refused and hostkey_refused compare with
before() { a0=$(drefs "$A") srv0=$(drefs "$SRV") in0=$(logins) off0=$(offers); }
# hostkey_refused: refused for the host key, before any key was offered
hostkey_refused() { refused && grep -qi 'host *key' "$W/err" && [ "$(offers)" -eq "$off0" ]; }

# --- a store and a server ------------------------------------------------
team_store "$A"
ok $? "a store: an admin, a lead, two caseworkers, a case of both"

# the server's hook checks every push (its refusals logged in
# $SD/hook.log); over ssh it runs with the server account's PATH, so it
# is told where api-verify is
git init -q --bare "$SRV" &&
	printf '#!/bin/sh\necho ran >> %s\nAPI_VERIFY=%s exec sh %s 2>> %s\n' \
		"'$SD/hook.ran'" "'$BIN/api-verify'" "'$API_TOP/scripts/pre-receive'" \
		"'$SD/hook.log'" > "$SRV/hooks/pre-receive" &&
	chmod +x "$SRV/hooks/pre-receive" &&
	git -C "$A" remote add origin "$URL"
ok $? "a bare server repository with the pre-receive hook; A's origin is $URL"

known "[127.0.0.1]:$PORT" "$HOSTKEY"
run timeout 30 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$KH" -o IdentitiesOnly=yes -i "$W/client" \
	-p "$PORT" "$ME@127.0.0.1" "git --git-dir='$SRV' rev-parse --is-bare-repository"
[ "$rc" -eq 0 ] && [ "$(cat out)" = true ] && [ "$(logins)" -eq 1 ]
ok $? "stock ssh, checking the host key strictly, logs in with the client key and runs git there"
[ "$rc" -eq 0 ] || diag "ssh: $(cat err); sshd: $(tail -n 5 "$SD/log")"

# --- (1) push, clone, work in two copies, sync both ways ------------------
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
[ "$rc" -eq 0 ] && same main "$A" "$SRV" && same refs/api/keys "$A" "$SRV" &&
	dverified "$SRV" && grep -q 'origin: .*push' err &&
	[ -s "$SD/hook.ran" ] && [ ! -s "$SD/hook.log" ]
ok $? "api-sync --ssh-key: the first push over ssh fills the empty server, its hook content; api-verify passes there"
[ "$rc" -eq 0 ] || diag "api-sync: $(cat err); hook: $(tail -n 3 "$SD/hook.log")"

run env API_SSH_KEY="$W/client" timeout 60 api-clone "$URL" "$B"
[ "$rc" -eq 0 ] && [ "$(cat out)" = "$B" ] && dverified "$B" &&
	[ "$(git -C "$B" rev-parse main refs/api/keys)" = "$(git -C "$SRV" rev-parse main refs/api/keys)" ] &&
	[ "$(git -C "$B" config remote.origin.url)" = "$URL" ] &&
	[ -z "$(git -C "$B" for-each-ref refs/api/sync/)" ]
ok $? "api-clone over ssh (key from \$API_SSH_KEY): main and keys as the server's, verified, origin the URL"
[ "$rc" -eq 0 ] || diag "api-clone: $(cat err)"

api-log -C "$A" -i cw1.id "$C1" -m "from a" > /dev/null 2>&1 &&
	api-log -C "$B" -i cw2.id "$C1" -m "from b" > /dev/null 2>&1 &&
	C2=$(api-new -C "$B" -i cw2.id -m "intake two" 2> /dev/null)
ok $? "a note logged in each copy, a case opened in B"

# B's key from an ssh-agent of this test's own
AGENT=$XDG_RUNTIME_DIR/agent.sock
ssh-agent -D -a "$AGENT" > /dev/null 2>&1 &
agent_pid=$!
for _i in $(seq 100); do [ -S "$AGENT" ] && break; sleep 0.05; done
SSH_AUTH_SOCK=$AGENT ssh-add -q "$W/client" 2> /dev/null
ok $? "an ssh-agent holding the client key"

timeout 60 api-sync -q -C "$A" -i cw1.id --ssh-key "$W/client" 2> errA; ra=$?
SSH_AUTH_SOCK=$AGENT timeout 60 api-sync -q -C "$B" -i cw2.id 2> errB; rb=$?
timeout 60 api-sync -q -C "$A" -i cw1.id --ssh-key "$W/client" 2>> errA; ra2=$?
[ $ra -eq 0 ] && [ $rb -eq 0 ] && [ $ra2 -eq 0 ] && [ ! -s errA ] && [ ! -s errB ]
ok $? "api-sync -q in A (--ssh-key), B (ssh-agent), A again: exit 0, nothing on stderr"
[ -s errA ] && diag "A: $(cat errA)"
[ -s errB ] && diag "B: $(cat errB)"
same main "$A" "$B" "$SRV" && same refs/api/keys "$A" "$B" "$SRV" &&
	[ -n "$(git -C "$B" log --merges -1 --format=%H main)" ] &&
	dverified "$A" && dverified "$B" && dverified "$SRV"
ok $? "main and the keys are the same commit in A, B and the server (B merged); api-verify passes in all three"
api-show -C "$A" -i cw1.id --purpose test "$C1" 2> /dev/null | grep -q "from b" &&
	api-show -C "$B" -i cw2.id --purpose test "$C1" 2> /dev/null | grep -q "from a" &&
	api-show -C "$A" -i cw2.id --purpose test "$C2" 2> /dev/null | grep -q "intake two"
ok $? "each copy reads the other's note, and A the case B opened"
kill "$agent_pid" 2> /dev/null && wait "$agent_pid" 2> /dev/null
agent_pid=

# from here on A has a note the server lacks: a sync that got through
# would push it
api-log -C "$A" -i cw1.id "$C1" -m "pending" > /dev/null 2>&1
ok $? "a new note in A, not yet synced"

# --- (2) a changed host key -------------------------------------------------
known "[127.0.0.1]:$PORT" "$OTHERKEY"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
hostkey_refused
ok $? "known_hosts holds another key for [127.0.0.1]:$PORT: api-sync refuses (one line, the host key) before offering a key; A and the server unchanged"
diag "$(cat err)"
run timeout 60 api-clone --ssh-key "$W/client" "$URL" "$T/c"
hostkey_refused && [ ! -e "$T/c" ]
ok $? "... api-clone refuses too, and leaves no directory"
known 127.0.0.1 "$OTHERKEY"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
hostkey_refused
ok $? "... and so with another key for the host without a port"
known "[127.0.0.1]:$PORT" "$OTHERKEY"
ssh-keygen -q -H -f "$KH" > /dev/null 2>&1 && rm -f "$KH.old" && ! grep -q 127.0.0.1 "$KH"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
hostkey_refused
ok $? "... and so when that line is hashed (HashKnownHosts, Debian's default)"

# --- (3) an unknown host ----------------------------------------------------
rm -f "$KH"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
hostkey_refused
ok $? "no known_hosts: api-sync refuses the unknown host key (one line) before offering a key; A and the server unchanged"
diag "$(cat err)"
run timeout 60 api-clone --ssh-key "$W/client" "$URL" "$T/c"
hostkey_refused && [ ! -e "$T/c" ]
ok $? "... api-clone refuses it too, and leaves no directory"
known "[127.0.0.1]:$((PORT + 1))" "$HOSTKEY"
echo "[localhost]:$PORT $HOSTKEY" >> "$KH"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client"
hostkey_refused
ok $? "the right key known only for another port and another name: refused all the same"

# --- the right key again: plain, then hashed ----------------------------------
known "[127.0.0.1]:$PORT" "$HOSTKEY"
ssh-keygen -q -H -f "$KH" > /dev/null 2>&1 && rm -f "$KH.old" && ! grep -q 127.0.0.1 "$KH"
run timeout 60 api-sync -q -C "$A" -i cw1.id --ssh-key "$W/client"
[ "$rc" -eq 0 ] && same main "$A" "$SRV" && dverified "$SRV"
ok $? "known_hosts hashed, with the right key: the pending note goes through"
[ "$rc" -eq 0 ] || diag "$(cat err)"
api-log -C "$A" -i cw1.id "$C1" -m "pending again" > /dev/null 2>&1
ok $? "another note in A, not yet synced"

# --- (4) a client key the server does not know; no key at all -------------------
known "[127.0.0.1]:$PORT" "$HOSTKEY"
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/stranger"
refused && grep -q 'refused the key' err && [ "$(offers)" -gt "$off0" ]
ok $? "a client key not in authorized_keys: the server saw it and refused it (one line), A and the server unchanged"
diag "$(cat err)"
before
run env API_SSH_KEY="$W/stranger" timeout 60 api-sync -C "$A" -i cw1.id
refused
ok $? "... and so from \$API_SSH_KEY"
before
run timeout 60 api-sync -C "$A" -i cw1.id
refused
ok $? "no --ssh-key, no \$API_SSH_KEY, no agent: refused (one line), nothing changed"
diag "$(cat err)"

# --- (5) a closed port --------------------------------------------------------
# port 1 (tcpmux) on the loopback: nothing listens there
before
run timeout 60 api-sync -C "$A" -i cw1.id --ssh-key "$W/client" "ssh://$ME@127.0.0.1:1$SRV"
refused
ok $? "a closed port: api-sync fails at once (no timeout), one line, A and the server unchanged"
diag "$(cat err)"
run timeout 60 api-clone --ssh-key "$W/client" "ssh://$ME@127.0.0.1:1$SRV" "$T/c"
refused && [ ! -e "$T/c" ]
ok $? "... api-clone too, and leaves no directory"

# --- after all the refusals ----------------------------------------------------
run timeout 60 api-sync -q -C "$A" -i cw1.id --ssh-key "$W/client"
[ "$rc" -eq 0 ] &&
	timeout 60 api-sync -q -C "$B" -i cw2.id --ssh-key "$W/client" &&
	same main "$A" "$B" "$SRV" && same refs/api/keys "$A" "$B" "$SRV" &&
	dverified "$A" && dverified "$B" && dverified "$SRV" &&
	api-show -C "$B" -i cw2.id --purpose test "$C1" 2> /dev/null | grep -q "pending again" &&
	[ -z "$(git -C "$A" for-each-ref refs/api/sync/)" ]
ok $? "with the right keys again A and B sync: all three the same, verified, B reads A's last note"
[ "$rc" -eq 0 ] || diag "$(cat err)"

# --- a server that accepts and never speaks ----------------------------------
# libgit2 1.5 sets no timeout on the ssh handshake: api-sync's watchdog
# (--timeout, 60 s by default; 2 s here) gives up
if command -v perl > /dev/null; then
	SILENT=$((PORT == 59999 ? PORT - 1 : PORT + 1))
	perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr =>
		"127.0.0.1", LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1)
		or exit 1; while ($c = $s->accept) { push @c, $c }' "$SILENT" &
	silent_pid=$!
	sleep 0.3
	if kill -0 "$silent_pid" 2> /dev/null; then
		before
		run timeout 10 api-sync -C "$A" -i cw1.id --timeout 2 --ssh-key "$W/client" "ssh://$ME@127.0.0.1:$SILENT$SRV"
		refused && grep -q 'no answer' "$W/err"
		ok $? "a server that accepts and never answers: api-sync --timeout 2 gives up, one line, the store unchanged (exit $rc)"
		run timeout 10 api-clone --timeout 2 --ssh-key "$W/client" "ssh://$ME@127.0.0.1:$SILENT$SRV" "$T/never"
		[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'no answer' "$W/err" &&
			oneline "$W/err" && [ ! -e "$T/never" ]
		ok $? "... api-clone too, and leaves no directory"
	else
		skip "port $SILENT taken: no silent server"
	fi
	kill "$silent_pid" 2> /dev/null && wait "$silent_pid" 2> /dev/null
	silent_pid=
fi

done_testing
