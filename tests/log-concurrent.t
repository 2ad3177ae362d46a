#!/bin/sh
# log-concurrent.t - 8 writers, 50 api-log each, on one case at once:
# every write acknowledged (exit 0) is there exactly once, with the text
# it was given, and the history stays linear, signed and verifiable.
. "$(dirname "$0")/lib.sh"

workdir
JOBS=8
EACH=50
TOTAL=$((JOBS * EACH))
OBJ_RE='[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z-[0-9a-hjkmnp-tv-z]{6}'

api-keygen --handle adm --no-passphrase -o adm.id > /dev/null 2>&1 &&
	api-keygen --handle cw --no-passphrase -o cw.id > cw.pub 2>/dev/null &&
	api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role caseworker cw.pub 2> /dev/null &&
	ID=$(api-new -i cw.id -m "intake" 2> /dev/null) && [ -n "$ID" ]
ok $? "a store with one case, opened by caseworker cw"
D=cases/$(echo "$ID" | cut -c1)/$(echo "$ID" | cut -c2)/$ID
n0=$(git -C "$S" rev-list --count main)

# writer J: EACH notes "writer J note I", IDs to ids.J; fails.J counts failures
writer() {
	_f=0
	for _i in $(seq "$EACH"); do
		api-log -i cw.id "$ID" -m "writer $1 note $_i" >> "ids.$1" 2>> "err.$1" ||
			_f=$((_f + 1))
	done
	echo "$_f" > "fails.$1"
	[ "$_f" -eq 0 ]
}
t0=$(date +%s)
pids=
for j in $(seq "$JOBS"); do
	writer "$j" &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=1; done
t1=$(date +%s)
diag "$TOTAL notes by $JOBS writers in $((t1 - t0)) s"
[ $bad -eq 0 ] && [ "$(cat fails.* | sort -u)" = 0 ]
ok $? "$JOBS writers x $EACH api-log at once: every one exits 0"
[ $bad -eq 0 ] || diag "$(cat err.* | sort | uniq -c | head -n 5)"
[ -z "$(cat err.*)" ]
ok $? "nothing on stderr"

cat ids.* > ids
[ "$(wc -l < ids)" = $TOTAL ] && [ "$(sort -u ids | wc -l)" = $TOTAL ] &&
	[ "$(grep -Ecx "$OBJ_RE" ids)" = $TOTAL ]
ok $? "$TOTAL note IDs printed, all distinct and well formed"
git -C "$S" ls-tree --name-only "main:$D/notes" | sed 's/\.md\.age$//' | sort > notes
[ "$(wc -l < notes)" = $((TOTAL + 1)) ]
ok $? "the case holds exactly $TOTAL notes and the intake"
sort ids | comm -23 - notes > missing
[ ! -s missing ]
ok $? "every printed note ID is a note of the case"
[ -s missing ] && diag "missing: $(head -n 3 missing | tr '\n' ' ')"
[ "$(git -C "$S" ls-tree --name-only "main:$D/events" | wc -l)" = $((TOTAL + 2)) ]
ok $? "... and $TOTAL contact events beside the two of api-new"
[ "$(git -C "$S" rev-list --count main)" = $((n0 + TOTAL)) ] &&
	[ -z "$(git -C "$S" rev-list --min-parents=2 main)" ]
ok $? "$TOTAL new commits, one per note, in a linear history"
[ "$(git -C "$S" log -n $TOTAL --format='%(trailers:key=Api-Object,valueonly)' main |
	grep -v '^$' | sort)" = "$(sort ids)" ]
ok $? "each commit's Api-Object names one of the printed notes, each once"

# every note, opened with stock age, holds the text its writer gave it
git -C "$S" show "refs/api/keys:$D/key.age" | age -d -i cw.id > case.key 2> /dev/null
git -C "$S" archive main "$D/notes" | tar -xf - 2> /dev/null
bad=0
while read -r n; do
	echo "== $n"
	age -d -i case.key "$D/notes/$n.md.age" 2> /dev/null || bad=1
	echo
done < ids > all
# per note: its file name, its Note: field, its body
awk '/^== / { if (f != "") print f "\t" n "\t" b; f = $2; n = b = ""; inb = 0; next }
	!inb && /^Note: / { n = substr($0, 7); next }
	!inb && /^$/ { inb = 1; next }
	inb && $0 != "" { b = b $0 }
	END { if (f != "") print f "\t" n "\t" b }' all > got
for j in $(seq "$JOBS"); do
	for i in $(seq "$EACH"); do echo "writer $j note $i"; done
done | sort > want
[ $bad -eq 0 ] && [ "$(wc -l < got)" = $TOTAL ] &&
	awk -F'\t' '$1 != $2 { bad = 1 } END { exit bad }' got &&
	[ "$(cut -f3 got | sort)" = "$(cat want)" ]
ok $? "stock age opens every note: bound to its name, each text once, none lost or mixed up"

api-verify > out 2> err
[ $? -eq 0 ] && grep -qx "ok: $((n0 + TOTAL)) commits verified" out && [ ! -s err ]
ok $? "api-verify: ok, every commit"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck
ok $? "git fsck --strict: clean"
git -C "$S" show main:allowed_signers > "$W/allowed"
# (api-verify checked every signature; stock git, which runs ssh-keygen
# once a commit, checks the last few)
[ "$(git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log -n 8 --format=%G? main |
	sort -u)" = G ]
ok $? "stock git: %G? = G on the last 8 commits"
[ -z "$(find "$S" -name '*.lock' -o -name '*.tmp.*')" ]
ok $? "no lock or temporary files left in the store"

done_testing
