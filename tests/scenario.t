#!/bin/sh
# scenario.t - a newcomer's whole scenario, from the keys to the audit: a
# store and its staff, a case from referral to closure and reopening, its
# notes and scheduled dates, each phase move allowed or refused, and the
# reminder report as the years pass (api-status --due --as-of), each rule
# firing and then cleared by the event that ends it; the case list, who
# sees which case, and the store as stock git and api-verify see it.
. "$(dirname "$0")/lib.sh"

workdir
CASE_RE='[0-9A-HJKMNP-TV-Z]{10}'
OBJ_RE='[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-hjkmnp-tv-z]{6}'

run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref; }
last() { git -C "$S" log -1 --format="$1" main; }
trailer() { last %B | git interpret-trailers --parse | sed -n "s/^$1: //p"; }
# evopen PATH: an event file, as stock age opens it with svc's key through
# the case's events envelope
evopen() {
	git -C "$S" show "refs/api/keys:${1%/events/*}/events.age" |
		age -d -i "$W/svc.id" > "$W/evkey" 2> /dev/null &&
	git -C "$S" show "main:$1" | age -d -i "$W/evkey" 2> /dev/null
}
# event: the event added by main's tip, as svc opens it
event() {
	evopen "$(git -C "$S" diff-tree -r --name-only --diff-filter=A main~1 main | grep '/events/')"
}
# refused RC WORD DESC: exit 1, nothing on stdout, one line on stderr
# beginning "api-status: " and holding WORD, the refs as in $before
refused() {
	[ "$1" -eq 1 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-[a-z]*: ' "$W/err" && grep -qF -- "$2" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}
# set DESC ARGS...: cw1 moves case A (api-status A --set ...): exit 0,
# "A<tab>PHASE" printed, one new commit
set_ok() {
	_desc=$1 _want=$2
	shift 2
	_before=$(git -C "$S" rev-parse main)
	run api-status -i "$W/cw1.id" "$A" "$@"
	[ $? -eq 0 ] && [ ! -s "$W/err" ] && [ "$(cat "$W/out")" = "$A	$_want" ] &&
		[ "$(git -C "$S" rev-parse main~1)" = "$_before" ] &&
		[ "$(last %s)" = "status: phase changed" ] &&
		[ "$(trailer Api-Action)" = phase ] && [ "$(trailer Api-Case)" = "$A" ]
	_v=$?
	ok $_v "$_desc"
	[ $_v -eq 0 ] || diag "$(cat "$W/out" "$W/err")"
}
# badset DESC WORD ARGS...: cw1's api-status A ARGS... refused, naming WORD
badset() {
	_desc=$1 _word=$2
	shift 2
	before=$(refs)
	run api-status -i "$W/cw1.id" "$A" "$@"
	refused $? "$_word" "$_desc"
}
# sched KIND DATE [ARGS...]: cw1 records an event for A; its ID in $EV
sched() {
	EV=$(api-status -i "$W/cw1.id" "$A" --schedule "$@" 2> "$W/err")
	echo "$EV" | grep -Eqx "$OBJ_RE" && [ ! -s "$W/err" ]
}
# logn ARGS...: cw1 logs a note on A (api-log A ARGS... -m ...)
logn() { api-log -i "$W/cw1.id" "$A" "$@" -m "Note text." > /dev/null 2>&1; }
# dueis ASOF DESC [ARGS...] < rows: cw1's report as of ASOF (with ARGS)
# is exactly rows ('|' for the tabs; no rows: nothing printed), exit 0
WHO=cw1
dueis() {
	_d=$1 _desc=$2
	shift 2
	tr '|' '\t' > "$W/want"
	api-status -i "$W/$WHO.id" --due --as-of "$_d" "$@" > "$W/out" 2> "$W/err"
	_rc=$?
	[ $_rc -eq 0 ] && [ ! -s "$W/err" ] && cmp -s "$W/out" "$W/want"
	_v=$?
	ok $_v "$_d: $_desc"
	[ $_v -eq 0 ] || diag "exit $_rc: $(diff "$W/want" "$W/out" | head -n 8) $(cat "$W/err")"
}
# json FILE: valid JSON (JSON::PP is core perl)
json() { perl -MJSON::PP -e 'local $/; JSON::PP->new->decode(<STDIN>)' < "$1" 2> /dev/null; }

# --- identities, the store, the staff -----------------------------------------------
printf 'a long passphrase\n' > pw
bad=0
for h in adm cw1 ld svc; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
api-keygen --handle cw2 --passphrase-fd 3 --work-factor 10 -o cw2.id 3< pw > cw2.pub 2> /dev/null || bad=1
[ $bad -eq 0 ] && [ "$(stat -c %a cw2.id)" = 600 ] && grep -q '^-----BEGIN AGE ENCRYPTED FILE-----$' cw2.id
ok $? "api-keygen: adm, cw1, ld, svc unprotected (-o FILE); cw2 protected (--passphrase-fd)"
run api-init -i adm.id
[ $? -eq 0 ] && [ ! -s out ] && [ "$(last %an)" = adm ]
ok $? "api-init: the store, adm its first admin"
for m in cw1:caseworker cw2:caseworker ld:lead svc:service; do
	api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub < /dev/null 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && [ "$(api-staff list | cut -f1,2 | tr '\t\n' ': ')" = "adm:admin cw1:caseworker cw2:caseworker ld:lead svc:service " ]
ok $? "api-staff add: cw1, cw2 (caseworkers), ld (lead), svc (service)"

# --- two cases -------------------------------------------------------------------------
run api-new -i cw1.id --referral police --date 2026-01-05 -m "Referred by the police after a hearing."
A=$(cat out)
[ -n "$A" ] && grep -Eqx "$CASE_RE" out && [ ! -s err ]
ok $? "api-new --referral police --date 2026-01-05: case A, its ID alone on stdout"
evopen "$(cdir "$A")/events/$(git -C "$S" ls-tree --name-only "main:$(cdir "$A")/events")" |
	grep -qx 'Phase: referral'
ok $? "... opened in the phase referral"
run api-new -i cw2.id --passphrase-fd 3 --date 2026-03-02 -m "Intake in prison." 3< pw
B=$(cat out)
[ -n "$B" ] && grep -Eqx "$CASE_RE" out && [ "$B" != "$A" ]
ok $? "cw2 (protected, --passphrase-fd) opens case B on 2026-03-02, phase intake"
run api-status -i cw2.id --passphrase-fd 3 "$B" --schedule appointment 2026-03-30 3< pw
[ $? -eq 0 ] && grep -Eqx "$OBJ_RE" out
ok $? "cw2 schedules an appointment for B on 2026-03-30"

# --- the case list ------------------------------------------------------------------------
ROW_A=$(printf '%s\treferral\t2026-01-05\tcw1\t-\t2026-02-04\treferral' "$A")
ROW_B=$(printf '%s\tintake\t2026-03-02\tcw2\t2026-03-02\t2026-03-16\tcontact' "$B")
run api-status -i cw1.id
[ $? -eq 0 ] && [ ! -s err ] && [ "$(cat out)" = "$ROW_A" ]
ok $? "cw1's list: case phase since lead last-contact next-date next-rule, A only"
run api-status -i cw2.id --passphrase-fd 3 3< pw
[ $? -eq 0 ] && [ "$(cat out)" = "$ROW_B" ]
ok $? "cw2's list: B only (A is not on cw2's team)"
if [ "$(printf '%s\n%s\n' "$A" "$B" | LC_ALL=C sort | head -n 1)" = "$A" ]; then
	BOTH=$(printf '%s\n%s' "$ROW_A" "$ROW_B")
else
	BOTH=$(printf '%s\n%s' "$ROW_B" "$ROW_A")
fi
run api-status -i ld.id
[ $? -eq 0 ] && [ "$(cat out)" = "$BOTH" ]
ok $? "the lead's list: both cases, by ID"
run api-status -i svc.id
[ $? -eq 0 ] && [ "$(cat out)" = "$BOTH" ]
ok $? "the service identity's list: both cases, by ID"
before=$(refs)
run api-status -i cw1.id "$B"
refused $? "cw1 is not on the team of case $B" "cw1 asking for B: refused, exit 1, one line"
run api-status -i ld.id "$A"
[ $? -eq 0 ] && [ "$(cat out)" = "$ROW_A" ]
ok $? "api-status CASE as the lead: that case's line"
run api-status -i ld.id --json
json out && perl -MJSON::PP -e '
	my ($a, $b) = @ARGV; local $/;
	my %c = map { $_->{case} => $_ } @{ decode_json(<STDIN>) };
	my $x = $c{$a}; my $y = $c{$b};
	exit !(keys %c == 2 && join(",", sort keys %$x) eq "case,last_contact,lead,next,phase,since,team"
		&& $x->{phase} eq "referral" && $x->{since} eq "2026-01-05" && $x->{lead} eq "cw1"
		&& "@{$x->{team}}" eq "cw1" && !defined $x->{last_contact}
		&& $x->{next}{date} eq "2026-02-04" && $x->{next}{rule} eq "referral"
		&& $y->{phase} eq "intake" && $y->{last_contact} eq "2026-03-02"
		&& "@{$y->{team}}" eq "cw2" && $y->{next}{date} eq "2026-03-16"
		&& $y->{next}{rule} eq "contact");' "$A" "$B" < out
ok $? "--json list: valid JSON, the same values, the team as an array, null for no contact"

# --- referral undecided -----------------------------------------------------------------
dueis 2026-01-20 "nothing due: nothing printed, exit 0" < /dev/null
run api-status -i cw1.id --due --as-of 2026-01-20 --json
[ $? -eq 0 ] && [ "$(cat out)" = "[]" ]
ok $? "... with --json: an empty array"
dueis 2026-01-27 "the referral is not yet within 7 days" < /dev/null
dueis 2026-01-28 "referral undecided: due 30 days after it began, 7 days ahead" <<EOF
cw1|$A|2026-02-04|due|referral|referral of 2026-01-05 undecided
EOF
dueis 2026-02-04 "... due on its day" <<EOF
cw1|$A|2026-02-04|due|referral|referral of 2026-01-05 undecided
EOF
dueis 2026-02-05 "... overdue the day after" <<EOF
cw1|$A|2026-02-04|overdue|referral|referral of 2026-01-05 undecided
EOF

# --- phase moves refused ---------------------------------------------------------------------
badset "referral to active (skipping intake): refused" "from referral to active" --set active
badset "referral to aftercare: refused" "from referral to aftercare" --set aftercare
badset "closing without --reason: refused" "needs --reason" --set closed
badset "closing with a bad reason: refused" "needs --reason" --set closed --reason bored
grep -q 'completed ended-by-client declined referred transferred security other' err
ok $? "... naming the reasons"
badset "reopening an open case: refused" "only a closed case can be reopened" --set reopen
badset "an unknown phase: refused, named" "unknown phase 'frozen'" --set frozen
badset "the phase it is in: refused" "is referral already" --set referral
badset "--reason with another phase: refused" "--reason is for closing" --set intake --reason completed
badset "a bad --date: refused, named" "2026-02-30" --set intake --date 2026-02-30
before=$(refs)
run api-status -i cw2.id --passphrase-fd 3 "$A" --set intake 3< pw
refused $? cw2 "cw2, not on A's team, cannot move A"
run api-status -i cw1.id "$A" --set
[ $? -eq 2 ] && [ "$(refs)" = "$before" ]
ok $? "--set without a phase: exit 2"

set_ok "referral to intake on 2026-02-06" intake --set intake --date 2026-02-06
event | grep -q "^Type: phase$" && event | grep -qx 'Phase: intake' &&
	event | grep -qx 'From: referral' && event | grep -qx 'Date: 2026-02-06'
ok $? "the phase event: Type: phase, Phase: intake, From: referral, Date (svc reads it with stock age)"
dueis 2026-02-06 "moving to intake clears the referral reminder" < /dev/null

# --- appointment and contact gap in intake -------------------------------------------------------
logn -t psychosocial --date 2026-02-10 --duration 60 --next 2026-02-24
ok $? "a psychosocial note of 2026-02-10, 60 minutes, next meeting 2026-02-24"
dueis 2026-02-16 "appointment and contact gap not yet within the window" < /dev/null
dueis 2026-02-17 "appointment (from --next) and intake contact gap (14 days), due" <<EOF
cw1|$A|2026-02-24|due|appointment|appointment on 2026-02-24
cw1|$A|2026-02-24|due|contact|no contact since 2026-02-10 (intake: every 14 days)
EOF
dueis 2026-02-25 "... both overdue the day after" <<EOF
cw1|$A|2026-02-24|overdue|appointment|appointment on 2026-02-24
cw1|$A|2026-02-24|overdue|contact|no contact since 2026-02-10 (intake: every 14 days)
EOF
logn -t network --partner police --date 2026-02-24 --duration 30
dueis 2026-02-25 "a network note (a partner, not the client) clears neither" <<EOF
cw1|$A|2026-02-24|overdue|appointment|appointment on 2026-02-24
cw1|$A|2026-02-24|overdue|contact|no contact since 2026-02-10 (intake: every 14 days)
EOF
logn -t ideological --date 2026-02-24 --duration 90
dueis 2026-02-25 "an ideological note on the appointment's day clears both" < /dev/null
sched appointment 2026-03-03 --partner jobcentre
ok $? "--schedule appointment 2026-03-03: the event ID printed"
event | grep -qx 'Type: appointment' && event | grep -qx 'Date: 2026-03-03' &&
	event | grep -qx 'Partner: jobcentre' && [ "$(trailer Api-Action)" = schedule ] &&
	[ "$(trailer Api-Object)" = "$EV" ] && [ "$(last %s)" = "status: event recorded" ]
ok $? "... an appointment event, commit 'status: event recorded', Api-Action: schedule"
dueis 2026-02-25 "the scheduled appointment, due" <<EOF
cw1|$A|2026-03-03|due|appointment|appointment on 2026-03-03
EOF

# --- active: contact gap of 30 days ---------------------------------------------------------------
badset "intake to paused (skipping active): refused" "from intake to paused" --set paused
set_ok "intake to active on 2026-03-01" active --set active --date 2026-03-01
dueis 2026-03-04 "the appointment of 2026-03-03, overdue" <<EOF
cw1|$A|2026-03-03|overdue|appointment|appointment on 2026-03-03
EOF
logn -t psychosocial --date 2026-03-03
dueis 2026-03-04 "a note of that day clears it" < /dev/null
dueis 2026-03-25 "active: no contact reminder before 30 days (window 7)" < /dev/null
dueis 2026-03-26 "active: contact due 30 days after the last contact" <<EOF
cw1|$A|2026-04-02|due|contact|no contact since 2026-03-03 (active: every 30 days)
EOF

# --- the report across caseworkers ------------------------------------------------------------------
WANT_ALL="cw1|$A|2026-04-02|due|contact|no contact since 2026-03-03 (active: every 30 days)
cw2|$B|2026-03-16|overdue|contact|no contact since 2026-03-02 (intake: every 14 days)
cw2|$B|2026-03-30|due|appointment|appointment on 2026-03-30"
echo "$WANT_ALL" > all.rows
grep '^cw1' all.rows > cw1.rows
grep '^cw2' all.rows > cw2.rows
WHO=ld
dueis 2026-03-26 "the lead: by caseworker (cw1 before cw2), overdue first, then date" < all.rows
WHO=svc
dueis 2026-03-26 "the service identity: the same report" < all.rows
dueis 2026-03-26 "--for cw2: cw2's cases only" --for cw2 < cw2.rows
dueis 2026-03-26 "--for cw1: cw1's cases only" --for cw1 < cw1.rows
dueis 2026-03-26 "--for a handle on no team: nothing" --for adm < /dev/null
WHO=cw1
dueis 2026-03-26 "cw1's own report leaves out B, not on cw1's team" < cw1.rows
run api-status -i cw2.id --passphrase-fd 3 --due --as-of 2026-03-26 3< pw
[ $? -eq 0 ] && [ "$(cat out)" = "$(echo "$WANT_ALL" | grep '^cw2' | tr '|' '\t')" ]
ok $? "cw2's own report (--passphrase-fd): B only"
run api-status -i ld.id --due --as-of 2026-03-26 --json
json out && perl -MJSON::PP -e '
	local $/; my $v = decode_json(<STDIN>);
	my @w = map { [split /\|/] } split /\n/, $ARGV[0];
	exit 1 unless @$v == @w;
	for my $i (0 .. $#w) {
		my $o = $v->[$i];
		exit 1 unless join(",", sort keys %$o) eq "case,caseworker,date,detail,rule,state";
		exit 1 unless join("|", @$o{qw(caseworker case date state rule detail)}) eq join("|", @{$w[$i]});
	}' "$WANT_ALL" < out
ok $? "--due --json: valid JSON, the six fields, the same rows in the same order"
run api-status -i ld.id --due --as-of 2026-03-26 --within 2w
[ $? -eq 0 ] && [ "$(wc -l < out)" = 3 ]
ok $? "--within 2w: the same three"
run api-status -i ld.id --due --as-of 2026-03-26 --within 3
[ $? -eq 0 ] && [ "$(cat out)" = "$(echo "$WANT_ALL" | sed -n 2p | tr '|' '\t')" ]
ok $? "--within 3: only the overdue one"
run api-status -i ld.id --due --as-of 2026-03-26 --within soon
[ $? -eq 1 ] && oneline err && grep -q soon err && [ ! -s out ]
ok $? "--within soon: refused, named"
run api-status -i ld.id --due --as-of 2026-13-01
[ $? -eq 1 ] && oneline err && grep -q 2026-13-01 err
ok $? "--as-of 2026-13-01: refused, named"

dueis 2026-04-03 "the contact gap, overdue" <<EOF
cw1|$A|2026-04-02|overdue|contact|no contact since 2026-03-03 (active: every 30 days)
EOF
logn -t admin --date 2026-04-03
dueis 2026-04-03 "an admin note (paperwork) does not clear it" <<EOF
cw1|$A|2026-04-02|overdue|contact|no contact since 2026-03-03 (active: every 30 days)
EOF
logn -t crisis --date 2026-04-03 --duration 45
dueis 2026-04-03 "a crisis meeting clears it" < /dev/null

# --- risk review --------------------------------------------------------------------------------------
logn --date 2026-06-25
dueis 2026-06-26 "no risk review yet" < /dev/null
dueis 2026-06-27 "risk review: 180 days (6m) after the opening, when there was no assessment" <<EOF
cw1|$A|2026-07-04|due|review|risk review (last opened 2026-01-05)
EOF
dueis 2026-07-05 "... overdue" <<EOF
cw1|$A|2026-07-04|overdue|review|risk review (last opened 2026-01-05)
EOF
logn -t assessment --date 2026-07-05 --duration 120
dueis 2026-07-05 "an assessment note clears it" < /dev/null
dueis 2026-12-25 "the next review: 180 days after the assessment" <<EOF
cw1|$A|2026-08-04|overdue|contact|no contact since 2026-07-05 (active: every 30 days)
cw1|$A|2027-01-01|due|review|risk review (last assessment 2026-07-05)
EOF
sched review 2026-08-20
ok $? "--schedule review 2026-08-20"
logn --date 2026-08-01
dueis 2026-08-13 "a scheduled review, due on its day" <<EOF
cw1|$A|2026-08-20|due|review|risk review scheduled for 2026-08-20
EOF
dueis 2026-08-21 "... overdue" <<EOF
cw1|$A|2026-08-20|overdue|review|risk review scheduled for 2026-08-20
EOF
logn -t assessment --date 2026-08-21
dueis 2026-08-21 "an assessment after it clears it" < /dev/null
dueis 2027-02-10 "... and the interval runs from the assessment again" <<EOF
cw1|$A|2026-09-20|overdue|contact|no contact since 2026-08-21 (active: every 30 days)
cw1|$A|2027-02-17|due|review|risk review (last assessment 2026-08-21)
EOF

# --- paused and back -------------------------------------------------------------------------------------
set_ok "active to paused on 2026-09-01" paused --set paused --date 2026-09-01
dueis 2026-10-15 "paused: no contact reminder after 55 days without contact" < /dev/null
badset "paused to intake: refused (only back to active)" "from paused to intake" --set intake
set_ok "paused back to active on 2026-10-20" active --set active --date 2026-10-20
dueis 2026-11-12 "active again: the gap counts from the phase change" <<EOF
cw1|$A|2026-11-19|due|contact|no contact since 2026-08-21 (active: every 30 days)
EOF

# --- custody, consent, release ------------------------------------------------------------------------------
sched custody 2026-10-25 --partner prison && event | grep -qx 'Type: custody' &&
	event | grep -qx 'Partner: prison'
ok $? "--schedule custody 2026-10-25 --partner prison"
sched consent-given 2026-10-26 && event | grep -qx 'Type: consent' &&
	event | grep -qx 'Consent: given'
ok $? "--schedule consent-given: Type: consent, Consent: given"
sched consent-withdrawn 2026-11-02 && event | grep -qx 'Consent: withdrawn'
ok $? "--schedule consent-withdrawn: Consent: withdrawn"
dueis 2026-11-02 "custody and consent make no reminder" < /dev/null
before=$(refs)
run api-status -i cw1.id "$A" --schedule parole 2027-01-01
[ $? -eq 2 ] && grep -q parole err && [ "$(refs)" = "$before" ]
ok $? "--schedule an unknown kind: exit 2, named"
run api-status -i cw1.id "$A" --schedule release 2027-02-29
refused $? 2027-02-29 "--schedule release 2027-02-29: refused, named"
sched release 2027-03-31 --partner prison && event | grep -qx 'Type: release' &&
	event | grep -qx 'Date: 2027-03-31'
ok $? "--schedule release 2027-03-31"
logn -t assessment --date 2027-01-10
set_ok "active to aftercare on 2027-01-10 (past paused)" aftercare --set aftercare --date 2027-01-10
dueis 2027-01-22 "release: not yet 60 days before (window 7)" < /dev/null
dueis 2027-01-23 "release: shown from 60 days before the release date, dated on it" <<EOF
cw1|$A|2027-03-31|due|release|release from custody on 2027-03-31 (prepare from 2027-01-30)
EOF
dueis 2027-03-31 "... due until the day of release" <<EOF
cw1|$A|2027-03-31|due|release|release from custody on 2027-03-31 (prepare from 2027-01-30)
EOF
dueis 2027-04-01 "... and gone the day after" < /dev/null
dueis 2027-04-04 "aftercare: contact every 90 days" <<EOF
cw1|$A|2027-04-10|due|contact|no contact since 2027-01-10 (aftercare: every 90 days)
EOF

# --- milestones ----------------------------------------------------------------------------------------------
logn -t assessment --date 2028-12-01
dueis 2028-12-27 "3 years in the programme: not yet" < /dev/null
dueis 2028-12-28 "milestone: shown from 7 days before (3y = 1095 days after opening)" <<EOF
cw1|$A|2029-01-04|due|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-04 "... due on its day" <<EOF
cw1|$A|2029-01-04|due|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-11 "... overdue until 7 days after" <<EOF
cw1|$A|2029-01-04|overdue|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-12 "... gone on the 8th day" < /dev/null
dueis 2028-12-10 "--within 30: shown 30 days before" --within 30 <<EOF
cw1|$A|2029-01-04|due|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-03 "--within 0: not before its day" --within 0 < /dev/null
dueis 2029-01-04 "--within 0: on its day" --within 0 <<EOF
cw1|$A|2029-01-04|due|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-05 "--within 0: still shown after it, for remind.within (7 days)" --within 0 <<EOF
cw1|$A|2029-01-04|overdue|milestone|3y in the programme on 2029-01-04
EOF
dueis 2029-01-12 "--within 0: gone after those 7 days" --within 0 < /dev/null

# --- closing, retention, reopening ---------------------------------------------------------------------------------
badset "closing without a reason: refused" "needs --reason" --set closed --date 2029-02-01
badset "closing with a reason not listed: refused" "needs --reason" --set closed --reason done
set_ok "closed with --reason completed on 2029-02-01" closed --set closed --reason completed --date 2029-02-01
event | grep -qx 'Phase: closed' && event | grep -qx 'Reason: completed' &&
	event | grep -qx 'From: aftercare'
ok $? "... the event: Phase: closed, Reason: completed, From: aftercare"
badset "a closed case cannot go to active" "reopen it first" --set active
badset "closing it again: refused" "is closed already" --set closed --reason completed
dueis 2029-02-02 "closed: no reminder of an open case" < /dev/null
dueis 2034-01-23 "retention: not yet" < /dev/null
dueis 2034-01-24 "retention: due 5 years (5 x 365 days) after closure" <<EOF
cw1|$A|2034-01-31|due|retention|retention period ends (closed 2029-02-01)
EOF
dueis 2034-02-01 "... overdue" <<EOF
cw1|$A|2034-01-31|overdue|retention|retention period ends (closed 2029-02-01)
EOF
sched retention 2034-02-01 && event | grep -qx 'Type: retention' &&
	event | grep -qx 'Decision: keep'
ok $? "--schedule retention 2034-02-01: Decision: keep"
dueis 2034-02-01 "the decision to keep clears it" < /dev/null
dueis 2035-01-25 "... for a year (retention.review)" <<EOF
cw1|$A|2035-02-01|due|retention|retention review (kept on 2034-02-01)
EOF
dueis 2035-02-02 "... then overdue" <<EOF
cw1|$A|2035-02-01|overdue|retention|retention review (kept on 2034-02-01)
EOF
set_ok "reopen on 2035-03-01: back to aftercare" aftercare --set reopen --date 2035-03-01
event | grep -qx 'Phase: aftercare' && event | grep -qx 'From: closed'
ok $? "... the event: Phase: aftercare, From: closed"
dueis 2035-03-01 "reopened: retention gone, the open case's rules again" <<EOF
cw1|$A|2029-05-30|overdue|review|risk review (last assessment 2028-12-01)
EOF
badset "reopening it again: refused" "only a closed case can be reopened" --set reopen

# --- an old case: the list's next date ------------------------------------------------------------------------------
run api-new -i cw2.id --passphrase-fd 3 --date 2020-01-01 -m "An old case." 3< pw
D=$(cat out)
api-log -i cw2.id --passphrase-fd 3 "$D" -t assessment --date 2030-01-01 -m "Review." \
	3< pw > /dev/null 2>&1
run api-status -i cw2.id --passphrase-fd 3 "$D" 3< pw
[ $? -eq 0 ] && [ "$(cat out)" = "$(printf '%s\tintake\t2020-01-01\tcw2\t2030-01-01\t2030-01-15\tcontact' "$D")" ]
ok $? "the list's next date is the earliest reminder, not a milestone whose days have passed"
[ $? -eq 0 ] || diag "$(cat out err)"

# --- the store, as an auditor sees it ----------------------------------------------------------------------------------
run api-verify
[ $? -eq 0 ] && grep -Eqx 'ok: [0-9]+ commits verified' out && [ ! -s err ]
ok $? "api-verify: ok"
git -C "$S" fsck --strict > fsck 2>&1 && ! grep -v '^dangling ' fsck
ok $? "git fsck --strict: clean"
git -C "$S" show main:allowed_signers > allowed
git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed" log --format=%G? main refs/api/keys > g 2> /dev/null
# refs/api/keys keeps no history: its tip is a root commit
[ "$(wc -l < g)" -eq $(($(git -C "$S" rev-list --count main) + 1)) ] &&
	[ "$(wc -l < g)" -ge 36 ] && [ "$(sort -u g)" = G ]
ok $? "every commit on main and refs/api/keys: %G? = G ($(wc -l < g) commits)"
git -C "$S" log --format=%B main refs/api/keys |
	grep -Ei 'police|prison|jobcentre|hearing|note text|old case' > leaked
[ ! -s leaked ]
ok $? "no partner and no text in any commit message"

done_testing
