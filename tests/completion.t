#!/bin/sh
# completion.t - scripts/api.bash-completion in bash: programs, options,
# case IDs, note IDs, handles, phases, note types, kinds and roles, from
# a real store; the function is called the way bash calls it, with
# COMP_WORDS and COMP_CWORD set.
. "$(dirname "$0")/lib.sh"

if ! command -v bash >/dev/null 2>&1; then
	skip "bash not installed"
	done_testing
	exit
fi
workdir
COMP=$API_TOP/scripts/api.bash-completion
unset API_EXEC_PATH

# c WORD...: the completions of the last WORD (COMP_CWORD), sorted, on
# one line; stderr in $W/err
# Under make valgrind (API_TEST_WRAP) a program's --help runs under
# memcheck, which can take longer than the 2 s the completion gives it
# (timeout 2 PROG --help): there the function below gives it 60 s.
cat > drive.bash <<'EOF'
. "$COMP" || exit 1
[[ -n ${API_TEST_WRAP-} ]] && timeout() { shift; command timeout 60 "$@"; }
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMPREPLY=()
_api
printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
EOF
c() { COMP=$COMP bash --norc --noprofile "$W/drive.bash" "$@" 2> "$W/err"; }
# is GOT WANT DESC: GOT is WANT, else both shown
is() {
	[ "$1" = "$2" ]
	_v=$?
	ok $_v "$3"
	[ $_v -eq 0 ] || diag "got '$1', want '$2'"
}
# has GOT WORD...: every WORD is one of the words of GOT
has() {
	_got=" $1 "
	shift
	for _w; do
		case $_got in *" $_w "*) ;; *) diag "'$_w' not in '$_got'"; return 1 ;; esac
	done
}

# --- a store ------------------------------------------------------------------
bad=0
for h in adm ann ben dan svc aud; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	for m in ann:caseworker ben:caseworker dan:caseworker svc:service aud:auditor; do
		api-staff -i adm.id add --role ${m#*:} ${m%%:*}.pub < /dev/null 2> /dev/null || bad=1
	done && [ $bad -eq 0 ] && api-staff -i adm.id retire dan 2> /dev/null &&
	C1=$(api-new -i ann.id --date 2026-01-05 -m "one") &&
	api-log -i ann.id "$C1" --date 2026-02-01 -m "two" > /dev/null &&
	C2=$(api-new -i ben.id --date 2026-02-01 -m "three") &&
	C3=$(api-new -i ben.id --date 2026-03-01 -m "four")
ok $? "a store: staff adm ann ben (dan retired, svc, aud), three cases"
ALL=$(printf '%s\n' "$C1" "$C2" "$C3" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
D1=cases/$(echo "$C1" | cut -c1)/$(echo "$C1" | cut -c2)/$C1
N1=$(git -C "$S" ls-tree --name-only main "$D1/notes/" |
	sed 's|.*/||; s|\.md\.age$||' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
[ "$(echo "$N1" | wc -w)" = 2 ]
ok $? "case $C1 has two notes"

# --- programs and options -------------------------------------------------------
has "$(c api '')" help init keygen log new show staff status verify
ok $? "api <TAB>: the programs beside api, and help"
[ -z "$(cat err)" ]
ok $? "... and nothing on stderr"
is "$(c api st)" "staff status" "api st<TAB>: staff status"
is "$(c api help sta)" "staff status" "api help sta<TAB>: the programs"
is "$(API_EXEC_PATH=$API_TOP/scripts c api rem)" "remind" \
	"api rem<TAB>: api-remind through \$API_EXEC_PATH"
is "$(c api -)" "--help --version" "api -<TAB>: api's own options"
has "$(c api status --)" --as-of --due --for --json --schedule --set --within --help
ok $? "api status --<TAB>: the options of api-status's usage"
is "$(c api-status --d)" "--date --due" "api-status --d<TAB>: by the program's own name"
is "$(c api staff '')" "add list retire" "api staff <TAB>: its commands"
is "$(c api staff add --role '')" "admin auditor caseworker lead service" \
	"api staff add --role <TAB>: the roles"
is "$(c api readlog '')" "drop list" "api readlog <TAB>: its commands"
is "$(c api readlog list '')" "" "api readlog list <TAB>: no read log, no year"
git -C "$S" update-ref refs/api/reads/2025 main && git -C "$S" update-ref refs/api/reads/2026 main &&
	git -C "$S" update-ref refs/api/reads/other main
is "$(c api readlog drop '')" "2025 2026" "api readlog drop <TAB>: the years of the read logs"
git -C "$S" update-ref -d refs/api/reads/2025 && git -C "$S" update-ref -d refs/api/reads/2026 &&
	git -C "$S" update-ref -d refs/api/reads/other
git -C "$S" remote add origin /nowhere/a.git && git -C "$S" remote add office /nowhere/b.git
is "$(c api sync '')" "office origin" "api sync <TAB>: the store's remotes"
git -C "$S" remote remove origin && git -C "$S" remote remove office

# --- case and note IDs -------------------------------------------------------------
is "$(c api status '')" "$ALL" "api status <TAB>: every case ID"
[ -z "$(cat err)" ]
ok $? "... and nothing on stderr"
p=$(echo "$C2" | cut -c1-4)
is "$(c api log "$p")" "$C2" "api log PREFIX<TAB>: the case"
lp=$(echo "$p" | tr 'A-Z' 'a-z')
is "$(c api show "$lp")" "$C2" "a lower-case prefix completes too (Crockford is case-blind)"
is "$(c api show "$C1" '')" "$N1" "api show CASE <TAB>: its note IDs"
is "$(c api show "$(echo "$C1" | cut -c1-5)" '')" "$N1" "api show PREFIX <TAB>: the note IDs"
is "$(c api log "$C1" --corrects '')" "$N1" "api log CASE --corrects <TAB>: the note IDs"
is "$(c api show "$C2" -C "$S" '')" "$(git -C "$S" ls-tree --name-only main \
	"cases/$(echo "$C2" | cut -c1)/$(echo "$C2" | cut -c2)/$C2/notes/" | sed 's|.*/||; s|\.md\.age$||')" \
	"options between the arguments are skipped"
is "$(API_DIR= c api status -C "$S" '')" "$ALL" "the store from -C DIR on the line"
is "$(cd / && API_DIR= c api status "-C$S" '')" "$ALL" "... or -CDIR"
is "$(API_DIR=$W/nowhere c api status '')" "" "no store: no case IDs"
[ -z "$(cat err)" ]
ok $? "... and nothing on stderr"

# --- handles ------------------------------------------------------------------------
is "$(c api status --due --for '')" "adm ann ben" \
	"--for <TAB>: active caseworkers, leads and admins (not dan, svc, aud)"
is "$(c api new --assign a)" "adm ann" "--assign a<TAB>"
is "$(c api status --due --for = a)" "adm ann" "--for=a<TAB> (split at =)"
is "$(c api status --due --for=a)" "--for=adm --for=ann" "--for=a<TAB> (one word)"
is "$(c api staff retire '')" "adm ann aud ben svc" "api staff retire <TAB>: active staff"
is "$(c api revoke --all '')" "adm ann ben dan" \
	"api revoke --all <TAB>: who can be on a team, retired (dan) or not"
is "$(c api-revoke -C "$S" --reencrypt --all dan a)" "adm ann" "... and after a handle, the next"
is "$(c api revoke "$C1" '')" "adm ann ben" "api revoke CASE <TAB> (no --all): active staff who can be on a team"
has "$(c api revoke --)" --all --reencrypt
ok $? "api revoke --<TAB>: --all and --reencrypt, from the usage"

# --- values from api.conf and the usage ------------------------------------------------
is "$(c api status "$C1" --set '')" "active aftercare closed intake paused referral reopen" \
	"--set <TAB>: the phases, and reopen"
is "$(c api status "$C1" --set closed --reason e)" "ended-by-client" "--reason e<TAB>"
is "$(c api status "$C1" --schedule '')" \
	"appointment consent-given consent-withdrawn custody release retention review" \
	"--schedule <TAB>: the kinds"
is "$(c api log "$C1" -t '')" "admin assessment crisis ideological network psychosocial" \
	"-t <TAB>: the note types"
git clone -q "$S" wt 2> /dev/null &&
	printf '[phases]\n\tlist = open doing done\n[notes]\n\ttypes = visit call\n' >> wt/api.conf &&
	git -C wt commit -qam 'conf: other phases'
is "$(c api status -C wt "$C1" --set '')" "doing done open reopen" "--set: the phases of api.conf"
is "$(c api log -C wt "$C1" --type '')" "call visit" "--type: the note types of api.conf"
has "$(c api log "$C1" -F '')" drive.bash wt
ok $? "-F <TAB>: files"

done_testing
