#!/bin/sh
# remind.t - api-remind: one mail per member with something due, holding
# only the cases of their teams and never note text; nothing for those
# with nothing due, the retired, the auditor or the service; the lists
# on stdout without sendmail; silence when nothing is due; failures that
# do not stop the other mails; nothing written to disk.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W/bin"
cd "$W" || exit 1
S=$API_DIR
REMIND=$API_TOP/scripts/api-remind
CANARY=CANARY-Zq7Wx3
ASOF=2026-04-08
unset SENDMAIL API_EXEC_PATH
have() { command -v "$1" >/dev/null 2>&1; }
# Under make valgrind (scripts/valgrind sets API_VG_LOG) valgrind writes
# files of its own: its log in $API_VG_LOG, and in $TMPDIR, for each
# program, valgrind_proc_PID_cmdline_* and _auxv_*, which it unlinks
# again unless the program is killed first (as api --help kills a slow
# one).  notvg: the lines of stdin that name none of them.  Outside
# make valgrind: every line.
notvg() {
	if [ -n "${API_VG_LOG:-}" ]; then
		grep -v -e "$API_VG_LOG/" -e "$TMPDIR/valgrind_proc_[0-9]*_cmdline_" \
			-e "$TMPDIR/valgrind_proc_[0-9]*_auxv_"
	else
		cat
	fi
}
# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
# remind ARGS...: api-remind as the service, on the store, for $ASOF
remind() { run "$REMIND" -C "$S" -i "$W/svc.id" --as-of $ASOF "$@"; }

# A sendmail that keeps each message, after a line naming its arguments,
# in $W/mbox; "fail-for HANDLE" in $FAKE_FAIL refuses that one's mail.
cat > "$W/bin/sendmail" <<EOF
#!/bin/sh
m=\$(cat)
case \${FAKE_FAIL-} in
?*) case \$m in *"To: \$FAKE_FAIL@"*) exit 75 ;; esac ;;
esac
printf 'From fake-sendmail %s\n%s\n' "\$*" "\$m" >> "$W/mbox"
EOF
chmod +x "$W/bin/sendmail"
SM=$W/bin/sendmail
# split: $W/mbox into $W/mail.HANDLE, one per message, by its To:
split() {
	rm -f "$W"/mail.*
	[ -f "$W/mbox" ] || return 0
	awk -v dir="$W" '
		/^From fake-sendmail / { n++; f = dir "/mail.tmp" n; print > f; next }
		{ print > f }' "$W/mbox"
	for f in "$W"/mail.tmp*; do
		[ -e "$f" ] || continue
		h=$(sed -n 's/^To: \([^@]*\)@.*/\1/p' "$f" | head -n 1)
		mv "$f" "$W/mail.${h:-unknown}"
	done
}
mails() { ls "$W" | sed -n 's/^mail\.//p' | tr '\n' ' '; }

# --- the store -----------------------------------------------------------------
bad=0
for h in adm ann ben cal dan ld svc aud; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in ann:caseworker ben:caseworker cal:caseworker dan:caseworker \
	    ld:lead svc:service aud:auditor; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub \
			< /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ]
ok $? "a store: adm, caseworkers ann ben cal dan, lead ld, service svc, auditor aud"

# ann: C1 (an appointment and a contact due soon), C2 shared with ben
# (overdue); ben: C2, C3, C5 shared with dan, who retires; cal: C4,
# opened the day before, nothing due within the week.
C1=$(api-new -i ann.id --date 2026-01-05 -m "$CANARY intake one") &&
	api-log -i ann.id "$C1" --date 2026-03-30 --next 2026-04-10 \
		-m "$CANARY second meeting" > /dev/null &&
	C2=$(api-new -i ben.id --assign ann --date 2026-02-01 -m "$CANARY two") &&
	C3=$(api-new -i ben.id --date 2026-03-01 -m "$CANARY three") &&
	C4=$(api-new -i cal.id --date 2026-04-07 -m "$CANARY four") &&
	C5=$(api-new -i ben.id --assign dan --date 2026-03-05 -m "$CANARY five") &&
	api-staff -i adm.id retire dan 2> /dev/null
ok $? "five cases with notes holding a canary; dan retired"
api-status -i svc.id --due --as-of $ASOF > due.all 2> /dev/null
[ $? -eq 0 ] && grep -q "	$C1	" due.all && ! grep -q "	$C4	" due.all
ok $? "api-status --due sees C1 but not C4 (the set-up is as meant)"

# --- mailing ---------------------------------------------------------------------
rm -f "$W/mbox"
remind --domain example.org --sendmail "$SM"
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ]
v=$?
ok $v "--sendmail: exit 0, nothing on stdout or stderr"
[ $v -eq 0 ] || diag "$(head -c 400 err)"
split
[ "$(mails)" = "ann ben " ]
ok $? "one mail each for ann and ben, none for cal, dan, ld, adm, svc, aud ($(mails))"
[ "$(grep -c '^From fake-sendmail -t' mbox)" = 2 ]
ok $? "sendmail is called with -t"
! grep -q "$CANARY" mbox
ok $? "no note text in any mail (the canary is absent)"

m=mail.ann
sed '/^$/q' $m > head.ann
sed '1,/^$/d' $m > body.ann
[ "$(sed -n 2p $m)" = "To: ann@example.org" ] &&
	grep -qx 'From: api-remind@example.org' head.ann &&
	grep -qx 'MIME-Version: 1.0' head.ann &&
	grep -qx 'Content-Type: text/plain; charset=UTF-8' head.ann &&
	grep -qx 'Content-Transfer-Encoding: 8bit' head.ann &&
	grep -qx 'Auto-Submitted: auto-generated' head.ann
ok $? "headers: To, From, MIME, Content-Type, Auto-Submitted"
# the default marking has an umlaut: RFC 2047 encoded-words, folded
printf '%s\n' 'Subject: =?UTF-8?Q?=5BVS-NUR_F=C3=9CR_DEN_DIENSTGEBRAUCH=5D_api?=' \
	' =?UTF-8?Q?=3A_3_reminders_due=2C_2026-04-08?=' > want
sed -n '/^Subject: /,/^[^ ]/p' head.ann | sed '$d' | cmp -s - want
ok $? "Subject: the marking and the count, encoded, no case ID"
! grep -q "$C1\|$C2\|$C3" head.ann
ok $? "no case ID in the headers"
[ "$(sed -n 1p body.ann)" = "VS-NUR FÜR DEN DIENSTGEBRAUCH" ] &&
	[ "$(sed -n '$p' body.ann)" = "VS-NUR FÜR DEN DIENSTGEBRAUCH" ]
ok $? "the body begins and ends with the classification marking"
grep -qx "Reminders for ann as of $ASOF: overdue, or due within 7 days." body.ann
ok $? "the body names the member, the day and the window"
grep '^  ' body.ann > lines.ann
printf '%s\n' \
	"  overdue  2026-02-15  $C2  contact      no contact since 2026-02-01 (intake: every 14 days)" \
	"  due      2026-04-10  $C1  appointment  appointment on 2026-04-10" \
	"  due      2026-04-13  $C1  contact      no contact since 2026-03-30 (intake: every 14 days)" |
	cmp -s - lines.ann
v=$?
ok $v "ann's list: her cases C1 and C2, overdue first, then by date"
[ $v -eq 0 ] || diag "$(cat lines.ann)"
grep '^  ' mail.ben > lines.ben
[ "$(wc -l < lines.ben)" = 3 ] && grep -q " $C2 " lines.ben && grep -q " $C3 " lines.ben &&
	grep -q " $C5 " lines.ben && ! grep -q " $C1 " lines.ben
ok $? "ben's list: C2, C3, C5, not ann's C1"
grep -q '^ =?UTF-8?Q?=3A_3_reminders_due' mail.ben
ok $? "ben's subject counts his three"

# the service identity from $API_IDENTITY, the store from $API_DIR
rm -f "$W/mbox"
API_IDENTITY=$W/svc.id run "$REMIND" --as-of=$ASOF --domain=example.org --sendmail="$SM"
[ $? -eq 0 ] && split && [ "$(mails)" = "ann ben " ]
ok $? "\$API_IDENTITY, \$API_DIR, --opt=value: the same two mails"
rm -f "$W/mbox"
SENDMAIL=$SM remind --domain example.org
[ $? -eq 0 ] && split && [ "$(mails)" = "ann ben " ]
ok $? "\$SENDMAIL names the sendmail program"
rm -f "$W/mbox"
PATH=$W/bin:$PATH remind --domain example.org
[ $? -eq 0 ] && [ ! -s out ] && split && [ "$(mails)" = "ann ben " ]
ok $? "sendmail on \$PATH is used"

# settings in api.conf: the domain, the sender, an ASCII marking, the
# window.  No api program writes api.conf yet, so a plain commit in a
# clone stands in for an admin's signed one (with the keys ref, which a
# plain clone leaves behind).
git clone -q "$S" wt 2> /dev/null &&
	git -C wt fetch -q origin '+refs/api/*:refs/api/*' &&
	printf '[remind]\n\tmailDomain = conf.example.org\n\tmailFrom = Exit <rem@conf.example.org>\n\twithin = 3d\n[programme]\n\tclassification = RESTRICTED\n' >> wt/api.conf &&
	git -C wt commit -qam 'conf: mail settings' && rm -f "$W/mbox" &&
	run "$REMIND" -C wt -i svc.id --as-of $ASOF --sendmail "$SM"
[ $? -eq 0 ] && split && [ "$(mails)" = "ann ben " ] &&
	grep -qx 'To: ann@conf.example.org' mail.ann &&
	grep -qx 'From: Exit <rem@conf.example.org>' mail.ann
ok $? "remind.mailDomain and remind.mailFrom from api.conf"
grep -qx "Subject: \[RESTRICTED\] api: 2 reminders due, $ASOF" mail.ann &&
	grep -qx 'RESTRICTED' mail.ann &&
	grep -q "due within 3 days\.$" mail.ann
ok $? "an ASCII marking: a plain Subject; remind.within shown and used (2 items)"
rm -f "$W/mbox"
run "$REMIND" -C wt -i svc.id --as-of $ASOF --sendmail "$SM" --domain x.example.org --within 7
[ $? -eq 0 ] && split && grep -qx 'To: ann@x.example.org' mail.ann &&
	grep -q 'Subject: .* 3 reminders' mail.ann
ok $? "--domain and --within win over api.conf"

# --- without sendmail: stdout ------------------------------------------------------
# a $PATH without sendmail: the programs, git and the basic tools only
P=$B/bin:$(dirname "$(command -v git)"):/usr/bin:/bin
if ! PATH=$P have sendmail && [ ! -e /usr/sbin/sendmail ] && [ ! -e /usr/lib/sendmail ]; then
	PATH=$P remind
	[ $? -eq 0 ] && [ ! -s err ] && cp out stdout.nosm
	ok $? "no sendmail anywhere: exit 0, nothing on stderr"
else
	skip "a sendmail is installed here: the fallback to stdout is not checked"
	remind --print && cp out stdout.nosm
fi
rm -f "$W/mbox"
remind --print --sendmail "$SM"
[ $? -eq 0 ] && [ ! -s err ] && [ ! -e mbox ] && cmp -s out stdout.nosm
ok $? "--print: the same output, and sendmail is not called"
{
	echo "VS-NUR FÜR DEN DIENSTGEBRAUCH"
	echo
	echo "ann: 3 due as of $ASOF"
	cat lines.ann
	echo
	echo "ben: 3 due as of $ASOF"
	cat lines.ben
	echo
	echo "VS-NUR FÜR DEN DIENSTGEBRAUCH"
} | cmp -s - out
v=$?
ok $v "stdout: a header line per member, the lists, the marking first and last"
[ $v -eq 0 ] || diag "$(cat out)"
! grep -q "$CANARY" out
ok $? "no note text on stdout"
remind --print --domain example.org
[ $? -eq 0 ] && cmp -s out stdout.nosm
ok $? "--print needs no mail domain, and ignores one"

# --- nothing due ---------------------------------------------------------------------
rm -f "$W/mbox"
run "$REMIND" -C "$S" -i svc.id --as-of 2025-06-01 --domain example.org --sendmail "$SM"
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ] && [ ! -e mbox ]
ok $? "nothing due anywhere: no mail, no output, exit 0"
run "$REMIND" -C "$S" -i svc.id --as-of 2025-06-01 --print
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ]
ok $? "nothing due anywhere, --print: no output, exit 0"
mkdir empty && api-init -i adm.id empty 2> /dev/null &&
	api-staff -C empty -i adm.id add --role service svc.pub < /dev/null 2> /dev/null &&
	run "$REMIND" -C empty -i svc.id --domain example.org --sendmail "$SM"
[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ] && [ ! -e mbox ]
ok $? "a store without cases: no mail, no output, exit 0"

# --- failures ----------------------------------------------------------------------
rm -f "$W/mbox"
FAKE_FAIL=ann remind --domain example.org --sendmail "$SM"
rc=$?
split
[ $rc -eq 1 ] && [ "$(mails)" = "ben " ] && oneline err && grep -q '^api-remind: ann: ' err
ok $? "sendmail refuses ann's mail: exit 1, one line naming ann, ben's mail still sent"
rm -f "$W/mbox"
remind --domain example.org --sendmail false
[ $? -eq 1 ] && [ "$(grep -c '^api-remind: [a-z]*: false failed$' err)" = 2 ]
ok $? "a failing sendmail: exit 1, one line for each of the two mails"
run "$REMIND" -C "$S" -i aud.id --as-of $ASOF --print
[ $? -eq 0 ] && [ ! -s err ]
ok $? "an auditor's identity reads no case: empty lists, no error"
rm -f "$W/mbox"
api-keygen --handle stranger --no-passphrase -o stranger.id > /dev/null 2>&1
run "$REMIND" -C "$S" -i stranger.id --as-of $ASOF --domain example.org --sendmail "$SM"
[ $? -eq 1 ] && [ ! -e mbox ] &&
	[ "$(grep -c '^api-remind: [a-z]*: api-status exited 1$' err)" = 5 ]
ok $? "an identity that is not staff: exit 1, api-status tried for each of the 5 members"
rm -f "$W/mbox"
remind --sendmail "$SM"
[ $? -eq 1 ] && oneline err && grep -q 'mail domain' err && [ ! -e mbox ]
ok $? "no mail domain: exit 1, one line, no mail"
remind --sendmail "$SM" --domain 'example.org>
Bcc: x@evil.example'
[ $? -eq 1 ] && oneline err && [ ! -e mbox ]
ok $? "a domain with a line break: refused, no mail"
remind --sendmail "$SM" --domain example.org --from 'a@b
Bcc: x@evil.example'
[ $? -eq 1 ] && oneline err && [ ! -e mbox ]
ok $? "a From with a line break: refused, no mail"
run "$REMIND" -C "$W/nowhere" -i svc.id --print
[ $? -eq 1 ] && [ ! -s out ] && oneline err && grep -q nowhere err
ok $? "not a store: exit 1, one line naming it"
remind --sendmail "$W/bin/nosuch" --domain example.org
[ $? -eq 1 ] && oneline err && grep -q nosuch err
ok $? "--sendmail a missing program: exit 1, one line naming it"

# --- usage -------------------------------------------------------------------------------
for args in "--frob" "extra" "--as-of" "--as-of 2026-4-1" "--within 5x" \
    "--print=yes" "-C"; do
	# shellcheck disable=SC2086
	run "$REMIND" $args
	[ $? -eq 2 ] && grep -q '^usage: api-remind' err && [ ! -s out ] || break
done
ok $? "usage errors exit 2 with the usage (last tried: $args)"
run "$REMIND" --help
[ $? -eq 0 ] && [ ! -s err ] && [ "$(head -n 1 out)" = "api-remind - mail each caseworker the reminders that are due" ] &&
	grep -q '^usage: api-remind' out
ok $? "--help: exit 0, the summary line, the usage"
run "$REMIND" --version
[ $? -eq 0 ] && oneline out && grep -Eq '^api-remind [0-9]+\.[0-9]+' out
ok $? "--version: 'api-remind VERSION'"
API_EXEC_PATH=$API_TOP/scripts run api remind -i svc.id --as-of $ASOF --print
[ $? -eq 0 ] && cmp -s out stdout.nosm
ok $? "'api remind' runs it through the dispatcher"
API_EXEC_PATH=$API_TOP/scripts api --help 2> /dev/null |
	grep -Eq '^ +remind +mail each caseworker the reminders that are due$'
ok $? "'api --help' lists remind with its summary"

# --- nothing on disk -----------------------------------------------------------------
[ -z "$(find "$TMPDIR" "$XDG_RUNTIME_DIR" -type f | notvg)" ]
ok $? "nothing left in \$TMPDIR or \$XDG_RUNTIME_DIR"
if have strace && strace -o /dev/null true 2> /dev/null; then
	# LeakSanitizer cannot run under ptrace (make asan)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -o trace -e trace=open,openat,creat,rename,renameat,renameat2,link,linkat,mkdir,mkdirat \
		"$REMIND" -C "$S" -i svc.id --as-of $ASOF --print > out 2> err
	[ $? -eq 0 ] && cmp -s out stdout.nosm
	ok $? "under strace: the same output"
	# but the read log: git objects and refs/api/reads/YEAR
	grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(|rename|link\(|linkat\(|mkdir' trace |
		grep -v '"/dev/\(null\|tty\|urandom\)"' |
		grep -v -e "\"$S/objects/" -e "\"$S/refs/api/reads" -e "\"$S/api-flock\"" \
		-e "\"$HOME/.cache\"" -e "\"$HOME/.cache/api[\"/]" | notvg > writes
	[ ! -s writes ]
	ok $? "no file but the read log's and the state cache's is opened for writing, made, renamed or linked ($(wc -l < writes))"
	n=0
	for f in "$HOME"/.cache/api/*; do
		[ "$(head -c 21 "$f")" = "age-encryption.org/v1" ] || n=$((n + 1))
		age -d -i svc.id "$f" 2> /dev/null | grep -q "^api state cache" || n=$((n + 1))
	done
	[ $n -eq 0 ] && [ -n "$(ls "$HOME"/.cache/api/)" ]
	ok $? "the state cache is an age file that the service identity's own key opens"
	[ -s writes ] && diag "$(head -n 5 writes)"
else
	skip "strace cannot run here"
	skip "strace cannot run here"
fi

done_testing
