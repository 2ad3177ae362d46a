#!/bin/sh
# keygen.t - api-keygen: staff identities, their files and permissions,
# passphrases (descriptor and terminal), and stock age / ssh-keygen interop.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
ID=$XDG_CONFIG_HOME/api/identity
# A public line: handle, age recipient, ssh-ed25519 key (51 bytes base64).
PUBRE=' age1[02-9ac-hj-np-z]{58} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$'
have() { command -v "$1" >/dev/null 2>&1; }
# kg ARGS...: api-keygen with stdout in $W/out, stderr in $W/err, no stdin
kg() { api-keygen "$@" > "$W/out" 2> "$W/err" < /dev/null; }
# notty ARGS...: kg without a controlling terminal (a new session)
notty() { setsid -w api-keygen "$@" > "$W/out" 2> "$W/err" < /dev/null; }
# publine HANDLE FILE: FILE holds exactly one public line for HANDLE
publine() { oneline "$2" && grep -Eq "^$1$PUBRE" "$2"; }
sum() { sha256sum < "$1"; }

printf 'correct horse\n' > pw
printf 'wrong horse\n' > badpw

# A pty driver: pty_run TRANSCRIPT [PROMPT ANSWER ...] -- CMD ARGS...
# answers each PROMPT in turn, then waits for the end; exits with CMD's
# status (97: ended before a prompt, 98: timed out).
cat > "$T/pty.exp" <<'EOF'
set timeout 20
set i 0
set pairs {}
while {[lindex $argv $i] ne "--"} {
	lappend pairs [lindex $argv $i] [lindex $argv [expr {$i + 1}]]
	incr i 2
}
set cmd [lrange $argv [expr {$i + 1}] end]
spawn -noecho {*}$cmd
foreach {p a} $pairs {
	expect {
		-exact $p { send -- "$a\r" }
		timeout { exit 98 }
		eof { exit 97 }
	}
}
expect {
	eof {}
	timeout { exit 98 }
}
lassign [wait] pid sid oserr status
exit $status
EOF
pty_run() { out=$1; shift; expect -f "$T/pty.exp" -- "$@" > "$out" 2>&1 < /dev/null; }

# --- an unprotected identity at the default place ------------------------
kg --handle alice --no-passphrase
ok $? "--handle alice --no-passphrase succeeds"
[ -f "$ID" ] && [ "$(stat -c %a "$ID")" = 600 ]
ok $? "it writes \$XDG_CONFIG_HOME/api/identity with mode 600"
[ "$(stat -c %a "$XDG_CONFIG_HOME/api")" = 700 ]
ok $? "the directory it creates is mode 700"
publine alice out
ok $? "stdout is one line: alice age1... ssh-ed25519 AAAA..."
cp out alice.pub
oneline err && grep -q "$ID" err && grep -q '^api-keygen: .*unprotected' err
ok $? "stderr: one note naming the file, saying it is unprotected"
grep -q '^AGE-SECRET-KEY-1' "$ID" && grep -q '^# signing-key: API-SIGNING-KEY-1' "$ID" &&
	grep -q '^# handle: alice$' "$ID"
ok $? "the file holds the age key, the signing key and the handle"
grep -qx "# public: $(cat alice.pub)" "$ID"
ok $? "... and the public line as a comment"
kg -y
ok $? "-y succeeds"
cmp -s alice.pub out && [ ! -s err ]
ok $? "-y prints the same public line, nothing on stderr"
kg -y "$ID" && cmp -s alice.pub out
ok $? "-y FILE prints it too"

# refusing to overwrite
before=$(sum "$ID")
kg --handle alice --no-passphrase
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q "$ID" err
ok $? "a second keygen: exit 1, one stderr line naming the file"
[ "$(sum "$ID")" = "$before" ] && [ "$(stat -c %a "$ID")" = 600 ]
ok $? "... and the file is unchanged"
kg --handle bob --passphrase-fd 3 --work-factor 10 3< pw
[ $? -eq 1 ] && oneline err && grep -q "$ID" err && [ "$(sum "$ID")" = "$before" ]
ok $? "a protected keygen over it is refused too, file unchanged"
if have setsid; then
	notty --handle bob
	[ $? -eq 1 ] && oneline err && grep -q 'already exists' err
	ok $? "the refusal comes before asking for a passphrase"
else
	skip "setsid not installed"
fi
ln -s "$W/nowhere" link
kg --handle alice --no-passphrase -o link
[ $? -eq 1 ] && oneline err && grep -q link err && [ ! -e nowhere ] && [ -L link ]
ok $? "a dangling symlink is not written through"

# -o, $API_IDENTITY, $HOME, LOGNAME
kg --handle olga --no-passphrase -o "$W/sub/dir/o.id"
[ $? -eq 0 ] && [ -f sub/dir/o.id ] && [ "$(stat -c %a sub/dir/o.id)" = 600 ] &&
	publine olga out && [ "$(sum "$ID")" = "$before" ]
ok $? "-o FILE chooses the path (parents made), default untouched"
cp out olga.pub
kg -y sub/dir/o.id && cmp -s olga.pub out
ok $? "-y FILE reads it"
API_IDENTITY=$W/env.id kg --handle emil --no-passphrase
[ $? -eq 0 ] && [ -f env.id ] && publine emil out && [ "$(sum "$ID")" = "$before" ]
ok $? "\$API_IDENTITY chooses the path"
cp out emil.pub
API_IDENTITY=$W/env.id kg -y && cmp -s emil.pub out
ok $? "-y reads \$API_IDENTITY"
API_IDENTITY=$W/env.id kg -y sub/dir/o.id && cmp -s olga.pub out
ok $? "-y FILE wins over \$API_IDENTITY"
envsum=$(sum env.id)
API_IDENTITY=$W/env.id kg --handle oscar --no-passphrase -o o2.id
[ $? -eq 0 ] && [ -f o2.id ] && publine oscar out && [ "$(sum env.id)" = "$envsum" ]
ok $? "-o wins over \$API_IDENTITY"
(unset XDG_CONFIG_HOME; HOME=$W/h2; kg --handle hans --no-passphrase) &&
	[ -f "$W/h2/.config/api/identity" ] && publine hans out &&
	[ "$(stat -c %a "$W/h2/.config/api")" = 700 ]
ok $? "without \$XDG_CONFIG_HOME: \$HOME/.config/api/identity"
LOGNAME=carol kg --no-passphrase -o login.id
[ $? -eq 0 ] && publine carol out && grep -q '^# handle: carol$' login.id
ok $? "the handle defaults to \$LOGNAME"
LOGNAME=Carol kg --no-passphrase -o login2.id
[ $? -eq 1 ] && oneline err && grep -q -- '--handle' err && [ ! -e login2.id ]
ok $? "an invalid \$LOGNAME: exit 1, one line pointing at --handle"
h32=abcdefghij.klmnopqrst_uvwxyz-012
kg --handle "$h32" --no-passphrase -o h32.id && publine "$h32" out
ok $? "a 32-character handle is accepted"

# --- passphrase-protected ------------------------------------------------
P=$W/prot.id
PH=prot-handle-q7x
kg --handle "$PH" --passphrase-fd 3 --work-factor 10 -o "$P" 3< pw
ok $? "--passphrase-fd 3 --work-factor 10 succeeds"
publine "$PH" out
ok $? "it prints the public line"
cp out prot.pub
oneline err && grep -q 'passphrase-protected' err && grep -q "$P" err
ok $? "stderr: one note naming the file, saying it is protected"
[ "$(head -n 1 "$P")" = '-----BEGIN AGE ENCRYPTED FILE-----' ] &&
	[ "$(tail -n 1 "$P")" = '-----END AGE ENCRYPTED FILE-----' ]
ok $? "the file is an armored age file"
[ "$(stat -c %a "$P")" = 600 ]
ok $? "... of mode 600"
! grep -q -e AGE-SECRET-KEY -e API-SIGNING-KEY -e "$PH" "$P"
ok $? "... holding no secret key, signing key or handle in plain"
kg -y --passphrase-fd 3 "$P" 3< pw
[ $? -eq 0 ] && cmp -s prot.pub out && [ ! -s err ]
ok $? "-y --passphrase-fd with the right passphrase prints the line"
kg -y --passphrase-fd 3 "$P" 3< badpw
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q 'wrong passphrase' err
ok $? "a wrong passphrase: exit 1, one line 'wrong passphrase'"
grep -q "$P" err
ok $? "... naming the file"
printf 'correct horse\r\n' > crlfpw
kg -y --passphrase-fd 3 "$P" 3< crlfpw && cmp -s prot.pub out
ok $? "a CRLF line ending on the passphrase is not part of it"
kg -y --passphrase-fd 7 "$P"
[ $? -eq 1 ] && [ ! -s out ] && oneline err
ok $? "a closed passphrase descriptor: exit 1, one line"
if have setsid; then
	notty -y "$P"
	[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q -- '--passphrase-fd' err
	ok $? "-y with no terminal and no --passphrase-fd: one line naming --passphrase-fd"
	notty --handle nina -o notty.id
	[ $? -eq 1 ] && oneline err && grep -q -- '--passphrase-fd' err && [ ! -e notty.id ]
	ok $? "keygen with no terminal: the same, no file written"
else
	skip "setsid not installed"
	skip "setsid not installed"
fi
kg --handle nina --passphrase-fd 3 -o empty1.id 3< /dev/null
[ $? -eq 1 ] && oneline err && grep -q 'empty passphrase' err && [ ! -e empty1.id ]
ok $? "an empty passphrase (EOF) is refused, no file"
printf '\n' > emptypw
kg --handle nina --passphrase-fd 3 -o empty2.id 3< emptypw
[ $? -eq 1 ] && oneline err && grep -q 'empty passphrase' err && [ ! -e empty2.id ]
ok $? "an empty passphrase (empty line) is refused, no file"
kg --handle nina --passphrase-fd 3 --work-factor 9 -o wf.id 3< pw
[ $? -eq 2 ] && [ ! -e wf.id ]
ok $? "a work factor below 10: usage error, no file"

# through a terminal
if have expect; then
	pty_run tx 'New passphrase for the identity: ' 'pty secret' \
		'Confirm passphrase: ' 'pty secreT' -- \
		api-keygen --handle dave --work-factor 10 -o "$W/pty1.id"
	[ $? -eq 1 ] && grep -q 'do not match' tx && [ ! -e pty1.id ]
	ok $? "terminal: asked twice, a mismatch is refused, no file"
	pty_run tx 'New passphrase for the identity: ' 'pty secret' \
		'Confirm passphrase: ' 'pty secret' -- \
		api-keygen --handle dave --work-factor 10 -o "$W/pty2.id"
	[ $? -eq 0 ] && [ -f pty2.id ] && tr -d '\r' < tx | grep -Eq "^dave$PUBRE"
	ok $? "terminal: asked twice, a match is accepted"
	! grep -q 'pty secret' tx
	ok $? "terminal: the passphrase is not echoed"
	printf 'pty secret\n' > ptypw
	kg -y --passphrase-fd 3 pty2.id 3< ptypw && publine dave out
	ok $? "the terminal's passphrase is the one in the file"
	pty_run tx 'Passphrase for the identity: ' 'pty secret' -- api-keygen -y "$W/pty2.id" &&
		tr -d '\r' < tx | grep -Eq "^dave$PUBRE"
	ok $? "terminal: -y asks once and prints the line"
	# A passphrase typed the moment the prompt shows must be read with echo
	# off and not thrown away, even when the program is slow to set up the
	# terminal (here: strace delays every ioctl, tcsetattr among them).
	# LeakSanitizer cannot run under a tracer: off for this one run.
	if have strace && strace -o /dev/null true 2>/dev/null; then
		pty_run tx 'New passphrase for the identity: ' 'slow tty' \
			'Confirm passphrase: ' 'slow tty' -- strace -o /dev/null \
			-e trace=ioctl -e inject=ioctl:delay_enter=300000 \
			env ASAN_OPTIONS=detect_leaks=0 \
			api-keygen --handle erin --work-factor 10 -o "$W/pty3.id"
		[ $? -eq 0 ] && [ -f pty3.id ] && ! grep -q 'slow tty' tx
		ok $? "terminal: an answer typed right at the prompt is kept, not echoed"
	else
		skip "strace cannot run here"
	fi
	# Interrupted at the prompt: the terminal gets its echo back, nothing
	# is written.  (SIGINT ignored by the shell, so that stty still runs.)
	cat > intr.exp <<-'EOF'
	set timeout 20
	spawn sh -c {trap "" INT; api-keygen --handle ivy -o intr.id; echo "rc=$?"; stty -a}
	expect "New passphrase"
	sleep 0.3
	send "\003"
	expect eof
	EOF
	expect intr.exp > tx 2>&1
	tr -d '\r' < tx | grep -q '^rc=1$' && tr -d '\r' < tx | grep -Eq '(^| )echo( |$)' &&
		! tr -d '\r' < tx | grep -Eq '(^| )-echo( |$)' && [ ! -e intr.id ]
	ok $? "terminal: interrupted at the prompt, echo is back and nothing written"
else
	for i in 1 2 3 4 5 6 7; do skip "expect not installed"; done
fi

# --- permissions -----------------------------------------------------------
cp "$ID" perm.id
for m in 640 604 644; do
	chmod "$m" perm.id
	kg -y perm.id
	[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q 'perm\.id' err &&
		grep -q "0$m" err
	ok $? "mode $m: -y refuses, one line naming the file and the mode"
done
chmod 600 perm.id
kg -y perm.id && cmp -s alice.pub out
ok $? "mode 600: accepted"
chmod 640 prot.id
kg -y --passphrase-fd 3 prot.id 3< pw
[ $? -eq 1 ] && oneline err && grep -q 'prot\.id' err && grep -q 0640 err
ok $? "a protected identity of mode 640 is refused too"
chmod 600 prot.id

# --- stock age ---------------------------------------------------------------
if have age && have age-keygen; then
	echo "for alice" > m1
	age -r "$(cut -d' ' -f2 alice.pub)" -o m1.age m1
	ok $? "age -r encrypts to alice's recipient"
	age -d -i "$ID" m1.age > d1 2> e1 && cmp -s m1 d1
	ok $? "age -d -i IDENTITY decrypts it (unprotected)"
	[ "$(age-keygen -y "$ID")" = "$(cut -d' ' -f2 alice.pub)" ]
	ok $? "age-keygen -y IDENTITY gives the recipient of the public line"
	echo "for $PH" > m2
	age -r "$(cut -d' ' -f2 prot.pub)" -o m2.age m2
	ok $? "age -r encrypts to the protected identity's recipient"
	if have expect; then
		pty_run tx 'Enter passphrase for identity file' 'correct horse' -- \
			age -d -i "$P" -o "$W/d2" "$W/m2.age"
		[ $? -eq 0 ] && cmp -s m2 d2
		ok $? "age -d -i PROTECTED-IDENTITY asks the passphrase and decrypts"
		pty_run tx 'Enter passphrase' 'correct horse' -- sh -c \
			"age -d '$P' | grep '^AGE-SECRET-KEY-1' > '$W/plain-id'"
		[ $? -eq 0 ] && oneline plain-id && grep -q '^AGE-SECRET-KEY-1' plain-id
		ok $? "age -d IDENTITY | grep '^AGE-SECRET-KEY-1' gives one key line"
		age -d -i plain-id m2.age > d3 2>/dev/null && cmp -s m2 d3
		ok $? "... which age -d -i uses"
	else
		for i in 1 2 3; do skip "expect not installed"; done
	fi
else
	for i in 1 2 3 4 5 6 7; do skip "age not installed"; done
fi

# --- ssh-keygen --------------------------------------------------------------
if have ssh-keygen; then
	cut -d' ' -f3,4 alice.pub | sed 's/$/ alice/' > alice.ssh
	ssh-keygen -l -f alice.ssh > fp 2>&1 && grep -q '(ED25519)' fp &&
		grep -q 'SHA256:' fp
	ok $? "ssh-keygen -l accepts the ssh key of the public line (ED25519)"
else
	skip "ssh-keygen not installed"
fi

# --- bad input -----------------------------------------------------------
for h in Bad -x '' 0123456789abcdefghij0123456789abc a/b .a; do
	rm -f bad.id
	kg --handle "$h" --no-passphrase -o bad.id
	rc=$?
	{ [ $rc -eq 1 ] || [ $rc -eq 2 ]; } && oneline err && [ ! -s out ] && [ ! -e bad.id ]
	ok $? "handle '$h': refused (exit $rc), one line, no file"
done

bad_y() {
	# bad_y FILE DESC [ARGS...]: -y FILE fails with one line naming it
	f=$1 d=$2; shift 2
	chmod 600 "$f"
	kg -y "$@" "$f"
	[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -qF "$f" err
	ok $? "$d: -y fails, one line naming the file"
}
head -c 1000 /dev/urandom > garbage.id
bad_y garbage.id "random bytes"
printf 'hello world\n' > text.id
bad_y text.id "a text file"
: > empty.id
bad_y empty.id "an empty file"
head -n 5 "$ID" > trunc1.id
bad_y trunc1.id "an identity without its age key"
head -c 200 "$ID" > trunc2.id
bad_y trunc2.id "an identity cut mid-line"
cat "$ID" > twokeys.id
age-keygen 2>/dev/null | grep '^AGE-SECRET-KEY' >> twokeys.id ||
	grep '^AGE-SECRET-KEY' "$ID" >> twokeys.id
bad_y twokeys.id "an identity with two age keys"
head -n 3 "$P" > ptrunc1.id
bad_y ptrunc1.id "a protected identity without its end line" --passphrase-fd 3 3< pw
head -c 300 "$P" > ptrunc2.id
bad_y ptrunc2.id "a protected identity cut mid-line" --passphrase-fd 3 3< pw
if have age && have age-keygen; then
	age-keygen -o other.key 2>/dev/null
	age -r "$(age-keygen -y other.key)" -o else.id "$ID"
	bad_y else.id "an age file encrypted to someone else" --passphrase-fd 3 3< pw
	age -a -r "$(age-keygen -y other.key)" -o else-a.id "$ID"
	bad_y else-a.id "an armored age file encrypted to someone else" --passphrase-fd 3 3< pw
	if have setsid; then
		chmod 600 else.id
		notty -y else.id
		[ $? -eq 1 ] && oneline err && grep -q 'else\.id' err
		ok $? "an age file encrypted to someone else, no terminal: one line naming the file"
	else
		skip "setsid not installed"
	fi
else
	for i in 1 2 3; do skip "age not installed"; done
fi
kg -y "$W/missing.id"
[ $? -eq 1 ] && oneline err && grep -q 'missing\.id' err
ok $? "a missing identity: exit 1, one line naming it"
mkdir dir.id
kg -y dir.id
[ $? -eq 1 ] && oneline err && grep -q 'dir\.id' err
ok $? "a directory as identity: exit 1, one line naming it"

touch regular
ls -A "$W" > "$T/before.ls"
kg --handle rita --no-passphrase -o regular/id
[ $? -eq 1 ] && oneline err && grep -q regular err && [ ! -s out ] &&
	[ -f regular ] && [ ! -s regular ]
ok $? "-o under a regular file: exit 1, one line"
kg --handle rita --no-passphrase -o regular/x/y/id
[ $? -eq 1 ] && oneline err && [ -f regular ] && [ ! -s regular ]
ok $? "-o deeper under a regular file: exit 1, one line"
ls -A "$W" | cmp -s "$T/before.ls" - && [ -z "$(find "$W" -name '*.tmp.*')" ]
ok $? "... nothing left behind"

kg --bogus
[ $? -eq 2 ] && [ ! -s out ] && grep -q '^usage: api-keygen' err
ok $? "an unknown option: exit 2, usage on stderr"
kg -q
[ $? -eq 2 ]
ok $? "an unknown short option: exit 2"
kg --handle x extra
[ $? -eq 2 ] && [ ! -e extra ]
ok $? "a stray argument: exit 2"
kg -y --handle x
[ $? -eq 2 ]
ok $? "-y with --handle: exit 2"
kg -y a b
[ $? -eq 2 ]
ok $? "-y with two files: exit 2"
kg --handle x --work-factor abc
[ $? -eq 2 ] && oneline err
ok $? "--work-factor abc: exit 2, one line"
kg --help
[ $? -eq 0 ] && [ ! -s err ]
ok $? "--help exits 0, nothing on stderr"
head -n 1 out | grep -q '^api-keygen - .'
ok $? "--help: first line 'api-keygen - ...'"
grep -q '^usage: api-keygen' out
ok $? "--help shows the usage"
kg --version
[ $? -eq 0 ] && oneline out && grep -Eq '^api-keygen [0-9]+\.[0-9]+' out
ok $? "--version: 'api-keygen VERSION', exit 0"

# --- no leftovers ------------------------------------------------------------
[ -z "$(find "$XDG_CONFIG_HOME/api" -name '*.tmp.*')" ]
ok $? "no *.tmp.* files in the identity directory"
[ -z "$(find "$T" -name '*.tmp.*')" ]
ok $? "no *.tmp.* files anywhere"
[ "$(sum "$ID")" = "$before" ]
ok $? "the default identity was never changed"

done_testing
