#!/bin/sh
# canary.t - no plaintext at rest.  Unique canary strings go in through
# every way text reaches api-new and api-log (-m, -F, standard input, the
# editor, --partner, --referral, a header edited in the editor); stock age
# finds each in its record, and none is anywhere else: not in any git
# object (loose or packed), not in a commit message, not in a file of the
# store, $TMPDIR, $HOME or $XDG_RUNTIME_DIR, not in the tmpfs directory
# the editor used (which is left empty).
. "$(dirname "$0")/lib.sh"

workdir
SHM=
trap 'rm -rf "$T" ${SHM:+"$SHM"}' EXIT
have() { command -v "$1" >/dev/null 2>&1; }

# canary WHERE: a string found nowhere else
canary() { echo "CANARY-$1-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }
C_INTAKE=$(canary intake)
C_REFERRAL=$(canary referral)
C_NEWED=$(canary new-editor)
C_M=$(canary m)
C_F=$(canary file)
C_STDIN=$(canary stdin)
C_ED=$(canary editor)
C_EDHDR=$(canary editor-header)
C_PARTNER=$(canary partner)
ALL="$C_INTAKE $C_REFERRAL $C_NEWED $C_M $C_F $C_STDIN $C_ED $C_EDHDR $C_PARTNER"
printf '%s\n' $ALL > canaries
[ "$(sort -u canaries | wc -l)" = 9 ] && [ "$(grep -c '^CANARY-[a-z-]*-[0-9a-f]\{16\}$' canaries)" = 9 ]
ok $? "nine distinct canaries"

api-keygen --handle adm --no-passphrase -o adm.id > /dev/null 2>&1 &&
	api-keygen --handle cw --no-passphrase -o cw.id > cw.pub 2> /dev/null &&
	api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role caseworker cw.pub 2> /dev/null
ok $? "a store and a caseworker"

# --- the ways in ---------------------------------------------------------------
ID=$(api-new -i cw.id --referral "$C_REFERRAL" -m "Intake. $C_INTAKE" 2> err) &&
	[ -n "$ID" ]
ok $? "api-new -m and --referral"
D=cases/$(echo "$ID" | cut -c1)/$(echo "$ID" | cut -c2)/$ID
N_INTAKE=$(git -C "$S" ls-tree --name-only "main:$D/notes" | sed 's/\.md\.age$//')
N_M=$(api-log -i cw.id "$ID" --partner "$C_PARTNER" -m "Via -m. $C_M" 2> err)
ok $? "api-log -m and --partner"
printf '# Via -F\n\n%s\n' "$C_F" > note.md
N_F=$(api-log -i cw.id "$ID" -F note.md 2> err)
ok $? "api-log -F FILE"
N_STDIN=$(printf 'Via standard input.\n%s\n' "$C_STDIN" | api-log -i cw.id "$ID" 2> err)
ok $? "api-log from standard input"

# the editor, on a terminal, in a fresh private directory under /dev/shm
case $(stat -f -c %T /dev/shm 2>/dev/null) in
tmpfs|ramfs) SHM=$(mktemp -d /dev/shm/api-test.XXXXXX 2>/dev/null) &&
	chmod 700 "$SHM" || SHM= ;;
esac
cat > ed <<EOF
#!/bin/sh
stat -c %a "\$1" >> '$W/fmode'
stat -c %a "\$(dirname "\$1")" >> '$W/dmode'
dirname "\$1" >> '$W/edirs'
sed -i "s/^Partner:.*/Partner: \$CANARY_HDR/" "\$1"
printf '%s\n' "\$CANARY" >> "\$1"
EOF
chmod +x ed
# on_tty LOG CMD...: CMD with a terminal as standard input, stdout in LOG
on_tty() {
	_log=$1
	shift
	SHELL=/bin/sh script -qec "exec $* > '$W/$_log' 2> '$W/$_log.err'" \
		/dev/null < /dev/null > "$W/tty" 2>&1
}
if ! have script; then
	for i in 1 2 3 4 5; do skip "script(1) not installed: the editor runs only on a terminal"; done
elif [ -z "$SHM" ]; then
	for i in 1 2 3 4 5; do skip "no tmpfs at /dev/shm"; done
else
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed" CANARY="$C_ED" CANARY_HDR="$C_EDHDR"
	 on_tty log.out api-log -i cw.id "$ID")
	ok $? "api-log through the editor (a canary in the body, one in Partner:)"
	N_ED=$(cat log.out)
	(export XDG_RUNTIME_DIR="$SHM" EDITOR="$W/ed" CANARY="$C_NEWED" CANARY_HDR=x
	 on_tty new.out api-new -i cw.id)
	ok $? "api-new through the editor"
	ID2=$(cat new.out)
	[ "$(sort -u fmode)" = 600 ] && [ "$(sort -u dmode)" = 700 ] &&
		[ "$(wc -l < fmode)" = 2 ]
	ok $? "the file being edited had mode 0600, its directory 0700"
	bad=0
	while read -r d; do
		case $d in "$SHM"/api-edit.*) [ ! -e "$d" ] || bad=1 ;; *) bad=1 ;; esac
	done < edirs
	[ $bad -eq 0 ] && [ "$(wc -l < edirs)" = 2 ]
	ok $? "the directories were \$XDG_RUNTIME_DIR/api-edit.*, and are gone"
	[ -z "$(find "$SHM" -mindepth 1 | head -n 1)" ]
	ok $? "the tmpfs directory is empty: no api-edit.* left, no swap or backup file"
fi

# --- each canary is in its record -------------------------------------------------
# dec CASE NOTE: the note, decrypted by stock age through the case key
dec() {
	_d=cases/$(echo "$1" | cut -c1)/$(echo "$1" | cut -c2)/$1
	git -C "$S" show "refs/api/keys:$_d/key.age" | age -d -i cw.id > case.key 2> /dev/null &&
	git -C "$S" show "main:$_d/notes/$2.md.age" | age -d -i case.key 2> /dev/null
}
dec "$ID" "$N_INTAKE" > p && grep -q "^Intake\. $C_INTAKE\$" p &&
	grep -qx "Referral: $C_REFERRAL" p &&
	dec "$ID" "$N_M" > p && grep -qx "Partner: $C_PARTNER" p && grep -q "$C_M" p &&
	dec "$ID" "$N_F" > p && grep -qx "$C_F" p &&
	dec "$ID" "$N_STDIN" > p && grep -qx "$C_STDIN" p
ok $? "stock age finds every canary of -m, -F, stdin, --partner, --referral in its note"
if [ -n "${N_ED:-}" ]; then
	dec "$ID" "$N_ED" > p && grep -qx "$C_ED" p && grep -qx "Partner: $C_EDHDR" p &&
		dec "$ID2" "$(git -C "$S" ls-tree --name-only \
			"main:cases/$(echo "$ID2" | cut -c1)/$(echo "$ID2" | cut -c2)/$ID2/notes" | sed 's/\.md\.age$//')" > p &&
		grep -qx "$C_NEWED" p
	ok $? "... and those that went through the editor"
else
	skip "the editor was not run"
	C_ED= C_EDHDR= C_NEWED=
fi
rm -f p case.key
ALL=$(printf '%s\n' $ALL | grep -v '^$')

# --- and nowhere else ---------------------------------------------------------------
# found WHAT: the canaries found in the file WHAT, one per line
found() { for c in $ALL; do grep -aqF -- "$c" "$1" && echo "$c"; done; true; }
objects() { git -C "$S" cat-file --batch-all-objects --batch > objects 2> /dev/null; }
objects
grep -aq '^log: note added$' objects && grep -aqx 'role: caseworker' objects
ok $? "(control: git cat-file --batch-all-objects shows object contents)"
found objects > hits
[ ! -s hits ]
ok $? "no canary in any git object"
[ -s hits ] && diag "found: $(tr '\n' ' ' < hits)"
git -C "$S" log --all --format='%an %ae %cn %ce%n%B' > msgs
git -C "$S" for-each-ref --format='%(refname)' >> msgs
found msgs > hits
[ ! -s hits ] && grep -q 'Api-Action: new' msgs
ok $? "no canary in a commit message, author or ref name"
grep -raF -f canaries "$S" > hits 2>&1
[ ! -s hits ]
ok $? "no canary in any file of the store (loose objects, refs, logs, config)"
grep -raF -f canaries "$T" --exclude-dir=work > hits 2>&1
[ ! -s hits ]
ok $? "no canary anywhere under the test's home, \$TMPDIR, \$XDG_RUNTIME_DIR"
[ -z "$(find "$TMPDIR" -mindepth 1 | head -n 1)" ]
ok $? "\$TMPDIR is left empty"
[ -z "$(find "$XDG_RUNTIME_DIR" -mindepth 1 | head -n 1)" ]
ok $? "lib.sh's \$XDG_RUNTIME_DIR (not used here) is left empty"
if [ -n "$SHM" ]; then
	grep -raF -f canaries "$SHM" > hits 2>&1
	[ ! -s hits ] && [ -z "$(find "$SHM" -name 'api-edit.*')" ]
	ok $? "no canary and no api-edit.* directory under the tmpfs directory"
else
	skip "no tmpfs at /dev/shm"
fi

# packed: git gc writes every object into a pack
git -C "$S" gc -q > /dev/null 2>&1 &&
	[ -n "$(find "$S/objects/pack" -name '*.pack')" ]
ok $? "git gc packs the store"
objects
grep -aq '^log: note added$' objects && found objects > hits && [ ! -s hits ]
ok $? "no canary in any object after git gc"
grep -raF -f canaries "$S" > hits 2>&1
[ ! -s hits ]
ok $? "no canary in any file of the store after git gc (packs, packed-refs)"
api-verify > /dev/null 2>&1
ok $? "api-verify: ok on the packed store"

done_testing
