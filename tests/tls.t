#!/bin/sh
# tls.t - the system's CA bundle is parsed only by the programs that may
# connect (lib/tls.c): the others leave libgit2's trust store empty, which
# saves each of them the parse.  api-clone and api-sync load it before
# they open a remote, and a server whose certificate no CA vouches for is
# refused with a clear error, leaving nothing behind.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

lib=$(ldd "$B/lib/libapi.so.0" 2> /dev/null)
case $lib in
*libmbedx509*) ;;
*) skip "libgit2 here is not built with mbedTLS: nothing is deferred"
   done_testing; exit ;;
esac
# bindings FILE: the dynamic linker's bindings of the CA parser in FILE
bindings() { grep 'normal symbol `mbedtls_x509_crt_parse_file' "$1"; }

# api-status --help: libgit2 starts, its call of the CA parser goes to
# libapi, and libapi never calls the real one (which only dlsym reaches)
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" api-status --help > /dev/null 2>&1
cat "$T"/ld.* > ld 2> /dev/null; rm -f "$T"/ld.*
bindings ld | grep -q 'libgit2[^ ]* \[[0-9]*\] to [^ ]*libapi\.so' &&
	! bindings ld | grep -q 'libapi\.so[^ ]* \[[0-9]*\] to [^ ]*libmbedx509'
ok $? "a program that does not connect: libgit2's CA parse goes to libapi, the bundle is not parsed"

if ! command -v openssl > /dev/null; then
	skip "openssl is not installed: no TLS server to refuse"
	done_testing; exit
fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
	-subj /CN=127.0.0.1 -days 2 > /dev/null 2>&1
ok $? "a self-signed certificate for 127.0.0.1"
# a TLS server on a free port of 127.0.0.1 (tried until one is free)
port= pid=
for try in 1 2 3 4 5 6 7 8; do
	p=$((20000 + ($$ * 7 + try * 131) % 30000))
	openssl s_server -quiet -accept "127.0.0.1:$p" -cert cert.pem -key key.pem \
		-www > srv.out 2>&1 &
	pid=$!
	sleep 0.5
	if kill -0 "$pid" 2> /dev/null; then port=$p; break; fi
done
[ -n "$port" ]
ok $? "an openssl s_server on 127.0.0.1:$port"
[ -n "$port" ] || { done_testing; exit; }

LD_DEBUG=bindings LD_DEBUG_OUTPUT="$T/ld" api-clone -q \
	"https://127.0.0.1:$port/store.git" "$T/copy" > out 2> err
rc=$?
cat "$T"/ld.* > ld 2> /dev/null; rm -f "$T"/ld.*
kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
[ $rc -ne 0 ] && oneline err && grep -qi 'certificate' err && [ ! -e "$T/copy" ]
ok $? "api-clone from a server no CA vouches for: refused, one line naming the certificate, no directory left"
diag "$(cat err)"
bindings ld | grep -q 'libapi\.so[^ ]* \[[0-9]*\] to [^ ]*libmbedx509'
ok $? "api-clone parsed the CA bundle with mbedTLS's own parser before connecting"

done_testing
