#!/bin/sh
# bundle.t - a case handed over to another programme: api-export --bundle
# on one store, api-new --import on another.  Stock age opens the bundle,
# tar lists it, ssh-keygen -Y verify accepts the manifest's signature and
# sha256sum the records; the consent rule (a consent event for that
# recipient, or --override-consent --reason); the export recorded as an
# event; the round trip byte for byte with the provenance in the intake;
# a bundle for another recipient, truncated, tampered, short of a record
# or with a forged manifest refused in one line with the store unchanged;
# the same bundle imported twice refused, naming the case it became,
# unless --duplicate; and no canary on disk in either store.
. "$(dirname "$0")/lib.sh"

umask 077
W=$T/work
mkdir -p "$W"
cd "$W" || exit 1
A=$T/a                                   # the sending programme
Z=$T/z                                   # the receiving programme
export API_DIR=$A
CANARY="CANARY-bundle-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

run() { "$@" > "$W/out" 2> "$W/err"; }
# err1 WORD: one line on stderr naming WORD
err1() { oneline "$W/err" && grep -q -- "$1" "$W/err"; }
refs() { git -C "$1" for-each-ref; }
# records: main and the keys (a refused export still logs its read)
records() { git -C "$1" for-each-ref refs/heads refs/api/keys; }

for h in adm cw ld; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null
done
api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role caseworker cw.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1
ok $? "the sending store"
for h in zadm rx other; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null
done
api-init -i zadm.id "$Z" 2> /dev/null &&
	api-staff -C "$Z" -i zadm.id add --role caseworker rx.pub > /dev/null 2>&1 &&
	api-staff -C "$Z" -i zadm.id add --role caseworker other.pub > /dev/null 2>&1
ok $? "the receiving store, with caseworker rx"
RX=$(cut -d' ' -f2 rx.pub)
OTHER=$(cut -d' ' -f2 other.pub)
grep AGE-SECRET-KEY rx.id > rx.key

ID=$(api-new -i cw.id --date 2026-01-05 -m "# Intake

Met at the housing office. $CANARY" 2> /dev/null) &&
	api-log -i cw.id "$ID" -t psychosocial --date 2026-02-01 \
		-m "Second meeting, *good* progress." > /dev/null 2>&1 &&
	api-status -i cw.id "$ID" --set active > /dev/null 2>&1
ok $? "a case with notes and events"

# --- consent -------------------------------------------------------------------
before=$(records "$A")
export API_DIR=$A
run api-export -i cw.id --bundle --recipient "$RX" -o b0.age "$ID"
[ $? = 1 ] && err1 "no consent to share with $RX" && [ ! -e b0.age ] &&
	[ "$(records "$A")" = "$before" ] &&
	[ "$(git -C "$A" log -1 --format=%B refs/api/reads/$(date -u +%Y) |
		sed -n 's/^Api-Program: //p')" = api-export ]
ok $? "no consent event: refused in one line, no file, records unchanged (the read is logged)"
api-status -i cw.id "$ID" --schedule consent-given 2026-03-01 \
	--recipient "$OTHER" > /dev/null 2>&1
run api-export -i cw.id --bundle --recipient "$RX" -o b0.age "$ID"
[ $? = 1 ] && err1 "no consent" && [ ! -e b0.age ]
ok $? "consent for another recipient does not count"
api-status -i cw.id "$ID" --schedule consent-given 2026-03-02 \
	--recipient "$RX" > /dev/null 2>&1 &&
	api-status -i cw.id "$ID" --schedule consent-withdrawn 2026-03-03 \
	--recipient "$RX" > /dev/null 2>&1
run api-export -i cw.id --bundle --recipient "$RX" -o b0.age "$ID"
[ $? = 1 ] && err1 "no consent" && [ ! -e b0.age ]
ok $? "consent given, then withdrawn: refused"
CONSENT=$(api-status -i cw.id "$ID" --schedule consent-given 2026-03-04 \
	--recipient "$RX" 2> /dev/null)
ok $? "consent given again"

run api-status -i cw.id "$ID" --schedule consent-given 2026-03-04 --recipient nope
[ $? = 2 ] && err1 "not an age1 recipient"
ok $? "api-status --recipient: not an age1 key"
run api-status -i cw.id "$ID" --schedule review 2026-03-04 --recipient "$RX"
[ $? = 2 ] && err1 "consent-given"
ok $? "api-status --recipient only with a consent kind"

# --- bad arguments -------------------------------------------------------------
before=$(refs "$A")
run api-export -i cw.id --bundle --recipient age1nope -o b0.age "$ID"
[ $? = 2 ] && err1 "age1nope: not an age1 recipient" && [ ! -e b0.age ] &&
	[ ! -s "$W/out" ] && [ "$(refs "$A")" = "$before" ]
ok $? "a recipient that is not an age1 key: exit 2, one line naming it, no file, store unchanged"
run api-export -i cw.id --bundle --recipient "$(cut -d' ' -f3- rx.pub)" "$ID"
[ $? = 2 ] && err1 "not an age1 recipient" && [ ! -s "$W/out" ] && [ "$(refs "$A")" = "$before" ]
ok $? "an SSH public key as the recipient: the same, nothing on stdout"
run api-export -i cw.id --bundle --recipient "$RX" --override-consent -o b0.age "$ID"
[ $? = 2 ] && err1 "needs --reason" && [ ! -e b0.age ]
ok $? "--override-consent without --reason"
run api-export -i cw.id --bundle -o b0.age "$ID"
[ $? = 2 ] && [ ! -e b0.age ]
ok $? "--bundle without --recipient"
run api-export -i cw.id --bundle --recipient "$RX" -o b0.age "$ID" "$ID"
[ $? = 2 ] && [ ! -e b0.age ]
ok $? "one case a bundle"

# --- the export ----------------------------------------------------------------
nev=$(git -C "$A" ls-tree --name-only "main:$(cdir "$ID")/events" | wc -l)
run api-export -i cw.id --bundle --recipient "$RX" -o b.age "$ID"
ok $? "api-export --bundle"
[ "$(stat -c %a b.age)" = 600 ]
ok $? "the bundle is mode 0600"
grep -q "recorded as event" "$W/err" && ! grep -q "everyone" "$W/err"
ok $? "stderr names the event; no warning in a private folder"
[ "$(git -C "$A" ls-tree --name-only "main:$(cdir "$ID")/events" | wc -l)" = $((nev + 1)) ] &&
	git -C "$A" log -1 --format=%B main | grep -qx "Api-Action: handover"
ok $? "the export is one more event, Api-Action: handover"
SHA=$(sha256sum b.age | cut -d' ' -f1)
api-show --no-pager -i cw.id "$ID" > show 2> /dev/null &&
	grep -q "Type: handover\|handover" show && grep -q "$SHA" show &&
	grep -q "$RX" show && grep -q "$CONSENT" show
ok $? "the event names the recipient, the consent and the bundle's SHA-256"

age -d -i rx.key b.age > b.tar 2> /dev/null
ok $? "stock age decrypts the bundle with the recipient's key"
tar tf b.tar > list 2> /dev/null &&
	[ "$(sed -n 1p list)" = "$ID/MANIFEST" ] &&
	[ "$(sed -n 2p list)" = "$ID/MANIFEST.sig" ] &&
	[ "$(grep -c "^$ID/notes/.*\.md$" list)" = 2 ] &&
	[ "$(grep -c "^$ID/events/" list)" = \
		"$(git -C "$A" ls-tree --name-only "main~1:$(cdir "$ID")/events" | wc -l)" ]
ok $? "stock tar lists the manifest, its signature and every record"
mkdir x && tar xf b.tar -C x 2> /dev/null
M=x/$ID/MANIFEST
[ "$(sed -n 1p $M)" = "api-bundle 1" ] && grep -qx "case $ID" $M &&
	grep -qx "recipient $RX" $M && grep -qx "consent $CONSENT" $M &&
	grep -qx "by cw" $M && grep -q "^staff lead ld age1" $M &&
	grep -qx "store $(git -C "$A" rev-parse main~1)" $M
ok $? "the manifest: case, store, by, recipient, consent, staff"
bad=0
while read -r _ path sha blob commit; do
	[ "$(sha256sum "x/$ID/$path" | cut -d' ' -f1)" = "$sha" ] || bad=1
	f=$path.age
	case $path in notes/*) f=${path%.md}.md.age ;; esac
	[ "$(git -C "$A" rev-parse "main:$(cdir "$ID")/$f")" = "$blob" ] || bad=1
	git -C "$A" cat-file -e "$commit^{commit}" || bad=1
	git -C "$A" cat-file -p "$commit" | grep -q "^Api-Case: $ID" || bad=1
	git -C "$A" ls-tree -r "$commit" | grep -q "$blob" || bad=1
	git -C "$A" ls-tree -r "$commit~1" | grep -q "$blob" && bad=1
done <<EOF
$(grep '^record ' $M)
EOF
[ $bad = 0 ] && [ "$(grep -c '^record ' $M)" -gt 5 ]
ok $? "each record: its SHA-256 (sha256sum), its blob, the commit that added it"
git -C "$A" show main:allowed_signers > as &&
	git -C "$A" config gpg.ssh.allowedSignersFile "$W/as" &&
	git -C "$A" log --format=%H main | while read -r c; do
		git -C "$A" verify-commit "$c" 2> /dev/null || exit 1
	done
ok $? "those commits are signed (stock git verify-commit)"
sed -n 's/^staff [a-z]* \([^ ]*\) [^ ]* \(ssh-ed25519 [^ ]*\)$/\1 namespaces="api-bundle" \2/p' \
	$M > signers &&
	ssh-keygen -Y verify -f signers -I cw -n api-bundle -s x/$ID/MANIFEST.sig \
		< $M > /dev/null 2>&1
ok $? "ssh-keygen -Y verify accepts the manifest's signature by cw"
! ssh-keygen -Y verify -f signers -I ld -n api-bundle -s x/$ID/MANIFEST.sig \
	< $M > /dev/null 2>&1
ok $? "and names cw, not another member"
grep -q "$CANARY" "x/$ID/notes/"*.md
ok $? "the intake's text is in the bundle"

run api-export -i cw.id --bundle --recipient "$RX" -o b.age "$ID"
[ $? = 1 ] && err1 "b.age" && [ "$(sha256sum b.age | cut -d' ' -f1)" = "$SHA" ]
ok $? "an existing file is not overwritten"
mkdir -m 755 pub
run api-export -i cw.id --bundle --recipient "$RX" -o pub/b.age "$ID"
[ $? = 0 ] && grep -q "warning: pub/b.age is in pub, which everyone" "$W/err"
ok $? "a world-readable folder: a warning"
run api-export -i cw.id --bundle --recipient "$RX" --override-consent \
	--reason "court order 12/26" -o b9.age "$ID"
[ $? = 1 ] && err1 "only a lead may export a case without its consent; cw is a caseworker" &&
	[ ! -e b9.age ]
ok $? "--override-consent by a caseworker: refused"
run api-export -i ld.id --bundle --recipient "$RX" --override-consent \
	--reason "court order 12/26" "$ID"
[ $? = 0 ] && [ -s "$W/out" ]
ok $? "--override-consent --reason, by a lead, to standard output"
age -d -i rx.key "$W/out" | tar xOf - "$ID/MANIFEST" > m2 2> /dev/null &&
	grep -qx "override court order 12/26" m2 && ! grep -q "^consent" m2
ok $? "the manifest says override and the reason"
api-show --no-pager -i cw.id "$ID" 2> /dev/null | grep -q "court order 12/26"
ok $? "the event records the reason"

# --- the import ----------------------------------------------------------------
export API_DIR=$Z
zbefore=$(refs "$Z")
for b in trunc tamper forged missing; do cp b.tar $b.tar; done
head -c 3000 b.age > trunc.age
perl -0777 -pi -e 's/housing office/housing 0ffice/' tamper.tar
perl -0777 -pi -e 's/^by cw$/by ld/m' forged.tar
tar --delete -f missing.tar "$(grep "^$ID/notes/" list | tail -n 1)" 2> /dev/null
for b in tamper forged missing; do age -r "$RX" -o $b.age $b.tar; done
age -r "$OTHER" -o foreign.age b.tar
printf 'not a bundle\n' > junk.age
ok $? "damaged bundles made with stock tools"

check_refused() {
	# check_refused FILE WORD DESC
	run api-new -i rx.id --import "$1"
	[ $? = 1 ] && err1 "$2" && grep -q "^api-new: $1: " "$W/err" &&
		[ "$(refs "$Z")" = "$zbefore" ]
	ok $? "$3: refused in one line naming the file, store unchanged"
}
check_refused foreign.age "another recipient" "a bundle for another recipient"
check_refused trunc.age "" "a truncated bundle"
check_refused tamper.age "does not match the manifest's SHA-256" "a record changed"
check_refused forged.age "signature" "a manifest changed"
check_refused missing.age "not in the archive" "a record missing"
check_refused junk.age "" "not an age file"
run api-new -i other.id --import b.age
[ $? = 1 ] && err1 "not encrypted to other's key" && [ "$(refs "$Z")" = "$zbefore" ]
ok $? "the other caseworker cannot open rx's bundle"
run api-new -i rx.id --import b.age -m text
[ $? = 2 ] && [ "$(refs "$Z")" = "$zbefore" ]
ok $? "--import takes no -m"

cp -a "$Z" "$W/zrace.0" && cp -a "$Z" "$W/zrace.1" && cp -a "$Z" "$W/zrace.2"
N=$(api-new -i rx.id --import b.age 2> "$W/err")
ok $? "api-new --import"
api_case_id() { echo "$1" | grep -qx '[0-9A-Z]\{10\}'; }
api_case_id "$N" && [ "$N" != "$ID" ] && grep -q "bundle of case $ID" "$W/err" &&
	grep -q "signing key SHA256:" "$W/err"
ok $? "a new case ID; stderr names the source case and the signing key"
FP=$(ssh-keygen -lf cw.pub 2> /dev/null | cut -d' ' -f2)
[ -z "$FP" ] && FP=$(cut -d' ' -f3,4 cw.pub | sed 's/^/x /' |
	ssh-keygen -lf /dev/stdin 2>/dev/null | cut -d' ' -f2)
grep -q "$FP" "$W/err"
ok $? "the fingerprint is cw's as ssh-keygen -l prints it"
api-show --no-pager -i rx.id "$N" > zshow 2> /dev/null
ok $? "the new case opens on the receiving store"
grep -q "Source case: $ID" zshow && grep -q "Consent: event $CONSENT" zshow &&
	grep -q "$SHA" zshow && grep -q "^api-bundle 1" zshow &&
	grep -q "Exported: .* by cw (caseworker), signing key $FP" zshow
ok $? "the intake keeps the provenance: source, consent, bundle hash, manifest"
[ "$(grep -c 'imported' zshow)" -ge "$(grep -c '^record ' $M)" ] &&
	grep -q "$CANARY" zshow && grep -q "Second meeting, \*good\* progress." zshow
ok $? "every record came over"
# each imported note's body is the record byte for byte
bad=0 n=0
for nf in $(git -C "$Z" ls-tree --name-only "main:$(cdir "$N")/notes"); do
	nid=${nf%.md.age}
	api-show --raw -i rx.id "$N" "$nid" > rec 2> /dev/null || bad=1
	src=$(sed -n 's/^Source: //p' rec)
	[ -n "$src" ] || continue
	sed '1,/^$/d' rec > body
	[ "$(sha256sum body | cut -d' ' -f1)" = \
		"$(grep "^record ${src#*/} " $M | cut -d' ' -f3)" ] || bad=1
	grep -q "^Case: $N$" rec && grep -q "^Type: imported$" rec || bad=1
	n=$((n + 1))
done
[ $bad = 0 ] && [ $n = "$(grep -c '^record ' $M)" ]
ok $? "each imported note holds its record byte for byte (SHA-256 as listed)"
API_DIR=$Z api-export -i rx.id --to html "$N" > n.html 2> /dev/null &&
	[ "$(grep -c '<svg' n.html)" -eq 1 ] && ! grep -q '<line ' n.html &&
	grep -q 'ticks: contacts' n.html && [ "$(grep -c '<h3>.* note: imported' n.html)" -ge 10 ]
ok $? "its timeline: no contact tick, though it holds the imported notes (no meeting took place)"
api-status -i rx.id "$N" 2> /dev/null | grep -q "	intake	"
ok $? "the new case starts in intake"
# Api-Bundle: HMAC-SHA-256 of the manifest under HMAC-SHA-256(the
# recipient's X25519 secret key, "api bundle tag"), worked out here with
# openssl from the age identity (bech32 decoded by perl)
SK=$(grep '^AGE-SECRET-KEY-1' rx.key | perl -ne 'chomp; $_ = lc;
	s/^age-secret-key-1//; $cs = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
	$b = ""; $b .= sprintf("%05b", index($cs, $_)) for split //, substr($_, 0, -6);
	print unpack("H*", pack("B*", substr($b, 0, 256)))')
TK=$(printf 'api bundle tag' | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$SK" -r | cut -d' ' -f1)
TAG=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$TK" -r < $M | cut -d' ' -f1)
[ ${#SK} = 64 ] && [ ${#TAG} = 64 ] &&
	[ "$(git -C "$Z" log -1 --format=%B main | sed -n 's/^Api-Bundle: //p')" = "$TAG" ] &&
	! git -C "$Z" log --format=%B main | grep -q "$(sha256sum $M | cut -d' ' -f1)"
ok $? "the import's commit names the bundle by a hash of its manifest keyed by the recipient (Api-Bundle), not by its plain SHA-256"

# --- the same bundle again ---------------------------------------------------------
zbefore=$(refs "$Z")
run api-new -i rx.id --import b.age
[ $? = 1 ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
	grep -q "^api-new: b.age: this bundle was imported already, as case $N; --duplicate" "$W/err" &&
	[ "$(refs "$Z")" = "$zbefore" ]
_v=$?
ok $_v "the same bundle again: refused in one line naming the case it became, store unchanged"
[ $_v = 0 ] || diag "$(cat "$W/err")"
age -d -i rx.key b.age | age -r "$RX" -o b-again.age 2> /dev/null &&
	! cmp -s b.age b-again.age
run api-new -i rx.id --import b-again.age
[ $? = 1 ] && grep -q "imported already, as case $N" "$W/err" && [ "$(refs "$Z")" = "$zbefore" ]
ok $? "... and encrypted anew (another file, the same manifest): refused the same"
# two imports of the bundle at once, into copies made before the first
# one: one opens the case, the other is refused, and the case keeps its
# keys (the refused one removes only its own envelopes)
bad=0
for k in 0 1 2; do
	R=$W/zrace.$k
	(API_DIR=$R api-new -i rx.id --import b.age > r1.out 2> r1.err; echo $? > r1.rc) &
	(API_DIR=$R api-new -i rx.id --import b.age > r2.out 2> r2.err; echo $? > r2.rc) &
	wait
	case "$(cat r1.rc)$(cat r2.rc)" in
	01) WIN=$(cat r1.out); LOSE=r2.err ;;
	10) WIN=$(cat r2.out); LOSE=r1.err ;;
	*) bad=1; diag "race $k: exit $(cat r1.rc) and $(cat r2.rc)"; continue ;;
	esac
	grep -q "imported already, as case $WIN" "$LOSE" &&
		API_DIR=$R api-show --no-pager -i rx.id "$WIN" 2> /dev/null |
		grep -q "Source case: $ID" &&
		[ "$(git -C "$R" log --format=%B main | grep -c '^Api-Bundle: ')" = 1 ] &&
		api-verify -C "$R" > /dev/null 2>&1 || { bad=1; diag "race $k: $(cat "$LOSE")"; }
done
[ $bad = 0 ]
ok $? "two imports of one bundle at once (3 rounds): one case, readable, the other refused"

run api-new -i rx.id --duplicate -m text
[ $? = 2 ] && [ "$(refs "$Z")" = "$zbefore" ]
ok $? "--duplicate without --import: a usage error"
N2=$(api-new -i rx.id --import b.age --duplicate 2> "$W/err")
[ $? = 0 ] && api_case_id "$N2" && [ "$N2" != "$N" ] &&
	api-show --no-pager -i rx.id "$N2" 2> /dev/null | grep -q "Source case: $ID"
ok $? "--duplicate: a second case from it, on purpose"

api-verify -C "$Z" > /dev/null 2>&1 && api-verify -C "$A" > /dev/null 2>&1 &&
	git -C "$Z" fsck --strict > /dev/null 2>&1 && git -C "$A" fsck --strict > /dev/null 2>&1
ok $? "api-verify and git fsck --strict pass on both stores"

# --- no plaintext at rest ------------------------------------------------------
found=0
for S in "$A" "$Z"; do
	git -C "$S" cat-file --batch-all-objects --batch 2> /dev/null |
		grep -a -q "$CANARY" && found=1
	git -C "$S" cat-file --batch-all-objects --batch-check='%(objectname)' |
		while read -r o; do git -C "$S" cat-file -p "$o"; done 2> /dev/null |
		grep -a -q "$CANARY" && found=1
	grep -r -a -q "$CANARY" "$S" && found=1
done
grep -r -a -q "$CANARY" "$TMPDIR" "$XDG_RUNTIME_DIR" "$HOME" && found=1
[ $found = 0 ]
ok $? "the canary is in no object, file of either store, TMPDIR, runtime dir or home"

done_testing
