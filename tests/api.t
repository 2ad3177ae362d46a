#!/bin/sh
# api: the git-style dispatcher runs api-CMD and lists the programs.
. "$(dirname "$0")/lib.sh"

X=$T/exec
mkdir -p "$X"
# A fake program: prints its arguments one per line; "fail" exits 3.
cat > "$X/api-foo" <<'EOF'
#!/bin/sh
case ${1-} in
--help) echo "api-foo - does foo"; echo "usage: api-foo [ARG ...]"; exit 0 ;;
fail) exit 3 ;;
esac
for a do printf '[%s]\n' "$a"; done
EOF
chmod +x "$X/api-foo"
export API_EXEC_PATH="$X"

api foo a 'b c' '' -x > "$T/out" 2> "$T/err"
ok $? "api foo runs api-foo"
printf '[a]\n[b c]\n[]\n[-x]\n' | cmp -s - "$T/out"
ok $? "the arguments arrive exactly"
[ ! -s "$T/err" ]
ok $? "nothing on stderr"

api foo fail > /dev/null 2>&1
[ $? -eq 3 ]
ok $? "the program's exit status is api's"

# argv[0] is "api-CMD": only a binary sees it (a script sees its path).
if printf '#include <stdio.h>\nint main(int c, char **v) { (void)c; puts(v[0]); return 0; }\n' \
	> "$T/argv0.c" && ${CC:-cc} -o "$X/api-argv0" "$T/argv0.c" 2>/dev/null; then
	[ "$(api argv0)" = api-argv0 ]
	ok $? "the program's argv[0] is api-CMD"
else
	skip "no C compiler for the argv[0] check"
fi
rm -f "$X/api-argv0"

api --help > "$T/help" 2> "$T/err"
ok $? "api --help exits 0"
[ "$(head -n 1 "$T/help")" = "api - run an api program" ]
ok $? "its first line is the summary line"
grep -q '^usage: api \[--help | --version\]$' "$T/help"
ok $? "it shows the usage"
grep -Eq '^ +foo +does foo$' "$T/help"
ok $? "it lists foo with its summary"
[ ! -s "$T/err" ]
ok $? "nothing on stderr"

api -h > "$T/h" 2>/dev/null && cmp -s "$T/help" "$T/h"
ok $? "api -h is api --help"
api help > "$T/h" 2>/dev/null && cmp -s "$T/help" "$T/h"
ok $? "api help is api --help"

api > "$T/out" 2> "$T/err"
[ $? -eq 2 ] && [ ! -s "$T/out" ] && grep -q '^usage: api' "$T/err" &&
	grep -Eq '^ +foo +does foo$' "$T/err"
ok $? "bare api: the help on stderr, exit 2"

# First found wins, for running and for listing.
mkdir -p "$T/d1" "$T/d2"
for d in d1 d2; do
	# shellcheck disable=SC2016 # $1 is the fake program's
	printf '#!/bin/sh\n[ "${1-}" = --help ] && echo "api-dup - dup in %s" || echo %s\n' \
		"$d" "$d" > "$T/$d/api-dup"
	chmod +x "$T/$d/api-dup"
done
[ "$(API_EXEC_PATH=$T/d1:$T/d2 api dup)" = d1 ] &&
	[ "$(API_EXEC_PATH=$T/d2:$T/d1 api dup)" = d2 ]
ok $? "API_EXEC_PATH is searched in order"
API_EXEC_PATH=$T/d1:$T/d2 api --help > "$T/out" 2>/dev/null
[ "$(grep -c 'dup' "$T/out")" -eq 1 ] && grep -Eq '^ +dup +dup in d1$' "$T/out"
ok $? "a program found twice is listed once, the first"

# A program that hangs on --help does not hang the listing, and what it
# started is killed with it.  The listing gives each program 2 s: it
# takes at most 10 s here (foo, hang, and the programs beside api), far
# less than the hang.  Under make valgrind (API_TEST_WRAP) the programs
# beside api (16) run under memcheck and may each use their 2 s: at most
# 60 s then, against a hang of 300 s.
if [ -n "${API_TEST_WRAP:-}" ]; then
	HANG=300 BOUND=60
else
	HANG=60 BOUND=10
fi
cat > "$X/api-hang" <<EOF
#!/bin/sh
sleep $HANG &
echo \$! > "$T/hang.pid"
wait
EOF
chmod +x "$X/api-hang"
start=$(date +%s)
timeout $((HANG / 2)) api --help > "$T/out" 2>/dev/null
rc=$?
end=$(date +%s)
diag "listing with a hanging program took $((end - start)) s"
[ $rc -eq 0 ] && [ $((end - start)) -lt $BOUND ]
ok $? "a program hanging on --help does not hang the listing"
grep -Eq '^ +foo +does foo$' "$T/out" && grep -Eq '^ +hang$' "$T/out"
ok $? "the others are still listed, the hanging one without a summary"
# alive PID: running, not just a zombie nobody reaped
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}
if [ -s "$T/hang.pid" ]; then
	pid=$(cat "$T/hang.pid")
	# a loaded machine may take a moment to deliver the signal
	n=0
	while alive "$pid" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	if alive "$pid"; then kill "$pid" 2>/dev/null; false; fi
	ok $? "what the hanging program started is killed"
else
	ok 1 "the hanging program ran"
fi
rm -f "$X/api-hang"

api nosuch > "$T/out" 2> "$T/err"
[ $? -eq 1 ]
ok $? "an unknown command exits 1"
oneline "$T/err" && [ ! -s "$T/out" ] &&
	[ "$(cat "$T/err")" = "api: 'nosuch' is not an api command; see 'api --help'" ]
ok $? "with one line on stderr"

for bad in ../x /bin/sh -x Foo 'a b' ''; do
	api "$bad" > /dev/null 2>&1
	[ $? -eq 2 ]
	ok $? "api '$bad' is a usage error"
done
api help ../x > /dev/null 2>&1
[ $? -eq 2 ]
ok $? "api help ../x is a usage error"
api --version extra > /dev/null 2>&1
[ $? -eq 2 ]
ok $? "api --version takes no argument"

v=$(sed -n 's/^#define API_VERSION "\(.*\)"$/\1/p' "$API_TOP/lib/api.h")
[ -n "$v" ] && [ "$(api --version)" = "api $v" ]
ok $? "api --version prints api $v"

# The real programs of the build tree, found beside build/bin/api.
if [ -x "$B/bin/api-keygen" ]; then
	api --help > "$T/out" 2>/dev/null
	[ "$(grep -Ec '^ +keygen( |$)' "$T/out")" -eq 1 ]
	ok $? "the build tree's api-keygen is listed once"
	grep -Eq '^ +keygen +[^ ]' "$T/out"
	ok $? "with its summary"
	env -u API_EXEC_PATH PATH=/usr/bin:/bin "$B/bin/api" keygen --help \
		> "$T/out" 2>/dev/null &&
		head -n 1 "$T/out" | grep -q '^api-keygen - '
	ok $? "api keygen runs it from beside api, without PATH"
else
	skip "$B/bin/api-keygen not built yet"
	skip "$B/bin/api-keygen not built yet"
	skip "$B/bin/api-keygen not built yet"
fi

# api help CMD: no man page anywhere, so the program's --help.
api help foo > "$T/out" 2>/dev/null
ok $? "api help foo exits 0"
"$X/api-foo" --help | cmp -s - "$T/out"
ok $? "without a man page it shows api-foo --help"
api help nosuch > /dev/null 2> "$T/err"
[ $? -eq 1 ] && oneline "$T/err"
ok $? "api help of an unknown command exits 1"

# The build tree's man page, bin/../../man, when none is installed: a
# copy of api in a tree of its own, so that /proc/self/exe points there.
if command -v man > /dev/null; then
	mkdir -p "$T/tree/build/bin" "$T/tree/man"
	cp "$B/bin/api" "$T/tree/build/bin/api"
	ln -s "$B/lib" "$T/tree/build/lib"
	cat > "$T/tree/man/api-foo.1" <<'EOF'
.Dd January 1, 2024
.Dt API-FOO 1
.Os
.Sh NAME
.Nm api-foo
.Nd does foo
.Sh DESCRIPTION
Zorblax the frobnicated text.
EOF
	MANPAGER=cat PAGER=cat "$T/tree/build/bin/api" help foo > "$T/out" 2>/dev/null
	grep -q Zorblax "$T/out"
	ok $? "api help foo shows the build tree's man page"
else
	skip "man not installed"
fi

done_testing
