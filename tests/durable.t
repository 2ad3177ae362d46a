#!/bin/sh
# durable.t - an acknowledged write survives a power cut: before api-log
# exits 0, every file it made in the store (each new loose object, the
# ref) has been fsync'd, after its last write, and so has each directory
# a new name went into, after the rename.  Checked in the system calls
# (strace): a crash test kills processes, whose writes the kernel keeps,
# and cannot show what a power cut loses.
. "$(dirname "$0")/lib.sh"

workdir

if ! command -v strace > /dev/null || ! strace -o /dev/null true 2> /dev/null; then
	skip "strace cannot run here"
	done_testing; exit
fi
api-keygen --handle adm --no-passphrase -o adm.id > adm.pub 2> /dev/null &&
	api-keygen --handle cw --no-passphrase -o cw.id > cw.pub 2> /dev/null &&
	api-init -i adm.id "$S" > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw.pub > /dev/null 2>&1 &&
	C=$(api-new -i cw.id -m "intake" 2> /dev/null) && [ -n "$C" ]
ok $? "a store and a case"

find "$S/objects" -type f | sort > before
# (LeakSanitizer cannot run under ptrace: off for this run in make asan)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -o trace -e trace=openat,rename,renameat,renameat2,link,linkat,fsync,fdatasync,close \
	api-log -i cw.id "$C" -m "a note that must not be lost" > out 2> err
rc=$?
find "$S/objects" -type f | sort > after
comm -13 before after > new
[ $rc -eq 0 ] && [ -s new ] && [ "$(git -C "$S" log -1 --format=%s main)" = "log: note added" ]
ok $? "api-log under strace: exit 0, $(wc -l < new) new object files, main moved"
[ $rc -eq 0 ] || diag "exit $rc: $(head -c 300 err)"

# every new object file and the ref: a descriptor opened on its temporary
# or final name is fsync'd before the name is made final; every directory
# that got a name is fsync'd after.  Reads the trace in order: fd -> path
# on open, fsync(fd) marks that path synced, a rename/link checks its
# source was synced and marks the target's directory as needing a sync.
awk -v S="$S" '
function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
/ openat\(/ && /= [0-9]+$/ {
	split($0, q, "\""); fd = $NF; path[$1, fd] = q[2]
}
/ f(data)?sync\(/ && / = 0$/ {
	fd = $0; sub(/.*sync\(/, "", fd); sub(/\).*/, "", fd)
	if (($1, fd) in path) {
		p = path[$1, fd]; synced[p] = 1
		if (p in want) delete want[p]
	}
}
/ (rename|renameat2?|link|linkat)\(/ && / = 0$/ {
	split($0, q, "\""); src = q[2]; dst = q[4]
	if (index(dst, S) == 1) {
		if (!(src in synced)) { print "not synced before its rename: " src; bad++ }
		want[dir(dst)] = 1
	}
}
END {
	for (d in want) { print "directory not synced after a rename into it: " d; bad++ }
	exit bad > 0
}' trace > why
ok $? "each new file is fsync'd before it gets its name, each directory after"
[ -s why ] && diag "$(head -n 5 why)"
n=$(grep -c 'fsync(' trace)
[ "$n" -ge "$(wc -l < new)" ]
ok $? "at least one fsync for each new object file ($n fsyncs, $(wc -l < new) objects)"

done_testing
