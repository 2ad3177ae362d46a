#!/bin/sh
# service.t - the service identity (the cron job): its reminder report is
# the one the team sees, computed from events alone; it cannot open a
# note or a case key envelope, by api-show or by stock age, and api-show
# tells it who can grant access; it cannot write to a case.
. "$(dirname "$0")/lib.sh"

workdir

run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref; }
# refused RC PROG WORD DESC: exit 1, nothing on stdout, one line on stderr
# beginning "PROG: " and holding WORD, the refs as in $before
refused() {
	[ "$1" -eq 1 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q "^$2: " "$W/err" && grep -qF -- "$3" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$4"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}
# same A B DESC: files A and B are equal and not empty
same() { [ -s "$1" ] && cmp -s "$1" "$2"; ok $? "$3"; }
# json FILE: valid JSON (JSON::PP is core perl)
json() { perl -MJSON::PP -e 'local $/; JSON::PP->new->decode(<STDIN>)' < "$1" 2> /dev/null; }

# --- the staff and three cases ---------------------------------------------------
bad=0
for h in adm cw1 cw2 ld svc; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in cw1:caseworker cw2:caseworker ld:lead svc:service; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ]
ok $? "a store: adm (admin), cw1, cw2 (caseworkers), ld (lead), svc (service)"

A=$(api-new -i cw1.id --referral police --date 2026-01-05 -m "Referral from the police." 2> /dev/null)
B=$(api-new -i cw2.id --date 2026-03-02 -m "Intake at the prison." 2> /dev/null)
C=$(api-new -i cw1.id --assign cw2 --date 2026-02-01 -m "Intake with the family." 2> /dev/null)
api-log -i cw2.id "$C" --date 2026-02-10 --next 2026-03-18 --partner jobcentre \
	-m "Secret text about the flat." > /dev/null 2>&1 &&
	api-log -i cw1.id "$C" -t network --partner police --date 2026-02-12 \
		-m "Call with the police liaison." > /dev/null 2>&1 &&
	api-status -i cw1.id "$C" --schedule custody 2026-02-15 > /dev/null 2>&1 &&
	api-log -i cw2.id "$B" -t assessment --date 2026-03-03 -m "VERA-2R: low." > /dev/null 2>&1
ok $? "A (cw1, referral), B (cw2), C (cw1 and cw2) with notes and events"
[ -n "$A" ] && [ -n "$B" ] && [ -n "$C" ] || { done_testing; exit 1; }

# --- the reminder report ------------------------------------------------------------
{
	printf 'cw1\t%s\t2026-02-04\toverdue\treferral\treferral of 2026-01-05 undecided\n' "$A"
	printf 'cw1\t%s\t2026-02-24\toverdue\tcontact\tno contact since 2026-02-10 (intake: every 14 days)\n' "$C"
	printf 'cw1\t%s\t2026-03-18\tdue\tappointment\tappointment on 2026-03-18\n' "$C"
	printf 'cw2\t%s\t2026-03-17\tdue\tcontact\tno contact since 2026-03-03 (intake: every 14 days)\n' "$B"
} > want.due
run api-status -i svc.id --due --as-of 2026-03-16
[ $? -eq 0 ] && [ ! -s err ]
ok $? "svc: api-status --due works: exit 0, nothing on stderr"
cmp -s out want.due
ok $? "svc: every case's reminders, by caseworker, overdue first, then date"
cmp -s out want.due || diag "$(diff want.due out)"
cp out svc.due
api-status -i ld.id --due --as-of 2026-03-16 > ld.due 2> /dev/null
same svc.due ld.due "svc's report is the lead's, byte for byte"
api-status -i svc.id --due --as-of 2026-03-16 --json > svc.json 2> /dev/null
api-status -i ld.id --due --as-of 2026-03-16 --json > ld.json 2> /dev/null
json svc.json && cmp -s svc.json ld.json
ok $? "--json: valid JSON, and the same for svc and the lead"
perl -MJSON::PP -e '
	open my $j, "<", $ARGV[0] or die;
	my $v = decode_json(do { local $/; <$j> });
	my @t = map { join "\t", @$_{qw(caseworker case date state rule detail)} } @$v;
	open my $f, "<", $ARGV[1] or die; my @w = <$f>; chomp @w;
	exit !(@w && @t == @w && join("\n", @t) eq join("\n", @w));' svc.json want.due
ok $? "... holding the same six fields as the TSV"

# a caseworker's own report
api-status -i cw1.id --due --as-of 2026-03-16 > cw1.due 2> /dev/null
grep "^cw1	" want.due > want.cw1
same cw1.due want.cw1 "cw1's --due: the rows of the cases cw1 leads"
api-status -i svc.id --due --as-of 2026-03-16 --for cw1 > svc.cw1 2> /dev/null
same svc.cw1 cw1.due "svc --for cw1: the same as cw1's own report"
{
	printf 'cw2\t%s\t2026-02-24\toverdue\tcontact\tno contact since 2026-02-10 (intake: every 14 days)\n' "$C"
	printf 'cw2\t%s\t2026-03-17\tdue\tcontact\tno contact since 2026-03-03 (intake: every 14 days)\n' "$B"
	printf 'cw2\t%s\t2026-03-18\tdue\tappointment\tappointment on 2026-03-18\n' "$C"
} > want.cw2
api-status -i svc.id --due --as-of 2026-03-16 --for cw2 > svc.cw2 2> /dev/null
same svc.cw2 want.cw2 "svc --for cw2: every case cw2 is on, under cw2"
api-status -i cw2.id --due --as-of 2026-03-16 --for cw2 > cw2.cw2 2> /dev/null
same cw2.cw2 svc.cw2 "... the same as cw2's own --due --for cw2"
api-status -i cw2.id --due --as-of 2026-03-16 > cw2.due 2> /dev/null
{ grep "	$C	" want.due; grep "	$B	" want.due; } | sort -t '	' -k1,1 -k3,3 > want.cw2own
sort -t '	' -k1,1 -k3,3 cw2.due > cw2.sorted
same cw2.sorted want.cw2own "cw2's plain --due: B, and C under its lead cw1"
! grep -q "	$A	" cw2.due
ok $? "... and nothing of A, which is not cw2's"
grep -Eiq 'police|jobcentre|flat|VERA|liaison|family|prison' svc.due svc.json
[ $? -eq 1 ]
ok $? "the report names no partner and quotes no text"

run api-status -i svc.id --due --as-of 2026-01-06
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ]
ok $? "svc, nothing due: nothing printed, exit 0"

# the case list and one case
printf '%s\n%s\n%s\n' "$A" "$B" "$C" | LC_ALL=C sort > ids
while read -r id; do
	case $id in
	"$A") printf '%s\treferral\t2026-01-05\tcw1\t-\t2026-02-04\treferral\n' "$A" ;;
	"$B") printf '%s\tintake\t2026-03-02\tcw2\t2026-03-03\t2026-03-17\tcontact\n' "$B" ;;
	"$C") printf '%s\tintake\t2026-02-01\tcw1\t2026-02-10\t2026-02-24\tcontact\n' "$C" ;;
	esac
done < ids > want.list
api-status -i svc.id > svc.list 2> /dev/null
same svc.list want.list "svc's case list: every case, by ID"
cmp -s svc.list want.list || diag "$(diff want.list svc.list)"
api-status -i ld.id > ld.list 2> /dev/null
same ld.list svc.list "... the same as the lead's"
api-status -i svc.id --json > svc.ljson 2> /dev/null
api-status -i ld.id --json > ld.ljson 2> /dev/null
json svc.ljson && cmp -s svc.ljson ld.ljson
ok $? "--json: valid, the same as the lead's"
run api-status -i svc.id "$C"
[ $? -eq 0 ] && [ "$(cat out)" = "$(grep "^$C	" want.list)" ]
ok $? "svc: api-status CASE"

# from the default identity place, as cron runs it
mkdir -p "$XDG_CONFIG_HOME/api" && cp svc.id "$XDG_CONFIG_HOME/api/identity" &&
	chmod 600 "$XDG_CONFIG_HOME/api/identity"
run api-status --due --as-of 2026-03-16
[ $? -eq 0 ] && cmp -s out svc.due
ok $? "svc's identity at \$XDG_CONFIG_HOME/api/identity: the same report without -i"
rm -f "$XDG_CONFIG_HOME/api/identity"
API_IDENTITY=$W/svc.id run api-status --due --as-of 2026-03-16
[ $? -eq 0 ] && cmp -s out svc.due
ok $? "... and with \$API_IDENTITY"

# --- what svc cannot read, by stock age ---------------------------------------------
git -C "$S" ls-tree -r --name-only main cases/ > tree
grep '/notes/.*\.md\.age$' tree > notes
grep '/events/.*\.age$' tree > events
[ "$(wc -l < notes)" = 6 ] && [ "$(wc -l < events)" = 9 ]
ok $? "six notes and nine events in the store"
bad=0
while read -r p; do
	git -C "$S" show "main:$p" > f.age || bad=1
	age -d -i svc.id -o plain f.age 2> /dev/null && { bad=1; diag "svc opened $p"; }
	[ -s plain ] && bad=1
	rm -f plain
done < notes
[ $bad -eq 0 ]
ok $? "stock age -d -i svc's identity fails on every note"
bad=0
while read -r p; do
	git -C "$S" show "main:$p" | age -d -i svc.id > /dev/null 2>&1 && bad=1
	git -C "$S" show "refs/api/keys:${p%/events/*}/events.age" |
		age -d -i svc.id > evkey 2> /dev/null &&
	git -C "$S" show "main:$p" | age -d -i evkey > plain 2> /dev/null &&
		grep -q '^Case: ' plain || bad=1
done < events
[ $bad -eq 0 ]
ok $? "... while it opens every event through the case's events.age (and none directly)"
git -C "$S" ls-tree -r --name-only refs/api/keys | grep '/key\.age$' > keys
bad=0
while read -r p; do
	git -C "$S" show "refs/api/keys:$p" > f.age || bad=1
	age -d -i svc.id -o plain f.age 2> /dev/null && { bad=1; diag "svc opened $p"; }
	rm -f plain
done < keys
[ "$(wc -l < keys)" = 3 ] && [ $bad -eq 0 ]
ok $? "stock age -d -i svc's identity fails on all three key.age envelopes in refs/api/keys"
git -C "$S" show "refs/api/keys:$(cdir "$A")/key.age" | age -d -i cw1.id > /dev/null 2>&1
ok $? "... which the team opens (cw1, case A)"

# --- what svc cannot read, by api-show -------------------------------------------------
before=$(refs)
for id in "$A" "$B" "$C"; do
	run api-show -i svc.id "$id"
	refused $? api-show "svc is not on the team of case $id" "api-show $id as svc: refused, one line"
done
grep -q 'a lead (ld) can grant access' err && grep -q "api grant $C svc" err
ok $? "... naming who can grant access: the leads, who hold the keys (ld)"
N=$(git -C "$S" ls-tree --name-only "main:$(cdir "$C")/notes" | head -n 1 | sed 's/\.md\.age$//')
run api-show -i svc.id "$C" "$N"
refused $? api-show "svc is not on the team" "api-show CASE NOTE as svc: refused"
run api-show -i svc.id --raw "$C" "$N"
refused $? api-show "svc is not on the team" "api-show --raw CASE NOTE as svc: refused"

# --- svc cannot write ------------------------------------------------------------------
run api-status -i svc.id "$A" --set intake
refused $? api-status svc "svc cannot change a phase: one line naming svc, refs unchanged"
run api-status -i svc.id "$B" --schedule appointment 2026-04-01
refused $? api-status svc "svc cannot schedule"
run api-log -i svc.id "$B" -m "cron was here"
refused $? api-log svc "svc cannot log"
run api-new -i svc.id -m "cron case"
refused $? api-new svc "svc cannot open a case"

done_testing
