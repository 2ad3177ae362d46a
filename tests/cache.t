#!/bin/sh
# cache.t - api-status keeps the state of each case between runs, in an
# age file per store and identity under $XDG_CACHE_HOME/api, encrypted
# to that identity: the listing and the reminders are the same with and
# without it after every kind of change (a note, an event, a grant, a
# revoke that changes the lead), and a cache that is corrupt, another
# identity's or switched off is ignored; no case ID or phase is readable
# in it.  A --due run again on the same cases/ tree opens no case at all.
. "$(dirname "$0")/lib.sh"

workdir
export XDG_CACHE_HOME=$T/cache
CD=$XDG_CACHE_HOME/api

for h in adm ld cw1 cw2 svc; do
	api-keygen --handle "$h" --no-passphrase -o "$h.id" > "$h.pub" 2> /dev/null
done
api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw1.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw2.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role service svc.pub > /dev/null 2>&1 &&
	A=$(api-new -i cw1.id -m "intake a" 2> /dev/null) &&
	B=$(api-new -i cw2.id -m "intake b" 2> /dev/null) &&
	api-grant -i ld.id "$A" cw2 > /dev/null 2>&1
ok $? "a store with two cases"

# check WHO DESC: api-status (listing and --due, as of a date in a year)
# is the same with the cache as with API_CACHE=0
n=0
check() {
	n=$((n + 1))
	api-status -i "$1.id" --json > "c$n" 2> "ce$n" &&
		api-status -i "$1.id" --due --within 400 --json >> "c$n" 2>> "ce$n" &&
		API_CACHE=0 api-status -i "$1.id" --json > "u$n" 2> "ue$n" &&
		API_CACHE=0 api-status -i "$1.id" --due --within 400 --json >> "u$n" 2>> "ue$n" &&
		cmp -s "c$n" "u$n" && [ -s "c$n" ]
	ok $? "$2"
}
check svc "the first run as the service identity: the same as without a cache"
files=$(ls "$CD" 2> /dev/null | wc -l)
[ "$files" -eq 1 ] && [ "$(head -c 21 "$CD"/*)" = "age-encryption.org/v1" ] &&
	[ "$(stat -c %a "$CD")" = 700 ]
ok $? "it made one age file in \$XDG_CACHE_HOME/api (a directory of mode 700)"
age -d -i svc.id "$CD"/* > plain 2> /dev/null && grep -q "^api state cache" plain &&
	! grep -qa "$A" "$CD"/* && ! grep -qa "intake" "$CD"/*
ok $? "the service identity's key opens it with stock age; no case ID in the file as stored"
check svc "a second run, from the cache: the same"
# proof that a run takes the states from the cache: one doctored with the
# identity's own key shows through
grep -q '"intake"' "c$n" && sed 's/intake/paused/g' plain > doctored &&
	age -r "$(sed -n 's/^# public: svc \(age1[^ ]*\) .*/\1/p' svc.id)" -o "$CD/$(ls "$CD")" doctored &&
	api-status -i svc.id --json 2> /dev/null | grep -q '"paused"' &&
	! API_CACHE=0 api-status -i svc.id --json 2> /dev/null | grep -q '"paused"'
ok $? "a cache doctored with the identity's key shows through (so it is used), and API_CACHE=0 bypasses it"
age -e -r "$(sed -n 's/^# public: svc \(age1[^ ]*\) .*/\1/p' svc.id)" -o "$CD/$(ls "$CD")" plain

api-status -i cw1.id "$A" --schedule review 2027-01-15 > /dev/null 2>&1 &&
	api-log -i cw1.id "$A" -m "a note" > /dev/null 2>&1
ok $? "a review scheduled and a note added"
check svc "after an event: the same (the case's events changed)"
grep -q 2027-01-15 "c$n"
ok $? "... and the new review date is there"
api-status -i cw2.id "$B" --set intake > /dev/null 2>&1
check ld "a phase moved; the lead's first run: the same"
check ld "the lead's second run: the same"
[ "$(ls "$CD" | wc -l)" -eq 2 ]
ok $? "the lead has a cache file of its own"
api-revoke -i ld.id "$A" cw1 > /dev/null 2>&1
check ld "a revoke that changes the first member (the lead of the case): the same"
grep -q '"cw2"' "c$n"
ok $? "... cw2 is now named for case A"
check cw2 "a caseworker: the same"

# a corrupt cache, and one of another identity in its place
f=$(ls "$CD"/state-* | head -n 1)
printf 'garbage' > "$f"
check svc "a corrupt cache file: ignored, the same"
check svc "... and made again"
for g in "$CD"/state-*; do cp "$g" "$T/x.age"; done
for g in "$CD"/state-*; do cp "$T/x.age" "$g"; done
check svc "every cache file replaced by one identity's: the others' ignored, the same"
check ld "... for the lead too"

# a whole --due run again on the same cases/ tree opens no case: with the
# loose object of a case's team file gone, a run that opened the case
# would fail; after any change to the tree the cases are read again
rm -rf "$CD"
api-status -i svc.id --due --within 400 > due1 2> /dev/null &&
	api-status -i svc.id --due --within 400 > due2 2> /dev/null &&
	cmp -s due1 due2 && [ -s due1 ]
ok $? "--due twice: the same report"
tb=$(git -C "$S" rev-parse "main:$(cdir "$B")/team")
obj=$S/objects/$(echo "$tb" | cut -c1-2)/$(echo "$tb" | cut -c3-)
mv "$obj" "$T/team.obj"
api-status -i svc.id --due --within 400 > due3 2> err3
rc=$?
API_CACHE=0 api-status -i svc.id --due --within 400 > /dev/null 2> err4
rc4=$?
mv "$T/team.obj" "$obj"
[ $rc = 0 ] && cmp -s due1 due3 && [ ! -s err3 ] && [ $rc4 != 0 ]
ok $? "... the third opens no case: it works with a team file's object gone (API_CACHE=0 fails then)"
api-status -i svc.id --due --within 300 > due5 2> /dev/null &&
	API_CACHE=0 api-status -i svc.id --due --within 300 > due6 2> /dev/null &&
	cmp -s due5 due6
ok $? "... another --within: computed again from the states, the same"
api-log -i cw2.id "$B" -m "one more" > /dev/null 2>&1 &&
	mv "$obj" "$T/team.obj"
api-status -i svc.id --due --within 400 > /dev/null 2> err7
rc=$?
mv "$T/team.obj" "$obj"
[ $rc != 0 ] && grep -q "$tb\|object\|team" err7
ok $? "a note added (a new cases/ tree): the cases are opened again"
api-status -i cw1.id --due --within 400 > due8 2> /dev/null &&
	API_CACHE=0 api-status -i cw1.id --due --within 400 > due9 2> /dev/null &&
	cmp -s due8 due9 &&
	api-status -i cw1.id --due --within 400 --for cw1 > due10 2> /dev/null &&
	API_CACHE=0 api-status -i cw1.id --due --within 400 --for cw1 > due11 2> /dev/null &&
	cmp -s due10 due11
ok $? "another identity, and --for: their own runs, the same as without the cache"

rm -rf "$CD"
API_CACHE=0 api-status -i svc.id --due > /dev/null 2>&1
[ ! -e "$CD" ]
ok $? "API_CACHE=0: no cache is written"
done_testing
