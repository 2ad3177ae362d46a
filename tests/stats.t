#!/bin/sh
# stats.t - api-export --stats, the evaluation statistics: a store of 30
# cases in chosen phases, referral sources and closure reasons; exact
# counts, "<5" for a small cell and "x" for the cell hidden with it, and
# for every table a check (in awk, apart from the program's own) that no
# suppressed cell can be worked out from the published cells and totals;
# --min-cell; codes new with every run; no case ID, handle, note text or
# rare free text in any output; --json, --csv, --svg (well-formed, 0600,
# never over a file); the identities that may run it and the one that is
# refused; --from/--to; the read log.
. "$(dirname "$0")/lib.sh"

workdir
YEAR=$(date -u +%Y)
R=refs/api/reads/$YEAR
have() { command -v "$1" >/dev/null 2>&1; }

run() { "$@" > "$W/out" 2> "$W/err"; }
refs() { git -C "$S" for-each-ref 2> /dev/null; }
nlog() { git -C "$S" rev-list --count "$R" 2>/dev/null || echo 0; }
TAB=$(printf '\t')
# tables FILE: the output without its per-case rows (their codes change)
tables() { grep -v "^case$TAB" "$1"; }
# stats IDFILE ARGS...: api-export --stats as IDFILE, to the window's end
# of 2025-12-31 unless ARGS say otherwise
stats() { _i=$1; shift; run api-export -i "$_i" --stats "$@"; }
# cell FILE TABLE ROW COLUMN: the value of one cell of TSV output
cell() { awk -F'\t' -v t="$2" -v r="$3" -v c="$4" \
	'$1 == t && $2 == r && $3 == c { print $4 }' "$1"; }
# is FILE TABLE ROW COLUMN WANT DESC
is() {
	_got=$(cell "$1" "$2" "$3" "$4")
	[ "$_got" = "$5" ]
	_v=$?
	ok $_v "$6"
	[ $_v -eq 0 ] || diag "$2 $3 $4: got '$_got', want '$5'"
}
# refused RC WORD DESC: exit 1, nothing on stdout, one line on stderr
# beginning "api-export: " and holding WORD, the refs as in $before
refused() {
	[ "$1" -eq 1 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-export: ' "$W/err" && grep -qF -- "$2" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "exit $1: $(head -c 300 "$W/err")"
}

# --- the staff ------------------------------------------------------------------
bad=0
for h in adm1 mkaya jdoe lead1 svc1 aud1; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm1.id 2> /dev/null &&
	for m in mkaya:caseworker jdoe:caseworker lead1:lead svc1:service \
	    aud1:auditor; do
		api-staff -i adm1.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ]
ok $? "a store: adm1 (admin), mkaya, jdoe (caseworkers), lead1, svc1 (service), aud1 (auditor)"

# --- 30 cases -------------------------------------------------------------------
canary() { echo "CANARY-$1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }
C_NOTE=$(canary note)
C_REF=$(canary referral)
C_PARTNER=$(canary partner)
: > ids
# new [ARGS]: a case opened by mkaya (jdoe joins the first two), its ID
# appended to ids
new() {
	_id=$(api-new -i mkaya.id "$@" -m "Intake. $C_NOTE" 2> "$W/new.err") &&
		echo "$_id" >> ids && echo "$_id"
}
set_() { api-status -i mkaya.id "$1" --set "$2" --date "$3" ${4:+--reason "$4"} > /dev/null 2>&1; }
log() { _c=$1; shift; api-log -i mkaya.id "$_c" "$@" -m "Note. $C_NOTE" > /dev/null 2>&1; }
bad=0
# A: 12 by the police, 2025-01-10; intake 02-01, active 03-01; in March
# 7 psychosocial notes and 5 ideological ones, and one crisis note
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	c=$(new --referral police --date 2025-01-10) &&
		set_ "$c" intake 2025-02-01 && set_ "$c" active 2025-03-01 || bad=1
	if [ $i -le 7 ]; then log "$c" -t psychosocial --date 2025-03-10 || bad=1
	else log "$c" -t ideological --date 2025-03-12 || bad=1; fi
	[ $i -eq 1 ] && { log "$c" -t crisis --date 2025-03-20 || bad=1; }
done
# B: 8 without a referral (an intake contact), 2025-02-15; active 04-01,
# aftercare 09-01; a network note with the jobcentre in April
for i in 1 2 3 4 5 6 7 8; do
	c=$(new --date 2025-02-15) && set_ "$c" active 2025-04-01 &&
		set_ "$c" aftercare 2025-09-01 &&
		log "$c" -t network --partner jobcentre --date 2025-04-20 || bad=1
done
# C: 5 from the jobcentre and 1 from a source named once, 2025-03-05;
# intake 03-20, closed 06-30 (completed)
for i in 1 2 3 4 5 6; do
	if [ $i -le 5 ]; then c=$(new --referral jobcentre --date 2025-03-05)
	else c=$(new --referral "$C_REF" --date 2025-03-05); fi
	[ -n "$c" ] && set_ "$c" intake 2025-03-20 &&
		set_ "$c" closed 2025-06-30 completed || bad=1
done
# D: 2 from the court, 2025-04-01, closed 05-15 (declined)
for i in 1 2; do
	c=$(new --referral court --date 2025-04-01) &&
		set_ "$c" closed 2025-05-15 declined || bad=1
done
# E: 2 without a referral, 2025-05-01; active 05-10, paused 07-01; a
# crisis note with a partner named once
for i in 1 2; do
	c=$(new --date 2025-05-01) && set_ "$c" active 2025-05-10 &&
		set_ "$c" paused 2025-07-01 || bad=1
	if [ $i -eq 1 ]; then log "$c" -t crisis --partner "$C_PARTNER" --date 2025-05-20 || bad=1
	else log "$c" -t crisis --date 2025-05-21 || bad=1; fi
done
[ $bad -eq 0 ] && [ "$(sort -u ids | wc -l)" -eq 30 ]
ok $? "30 cases: 12 active, 8 in aftercare, 6 + 2 closed, 2 paused"
[ $bad -eq 0 ] || diag "$(cat new.err)"
# jdoe on two cases only
api-grant -i lead1.id "$(sed -n 1p ids)" jdoe > /dev/null 2>&1 &&
	api-grant -i lead1.id "$(sed -n 2p ids)" jdoe > /dev/null 2>&1
ok $? "jdoe joins the teams of two cases"

# --- the service identity: exact counts ----------------------------------------
before=$(refs)
n0=$(nlog)
stats svc1.id --to 2025-12-31
rc=$?
cp out svc.tsv
[ $rc -eq 0 ] && [ ! -s err ] && [ "$(head -n 1 svc.tsv)" = "$(printf 'table\trow\tcolumn\tvalue')" ]
ok $? "svc1 (service): exit 0, nothing on stderr, a TSV header"
[ $rc -eq 0 ] || diag "$(cat err)"
[ "$(awk -F'\t' 'NF != 4' svc.tsv | wc -l)" -eq 0 ]
ok $? "every line: table, row, column, value"
is svc.tsv cases total cases 30 "30 cases"
is svc.tsv phase active cases 12 "phase active: 12"
is svc.tsv phase aftercare cases 8 "phase aftercare: 8"
is svc.tsv phase closed cases 8 "phase closed: 8"
is svc.tsv phase paused cases '<5' "phase paused (2): <5"
is svc.tsv phase referral cases '<5' "phase referral (0): <5, zeros too"
is svc.tsv referral police cases 12 "referral police: 12"
is svc.tsv referral none cases 10 "referral none: 10"
is svc.tsv referral '(other)' cases '<5' \
	"referral (other): <5 (court, 2, and the source named once: free text below 5 is merged)"
[ -z "$(cell svc.tsv referral court cases)" ]
ok $? "... so court is not named"
is svc.tsv referral jobcentre cases x \
	"referral jobcentre (5) hidden as x: else 30 - 22 - 5 would give (other)"
is svc.tsv closure completed cases 6 "closure completed: 6"
is svc.tsv closure declined cases '<5' "closure declined (2): <5"
is svc.tsv closure security cases '<5' "closure security (0): <5"
is svc.tsv time_in_phase active n '>=5' "time in active: n shown as >=5"
is svc.tsv time_in_phase active median 305 "time in active: median 305 days"
is svc.tsv time_in_phase active q1 153 "... q1 153"
is svc.tsv time_in_phase active q3 305 "... q3 305"
is svc.tsv time_in_phase paused n '<5' "time in paused (2 cases): suppressed"
is svc.tsv time_in_phase paused median x "... its median too"
is svc.tsv duration opened-to-closed n 8 "duration: n 8"
is svc.tsv duration opened-to-closed median 117 "duration: median 117 days"
is svc.tsv duration opened-to-closed q1 98.75 "duration: q1 98.75"
is svc.tsv contacts total contacts 33 "33 contacts (8 intake, 13 in March, 8 in April, 4 in May)"
is svc.tsv contacts_month 2025-03 contacts 13 "contacts 2025-03: 13"
is svc.tsv contacts_month 2025-05 contacts '<5' "contacts 2025-05 (4): <5"
is svc.tsv contacts_type 2025-03 psychosocial 7 "2025-03 psychosocial: 7"
is svc.tsv contacts_type 2025-03 ideological 5 "2025-03 ideological: 5"
is svc.tsv contacts_type 2025-03 crisis '<5' "2025-03 crisis (1): <5"
is svc.tsv contacts_partner 2025-04 jobcentre x \
	"2025-04 partner jobcentre (8, the month's only partner) hidden as x: else the zeros would follow"
is svc.tsv contacts_partner 2025-03 none x \
	"2025-03 partner none (13) hidden as x: else jobcentre's 0 would follow from the month's 13"
is svc.tsv contacts_type 2025-02 intake x \
	"2025-02 intake (8, the month's only kind) hidden as x: else the zeros would follow"
is svc.tsv purged purged cases '<5' "purged (0): <5"

# where two cells are below 5, their sum splits many ways: nothing else hidden
is svc.tsv closure completed cases 6 \
	"closure: completed (6) shown, since declined (2) and 5 zeros are below 5: 8 - 6 = 2 splits many ways"

# --- nothing can be recovered from the totals ------------------------------------
# For every group of cells and its total (a table's cells and the cell they add
# up to), each "<k" cell must have two or more values left, given the published
# cells, the other hidden cells ("<k": 0 to k-1; "x": k or more) and the total.
# A group under a hidden total must be left out.  No published count is
# below k.  Written apart from the program's own check.
cat > check.awk <<'EOF'
BEGIN { FS = "\t"; INF = 1e15 }
function add(g, parent, c, v) { n[g]++; cellv[g, n[g]] = v; cname[g, n[g]] = c; par[g] = parent }
NR == 1 { next }
$1 == "export" && $2 == "min_cell" { k = $4 + 0 }
$1 == "cases" { tot["cases"] = $4 }
$1 == "phase" { add("phase", "cases", $2, $4); if ($2 == closed) tot["closed"] = $4 }
$1 == "referral" { add("referral", "cases", $2, $4) }
$1 == "closure" { add("closure", "closed", $2, $4) }
$1 == "contacts" { tot["contacts"] = $4 }
$1 == "contacts_month" { add("month", "contacts", $2, $4); tot["m" $2] = $4 }
$1 == "contacts_type" { add("type " $2, "m" $2, $3, $4) }
$1 == "contacts_partner" { add("partner " $2, "m" $2, $3, $4) }
$1 ~ /^(cases|phase|referral|closure|contacts|contacts_month|contacts_type|contacts_partner|purged)$/ {
	if ($4 ~ /^[0-9]+$/ && $4 + 0 < k) { print "published below k: " $0; bad++ }
	if ($4 !~ /^[0-9]+$/ && $4 != "<" k && $4 != "x") { print "odd value: " $0; bad++ }
}
function lo(v) { return v == "x" ? k : (v ~ /^</ ? 0 : v + 0) }
function hi(v) { return v == "x" ? INF : (v ~ /^</ ? k - 1 : v + 0) }
END {
	for (g in n) {
		T = tot[par[g]]
		hidden = 0
		for (i = 1; i <= n[g]; i++) if (cellv[g, i] !~ /^[0-9]+$/) hidden++
		if (T !~ /^[0-9]+$/) {
			# its cells would bound the hidden total, and it them
			print g ": published under a hidden total"; bad++
			continue
		}
		groups++
		for (i = 1; i <= n[g]; i++) {
			v = cellv[g, i]
			if (v ~ /^[0-9]+$/) continue
			# the others: their least and greatest sum
			olo = 0; ohi = 0
			for (j = 1; j <= n[g]; j++) if (j != i) { olo += lo(cellv[g, j]); ohi += hi(cellv[g, j]) }
			a = T - ohi; if (a < lo(v)) a = lo(v)
			b = T - olo; if (b > hi(v)) b = hi(v)
			if (b - a < 1) { print g ": " cname[g, i] " (" v ") is " a; bad++ }
			checked++
		}
	}
	print groups + 0, checked + 0, bad + 0
}
EOF
res=$(awk -v closed=closed -f check.awk svc.tsv)
[ "$(echo "$res" | tail -n 1 | cut -d' ' -f3)" = 0 ] &&
	[ "$(echo "$res" | tail -n 1 | cut -d' ' -f2)" -ge 40 ]
ok $? "no suppressed cell can be worked out from the published totals ($(echo "$res" | tail -n 1 | cut -d' ' -f1,2) groups, hidden cells checked)"
[ "$(echo "$res" | tail -n 1 | cut -d' ' -f3)" = 0 ] || diag "$(head -n 5 <<EOF
$res
EOF
)"
# the check itself finds a recoverable cell: show the complementary cell
sed 's/^\(referral\tjobcentre\tcases\t\)x$/\15/; s/^\(contacts_partner\t2025-03\tnone\t\)x$/\113/' svc.tsv > doctored.tsv
[ "$(cell doctored.tsv contacts_partner 2025-03 none)" = 13 ] &&
	[ "$(awk -v closed=closed -f check.awk doctored.tsv | tail -n 1 | cut -d' ' -f3)" -ge 1 ]
ok $? "... and the check catches it when a hidden cell is shown (2025-03 none as 13)"

# --- rows: random codes, months, suppressed values ------------------------------
[ "$(awk -F'\t' '$1 == "case" { print $2 }' svc.tsv | sort -u | wc -l)" -eq 30 ] &&
	[ "$(awk -F'\t' '$1 == "case" && (length($2) != 8 || $2 !~ /^[0-9A-HJKMNP-TV-Z]+$/)' svc.tsv | wc -l)" -eq 0 ]
ok $? "30 per-case rows, each under an 8-character random code"
[ "$(awk -F'\t' '$1 == "case" && $3 == "opened" && $4 == "2025-01"' svc.tsv | wc -l)" -eq 12 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 == "closed" && $4 == "2025-06"' svc.tsv | wc -l)" -eq 6 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 == "reason" && $4 == "completed"' svc.tsv | wc -l)" -eq 6 ]
ok $? "rows: 12 opened 2025-01, 6 closed 2025-06 as completed"
[ "$(awk -F'\t' '$1 == "case" && $3 ~ /^(opened|closed)$/ && $4 !~ /^([0-9][0-9][0-9][0-9]-[0-9][0-9]|x|-|before)$/' svc.tsv | wc -l)" -eq 0 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 ~ /^(opened|closed)$/ && $4 ~ /^2025-[0-9][0-9]$/' svc.tsv | wc -l)" -ge 30 ] &&
	! grep -v '^export' svc.tsv | grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2}'
ok $? "rows: dates only as months (YYYY-MM), no day anywhere but the window's own lines"
[ "$(awk -F'\t' '$1 == "case" { print $3 }' svc.tsv | sort -u | tr '\n' ' ')" = "closed contacts opened phase reason referral " ]
ok $? "rows: only opened, closed, phase, referral, reason, contacts: no text, ID or handle field"
[ "$(awk -F'\t' '$1 == "case" && $3 == "phase" && $4 == "x"' svc.tsv | wc -l)" -eq 2 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 == "referral" && $4 == "x"' svc.tsv | wc -l)" -eq 8 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 == "referral" && $4 == "court"' svc.tsv | wc -l)" -eq 0 ] &&
	[ "$(awk -F'\t' '$1 == "case" && $3 == "opened" && $4 == "x"' svc.tsv | wc -l)" -ge 2 ]
ok $? "rows: a value whose cell is suppressed is x (paused, (other), jobcentre, the opened month of the 2 of May)"
codes1=$(awk -F'\t' '$1 == "case" { print $2 }' svc.tsv | sort -u)
stats svc1.id --to 2025-12-31
codes2=$(awk -F'\t' '$1 == "case" { print $2 }' out | sort -u)
[ -n "$codes2" ] && [ -z "$(printf '%s\n%s\n' "$codes1" "$codes2" | sort | uniq -d)" ] &&
	[ "$(tables out)" = "$(tables svc.tsv)" ]
ok $? "a second run: the same tables, and not one code in common"
[ "$(awk -F'\t' '$1 == "case" { print $2 }' svc.tsv | uniq | tr -d '\n')" = "$(echo "$codes1" | tr -d '\n')" ]
ok $? "rows in the order of their codes, not of the cases"

# --- nothing that names a case, a person or a text --------------------------------
leak=0
for id in $(cat ids); do grep -qF "$id" svc.tsv && leak=1; done
for h in adm1 mkaya jdoe lead1 svc1 aud1; do grep -qw "$h" svc.tsv && leak=1; done
grep -q CANARY svc.tsv && leak=1
[ $leak -eq 0 ]
ok $? "no case ID, handle, note text, rare referral source or partner in the output"

# --- who may run it -------------------------------------------------------------
# the service and auditor identities read events only: no note opens to them
c1=$(sed -n 1p ids)
n1=$(git -C "$S" ls-tree --name-only "main:$(cdir "$c1")/notes" | sed -n '1s/\.md\.age$//p')
bad=0
for w in svc1 aud1; do
	api-show --no-pager -i $w.id --raw "$c1" "$n1" > out 2> err && bad=1
	[ -s out ] && bad=1
	grep -q "$w is not on the team of case $c1" err || bad=1
	api-search --identity $w.id -l -i intake > out 2> err
	[ $? -eq 1 ] && [ ! -s out ] || bad=1
done
[ -n "$n1" ] && [ $bad -eq 0 ]
ok $? "svc1 and aud1, who ran the statistics, open no note: api-show refuses, api-search finds none"
stats aud1.id --to 2025-12-31
[ $? -eq 0 ] && [ "$(tables out)" = "$(tables svc.tsv)" ]
ok $? "aud1 (auditor): the same statistics"
stats lead1.id --to 2025-12-31
[ $? -eq 0 ] && [ "$(tables out)" = "$(tables svc.tsv)" ]
ok $? "lead1 (lead): the same"
before=$(refs)
n1=$(nlog)
stats jdoe.id --to 2025-12-31
refused $? "jdoe (caseworker) cannot read the events of 28 of 30 cases" \
	"jdoe, on 2 teams: refused, naming how many cases and who can; nothing logged"
api-keygen --handle aud2 --no-passphrase -o aud2.id > aud2.pub 2> /dev/null &&
	api-staff -i adm1.id add --role auditor aud2.pub < /dev/null > /dev/null 2>&1
before=$(refs)
stats aud2.id --to 2025-12-31
refused $? "aud2 (auditor) cannot read the events of 30 of 30 cases" \
	"an auditor added after the cases were opened: refused (their envelopes predate it)"
api-grant -i lead1.id "$(sed -n 3p ids)" jdoe > /dev/null 2>&1
before=$(refs)
stats aud2.id --to 2025-12-31
refused $? "cannot read the events of 29 of 30 cases" "... until a grant writes a case's envelopes again: 29"

# --- the read log ---------------------------------------------------------------
[ $(($(nlog) - n0)) -eq 4 ] &&
	git -C "$S" log -1 --format=%B "$R" | grep -qx 'Api-Program: api-export' &&
	git -C "$S" log -1 --format=%B "$R" | grep -qx 'Api-Cases: 30' &&
	[ "$(git -C "$S" show "$R:cases" | sort)" = "$(sort ids)" ]
ok $? "each run that read logged one read of all 30 cases, by api-export; the refused ones none"

# --- --min-cell ------------------------------------------------------------------
stats svc1.id --to 2025-12-31 --min-cell 3
cp out k3.tsv
is k3.tsv referral '(other)' cases 3 "--min-cell 3: referral (other) is 3"
is k3.tsv referral jobcentre cases 5 "... and jobcentre 5"
is k3.tsv phase paused cases '<3' "--min-cell 3: paused (2) is <3"
is k3.tsv export min_cell count 3 "... and says so"
res=$(awk -v closed=closed -f check.awk k3.tsv | tail -n 1)
[ "$(echo "$res" | cut -d' ' -f3)" = 0 ]
ok $? "--min-cell 3: nothing recoverable either ($res)"
stats svc1.id --to 2025-12-31 --min-cell 31
cp out k31.tsv
[ "$(cell k31.tsv cases total cases)" = '<31' ] &&
	[ -z "$(awk -F'\t' 'NR > 1 && $1 != "export" && $4 ~ /^[0-9.]+$/' k31.tsv)" ] &&
	! grep -q "^case$TAB" k31.tsv
ok $? "--min-cell 31, above the number of cases: no number published, no rows"
before=$(refs)
n1=$(nlog)
run api-export -i svc1.id --stats --min-cell 0 -o "$W/k0.tsv"
[ $? -eq 2 ] && [ ! -s out ] && oneline err &&
	grep -qx 'api-export: --min-cell 0: give a whole number of at least 1' err &&
	[ "$(refs)" = "$before" ] && [ "$(nlog)" -eq "$n1" ] && [ ! -e k0.tsv ]
ok $? "--min-cell 0: exit 2, one line naming it, no file, nothing read or logged"

# --- --from and --to ---------------------------------------------------------------
stats svc1.id --from 2025-07-01 --to 2025-12-31
cp out window.tsv
is window.tsv cases total cases 22 "--from 2025-07-01: 22 cases (the 8 closed before are out)"
is window.tsv phase closed cases '<5' "... none closed"
is window.tsv contacts total contacts '<5' "... and no contact in the window"
is window.tsv export from date 2025-07-01 "... the window is in the output"
stats svc1.id --to 2025-02-28
cp out early.tsv
is early.tsv cases total cases 20 "--to 2025-02-28: the 20 cases opened by then"
is early.tsv phase intake cases x "... all in intake: hidden, else each one's phase would be known"
is early.tsv contacts total contacts 8 "... 8 contacts, the intakes of February"
is early.tsv contacts_month 2025-02 contacts x \
	"... February's 8 hidden: else January's 0 (<5) would follow"
[ -z "$(awk -F'\t' '$1 ~ /^contacts_(type|partner)$/' early.tsv)" ]
ok $? "... and its types and partners, under a hidden total, are left out"

# --- --csv and --json ------------------------------------------------------------
stats svc1.id --to 2025-12-31 --csv
cp out s.csv
[ "$(head -n 1 s.csv)" = "$(printf 'table,row,column,value\r')" ] &&
	[ "$(grep -c "$(printf '\r$')" s.csv)" -eq "$(wc -l < s.csv)" ] &&
	[ "$(wc -l < s.csv)" -eq "$(wc -l < svc.tsv)" ] &&
	[ "$(tr -d '\r' < s.csv | grep -v '^case,' | tr ',' '\t')" = "$(tables svc.tsv)" ]
ok $? "--csv: the same lines, comma-separated, CRLF (RFC 4180)"
stats svc1.id --to 2025-12-31 --json
cp out s.json
if have python3; then
	python3 -c 'import json,sys; d=json.load(open("s.json")); assert d["cases"]["total"]["cases"] == 30; assert d["referral"]["(other)"]["cases"] == "<5"; assert d["referral"]["jobcentre"]["cases"] == "x"; assert len(d["case"]) == 30' 2> err
elif perl -MJSON::PP -e 1 2> /dev/null; then
	perl -MJSON::PP -e 'local $/; my $d = JSON::PP->new->decode(<STDIN>); exit !($d->{cases}{total}{cases} == 30 && $d->{referral}{"(other)"}{cases} eq "<5" && keys %{$d->{case}} == 30)' < s.json
else
	false
fi
ok $? "--json: one object that parses; 30 cases, (other) <5, jobcentre x, 30 rows"
stats svc1.id --to 2025-12-31 -o stats.tsv
[ $? -eq 0 ] && [ ! -s out ] && [ "$(stat -c %a stats.tsv)" = 600 ] &&
	[ "$(tables stats.tsv)" = "$(tables svc.tsv)" ]
ok $? "-o FILE: a new file, 0600"

# --- --svg ------------------------------------------------------------------------
stats svc1.id --to 2025-12-31 --svg chart.svg
[ $? -eq 0 ] && [ -s out ] && [ "$(stat -c %a chart.svg)" = 600 ] &&
	grep -q '<polyline' chart.svg && ! grep -qi total chart.svg
ok $? "--svg FILE: a chart, 0600, lines and no total"
[ "$(grep -c '^api-export: warning: chart.svg is in \., which everyone on this machine can read$' err)" -eq 1 ]
ok $? "--svg in a folder everyone can read (the work folder, 0755): one warning naming it"
mkdir -m 700 private
stats svc1.id --to 2025-12-31 --svg private/chart.svg -o private/s.tsv
[ $? -eq 0 ] && [ -s private/chart.svg ] && [ ! -s err ]
ok $? "--svg and -o in a private folder: no warning"
if have xmllint; then
	xmllint --noout chart.svg 2> err
	ok $? "--svg: well-formed XML (xmllint)"
else
	skip "xmllint not installed"
fi
grep -q CANARY chart.svg || grep -qF "$(sed -n 1p ids)" chart.svg
[ $? -ne 0 ]
ok $? "--svg: no case ID or canary"
cp chart.svg chart.before
before=$(refs)
stats svc1.id --to 2025-12-31 --svg chart.svg
refused $? "chart.svg" "--svg over an existing file: refused, nothing printed"
cmp -s chart.svg chart.before
ok $? "... and the file is as it was"

done_testing
