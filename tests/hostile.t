#!/bin/sh
# hostile.t - stores and environments made to hurt.  Each hostile store is
# crafted with stock git plumbing and perl (trees written byte by byte with
# git hash-object --literally, commits signed by an admin's OpenSSH key so
# that only the content is wrong): entries named "..", "." or with a
# slash, symbolic links (mode 120000) and gitlinks (mode 160000) where
# files and directories belong, objects that claim 4 GiB (loose, packed,
# packed deltas whose result, base or own data claims it), a case with
# 100,000 notes, a shallow clone, replaced and grafted history.  The
# reading programs (api-verify, api-status, api-show, api-search,
# api-export) and a writing one (api-log) run on each under timeout
# (and in 1 GiB of address space where objects claim 4 GiB): each gives a
# one-line error naming the thing at fault (api-verify its verdict on
# stdout) or does the right thing; none crashes (exit below
# 124, no sanitizer report), hangs, or writes outside the store (a listing
# of the test's home before and after), and main and the keys move only
# when a write succeeds.  The same trees and objects on a server, for
# api-clone and api-sync.  The ref lock's file and api-new's undo.  Then
# environments: HOME unset, no terminal, API_DIR at a plain git
# repository, a directory that is none, a file, nothing.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work                # identities, keys
O=$T/o                   # the programs' output, the helpers' scratch
R=$T/cwd                 # the programs' working directory, kept empty
mkdir -p "$W" "$O" "$R"
S=$API_DIR
export API_CACHE=0       # the state cache is tested in cache.t
TO=${HOSTILE_TIMEOUT:-30}
cd "$W" || exit 1

for h in adm ld cw; do
	api-keygen --handle "$h" --no-passphrase -o "$h.id" > "$h.pub" 2> /dev/null
done
api-init -i adm.id > /dev/null 2>&1 &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw.pub > /dev/null 2>&1 &&
	C1=$(api-new -i cw.id -m "intake one" 2> /dev/null) &&
	ssh_staff "$W" ev admin adm.id
ok $? "a store, a case, an admin with an OpenSSH key for stock git commits"
D=$(cdir "$C1")
GOOD=$(git -C "$S" rev-parse main)
KEYS=$(git -C "$S" rev-parse refs/api/keys)
NOTE=$(git -C "$S" ls-tree "main:$D/notes" | awk '{ print $3; exit }')

# graft DIR [MODE NAME ID]... (or "-": the entries on stdin): main's tree
# with the entries put in its subtree DIR ("" the root), each tree written
# as bytes by git hash-object --literally: no name or mode is checked
cat > "$O/graft.pl" <<'EOF'
use strict; use warnings;
my ($repo, $tmp, $root, $dir, @e) = @ARGV;
if (@e == 1 && $e[0] eq '-') { @e = map { chomp; split / /, $_, 3 } <STDIN> }
sub gitraw { my $c = join ' ', map { "'$_'" } @_; my $o = `git -C '$repo' $c`;
	die "git @_ failed\n" if $?; $o }
# (a tree's bytes are not chomped: its last id may end in a newline byte)
sub git { my $o = gitraw(@_); chomp $o; $o }
sub rd { my $raw = gitraw('cat-file', 'tree', $_[0]); my @l;
	while (length $raw) {
		$raw =~ s/^(\d+) ([^\0]*)\0(.{20})//s or die "bad tree\n";
		push @l, [$1, $2, $3];
	}
	@l }
sub wr { my $k = sub { $_[0][1] . ($_[0][0] eq '40000' ? '/' : '') };
	open my $fh, '>', $tmp or die; binmode $fh;
	print $fh map { "$_->[0] $_->[1]\0$_->[2]" }
		sort { $k->($a) cmp $k->($b) } @_;
	close $fh; git('hash-object', '-t', 'tree', '-w', '--literally', $tmp) }
sub put { my ($t, $path) = @_; my @l = rd($t);
	if ($path eq '') {
		my %h = map { $_->[1] => $_ } @l;
		for (my $i = 0; $i < @e; $i += 3) {
			my ($m, $n, $s) = @e[$i .. $i + 2];
			$h{$n} = [$m, $n, pack('H*', $s)];
		}
		return wr(values %h);
	}
	my ($head, $rest) = $path =~ m{^([^/]+)/?(.*)$};
	for (@l) { next if $_->[1] ne $head;
		$_->[2] = pack('H*', put(unpack('H*', $_->[2]), $rest));
		return wr(@l) }
	die "no $head\n" }
print put($root, $dir), "\n";
EOF
graft() {
	perl "$O/graft.pl" "$S" "$O/tree" "$(git -C "$S" rev-parse 'main^{tree}')" "$@"
}
# hostile MSG DIR ENTRY...: main moves to a signed commit of such a tree
hostile() {
	_m=$1
	shift
	_t=$(graft "$@") && git_commit "$W" ev "$_t" "$_m"
}

# --- what every run must keep ---------------------------------------------
# outside: the listing of $T but the store and $O (path, type, size, mtime).
# Under make valgrind (API_VG_LOG set) valgrind makes and at once unlinks
# valgrind_proc_PID_cmdline_* and _auxv_* in $TMPDIR for every program:
# there the mtime of $TMPDIR itself is left out (what is in it is not).
outside() {
	find "$T" \( -path "$S" -o -path "$O" \) -prune -o \
		-printf '%p %y %s %T@\n' | sort |
		if [ -n "${API_VG_LOG:-}" ]; then
			awk -v d="$TMPDIR" '$1 == d && $2 == "d" { $4 = "" } { print }'
		else
			cat
		fi
}
# sane NAME RC: no hang, no crash, no sanitizer report; stderr empty or one
# line "NAME: ..."; nothing new outside the store
sane() {
	[ "$2" -ne 124 ] && [ "$2" -lt 128 ] || { diag "$1: exit $2"; return 1; }
	if grep -q 'Sanitizer\|runtime error:\|==[0-9]*==' "$O/err"; then
		diag "$1: sanitizer: $(head -n 3 "$O/err")"
		return 1
	fi
	if [ -s "$O/err" ] && { ! oneline "$O/err" || ! grep -q "^$1: " "$O/err"; }; then
		diag "$1: stderr: $(head -c 400 "$O/err")"
		return 1
	fi
	outside > "$O/after"
	if ! cmp -s "$O/before" "$O/after"; then
		diag "$1: written outside the store:"
		diag "$(diff "$O/before" "$O/after" | head -n 5)"
		return 1
	fi
}
# run PROG ARG...: PROG under timeout in the empty directory $R, its
# output in $O/out, $O/err; RC its exit status; with MEM set, in at most
# MEM KiB of address space (ulimit -v)
MEM=
run() {
	outside > "$O/before"
	(cd "$R" && { [ -z "$MEM" ] || ulimit -v "$MEM"; } &&
		exec timeout "$TO" "$@") > "$O/out" 2> "$O/err" < /dev/null
	RC=$?
}
# A memory limit for the objects that claim 4 GiB: 1 GiB, a quarter of
# what they claim and far more than any program needs here (the malloc
# arenas of api-search's threads take 64 MiB of address space each), but
# none under AddressSanitizer (which reserves terabytes of address space)
# or valgrind (whose wrappers name __asan_init to be left alone likewise)
LIM=1048576
grep -q __asan_init "$(command -v api-show)" && LIM=
# refs_kept: main and the keys are where they were (TIP, KTIP)
refs_kept() {
	[ "$(git -C "$S" rev-parse main)" = "$TIP" ] &&
		[ "$(git -C "$S" rev-parse refs/api/keys)" = "$KTIP" ]
}
# names WORD: stderr names WORD
names() { grep -qF -- "$1" "$O/err" || { diag "not named '$1': $(cat "$O/err")"; return 1; }; }

# probe DESC WHAT [WHAT...]: every reader and the writer on the store as it
# is; WHAT says what is expected of the readers of case C1: "fail:WORD"
# (exit 1, stderr names WORD), "ok" (exit 0), "any" (either); the first
# WHAT is for api-show and api-export of C1, the second for api-status (the
# list and C1), the third for api-search, the fourth for api-log
probe() {
	_desc=$1
	TIP=$(git -C "$S" rev-parse main)
	KTIP=$(git -C "$S" rev-parse refs/api/keys)
	run api-verify
	_v=$RC
	# its verdict on stdout, or an object it cannot read on stderr
	sane api-verify $RC && [ $RC -eq 1 ] && refs_kept && {
		{ oneline "$O/out" && [ ! -s "$O/err" ] &&
			[ "$(cut -d' ' -f1 "$O/out")" = "$TIP" ]; } ||
		{ [ ! -s "$O/out" ] && oneline "$O/err"; }; }
	ok $? "$_desc: api-verify rejects the commit ($(cut -d' ' -f2 "$O/out")$(cut -c1-60 "$O/err"))"
	[ $_v -eq 1 ] || diag "api-verify: exit $_v: $(cat "$O/out" "$O/err")"
	_bad=
	for _p in show export status status1 search log; do
		case $_p in
		show) _w=$2; run api-show --no-pager -i "$W/cw.id" "$C1" ;;
		export) _w=$2; run api-export -i "$W/cw.id" --to html "$C1" ;;
		status) _w=$3; run api-status -i "$W/cw.id" ;;
		status1) _w=$3; run api-status -i "$W/cw.id" "$C1" ;;
		search) _w=$4; run api-search --identity "$W/cw.id" intake ;;
		log) _w=$5; run api-log -i "$W/cw.id" "$C1" -m "one more" ;;
		esac
		_n=api-${_p%1}
		if ! sane "$_n" $RC; then _bad="$_bad $_p"; continue; fi
		case $_w in
		ok) [ $RC -eq 0 ] && [ ! -s "$O/err" ] ;;
		fail:*) [ $RC -ne 0 ] && oneline "$O/err" && names "${_w#fail:}" ;;
		any) [ $RC -eq 0 ] || oneline "$O/err" ;;
		esac || { _bad="$_bad $_p"; diag "$_p: exit $RC: $(cat "$O/err")"; }
		if [ "$_p" = log ] && [ $RC -eq 0 ]; then
			[ "$(git -C "$S" rev-parse main^)" = "$TIP" ] || _bad="$_bad log-ref"
		else
			refs_kept || _bad="$_bad $_p-ref"
		fi
	done
	[ -z "$_bad" ]
	ok $? "$_desc: readers and writer: as expected, no crash, no hang, nothing outside the store${_bad:+ (wrong:$_bad)}"
	git -C "$S" update-ref refs/heads/main "$GOOD"
}

outside > "$O/before"
run api-status -i "$W/cw.id"
sane api-status $RC && [ $RC -eq 0 ] && grep -q "$C1" "$O/out"
ok $? "(control: api-status lists the case, nothing written outside the store)"
touch "$R/x"
outside > "$O/after"
! cmp -s "$O/before" "$O/after"
ok $? "(control: a file written outside the store shows in the listing)"
rm -f "$R/x"

# --- names ---------------------------------------------------------------------
N=20261127T001840.701Z-aaaaaa.md.age
hostile "x" "$D/notes" 100644 .. "$NOTE"
probe "a note named .." fail:notes/.. any any any
hostile "x" "$D/notes" 100644 . "$NOTE"
probe "a note named ." fail:notes/. any any any
hostile "x" "$D/notes" 100644 /etc/passwd "$NOTE"
probe "a note named /etc/passwd" fail:/etc/passwd any any any
hostile "x" "$D/notes" 100644 "../../../$N" "$NOTE"
probe "a note named ../../../NOTE" fail:../../../ any any any
hostile "x" "$(dirname "$D")" 40000 .. "$(git -C "$S" rev-parse "main:$D")"
probe "a case directory named .." ok ok any ok
hostile "x" "" 40000 /cases "$(git -C "$S" rev-parse main:cases)"
probe "a top-level directory /cases" ok ok any ok

# --- symbolic links: read as what they are, never followed -----------------
L1=$(printf '/etc/passwd' | git -C "$S" hash-object -w --stdin)
L2=$(printf '../../../../../../../../../../etc/passwd' | git -C "$S" hash-object -w --stdin)
hostile "x" "$D/notes" 120000 "$N" "$L1"
probe "a note that is a symbolic link to /etc/passwd" fail:"$N" any any any
hostile "x" "$D/notes" 120000 "$N" "$L2"
probe "a note that is a symbolic link to ../../etc/passwd" fail:"$N" any any any
hostile "x" "$D" 120000 team "$L1"
probe "a team file that is a symbolic link" fail:team fail:team fail:team fail:team
hostile "x" "" 120000 api.conf "$L1"
probe "api.conf a symbolic link" fail:api.conf fail:api.conf fail:api.conf fail:api.conf
hostile "x" "" 120000 cases "$L2"
probe "cases/ a symbolic link" fail:"$C1" any any fail:"$C1"

# --- gitlinks (submodule entries) ---------------------------------------------
printf '[submodule "evil"]\n\tpath = cases/evil\n\turl = ../../evil\n' > "$O/gm"
GM=$(git -C "$S" hash-object -w "$O/gm")
hostile "x" "$D/notes" 160000 "$N" "$GOOD"
probe "a note that is a gitlink" fail:"$N" any any any
hostile "x" "$D" 160000 notes "$GOOD"
probe "notes/ a gitlink" fail:notes any any fail:"notes is not a directory"
hostile "x" "$(dirname "$D")" 160000 ZZZZZZZZZZ "$GOOD"
probe "a case that is a gitlink" ok any any ok
hostile "x" "" 100644 .gitmodules "$GM" 160000 evil "$GOOD"
probe "a .gitmodules and a gitlink at the top" ok ok any ok

# --- a loose object whose header claims 4 GiB ------------------------------------
BIG=$(perl -MCompress::Zlib -MDigest::SHA=sha1_hex -e '
	my $d = "blob 4294967296\0age-encryption.org/v1\n"; my $id = sha1_hex($d);
	my $dir = "$ARGV[0]/objects/" . substr($id, 0, 2); mkdir $dir;
	open my $f, ">", "$dir/" . substr($id, 2) or die; binmode $f;
	print $f compress($d); close $f; print "$id\n"' "$S")
[ "$(git -C "$S" cat-file -s "$BIG")" = 4294967296 ]
ok $? "a loose blob of 38 bytes whose header claims 4294967296"
MEM=$LIM
hostile "x" "$D/notes" 100644 "$N" "$BIG"
probe "a note that claims 4 GiB" fail:"$BIG" ok any ok
hostile "x" "" 100644 api.conf "$BIG"
probe "api.conf claims 4 GiB" fail:"$BIG" fail:"$BIG" fail:"$BIG" fail:"$BIG"

# --- a pack whose entries claim 4 GiB -----------------------------------------
# pack.pl REPO: a pack and its index (version 2) written byte by byte into
# REPO, every entry a short zlib stream: a blob of 33 bytes whose entry
# header claims 4294967296 bytes; a blob "base\n"; on it, an OFS delta and
# a REF delta whose delta headers say the result has 4294967296 bytes
# (stock git reads that; libgit2 reads those sizes in 32 bits, as 0), an
# OFS delta whose result has 4294967295 (which libgit2 reads whole); an
# OFS delta whose base is the blob of 4 GiB, and one whose own entry
# header claims 4294967296 bytes of delta.  Prints the ids but the base's.
cat > "$O/pack.pl" <<'PL'
use strict; use warnings;
use Compress::Zlib; use Digest::SHA qw(sha1);
my ($repo) = @ARGV;
my $G = 4294967296;
sub hdr { my ($t, $n) = @_; my $c = ($t << 4) | ($n & 15); $n >>= 4; my $o = '';
	while ($n) { $o .= chr($c | 128); $c = $n & 127; $n >>= 7 } $o . chr($c) }
sub vint { my $n = shift; my $o = '';
	while ($n >= 128) { $o .= chr(128 | ($n & 127)); $n >>= 7 } $o . chr($n) }
sub ofs { my $n = shift; my $o = chr($n & 127);
	while ($n >>= 7) { $n--; $o = chr(128 | ($n & 127)) . $o } $o }
my $pack = "PACK" . pack('NN', 2, 7);
my (@o, @out);                          # [id, offset, crc32]
sub add { push @o, [$_[0], length $pack, crc32($_[1])]; $pack .= $_[1];
	push @out, $_[0] if $_[2] }
sub delta { vint($_[0]) . vint($_[1]) . "\x05base\n" }
my $data = "age-encryption.org/v1\n-> packed\n";
my $big = length $pack;
add(sha1("blob $G\0$data"), hdr(3, $G) . compress($data), 1);
my $at = length $pack;
my $base = sha1("blob 5\0base\n");
add($base, hdr(3, 5) . compress("base\n"), 0);
my $d = delta(5, $G);
add(sha1("blob $G\0ofs"), hdr(6, length $d) . ofs(length($pack) - $at) . compress($d), 1);
add(sha1("blob $G\0ref"), hdr(7, length $d) . $base . compress($d), 1);
$d = delta(5, $G - 1);
add(sha1("blob $G\0ofs-1"), hdr(6, length $d) . ofs(length($pack) - $at) . compress($d), 1);
$d = delta($G, 5);
add(sha1("blob 5\0on-big"), hdr(6, length $d) . ofs(length($pack) - $big) . compress($d), 1);
$d = delta(5, 5);
add(sha1("blob 5\0long"), hdr(6, $G) . ofs(length($pack) - $at) . compress($d), 1);
my $sum = sha1($pack);
$pack .= $sum;
@o = sort { $a->[0] cmp $b->[0] } @o;
my @fan = (0) x 256;
$fan[ord substr($_->[0], 0, 1)]++ for @o;
$fan[$_] += $fan[$_ - 1] for 1 .. 255;
my $idx = "\377tOc" . pack('N', 2) . pack('N256', @fan) .
	join('', map { $_->[0] } @o) . pack('N*', map { $_->[2] } @o) .
	pack('N*', map { $_->[1] } @o) . $sum;
$idx .= sha1($idx);
my $p = "$repo/objects/pack/pack-" . unpack('H*', $sum);
for (['pack', $pack], ['idx', $idx]) {
	open my $f, '>', "$p.$_->[0]" or die "$p.$_->[0]: $!\n"; binmode $f;
	print $f $_->[1]; close $f or die "$p.$_->[0]: $!\n" }
print join(' ', map { unpack 'H*', $_ } @out), "\n";
PL
set -- $(perl "$O/pack.pl" "$S") none none none none none none
PBIG=$1 POFS=$2 PREF=$3 PALMOST=$4 PONBIG=$5 PLONG=$6
for o in "$PBIG 4294967296" "$POFS 4294967296" "$PREF 4294967296" \
    "$PALMOST 4294967295" "$PONBIG 5" "$PLONG 5"; do
	set -- $o
	[ "$(git -C "$S" cat-file -s "$1" 2> /dev/null)" = "$2" ] || { diag "$1: not $2"; false; }
done
ok $? "a pack of blobs claiming 4294967296 bytes (a blob of 33), deltas of 5 bytes whose result claims 4294967296 (OFS, REF) or 4294967295, whose base claims 4 GiB, whose entry does: sizes as stock git reads them"
MEM=$LIM
hostile "x" "$D/notes" 100644 "$N" "$PBIG"
probe "a packed note that claims 4 GiB" fail:"$PBIG" ok fail:"$PBIG" ok
hostile "x" "" 100644 api.conf "$PBIG"
probe "api.conf packed, claims 4 GiB" fail:"$PBIG" fail:"$PBIG" fail:"$PBIG" fail:"$PBIG"
hostile "x" "$D/notes" 100644 "$N" "$POFS"
probe "a note, an OFS delta whose result claims 4 GiB" fail:"$POFS" ok fail:"$POFS" ok
hostile "x" "$D/notes" 100644 "$N" "$PREF"
probe "a note, a REF delta whose result claims 4 GiB" fail:"$PREF" ok fail:"$PREF" ok
hostile "x" "$D/notes" 100644 "$N" "$PALMOST"
probe "a note, a delta whose result claims 4294967295 bytes" fail:"$PALMOST" ok fail:"$PALMOST" ok
hostile "x" "$D/notes" 100644 "$N" "$PONBIG"
probe "a note, a delta whose base claims 4 GiB" fail:"$PONBIG claims 4294967297 bytes" ok fail:"$PONBIG" ok
hostile "x" "$D/notes" 100644 "$N" "$PLONG"
probe "a note, a delta whose pack entry claims 4 GiB" fail:"$PLONG claims 4294967297 bytes" ok fail:"$PLONG" ok
MEM=

# --- hostile trees arriving by api-clone and api-sync -------------------------
# A server, a mirror of the store (its objects, the hostile ones above
# among them, linked by stock git), and a copy made from it by api-clone
# with a note of its own not yet synced (a sync would merge).  Then the
# server's main moves to a commit signed by ev, an active admin, whose
# tree has one hostile entry: api-clone refuses and leaves no directory;
# api-sync in the copy refuses, naming the commit and the path, and the
# copy's refs are as they were (git for-each-ref).
SRV=$O/srv.git CP=$O/copy
git clone -q --mirror "$S" "$SRV" &&
	api-clone -q "file://$SRV" "$CP" > /dev/null 2>&1 &&
	api-log -C "$CP" -i "$W/cw.id" "$C1" -m "not yet synced" > /dev/null 2>&1 &&
	[ "$(git -C "$CP" rev-parse main^)" = "$GOOD" ]
ok $? "a server (a mirror of the store), a copy made by api-clone, a note in the copy not yet synced"
# served DIR ENTRY...: the server's main moves to a commit of its tree with
# the entries, as hostile does in the store
served() {
	_s=$S
	S=$SRV
	hostile "x" "$@"
	_rc=$?
	S=$_s
	return $_rc
}
# arrives DESC WORD...: api-clone and api-sync as above, api-sync's one
# line naming each WORD ("COMMIT": the server's main)
arrives() {
	_desc=$1
	shift
	_c=$(git -C "$SRV" rev-parse main | cut -c1-12)
	run api-clone -q "file://$SRV" "$O/c"
	sane api-clone $RC && [ $RC -eq 1 ] && [ ! -e "$O/c" ] && oneline "$O/err"
	ok $? "$_desc by api-clone: refused, no directory left ($(cut -c1-150 "$O/err"))"
	rm -rf "$O/c"
	drefs "$CP" > "$O/refs"
	run api-sync -C "$CP" -i "$W/cw.id" -q
	_bad=
	{ sane api-sync $RC && [ $RC -eq 1 ] && oneline "$O/err"; } || _bad=" exit $RC"
	for _w in "$@"; do
		[ "$_w" = COMMIT ] && _w=$_c
		names "$_w" || _bad="$_bad $_w"
	done
	drefs "$CP" | cmp -s "$O/refs" - || _bad="$_bad refs"
	[ -z "$_bad" ]
	ok $? "$_desc by api-sync: refused, named, the copy's refs as they were${_bad:+ (wrong:$_bad)}"
	git -C "$SRV" update-ref refs/heads/main "$GOOD"
}
served "$D/notes" 120000 "$N" "$L1"
arrives "a note that is a symbolic link" COMMIT "$D/notes/$N" "mode 120000"
served "$D/notes" 160000 "$N" "$GOOD"
arrives "a note that is a gitlink" COMMIT "$D/notes/$N" "mode 160000"
served "$D/notes" 100644 .. "$NOTE"
arrives "a note named .." COMMIT "$D/notes/.."
served "$D/notes" 100644 /etc/passwd "$NOTE"
arrives "a note named /etc/passwd" COMMIT "$D/notes//etc/passwd"
served "$(dirname "$D")" 40000 .. "$(git -C "$S" rev-parse "main:$D")"
arrives "a case directory named .." COMMIT "$(dirname "$D")/.."
served "" 100644 .gitmodules "$GM" 160000 evil "$GOOD"
arrives "a .gitmodules and a gitlink at the top" COMMIT ".gitmodules"
# Objects that claim 4 GiB: libgit2 reads the server's objects to send
# them before api-sync can check a commit, and the read fails at once
# (it named no commit or path then, nor the object); in 1 GiB of memory
MEM=$LIM
served "$D/notes" 100644 "$N" "$BIG"
arrives "a loose note that claims 4 GiB" "4294967297 bytes"
served "$D/notes" 100644 "$N" "$PBIG"
arrives "a packed note that claims 4 GiB" "4294967297 bytes"
served "$D/notes" 100644 "$N" "$PONBIG"
arrives "a note, a delta whose base claims 4 GiB" "4294967297 bytes"
MEM=
rm -rf "$SRV" "$CP"

# --- locks --------------------------------------------------------------------
# Every api writer moves a ref holding flock(2) on GITDIR/api-flock, where
# it names the ref while it holds REF.lock (lib/store.c, ref_flock)
[ "$(stat -c %a "$S/api-flock")" = 600 ]
ok $? "api-flock is made 0600 ($(stat -c %a "$S/api-flock"))"
chmod 644 "$S/api-flock" &&
	api-log -i "$W/cw.id" "$C1" -m "lock" > /dev/null 2>&1 &&
	[ "$(stat -c %a "$S/api-flock")" = 600 ]
ok $? "an api-flock of 0644 (an older version's) is 0600 after the next write"
chmod g+w "$S" && rm -f "$S/api-flock" &&
	(umask 077 && api-log -i "$W/cw.id" "$C1" -m "lock" > /dev/null 2>&1) &&
	[ "$(stat -c %a "$S/api-flock")" = 660 ]
ok $? "in a group-writable git directory (a shared repository) api-flock is 0660, whatever the umask"
chmod g-w "$S" && chmod 600 "$S/api-flock"
git -C "$S" update-ref refs/heads/main "$GOOD"
# api-new writes the case's keys first; when the case cannot be written
# (cases/ a symbolic link on main) it puts refs/api/keys back
hostile "x" "" 120000 cases "$L2"
TIP=$(git -C "$S" rev-parse main)
KTIP=$(git -C "$S" rev-parse refs/api/keys)
run api-new -i "$W/cw.id" -m "intake two"
sane api-new $RC && [ $RC -eq 1 ] && names "cases is not a directory" && refs_kept
ok $? "api-new where the case cannot be written: refused, refs/api/keys put back as it was ($(cat "$O/err"))"
# under strace: each REF.lock under refs/ is made while api-flock is held
# (its descriptor open, flock LOCK_EX taken and not yet closed)
if strace -f -o /dev/null true 2> /dev/null; then
	(cd "$R" && exec strace -f -qq -o "$O/trace" -e trace=openat,flock,close \
		api-new -i "$W/cw.id" -m "intake two") > /dev/null 2>&1
	rc=$?
	awk '
	/openat\(.*\/api-flock", / && match($0, /= [0-9]+$/) {
		fd = substr($0, RSTART + 2); next }
	match($0, /flock\([0-9]+, LOCK_EX/) && / = 0$/ {
		if (substr($0, RSTART + 6, RLENGTH - 15) == fd) held = 1; next }
	match($0, /close\([0-9]+\)/) {
		if (substr($0, RSTART + 6, RLENGTH - 7) == fd) { held = 0; fd = "" }
		next }
	/openat\(.*\/refs\/.*\.lock", .*O_CREAT/ { n++; if (!held) bad++ }
	END { print n + 0, bad + 0 }' "$O/trace" > "$O/locks"
	[ $rc -eq 1 ] && refs_kept && [ "$(cat "$O/locks")" = "2 0" ]
	ok $? "under strace: api-new's key write and its undo each make refs/api/keys.lock holding api-flock (locks made, made without it: $(cat "$O/locks"))"
else
	skip "strace cannot run here"
fi
git -C "$S" update-ref refs/heads/main "$GOOD"

# --- a case with 100,000 notes ------------------------------------------------
perl -e 'my @c = split //, "0123456789abcdefghjkmnpqrstvwxyz";
	for my $i (0 .. 99999) { my ($s, $n) = ("", $i);
		for (1 .. 6) { $s = $c[$n % 32] . $s; $n = int($n / 32) }
		print "100644 20261127T001841.000Z-$s.md.age $ARGV[0]\n" }' "$NOTE" > "$O/many"
start=$(date +%s)
TO=$((TO * 4))           # api-show reads 100,000 notes before it fails (sanitizers: slower)
hostile "x" "$D/notes" - < "$O/many"
ok $? "a case with 100,000 notes (one ciphertext under 100,000 names)"
TIP=$(git -C "$S" rev-parse main)
KTIP=$(git -C "$S" rev-parse refs/api/keys)
run api-status -i "$W/cw.id" "$C1"
sane api-status $RC && [ $RC -eq 0 ] && refs_kept
ok $? "100,000 notes: api-status CASE ($(($(date +%s) - start)) s so far)"
run api-show --no-pager -i "$W/cw.id" "$C1"
sane api-show $RC && [ $RC -eq 1 ] && [ ! -s "$O/out" ] && names "moved ciphertext"
ok $? "100,000 notes: api-show CASE finds the copies under other names moved ciphertext ($(($(date +%s) - start)) s so far)"
run api-log -i "$W/cw.id" "$C1" -m "one more"
sane api-log $RC && [ $RC -eq 0 ] &&
	[ "$(git -C "$S" ls-tree "main:$D/notes" | wc -l)" -eq 100002 ]
ok $? "100,000 notes: api-log adds the 100,002nd ($(($(date +%s) - start)) s so far)"
git -C "$S" update-ref refs/heads/main "$GOOD"
TO=$((TO / 4))

# --- history: shallow, replaced, grafted ----------------------------------------
git clone -q --bare --depth 1 "file://$S" "$O/shallow.git" 2> /dev/null &&
	[ -s "$O/shallow.git/shallow" ]
ok $? "a shallow clone of the store (stock git, --depth 1)"
run api-verify -C "$O/shallow.git"
sane api-verify $RC && [ $RC -eq 1 ] && [ ! -s "$O/out" ] && oneline "$O/err"
ok $? "api-verify on a shallow store: exit 1, one line ($(cat "$O/err"))"
run api-clone -q "file://$O/shallow.git" "$O/c"
sane api-clone $RC && [ $RC -eq 1 ] && [ ! -e "$O/c" ]
ok $? "api-clone of a shallow server: refused, no directory left ($(cat "$O/err"))"
TIP=$GOOD KTIP=$KEYS
N0=$(api-verify 2> /dev/null)
M3=$(git -C "$S" rev-parse main~3)
git -C "$S" replace --graft main "$M3" 2> /dev/null &&
	echo "$M3" > "$S/shallow" &&
	[ "$(git -C "$S" rev-list --count main)" -lt \
		"$(git -C "$S" --no-replace-objects rev-list --count main)" ]
ok $? "stock git sees main grafted (git replace --graft) and cut (a shallow file)"
run api-verify
sane api-verify $RC && [ $RC -eq 0 ] && [ "$(cat "$O/out")" = "$N0" ] && refs_kept
ok $? "api-verify reads the history as it is, not as replaced or cut ($N0)"
run api-status -i "$W/cw.id" "$C1"
sane api-status $RC && [ $RC -eq 0 ] && refs_kept
ok $? "api-status on a store with replace refs and a shallow file"
git -C "$S" replace -d "$GOOD" > /dev/null && rm -f "$S/shallow"

# --- environments -----------------------------------------------------------------
run env -u HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME api-status
sane api-status $RC && [ $RC -eq 1 ] && names "HOME is not set"
ok $? "HOME unset, no -i: one line, names HOME ($(cat "$O/err"))"
run env -u HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME API_CACHE=1 api-status -i "$W/cw.id"
sane api-status $RC && [ $RC -eq 0 ] && grep -q "$C1" "$O/out"
ok $? "HOME unset, -i FILE: works, no cache written anywhere"
run env -u HOME -u XDG_CONFIG_HOME api-keygen --handle x --no-passphrase
sane api-keygen $RC && [ $RC -ne 0 ]
ok $? "HOME unset: api-keygen without -o refuses ($(cat "$O/err"))"
echo "a passphrase of some length" > "$O/pass"
api-keygen --handle pp --passphrase-fd 3 -o "$W/pp.id" > "$W/pp.pub" 2> /dev/null 3< "$O/pass"
ok $? "an identity with a passphrase"
run setsid api-status -i "$W/pp.id"
sane api-status $RC && [ $RC -eq 1 ] && oneline "$O/err"
ok $? "no terminal, an identity that wants a passphrase: one line, no wait ($(cat "$O/err"))"
run setsid api-log -i "$W/cw.id" "$C1"
sane api-log $RC && [ $RC -ne 0 ] && refs_kept
ok $? "no terminal, api-log without -m and nothing on stdin: refused ($(cat "$O/err"))"
run setsid api-purge -i "$W/ld.id" --reason "retention ended" "$C1"
sane api-purge $RC && [ $RC -ne 0 ] && refs_kept
ok $? "no terminal, api-purge without --force: refused, nothing purged ($(cat "$O/err"))"
run setsid api-show -i "$W/cw.id" "$C1"
sane api-show $RC && [ $RC -eq 0 ] && grep -q '^intake one$' "$O/out"
ok $? "no terminal: api-show prints without a pager"

git init -q "$O/plain" && echo x > "$O/plain/f" && git -C "$O/plain" add f &&
	git -C "$O/plain" commit -q -m x && git -C "$O/plain" branch -q -M main
ok $? "a plain git repository with a main"
plainstate() { (cd "$O/plain" && git for-each-ref && git status --porcelain && find . | sort); }
P0=$(plainstate)
echo data > "$O/file"
mkdir "$O/empty"
for d in "$O/plain" "$O/empty" "$O/file" "$O/none" ""; do
	bad=
	for p in "api-status -i $W/cw.id" "api-show -i $W/cw.id $C1" \
	    "api-search --identity $W/cw.id x" "api-export -i $W/cw.id --to html $C1" \
	    "api-log -i $W/cw.id $C1 -m x" "api-verify" "api-grant -i $W/ld.id $C1 ld" \
	    "api-purge -i $W/ld.id --force --reason r $C1" "api-sync -i $W/cw.id -q" \
	    "api-readlog list"; do
		run env API_DIR="$d" $p
		set -- $p
		{ sane "$1" $RC && [ $RC -ne 0 ] && [ ! -s "$O/out" ] && oneline "$O/err"; } ||
			{ bad="$bad $1"; diag "$1: exit $RC: $(cat "$O/err")"; }
	done
	[ "$(plainstate)" = "$P0" ] || bad="$bad plain-changed"
	[ -z "$bad" ]
	ok $? "API_DIR=${d:-(empty: the current directory)}: every program one line, exit non-zero, nothing written${bad:+ (wrong:$bad)}"
	diag "$(cat "$O/err")"
done

done_testing
