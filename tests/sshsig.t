#!/bin/sh
# sshsig.t - our SSH signatures against stock ssh-keygen -Y, both ways.
. "$(dirname "$0")/lib.sh"

if ! command -v ssh-keygen >/dev/null 2>&1; then
	echo "1..0 # SKIP ssh-keygen not installed"
	exit 0
fi
cd "$T" || exit 1

printf 'case 2024-001\nthe record\n' > msg
printf 'case 2024-001\nthe recorD\n' > tampered

# ours: key A signs
sshsig-tool keygen a.key > a.pub
ok $? "keygen writes a key and prints its public key"
[ "$(wc -c < a.key)" -eq 64 ] && grep -q '^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' a.pub
ok $? "the key is 64 bytes, the public key an ssh-ed25519 line"
sshsig-tool sign a.key git < msg > a.sig
ok $? "sign"
echo "alice namespaces=\"git\" $(cat a.pub)" > allowed_signers

# stock ssh-keygen accepts our signature ...
ssh-keygen -Y verify -f allowed_signers -I alice -n git -s a.sig < msg > out 2>&1
ok $? "ssh-keygen -Y verify accepts our signature"
grep -q 'Good "git" signature for alice' out
ok $? "... and says it is alice's"
ssh-keygen -Y check-novalidate -n git -s a.sig < msg > /dev/null 2>&1
ok $? "ssh-keygen -Y check-novalidate accepts our signature"
ssh-keygen -Y find-principals -f allowed_signers -s a.sig > out 2>/dev/null &&
	[ "$(cat out)" = alice ]
ok $? "ssh-keygen -Y find-principals names alice"

# ... and refuses it over other data or for another namespace (the
# checks above can fail)
fails ssh-keygen -Y verify -f allowed_signers -I alice -n git -s a.sig \
	< tampered > /dev/null 2>&1
ok $? "ssh-keygen refuses our signature over tampered data"
fails ssh-keygen -Y check-novalidate -n file -s a.sig < msg > /dev/null 2>&1
ok $? "ssh-keygen refuses our signature for another namespace"

# we verify our own, and refuse tampered data and a wrong namespace
sshsig-tool verify git a.sig < msg > out
ok $? "we verify our signature"
cmp -s out a.pub
ok $? "... reporting key A"
fails sshsig-tool verify git a.sig < tampered > out 2> err
ok $? "we refuse tampered data"
[ ! -s out ] && grep -q 'does not verify' err
ok $? "... printing nothing on stdout, the reason on stderr"
fails sshsig-tool verify file a.sig < msg > /dev/null 2> err
ok $? "we refuse a wrong namespace"
grep -q 'namespace' err
ok $? "... saying it is the namespace"

# a signature by another key is reported as that key, so a caller that
# expects A can tell; ssh-keygen refuses it for alice
sshsig-tool keygen b.key > b.pub &&
	sshsig-tool sign b.key git < msg > b.sig &&
	sshsig-tool verify git b.sig < msg > out
ok $? "a signature by key B verifies"
cmp -s out b.pub && ! cmp -s out a.pub
ok $? "... and reports key B, not the expected key A"
fails ssh-keygen -Y verify -f allowed_signers -I alice -n git -s b.sig \
	< msg > /dev/null 2>&1
ok $? "ssh-keygen refuses key B's signature for alice"

# ssh-keygen signs, we verify
ssh-keygen -q -t ed25519 -N '' -C '' -f sk > /dev/null
ok $? "ssh-keygen -t ed25519 makes a key"
cp msg m1
ssh-keygen -Y sign -n git -f sk m1 > /dev/null 2>&1
ok $? "ssh-keygen -Y sign"
sshsig-tool verify git m1.sig < msg > out
ok $? "we verify ssh-keygen's signature"
cut -d' ' -f1,2 sk.pub | cmp -s - out
ok $? "... reporting ssh-keygen's key"
fails sshsig-tool verify git m1.sig < tampered > /dev/null 2>&1
ok $? "we refuse ssh-keygen's signature over tampered data"
fails sshsig-tool verify file m1.sig < msg > /dev/null 2>&1
ok $? "we refuse ssh-keygen's signature for another namespace"
tr -d '\n' < m1.sig > m1.flat && sed 's/$/\r/' m1.sig > m1.crlf &&
	sshsig-tool verify git m1.crlf < msg > /dev/null &&
	fails sshsig-tool verify git m1.flat < msg > /dev/null 2>&1
ok $? "CRLF line ends are accepted; a signature on one line is not"

cp msg m2
if ssh-keygen -Y sign -n git -O hashalg=sha256 -f sk m2 > /dev/null 2>&1; then
	sshsig-tool verify git m2.sig < msg > /dev/null
	ok $? "we verify ssh-keygen's sha256 signature"
	fails sshsig-tool verify git m2.sig < tampered > /dev/null 2>&1
	ok $? "we refuse ssh-keygen's sha256 signature over tampered data"
else
	skip "ssh-keygen has no -O hashalg=sha256"
	skip "ssh-keygen has no -O hashalg=sha256"
fi

# the same key and data give the very bytes ssh-keygen writes
sshsig-tool import-openssh sk sk.raw && sshsig-tool pubkey sk.raw > out &&
	cut -d' ' -f1,2 sk.pub | cmp -s - out
ok $? "ssh-keygen's key imported"
sshsig-tool sign sk.raw git < msg > ours.sig && cmp -s ours.sig m1.sig
ok $? "our signature is byte-identical to ssh-keygen's"

# malformed input
printf 'not a signature\n' > junk.sig
fails sshsig-tool verify git junk.sig < msg > /dev/null 2> err &&
	grep -q 'header' err
ok $? "we refuse a file that is not a signature"
sed '2s/^./*/' m1.sig > bad64.sig
fails sshsig-tool verify git bad64.sig < msg > /dev/null 2> err &&
	grep -q 'base64' err
ok $? "we refuse bad base64"

done_testing
