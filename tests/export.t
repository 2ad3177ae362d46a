#!/bin/sh
# export.t - api-export: a case as one document in HTML, man, LaTeX, XML
# and CommonMark.  For every format: every note's text and ID and every
# event, the classification marking at the top and bottom of each case
# (and programme.classification in api.conf, set by an admin with stock git), the
# records in time order with the intake first, each note's Markdown
# rendered, raw HTML and control characters kept out, roff and LaTeX
# special characters escaped; HTML self-contained with the marking in
# fixed divs and a timeline in inline SVG, opened by headless Chromium;
# man through groff without a warning and man -l; LaTeX through pdflatex;
# XML through xmllint.  -o FILE (new file only, mode 0600, the plaintext
# warning), several cases, refusals, the read log, and no plaintext left
# behind.  A tool that is not installed (chromium, pdflatex, xmllint,
# groff, man) is a SKIP.
. "$(dirname "$0")/lib.sh"

umask 022
W=$T/work
mkdir -p "$W"
chmod 700 "$W"                  # a private folder: no warning about it
cd "$W" || exit 1
S=$API_DIR
YEAR=$(date -u +%Y)
R=refs/api/reads/$YEAR
DEFAULT="VS-NUR FÜR DEN DIENSTGEBRAUCH"
FORMATS="html man latex xml commonmark"
have() { command -v "$1" >/dev/null 2>&1; }

# run CMD ARGS...: stdout in $W/out, stderr in $W/err
run() { "$@" > "$W/out" 2> "$W/err"; }
# nlog: the number of commits of the year's read log
nlog() { git -C "$S" rev-list --count "$R" 2>/dev/null || echo 0; }
# trailer KEY: a trailer of the newest read
trailer() {
	git -C "$S" log -1 --format=%B "$R" |
		git interpret-trailers --parse | sed -n "s/^$1: //p"
}
refs() { git -C "$S" for-each-ref 2> /dev/null; }
# refused RC CODE WORD DESC: exit CODE, nothing on stdout, one line on
# stderr beginning "api-export: " and naming WORD, the refs (main, the
# keys, the read log) as in $before
refused() {
	[ "$1" -eq "$2" ] && [ ! -s "$W/out" ] && oneline "$W/err" &&
		grep -q '^api-export: ' "$W/err" && grep -qF -- "$3" "$W/err" &&
		[ "$(refs)" = "$before" ]
	_v=$?
	ok $_v "$4"
	[ $_v -eq 0 ] || diag "exit $1 (want $2): $(head -c 300 "$W/err")"
}
# plain FMT FILE: FILE with the escapes of its format undone (enough to
# find the text of the notes in it), on stdout
plain() {
	case $1 in
	html|xml) sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' \
			-e 's/&amp;/\&/g' "$2" ;;
	man) sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/^\\&//' "$2" |
			perl -CS -pe 's/\\\[u([0-9A-F]{4,6})\]/chr(hex($1))/ge' ;;
	latex) sed -e 's/{\[}/[/g' -e 's/{\]}/]/g' -e 's/\\\([$&%#_{}]\)/\1/g' \
			-e 's/\\textbackslash{}/\\/g' -e 's/\\textasciitilde{}/~/g' \
			-e 's/\\^{}/^/g' "$2" ;;
	commonmark) sed -e 's/\\\([[:punct:]]\)/\1/g' "$2" ;;
	esac
}
# markline FMT MARK: the line (after plain, leading blanks removed) of a
# marking paragraph in FMT; headline FMT ID: the line of a case's heading
markline() {
	case $1 in
	html) printf '<p><strong>%s</strong></p>\n' "$2" ;;
	man) printf '\\f[B]%s\\f[]\n' "$2" ;;
	latex) printf '\\textbf{%s}\n' "$2" ;;
	xml) printf '<text xml:space="preserve">%s</text>\n' "$2" ;;
	commonmark) printf '**%s**\n' "$2" ;;
	esac
}
headline() {
	case $1 in
	html) printf '<h1>Case %s</h1>\n' "$2" ;;
	man) printf 'Case %s\n' "$2" ;;
	latex) printf '\\section{Case %s}\n' "$2" ;;
	xml) printf '<text xml:space="preserve">Case %s</text>\n' "$2" ;;
	commonmark) printf '# Case %s\n' "$2" ;;
	esac
}
# tokens FMT FILE MARK ID...: the document as a word: M for a marking
# paragraph, H for the heading of one of the cases ID, R for a line
# naming a record (runs of R as one); "MHRM" for each case when every
# case opens and closes with the marking
tokens() {
	_f=$1 _p=$W/tok.plain
	plain "$1" "$2" > "$_p"
	_m=$(markline "$1" "$3")
	shift 3
	_h=
	for _i; do _h="$_h$(headline "$_f" "$_i")
"; done
	# (through the environment: awk -v would take \f and \t as escapes)
	M=$_m HEADS=$_h awk -v fmt="$_f" '
		BEGIN { m = ENVIRON["M"]; n = split(ENVIRON["HEADS"], h, "\n")
			for (i = 1; i <= n; i++) if (h[i] != "") head[h[i]] = 1 }
		{ t = $0; sub(/^[ \t]+/, "", t) }
		t == m && (fmt != "xml" || prev == "<strong>") { printf "M" }
		t in head { printf "H" }
		/[0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]\.[0-9][0-9][0-9]Z-[0-9a-z]/ { printf "R" }
		{ prev = t }' "$_p" | tr -s R
}
# ids FMT FILE: the record IDs in the document, in order, one a line
ids() {
	plain "$1" "$2" |
		grep -oE '[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-z]{6}'
}
# dates FMT FILE: the dates of the record headings, in order
dates() {
	plain "$1" "$2" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2} (note|event): ' |
		cut -d' ' -f1
}
# svg FILE: the first inline SVG of an HTML file
svg() { sed -n '/<svg/,/<\/svg>/p' "$1" | sed '/<\/svg>/q'; }
# mode FILE: its permission bits, octal
mode() { stat -c %a "$1"; }

# --- staff and a case ------------------------------------------------------------------
bad=0
for h in adm ld cw other; do
	api-keygen --handle $h --no-passphrase -o $h.id > $h.pub 2> /dev/null || bad=1
done
[ $bad -eq 0 ] && api-init -i adm.id 2> /dev/null &&
	api-staff -i adm.id add --role lead ld.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker cw.pub > /dev/null 2>&1 &&
	api-staff -i adm.id add --role caseworker other.pub > /dev/null 2>&1 &&
	ssh_staff "$W" sadm admin adm.id
ok $? "a store: adm, sadm (admins, sadm with an OpenSSH key), ld (lead), cw and other (caseworkers)"

CANARY=CANARY-export-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
A=$(api-new -i cw.id --date 2026-01-05 -m "Intake: met at the probation office." 2> /dev/null)
N0=$(git -C "$S" ls-tree --name-only "main:$(cdir "$A")/notes" 2>/dev/null | sed 's/\.md\.age$//')
[ -n "$A" ] && [ -n "$N0" ]
ok $? "cw opens case A on 2026-01-05 with its intake note"

# Markdown: headings, lists, code, emphasis, a link, a quote
cat > md.md <<'EOF'
# Housing office

The *housing office* refused the flat on **Kantstrasse**, see [the letter](https://example.org/letter).

- call the landlord
- ask about the deposit

1. first step
2. second step

Then:

    indented code line

```sh
echo fenced code
```

> a quoted remark
EOF
# raw HTML, an image, a javascript: link
cat > html.md <<'EOF'
Met the police liaison.

<script>alert("exfil")</script>

<img src=http://evil.example/p.png>

Inline <span onclick="steal()">span</span>, a ![tracking pixel](http://tracker.example/p.gif) and [a trap](javascript:alert(1)).
EOF
# characters special to roff and to LaTeX
SPECIAL='Costs: $5 & 10% off, item #3, file_name, {braces}, back\slash, tilde ~ and caret ^.'
cat > special.md <<EOF
$SPECIAL
.TH EVIL 1
.so /etc/passwd
'br
A path C:\\temp\\new and \\fBnot bold\\fR in the text.
EOF
N1=$(api-log -i cw.id "$A" -t psychosocial --date 2026-02-10 -F md.md 2> /dev/null)
N2=$(api-log -i cw.id "$A" -t crisis --date 2026-01-20 -m "A late crisis call about the family." 2> /dev/null)
N3=$(api-log -i cw.id "$A" -t network --partner police --date 2026-03-10 -F html.md 2> /dev/null)
N4=$(api-log -i cw.id "$A" -t admin --date 2026-02-20 -F special.md 2> /dev/null)
N5=$(api-log -i cw.id "$A" -t ideological --date 2026-04-02 -m "Canary note: $CANARY" 2> /dev/null)
N6=$(api-log -i cw.id "$A" -t admin --date 2025-12-15 -m "Referral paperwork from the prison service; Gespräch mit Frau Müller über die Straße." 2> /dev/null)
N7=$(printf 'Controls: bell\007 esc \033[31mred\033[0m csi \302\233x del\177 end.\n' |
	api-log -i cw.id "$A" -t admin --date 2026-04-20 2> /dev/null)
[ -n "$N1" ] && [ -n "$N2" ] && [ -n "$N3" ] && [ -n "$N4" ] && [ -n "$N5" ] &&
	[ -n "$N6" ] && [ -n "$N7" ]
ok $? "seven notes of five types, written out of date order (one dated before the intake)"

# newev: the event added by main's tip commit
newev() { git -C "$S" diff-tree -r --name-only --diff-filter=A main~1 main |
	sed -n 's|^cases/.*/events/\(.*\)\.age$|\1|p'; }
# the opening event: the one event of type opened that api-new wrote
# (found by its type, not by its ID's time, which under a slow run such
# as make valgrind need not be the intake note's millisecond)
E0=$(git -C "$S" ls-tree --name-only "main:$(cdir "$A")/events" | sed 's/\.age$//' |
	while read -r e; do
		api-show -i cw.id --raw "$A" "$e" 2> /dev/null |
			grep -qx 'Type: opened' && echo "$e"; done)
[ "$(printf '%s\n' "$E0" | grep -c .)" -eq 1 ] || E0=
api-status -i cw.id "$A" --set active --date 2026-02-01 > /dev/null 2>&1 && E1=$(newev)
api-status -i cw.id "$A" --set paused --date 2026-03-15 > /dev/null 2>&1 && E2=$(newev)
api-status -i cw.id "$A" --set active --date 2026-04-01 > /dev/null 2>&1 && E3=$(newev)
E4=$(api-status -i cw.id "$A" --schedule review 2026-05-01 2> /dev/null)
[ -n "$E0" ] && [ -n "${E1:-}" ] && [ -n "${E2:-}" ] && [ -n "${E3:-}" ] && [ -n "$E4" ]
ok $? "the opening event, three phase changes (active, paused, active) and a scheduled review"

# the records in the order wanted: the intake, then by date (then ID)
{
	echo "$N0"
	printf '%s %s\n' 2025-12-15 "$N6" 2026-01-05 "$E0" 2026-01-20 "$N2" \
		2026-02-01 "$E1" 2026-02-10 "$N1" 2026-02-20 "$N4" 2026-03-10 "$N3" \
		2026-03-15 "$E2" 2026-04-01 "$E3" 2026-04-02 "$N5" 2026-04-20 "$N7" \
		2026-05-01 "$E4" | LC_ALL=C sort | cut -d' ' -f2
} > order.want
NOTES="$N0 $N1 $N2 $N3 $N4 $N5 $N6 $N7"
# what every format must hold of the notes' text, one phrase a line
cat > phrases <<EOF
Intake: met at the probation office.
Referral paperwork from the prison service; Gespräch mit Frau Müller über die Straße.
A late crisis call about the family.
ask about the deposit
Met the police liaison.
$SPECIAL
Canary note: $CANARY
EOF

B=$(api-new -i cw.id --assign other --date 2026-06-01 -m "Second client, intake." 2> /dev/null)
NB1=$(api-log -i other.id "$B" -t network --date 2026-06-03 -m "Case B: the job centre." 2> /dev/null)
[ -n "$B" ] && [ -n "$NB1" ]
ok $? "case B (cw and other on its team) with a note by other"

# --- every format -------------------------------------------------------------------------
for f in $FORMATS; do
	n=$(nlog)
	run api-export -i cw.id --to $f "$A"
	rc=$?
	cp out "A.$f"
	[ $rc -eq 0 ] && [ -s "A.$f" ] && [ ! -s err ] && [ "$(nlog)" -eq $((n + 1)) ]
	ok $? "$f: exit 0, the document on stdout, nothing on stderr, one read logged"
	plain $f "A.$f" > "A.$f.plain"
	bad=
	while IFS= read -r p; do grep -qF -- "$p" "A.$f.plain" || bad="$bad [$p]"; done < phrases
	for id in $NOTES $E0 $E1 $E2 $E3 $E4; do
		grep -qF -- "$id" "A.$f.plain" || bad="$bad $id"
	done
	[ -z "$bad" ]
	ok $? "$f: the text of every note, every note ID and every event ID"
	[ -z "$bad" ] || diag "missing:$bad"
	grep -qF 'Controls: bell� esc �[31mred�[0m csi �x del� end.' "A.$f.plain" &&
		! LC_ALL=C grep -q "$(printf '[\001-\010\013\014\016-\037\177]')" "A.$f" &&
		! LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "A.$f"
	ok $? "$f: control characters of a note shown as U+FFFD, none in the output"
	bad=
	for ev in "event: opened" "event: phase" "event: review" "Phase" "paused" "From"; do
		grep -qF "$ev" "A.$f.plain" || bad="$bad [$ev]"
	done
	[ -z "$bad" ]
	ok $? "$f: the events with their fields (opened, phase changes with From, review)"
	ids $f "A.$f" > order.got
	cmp -s order.got order.want
	ok $? "$f: the records in time order, the intake first (the note dated before it next)"
	cmp -s order.got order.want || diag "$(diff order.want order.got | head -n 8)"
	dates $f "A.$f" > dates.got
	[ "$(head -n 1 dates.got)" = 2026-01-05 ] && [ "$(wc -l < dates.got)" -eq 13 ] &&
		sed 1d dates.got | LC_ALL=C sort -c 2> /dev/null
	ok $? "$f: 13 record headings, the intake's (2026-01-05) first, the others' dates ascending"
	[ "$(tokens $f "A.$f" "$DEFAULT" "$A")" = MHRM ]
	ok $? "$f: the marking opens and closes the case ($(tokens $f "A.$f" "$DEFAULT" "$A"))"
	if [ $f = xml ]; then
		grep -A3 '>Classification<' "A.$f.plain" | grep -qF ">$DEFAULT<"
	else
		grep -F Classification "A.$f.plain" | grep -qF ": $DEFAULT"
	fi
	ok $? "$f: the cover names the classification"
	grep -qF "Team" "A.$f.plain" && grep -qF "cw (lead)" "A.$f.plain" &&
		grep -qF "active (since 2026-04-01)" "A.$f.plain" &&
		grep -qF "2026-01-05 to 2026-05-01" "A.$f.plain"
	ok $? "$f: the cover gives the phase, the team and the period"
done

# --- HTML -----------------------------------------------------------------------------------
[ "$(grep -c '<!DOCTYPE html>' A.html)" -eq 1 ] && [ "$(grep -c '</html>' A.html)" -eq 1 ] &&
	grep -q '<style>' A.html
ok $? "html: one document, its style inline"
! grep -qiE 'src=|url\(|<link|<script|<img|<iframe|<object|<embed|@import' A.html
ok $? "html: self-contained: no src=, url(, <link, <script, <img, <iframe, <object, <embed, @import"
grep -oiE '[a-z:-]+="[a-z]+:[^"]*"' A.html | grep -vE '^(xmlns="http://www\.w3\.org/2000/svg"|href="https?://[^"]*")$' > urls
[ ! -s urls ] && grep -q 'href="https://example.org/letter"' A.html
ok $? "html: URLs only in xmlns and in links (<a href>), never fetched"
[ -s urls ] && diag "$(head -n 3 urls)"
grep -qF "content=\"default-src 'none'" A.html
ok $? "html: a Content-Security-Policy that forbids every fetch"
! grep -qi 'onclick\|javascript:\|evil\.example' A.html &&
	[ "$(grep -c '<!-- raw HTML omitted -->' A.html)" -ge 3 ] &&
	grep -q '<a href="">a trap</a>' A.html
ok $? "html: raw HTML of a note left out (no script, no img, no onclick), the javascript: link emptied"
grep -q '<a href="http://tracker.example/p.gif"[^>]*>tracking pixel</a>' A.html
ok $? "html: a Markdown image in a note becomes a link, not a fetch"
grep -q '^<h4>Housing office</h4>$' A.html && grep -q '<em>housing office</em>' A.html &&
	grep -q '<strong>Kantstrasse</strong>' A.html && grep -q '<li>call the landlord</li>' A.html &&
	grep -q '<ol>' A.html && grep -q '<pre><code>indented code line' A.html &&
	grep -q '<code class="language-sh">echo fenced code' A.html && grep -q '<blockquote>' A.html
ok $? "html: a note's Markdown rendered (its heading below the note's, emphasis, lists, code, quote)"
grep -q '^\.TH EVIL 1$' A.html && grep -qF 'C:\temp\new and \fBnot bold\fR' A.html &&
	grep -qF 'Costs: $5 &amp; 10% off' A.html
ok $? "html: roff and LaTeX characters as they are, & escaped"
grep -qxF "<div class=\"marking top\">$DEFAULT</div>" A.html &&
	grep -qxF "<div class=\"marking bottom\">$DEFAULT</div>" A.html &&
	grep -q '^\.marking{position:fixed;' A.html && grep -qF '.top{top:0}.bottom{bottom:0}' A.html
ok $? "html: the marking in a fixed div at the top and one at the bottom (every screen and printed page)"
svg A.html > a.svg
[ "$(grep -c '<svg' A.html)" -eq 1 ] && grep -q 'xmlns="http://www.w3.org/2000/svg"' a.svg &&
	[ "$(grep -o '<rect [^>]*>' a.svg | wc -l)" -eq 4 ] &&
	[ "$(grep -o '<title>[a-z]*</title>' a.svg | tr -d '\n')" = "<title>intake</title><title>active</title><title>paused</title><title>active</title>" ]
ok $? "html: an inline SVG timeline with one band per phase period (intake, active, paused, active)"
xs=$(grep -o '<rect x="[0-9.]*"' a.svg | grep -o '[0-9.]*')
[ "$(printf '%s\n' $xs | sort -n)" = "$(printf '%s\n' $xs)" ] &&
	[ "$(grep -c '<line ' a.svg)" -eq 8 ] && grep -q 'ticks: contacts' a.svg
ok $? "html: the bands in time order, one tick per contact event (8: the intake, 7 notes)"
if have chromium; then
	# as root Chromium runs only without its sandbox; its profile and
	# temporary files stay in the test's work folder
	mkdir -p chrome ctmp
	sbx=
	[ "$(id -u)" -eq 0 ] && sbx=--no-sandbox
	TMPDIR=$W/ctmp XDG_RUNTIME_DIR=$W/ctmp timeout 120 chromium --headless $sbx --disable-gpu \
		--user-data-dir="$W/chrome" --window-size=1000,1400 \
		--screenshot="$W/A.png" "file://$W/A.html" > chrome.log 2>&1
	[ -s A.png ] && [ "$(od -An -tx1 -N8 A.png | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(od -An -tu1 -j16 -N8 A.png | tr -s ' ' | sed 's/^ //')" = "0 0 3 232 0 0 5 120" ]
	ok $? "html: headless Chromium opens it and writes a 1000x1400 PNG screenshot"
	[ -s A.png ] || diag "$(tail -n 3 chrome.log)"
	# kept for a look at the page (made-up test data, no client's)
	shot=$(cd "$(dirname "$(command -v api-export)")/.." && pwd)/export-screenshot.png
	[ -s A.png ] && cp A.png "$shot" && diag "screenshot: $shot"
	if have pdftotext; then
		# printed: the fixed divs repeat on every page
		TMPDIR=$W/ctmp XDG_RUNTIME_DIR=$W/ctmp timeout 120 chromium --headless $sbx \
			--disable-gpu --user-data-dir="$W/chrome" --no-pdf-header-footer \
			--print-to-pdf="$W/A-html.pdf" "file://$W/A.html" > chrome.log 2>&1
		pdftotext A-html.pdf A-html.txt 2> /dev/null || : > A-html.txt
		pages=$(M=$DEFAULT awk -v RS='\f' '
			/[^ \n]/ { all++; n = 0; s = $0
			  while ((i = index(s, ENVIRON["M"])) > 0) { n++; s = substr(s, i + 1) }
			  if (n >= 2) good++ }
			END { print good + 0, all + 0 }' A-html.txt)
		[ "${pages% *}" = "${pages#* }" ] && [ "${pages#* }" -ge 2 ] 2> /dev/null
		ok $? "html: printed by Chromium, the marking twice (top and bottom) on every page ($pages)"
		tr -d '\f' < A-html.txt | grep -F "$DEFAULT" | grep -vxF "$DEFAULT" | grep -vxF "Classification: $DEFAULT" > overlap
		[ -s A-html.txt ] && [ ! -s overlap ]
		ok $? "html: printed, no text runs into the markings (the table head and foot keep it clear)"
		[ -s overlap ] && diag "$(head -n 2 overlap)"
	else
		skip "pdftotext not installed (Debian poppler-utils): printed pages not read"
		skip "pdftotext not installed"
	fi
	[ -n "${API_SCREENSHOT:-}" ] && [ -s A.png ] && cp A.png "$API_SCREENSHOT"
else
	skip "chromium not installed (Debian package chromium): no screenshot"
	skip "chromium not installed: not printed"
	skip "chromium not installed: not printed"
fi

# --- man ---------------------------------------------------------------------------------------
# the roff of the marking: ASCII, its Ü as \[u00DC]
DROFF='VS-NUR F\[u00DC]R DEN DIENSTGEBRAUCH'
[ "$(head -n 1 A.man)" = ".TH \"API-EXPORT\" \"7\" \"$DROFF\" \"$(date -u +%Y-%m-%d)\" \"$DROFF\"" ] ||
	[ "$(head -n 1 A.man)" = ".TH \"API-EXPORT\" \"7\" \"$DROFF\" \"$(date +%Y-%m-%d)\" \"$DROFF\"" ]
ok $? "man: .TH carries the marking for the page header and footer"
grep -q '^\\&\.TH EVIL 1$' A.man && grep -q '^\\&\.so /etc/passwd$' A.man &&
	grep -q "^\\\\&'br\$" A.man && ! grep -q '^\.so' A.man
ok $? "man: note lines starting with . or ' escaped (\\&), no request from a note"
if have groff; then
	groff -man -ww -z A.man > gw 2>&1
	[ $? -eq 0 ] && [ ! -s gw ]
	ok $? "man: groff -man -ww prints no warning"
	[ -s gw ] && diag "$(head -n 3 gw)"
	! LC_ALL=C grep -q "$(printf '[\200-\377]')" A.man &&
		groff -man -Tutf8 -rLL=300n A.man 2> /dev/null | grep -q 'Frau Müller über die Straße'
	ok $? "man: ASCII roff, other characters as \\[uXXXX]: groff renders the umlauts without -k"
else
	skip "groff not installed"
	skip "groff not installed"
fi
if have man; then
	LC_ALL=C.UTF-8 MANWIDTH=200 man -l A.man > man.txt 2> man.err
	[ $? -eq 0 ] && [ ! -s man.err ] && head -n 1 man.txt | grep -qF "$DEFAULT" &&
		head -n 1 man.txt | grep -q '^API-EXPORT(7)' && tail -n 1 man.txt | grep -qF "$DEFAULT"
	ok $? "man: man -l renders it, the marking in the header line and in the footer"
	grep -qF '.TH EVIL 1 .so /etc/passwd '"'"'br A path C:\temp\new and \fBnot bold\fR in the text.' man.txt &&
		grep -qF "$SPECIAL" man.txt && grep -qF 'Housing office' man.txt &&
		grep -qF 'echo fenced code' man.txt
	ok $? "man: the roff special characters of a note rendered as text"
else
	skip "man not installed"
	skip "man not installed"
fi

# --- LaTeX ---------------------------------------------------------------------------------------
sed '/^\\begin{document}$/q' A.latex > preamble
grep -qx '\\usepackage{fancyhdr}' preamble && grep -qx '\\pagestyle{fancy}' preamble &&
	grep -qxF "\\fancyhead[C]{\\textbf{$DEFAULT}}" preamble &&
	grep -qF "\\fancyfoot[C]{\\textbf{$DEFAULT}" preamble &&
	tail -n 1 preamble | grep -qx '\\begin{document}'
ok $? "latex: the preamble sets fancyhdr with the marking in the header and footer of every page"
sed '1,/^\\begin{document}$/d' A.latex > body
! grep -qE '(^|[^\\])[$&%#_~]' body && ! grep -qE '(^|[^\\])\^' body &&
	grep -qF 'Costs: \$5 \& 10\% off, item \#3, file\_name, \{braces\}, back\textbackslash{}slash, tilde \textasciitilde{} and caret \^{}.' body
ok $? "latex: \$ & % # _ { } \\ ~ ^ of the notes escaped"
grep -q '\\emph{housing office}' body && grep -q '\\textbf{Kantstrasse}' body &&
	grep -q '\\begin{enumerate}' body && grep -q '\\begin{verbatim}' body &&
	grep -qF '\href{https://example.org/letter}{the letter}' body && ! grep -q 'includegraphics' body
ok $? "latex: the Markdown rendered (emphasis, lists, code, link), no image included"
grep -qF '\href{http://tracker.example/p.gif}{tracking pixel}' body && ! grep -q 'javascript:' body &&
	grep -qF '{a trap}' body
ok $? "latex: an image becomes a link; the javascript: link emptied, as in HTML"
if have pdflatex; then
	mkdir -p tex
	(cd tex && timeout 300 pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape \
		"$W/A.latex" < /dev/null > pdflatex.out 2>&1)
	[ $? -eq 0 ] && [ -s tex/A.pdf ] && head -c 5 tex/A.pdf | grep -q '^%PDF-'
	ok $? "latex: pdflatex compiles it to a PDF"
	[ -s tex/A.pdf ] || diag "$(grep -A2 '^!' tex/pdflatex.out | head -n 6)"
else
	skip "pdflatex not installed (Debian texlive-latex-base): not compiled"
fi

# --- XML -------------------------------------------------------------------------------------------
[ "$(head -n 1 A.xml)" = '<?xml version="1.0" encoding="UTF-8"?>' ] &&
	grep -q '<heading level="4">' A.xml && grep -q '<emph>' A.xml &&
	grep -q '<code_block' A.xml && grep -q '<block_quote>' A.xml &&
	grep -q '<link destination="https://example.org/letter"' A.xml && ! grep -q '<image' A.xml
ok $? "xml: the CommonMark XML of the notes (headings, emphasis, code, quote, link; no image)"
if have xmllint; then
	xmllint --noout A.xml > xl 2>&1
	[ $? -eq 0 ] && [ ! -s xl ]
	ok $? "xml: xmllint --noout accepts it"
	[ -s xl ] && diag "$(head -n 3 xl)"
else
	skip "xmllint not installed (Debian libxml2-utils)"
fi

# --- CommonMark --------------------------------------------------------------------------------------
grep -qx '#### Housing office' A.commonmark && grep -q '\*housing office\*' A.commonmark &&
	grep -qF '[the letter](https://example.org/letter)' A.commonmark &&
	grep -qF 'echo fenced code' A.commonmark && grep -qF '> a quoted remark' A.commonmark &&
	grep -qF '<script>alert("exfil")</script>' A.commonmark
ok $? "commonmark: every note body there, as Markdown (raw HTML kept as the note's text)"

# --- -o FILE ----------------------------------------------------------------------------------------
n=$(nlog)
run api-export -i cw.id --to html -o "$W/A-o.html" "$A"
[ $? -eq 0 ] && [ ! -s out ] && cmp -s A-o.html A.html && [ "$(nlog)" -eq $((n + 1)) ]
ok $? "-o FILE: exit 0, nothing on stdout, the file holds the document, the read logged"
[ "$(mode A-o.html)" = 600 ]
ok $? "-o FILE: mode 0600 (umask 022)"
oneline err && grep -q '^api-export: ' err && grep -qF "A-o.html" err && grep -q 'not encrypted' err
ok $? "-o FILE: one warning on stderr that the file is plaintext"
mkdir -m 755 "$W/pub"
run api-export -i cw.id --to html -o "$W/pub/A.html" "$A"
[ $? -eq 0 ] && [ "$(grep -c '^api-export: ' err)" = 2 ] &&
	grep -q "warning: $W/pub/A.html is in $W/pub, which everyone on this machine can read" err
ok $? "-o FILE in a folder everyone can read: one more warning"
grep -q 'plain text' err && grep -q 'delete it' err
ok $? "... which says to delete it when done"
printf 'keep me\n' > exists
cp exists exists.want
before=$(refs)
run api-export -i cw.id --to man -o "$W/exists" "$A"
refused $? 1 exists "-o an existing file: refused, exit 1, one line naming it, nothing logged"
cmp -s exists exists.want && [ "$(mode exists)" = 644 ]
ok $? "... the file unchanged"
ln -s "$W/target" link
run api-export -i cw.id --to man -o "$W/link" "$A"
refused $? 1 link "-o a dangling symbolic link: refused"
[ ! -e target ]
ok $? "... nothing written where it points"
run api-export -i cw.id --to man -o "$W/nodir/x.man" "$A"
refused $? 1 nodir "-o in a missing directory: refused, one line"

# --- several cases ----------------------------------------------------------------------------------
for f in $FORMATS; do
	n=$(nlog)
	run api-export -i cw.id --to $f "$A" "$B"
	rc=$?
	cp out "AB.$f"
	plain $f "AB.$f" > "AB.$f.plain"
	[ $rc -eq 0 ] && grep -qF "$(headline $f "$A")" "AB.$f.plain" &&
		grep -qF "$(headline $f "$B")" "AB.$f.plain" &&
		grep -qF "Case B: the job centre." "AB.$f.plain" && grep -qF "$NB1" "AB.$f.plain" &&
		grep -qF "Canary note: $CANARY" "AB.$f.plain" && [ "$(nlog)" -eq $((n + 1)) ]
	ok $? "$f: A and B in one run: both cases, one read logged"
	[ "$(tokens $f "AB.$f" "$DEFAULT" "$A" "$B")" = MHRMMHRM ]
	ok $? "$f: each case opens and closes with the marking ($(tokens $f "AB.$f" "$DEFAULT" "$A" "$B"))"
done
[ "$(trailer Api-Cases)" = 2 ] && [ "$(trailer Api-Program)" = api-export ] &&
	[ "$(git -C "$S" show "$R:cases")" = "$(printf '%s\n' "$A" "$B" | LC_ALL=C sort)" ]
ok $? "the read of two cases: one commit listing both"
[ "$(grep -c '<!DOCTYPE html>' AB.html)" -eq 1 ] && [ "$(grep -c '<section class="case">' AB.html)" -eq 2 ] &&
	[ "$(grep -c '<svg' AB.html)" -eq 2 ] && [ "$(grep -c '</html>' AB.html)" -eq 1 ]
ok $? "html: one document, one section and one timeline per case"
[ "$(grep -c '^\.TH' AB.man)" -eq 1 ] &&
	[ "$(grep -c '^\\begin{document}' AB.latex)" -eq 1 ] && [ "$(grep -c '^\\end{document}' AB.latex)" -eq 1 ] &&
	grep -qx '\\clearpage' AB.latex &&
	[ "$(grep -c '^<?xml' AB.xml)" -eq 1 ] && [ "$(grep -c '<document' AB.xml)" -eq 1 ] &&
	[ "$(grep -c '</document>' AB.xml)" -eq 1 ]
ok $? "man, latex, xml: one document (one .TH; one \\begin{document}, a new page per case; one root)"
M=$(markline commonmark "$DEFAULT") awk '$0 == ENVIRON["M"] && prev == $0 { bad = 1 } { prev = $0 } END { exit bad }' AB.commonmark &&
	[ "$(grep -cx -- ----- AB.commonmark)" -eq 1 ]
ok $? "commonmark: a rule between the cases, the two markings not run into one paragraph"
if have xmllint; then
	xmllint --noout AB.xml 2> /dev/null
	ok $? "xml: xmllint accepts the document of two cases"
else
	skip "xmllint not installed"
fi
if have groff; then
	groff -man -ww -z AB.man > gw 2>&1
	[ $? -eq 0 ] && [ ! -s gw ]
	ok $? "man: groff -ww: no warning for two cases"
else
	skip "groff not installed"
fi
if have pdflatex; then
	(cd tex && timeout 300 pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape \
		"$W/AB.latex" < /dev/null > pdflatex2.out 2>&1) && [ -s tex/AB.pdf ]
	ok $? "latex: pdflatex compiles the document of two cases"
else
	skip "pdflatex not installed"
fi

# --- refusals ---------------------------------------------------------------------------------------
before=$(refs)
run api-export -i other.id --to html "$A"
refused $? 1 "other is not on the team of case $A" "a case the user is not on: exit 1, one line, nothing logged"
run api-export -i other.id --to html -o "$W/no.html" "$B" "$A"
refused $? 1 "other is not on the team of case $A" "... with another case the user may read: the same"
[ ! -e no.html ]
ok $? "... and no -o file made"
U=ZZZZZZZZZZ
[ "$A" = "$U" ] || [ "$B" = "$U" ] && U=YYYYYYYYYY
run api-export -i cw.id --to html "$U"
refused $? 1 "$U" "an unknown case: exit 1, one line naming it"
P=$(api-new -i cw.id --date 2020-01-01 -m "A case to purge." 2> /dev/null)
api-status -i cw.id "$P" --set closed --reason completed --date 2020-02-01 > /dev/null 2>&1 &&
	api-purge -i adm.id "$P" --force --reason "consent withdrawn" > /dev/null 2>&1
ok $? "case P, closed and purged"
before=$(refs)
run api-export -i cw.id --to html -o "$W/p.html" "$P"
refused $? 1 purged "a purged case: exit 1, one line, nothing logged"
[ ! -e p.html ]
ok $? "... no -o file made"
run api-export -i cw.id "$A"
[ $? -eq 2 ] && [ ! -s out ] && grep -q '^usage: api-export' err && [ "$(refs)" = "$before" ]
ok $? "no --to: exit 2, usage"
run api-export -i cw.id --to pdf "$A"
[ $? -eq 2 ] && [ ! -s out ] && oneline err && grep -q 'pdf' err && [ "$(refs)" = "$before" ]
ok $? "--to pdf: exit 2, one line naming it"
run api-export -i cw.id --to html
[ $? -eq 2 ] && [ ! -s out ] && grep -q '^usage: api-export' err
ok $? "no CASE: exit 2, usage"
run api-export -i cw.id --frob --to html "$A"
[ $? -eq 2 ] && [ ! -s out ]
ok $? "an unknown option: exit 2"
mkdir -p empty
(cd empty && unset API_DIR && api-export -i "$W/cw.id" --to html "$A" > "$W/out" 2> "$W/err")
rc=$?
[ $rc -eq 1 ] && [ ! -s out ] && oneline err && grep -q '^api-export: ' err &&
	grep -qi 'store' err
ok $? "outside a store: exit 1, one line"
run api-export --help
[ $? -eq 0 ] && head -n 1 out | grep -q '^api-export - .' && grep -q '^usage: api-export' out
ok $? "--help"

# --- the read log -----------------------------------------------------------------------------------
n=$(nlog)
run api-export -i cw.id --to commonmark "$A"
[ $? -eq 0 ] && [ "$(nlog)" -eq $((n + 1)) ] && [ "$(trailer Api-Action)" = read ] &&
	[ "$(trailer Api-Program)" = api-export ] && [ "$(trailer Api-Purpose)" = export ] &&
	[ "$(trailer Api-Case)" = "$A" ] && [ "$(trailer Api-Cases)" = 1 ] &&
	[ "$(git -C "$S" log -1 --format='%an' "$R")" = cw ]
ok $? "read log: one commit by cw, Api-Program api-export, Api-Purpose export, Api-Case A"
run api-export -i cw.id --purpose "case conference 2026-05" --to man "$A"
[ $? -eq 0 ] && [ "$(nlog)" -eq $((n + 2)) ] && [ "$(trailer Api-Purpose)" = "case conference 2026-05" ]
ok $? "--purpose TEXT: the Api-Purpose"
git -C "$S" show main:allowed_signers > allowed_signers
git -C "$S" -c gpg.ssh.allowedSignersFile="$W/allowed_signers" verify-commit "$R" 2> /dev/null
ok $? "stock git verifies the export's read commit"
before=$(refs)
run api-export -i cw.id --purpose "$(printf 'bad\tpurpose')" --to man "$A"
[ $? -eq 2 ] && [ ! -s out ] && [ "$(refs)" = "$before" ]
ok $? "--purpose with a control character: exit 2, nothing read or logged"

# settings, by an admin with stock git: gitconf KEY VALUE
gitconf() {
	git -C "$S" show main:api.conf > conf &&
	git config -f conf "$1" "$2" &&
	git_commit "$W" sadm "$(git_tree "$W" add api.conf conf)" \
		"$(printf 'conf: settings changed\n\nApi-Action: conf\nApi-Object: api.conf')" &&
	api-verify > /dev/null 2>&1
}
gitconf readlog.mandatory true
ok $? "sadm sets readlog.mandatory = true (stock git, signed; api-verify passes)"
: > "$S/$R.lock"
before=$(refs)
run api-export -i cw.id --to html -o "$W/locked.html" "$A"
refused $? 1 "read refused" "the log locked, readlog.mandatory: refused before anything is decrypted"
[ ! -e locked.html ]
ok $? "... no -o file left"
run api-export -i cw.id --to commonmark "$A"
refused $? 1 "read refused" "... and nothing on stdout without -o"
rm -f "$S/$R.lock"

# --- the marking from api.conf ---------------------------------------------------------------------
MARK='STAFF ONLY & NEED-TO-KNOW (100%) #7'
gitconf programme.classification "$MARK"
ok $? "sadm sets programme.classification (with & % # in it) by a signed stock-git commit; api-verify passes"
for f in $FORMATS; do
	run api-export -i cw.id --to $f "$A"
	rc=$?
	cp out "M.$f"
	[ $rc -eq 0 ] && [ "$(tokens $f "M.$f" "$MARK" "$A")" = MHRM ] && ! grep -qF "$DEFAULT" "M.$f"
	ok $? "$f: programme.classification opens and closes the case; the default is gone"
done
grep -qxF '<div class="marking top">STAFF ONLY &amp; NEED-TO-KNOW (100%) #7</div>' M.html &&
	grep -qxF '<div class="marking bottom">STAFF ONLY &amp; NEED-TO-KNOW (100%) #7</div>' M.html
ok $? "html: the new marking in the fixed top and bottom divs, escaped"
grep -qxF '\fancyhead[C]{\textbf{STAFF ONLY \& NEED-TO-KNOW (100\%) \#7}}' M.latex
ok $? "latex: the new marking in the page header, escaped"
if have man; then
	LC_ALL=C MANWIDTH=200 man -l M.man 2> /dev/null | head -n 1 | grep -qF "$MARK"
	ok $? "man: the new marking in the header line"
else
	skip "man not installed"
fi
if have pdflatex; then
	(cd tex && timeout 300 pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape \
		"$W/M.latex" < /dev/null > pdflatex3.out 2>&1) && [ -s tex/M.pdf ]
	ok $? "latex: pdflatex compiles it with the new marking"
	if have pdftotext; then
		# every page: the marking its first line and its footer's
		pdftotext tex/M.pdf M.txt 2> /dev/null || : > M.txt
		pages=$(M=$MARK awk -v RS='\f' '
			{ n = split($0, l, "\n"); first = ""; last = ""
			  for (i = 1; i <= n; i++) if (l[i] ~ /[^ ]/) { if (first == "") first = l[i]; last = l[i] }
			  if (first == "") next
			  all++
			  if (first == ENVIRON["M"] && index(last, ENVIRON["M"]) == 1) good++ }
			END { print good + 0, all + 0 }' M.txt)
		[ "${pages% *}" = "${pages#* }" ] && [ "${pages#* }" -ge 2 ] 2> /dev/null
		ok $? "latex: the marking at the top and bottom of every page of the PDF ($pages)"
	else
		skip "pdftotext not installed (Debian poppler-utils): pages not read"
	fi
else
	skip "pdflatex not installed"
	skip "pdflatex not installed"
fi
if have xmllint; then
	xmllint --noout M.xml 2> /dev/null
	ok $? "xml: xmllint accepts it with the new marking"
else
	skip "xmllint not installed"
fi

# --- no plaintext left behind ------------------------------------------------------------------------
api-export -i cw.id --to html -o "$W/c.html" "$A" 2> /dev/null && grep -qF "$CANARY" c.html
ok $? "(control: an -o file holds the canary, by design)"
rm -f c.html
run api-export -i cw.id --to latex "$A"
[ $? -eq 0 ] && grep -qF "$CANARY" out
ok $? "(control: an export to stdout holds the canary)"
git -C "$S" cat-file --batch-all-objects --batch > objects 2> /dev/null
grep -aq '^log: note added$' objects && ! grep -aqF "$CANARY" objects
ok $? "no canary in any git object"
! grep -raqF "$CANARY" "$S"
ok $? "no canary in any file of the store"
! grep -raqF "$CANARY" "$TMPDIR" "$XDG_RUNTIME_DIR" "$HOME"
ok $? "no canary in \$TMPDIR, \$XDG_RUNTIME_DIR or \$HOME"
[ -z "$(find "$TMPDIR" "$XDG_RUNTIME_DIR" -mindepth 1 | head -n 1)" ]
ok $? "\$TMPDIR and \$XDG_RUNTIME_DIR are left empty"
api-verify > /dev/null 2>&1 && api-verify --reads > /dev/null 2>&1
ok $? "api-verify and api-verify --reads: ok"

done_testing
