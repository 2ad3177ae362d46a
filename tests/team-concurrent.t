#!/bin/sh
# team-concurrent.t - two revokes of one case at the same moment: one may
# lose the race (the team changed meanwhile) and then undoes only its own
# key envelopes, never the winner's; in every round the team left can
# still read what is written afterwards, and the history verifies.
. "$(dirname "$0")/lib.sh"

workdir
N=10

api-keygen --handle adm --no-passphrase -o adm.id > /dev/null 2>&1 &&
	api-keygen --handle ld --no-passphrase -o ld.id > ld.pub 2>/dev/null &&
	api-keygen --handle ld2 --no-passphrase -o ld2.id > ld2.pub 2>/dev/null &&
	api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role lead ld2.pub > /dev/null 2>&1
ok $? "a store with two leads"
hs=
for i in $(seq $((2 * N + 1))); do
	api-keygen --handle "c$i" --no-passphrase -o "c$i.id" > "c$i.pub" 2>/dev/null &&
		api-staff -i adm.id add --role caseworker "c$i.pub" > /dev/null 2>&1 ||
		break
	hs="$hs c$i"
done
ID=$(api-new -i ld.id -m intake 2> /dev/null) &&
	api-grant -i ld.id "$ID" $hs c$((2 * N + 1)) > /dev/null 2> err
ok $? "a case with $((2 * N + 1)) caseworkers on its team"

# each round: ld revokes c(2r-1) while ld2 revokes c(2r), at once; the
# loser (if any) is told, and runs again
lost=0 bad=0 readable=0
for r in $(seq $N); do
	a=c$((2 * r - 1)) b=c$((2 * r))
	api-revoke -i ld.id "$ID" "$a" > "out.a" 2> "err.a" & pa=$!
	api-revoke -i ld2.id "$ID" "$b" > "out.b" 2> "err.b" & pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	# the lead, and a caseworker still on the team, read a note written
	# now, before the loser runs again
	n=$(api-log -i ld.id "$ID" -m "round $r" 2> /dev/null) &&
		api-show -i ld.id --purpose test "$ID" 2> show.err | grep -q "round $r" &&
		api-show -i "c$((2 * N + 1)).id" --purpose test "$ID" 2>/dev/null |
			grep -q "round $r" ||
		{ readable=1; diag "round $r: the team cannot read note $n: $(cat show.err)"; }
	for x in a:$ra:$a:ld b:$rb:$b:ld2; do
		set -- $(echo "$x" | tr : ' ')
		[ "$2" -eq 0 ] && continue
		lost=$((lost + 1))
		grep -q 'changed meanwhile' "err.$1" || { bad=1; diag "$(cat "err.$1")"; }
		api-revoke -i "$4.id" "$ID" "$3" > /dev/null 2>&1 || bad=1
	done
done
diag "$lost of $((2 * N)) revokes lost the race and ran again"
[ $bad -eq 0 ]
ok $? "a revoke that lost the race says the case changed, and a rerun succeeds"
[ $readable -eq 0 ]
ok $? "after every round the team left reads the note written next"
[ "$(git -C "$S" show "main:$(cdir "$ID")/team")" = "$(printf 'ld\nc%d' $((2 * N + 1)))" ]
ok $? "every revoke done: the team is the lead and the last caseworker"
api-log -i ld.id "$ID" -m "after all" > /dev/null 2>&1 &&
	api-show -i ld.id --purpose test "$ID" 2> /dev/null | grep -q "after all"
ok $? "the lead reads a note written after the last revoke"
D=$(cdir "$ID")
[ "$(git -C "$S" show "refs/api/keys:$D/key.for")" = "$(printf 'recipient %s\nteam %s' \
	"$(git -C "$S" rev-parse "main:$D/recipient")" "$(git -C "$S" rev-parse "main:$D/team")")" ]
ok $? "key.for names the recipient and team files main has now"
api-verify > /dev/null 2>&1
ok $? "api-verify passes"
done_testing
