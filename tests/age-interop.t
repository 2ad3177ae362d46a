#!/bin/sh
# age-interop.t - our age (lib/age.c through agetool) against stock age(1)
# and age-keygen(1), both ways: X25519 to one and to several recipients,
# binary and armored, at chunk-boundary sizes; passphrases through a
# pseudo-terminal driven by expect(1), since age -p reads only /dev/tty.
. "$(dirname "$0")/lib.sh"

if ! command -v age >/dev/null 2>&1 || ! command -v age-keygen >/dev/null 2>&1
then
	echo "1..0 # SKIP age and age-keygen not installed (Debian package age)"
	exit 0
fi
cd "$T" || exit 1

# 36 and 40: armored output that is a whole number of 48-byte lines (no
# short last line) with three and with one recipient
SIZES="0 1 36 40 65535 65536 65537 1048576"

for n in $SIZES; do
	head -c "$n" /dev/urandom > "p$n" || exit 1
done
# same OUT PLAIN: age -o creates OUT only on its first write, so an
# empty plaintext leaves none
same() { [ -e "$1" ] || : > "$1"; cmp -s "$1" "$2"; }

# --- keys ---------------------------------------------------------------

for i in 1 2 3; do
	age-keygen -o "k$i" 2>/dev/null || exit 1
done
R1=$(age-keygen -y k1) R2=$(age-keygen -y k2) R3=$(age-keygen -y k3)
cat k1 k2 k3 > kall

[ "$(agetool pub k1)" = "$R1" ] && [ "$(agetool pub k3)" = "$R3" ]
ok $? "agetool pub agrees with age-keygen -y (comment lines skipped)"
[ "$(agetool pub kall)" = "$(printf '%s\n%s\n%s' "$R1" "$R2" "$R3")" ]
ok $? "agetool pub prints one recipient per identity of a file"
agetool keygen > ko 2> ko.err &&
	grep -Eq '^AGE-SECRET-KEY-1[0-9A-Z]{58}$' ko && oneline ko &&
	grep -Eq '^public key: age1[0-9a-z]{58}$' ko.err
ok $? "agetool keygen: one identity line, its public key on stderr"
RO=$(age-keygen -y ko 2>/dev/null)
[ -n "$RO" ] && [ "public key: $RO" = "$(cat ko.err)" ] &&
	[ "$(agetool pub ko)" = "$RO" ]
ok $? "age-keygen -y reads our identity and derives the same recipient"
echo interop | age -r "$RO" | agetool -d -i ko > out && [ "$(cat out)" = interop ]
ok $? "age encrypts to our recipient, we open it with our identity"
echo interop | agetool -e -r "$RO" | age -d -i ko > out 2>&1 &&
	[ "$(cat out)" = interop ]
ok $? "we encrypt to our recipient, age opens it with our identity"

# --- X25519, both ways, at every size -------------------------------------

for n in $SIZES; do
	for a in "" -a; do
		what="$n bytes${a:+, armored}"
		rm -f c d
		# ours to one recipient, opened by age
		agetool -e $a -r "$R1" -o c "p$n" && age -d -i k1 -o d c &&
			same d "p$n"
		ok $? "$what: ours to one recipient, age -d opens it"
		if [ -n "$a" ]; then
			head -n 1 c | grep -qx -- '-----BEGIN AGE ENCRYPTED FILE-----' &&
				tail -n 1 c | grep -qx -- '-----END AGE ENCRYPTED FILE-----'
		else
			head -n 1 c | grep -qx 'age-encryption.org/v1'
		fi
		ok $? "$what: ... and it looks like age${a:+ armor}"

		# ours to three recipients through pipes, opened by age with each key
		rm -f c
		agetool -e $a -r "$R1" -r "$R2" -r "$R3" < "p$n" > c
		r=$?
		for k in k1 k2 k3; do
			[ $r -eq 0 ] && age -d -i "$k" < c > d && cmp -s d "p$n" ||
				r=1
		done
		ok $r "$what: ours to three recipients, age -d opens it with each identity"

		# age to three recipients, opened by us with each identity
		rm -f c
		age $a -r "$R1" -r "$R2" -r "$R3" -o c "p$n"
		r=$?
		for k in k1 k2 k3; do
			rm -f d
			[ $r -eq 0 ] && agetool -d -i "$k" -o d c && cmp -s d "p$n" || r=1
		done
		# from a pipe (short reads), with a file of several identities
		[ $r -eq 0 ] && cat c | agetool -d -i kall > d && cmp -s d "p$n" || r=1
		ok $r "$what: age to three recipients, we open it with each identity"
	done
done

# armor written on a system with CRLF line ends (age accepts it too)
agetool -e -a -r "$R1" p1 | sed 's/$/\r/' > c && agetool -d -i k1 c > d &&
	cmp -s d p1
ok $? "we open armor with CRLF line ends"

# --- passphrases ----------------------------------------------------------

PASS='correct horse battery staple'
printf '%s\n' "$PASS" > pass

if ! command -v expect >/dev/null 2>&1; then
	skip "expect not installed: age -p reads only from a terminal, passphrase interop not tested"
	done_testing
	exit
fi

# tty PASSPHRASE CONFIRM CMD...: runs CMD on a pseudo-terminal, answers
# its passphrase prompt (and with CONFIRM 1 the confirmation prompt);
# exits with CMD's status.
cat > tty.exp <<'EOF'
log_user 0
set timeout 120
set pass [lindex $argv 0]
set confirm [lindex $argv 1]
spawn -noecho {*}[lrange $argv 2 end]
expect {
	-re {passphrase[^:]*: } { send -- "$pass\r" }
	timeout { puts stderr "tty.exp: no passphrase prompt"; exit 97 }
	eof { puts stderr "tty.exp: exited before the prompt"; exit 98 }
}
if {$confirm} {
	expect {
		"Confirm passphrase: " { send -- "$pass\r" }
		timeout { puts stderr "tty.exp: no confirm prompt"; exit 97 }
		eof { puts stderr "tty.exp: exited before the confirm prompt"; exit 98 }
	}
}
expect {
	timeout { puts stderr "tty.exp: does not exit"; exit 97 }
	eof
}
lassign [wait] pid id oserr status
exit $status
EOF
tty() {
	expect tty.exp "$@" > tty.out 2>&1 && return
	set -- $?
	diag "expect: $(tr -d '\r' < tty.out | tr '\n' ' ')"
	return "$1"
}

# age -p (its default work factor 18), opened by us
for n in 1 65537; do
	for a in "" -a; do
		what="$n bytes${a:+, armored}"
		rm -f c d
		tty "$PASS" 1 age -p $a -o c "p$n" &&
			agetool -d -p --passphrase-fd 3 -o d c 3< pass && cmp -s d "p$n"
		ok $? "$what: age -p encrypts, we open it with the passphrase"
	done
done
rm -f d
fails agetool -d -p --passphrase-fd 3 -o d c 3<<EOF 2> err &&
$PASS.
EOF
	grep -q 'wrong passphrase' err && [ ! -e d ]
ok $? "... and refuse it with a wrong passphrase"

# ours (work factor 10, to keep this fast), opened by age -d
for n in $SIZES; do
	rm -f c d
	agetool -e -p --passphrase-fd 3 -w 10 -o c "p$n" 3< pass &&
		tty "$PASS" 0 age -d -o d c && same d "p$n"
	ok $? "$n bytes: ours with a passphrase (work factor 10), age -d opens it"
done
sed -n 2p c | grep -Eq '^-> scrypt [A-Za-z0-9+/]{22} 10$'
ok $? "... and its header has one scrypt stanza of work factor 10"
rm -f c d
agetool -e -a -p --passphrase-fd 3 -w 10 < p65536 > c 3< pass &&
	tty "$PASS" 0 age -d -o d c && cmp -s d p65536
ok $? "armored, ours with a passphrase, age -d opens it"
rm -f d
fails expect tty.exp "$PASS." 0 age -d -o d c > tty.out 2>&1 && [ ! -s d ]
ok $? "... and age refuses it with a wrong passphrase"

# the default work factor, 18
rm -f c d
agetool -e -p --passphrase-fd 3 -o c p65537 3< pass &&
	sed -n 2p c | grep -q ' 18$' && tty "$PASS" 0 age -d -o d c &&
	cmp -s d p65537
ok $? "ours at the default work factor 18, age -d opens it"

# our own terminal prompts, with the confirmation
rm -f c d
tty "$PASS" 1 agetool -e -p -w 10 -o c p1048576 &&
	tty "$PASS" 0 age -d -o d c && cmp -s d p1048576
ok $? "ours, passphrase typed at our terminal prompt, age -d opens it"
rm -f d
tty "$PASS" 0 agetool -d -p -o d c && cmp -s d p1048576
ok $? "we open it with the passphrase typed at our terminal prompt"

done_testing
