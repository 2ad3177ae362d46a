#!/bin/sh
# make install / uninstall honour PREFIX and DESTDIR, install the man
# pages, and the installed api finds its programs.
. "$(dirname "$0")/lib.sh"

dest=$T/dest
prefix=/opt/apitest
make -s -C "$API_TOP" B="${B#$API_TOP/}" PREFIX=$prefix DESTDIR="$dest" install >"$T/log" 2>&1
ok $? "make install PREFIX=$prefix DESTDIR=..."
root=$dest$prefix
[ -x "$root/bin/api" ]; ok $? "api in PREFIX/bin"
[ -x "$root/libexec/api/api-keygen" ]; ok $? "programs in PREFIX/libexec/api"
[ -e "$root/lib/libapi.so.0" ]; ok $? "libapi in PREFIX/lib"
n=$(ls "$API_TOP"/man/*.1 2>/dev/null | wc -l)
m=$(ls "$root/share/man/man1" 2>/dev/null | wc -l)
[ "$n" -gt 0 ] && [ "$n" -eq "$m" ]; ok $? "every section 1 man page installed ($m of $n)"
[ -e "$root/share/man/man7/api.7" ]; ok $? "api.7 installed"
[ ! -e "$prefix" ]; ok $? "nothing written outside DESTDIR"
"$root/bin/api" --help >"$T/help" 2>&1
grep -q 'keygen' "$T/help"; ok $? "installed api lists the installed programs"
"$root/bin/api" keygen --help | head -n 1 | grep -q '^api-keygen - '; ok $? "installed api runs api-keygen"
[ -x "$root/libexec/api/api-remind" ]; ok $? "api-remind in PREFIX/libexec/api, executable"
[ -x "$root/libexec/api/pre-receive" ]; ok $? "the server hook pre-receive in PREFIX/libexec/api, executable"
grep -q '^ *remind  *mail each caseworker' "$T/help"; ok $? "installed api lists remind"
PATH=$root/bin:/usr/bin:/bin "$root/bin/api" remind --version 2>&1 | grep -Eq '^api-remind [0-9]'
ok $? "installed api runs api-remind, which finds api-status beside it"
comp=$root/share/bash-completion/completions/api
[ -f "$comp" ]; ok $? "bash completion in PREFIX/share/bash-completion/completions/api"
if command -v bash >/dev/null 2>&1; then
	PATH=$root/bin:/usr/bin:/bin bash --norc --noprofile -c '
		. "$1" && COMP_WORDS=(api rem) COMP_CWORD=1 && _api &&
		[ "${COMPREPLY[*]}" = remind ]' sh "$comp"
	ok $? "the installed completion finds the programs in libexec/api"
else
	skip "bash not installed"
fi
make -s -C "$API_TOP" B="${B#$API_TOP/}" PREFIX=$prefix DESTDIR="$dest" uninstall >"$T/log" 2>&1
ok $? "make uninstall"
left=$(find "$dest" -type f -o -type l | wc -l)
[ "$left" -eq 0 ]; ok $? "uninstall removes every installed file ($left left)"
done_testing
