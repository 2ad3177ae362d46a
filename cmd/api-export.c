/*
 * api-export - a case as one document: HTML, man, LaTeX, XML, CommonMark.
 *
 * Each case becomes a CommonMark tree built node by node: the
 * classification marking, a cover (case, phase, team, period), the
 * intake, then every note and event in time order.  A note's body is
 * parsed on its own and grafted in, its headings moved below the note's,
 * so that no note can reshape the document; cmark renders the tree with
 * its safe default (raw HTML in a note is left out).  The marking opens
 * and closes every case, and every page where the format has pages.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <time.h>

#include <cmark.h>

#include "items.h"
#include "stats.h"

/* as api-init writes programme.classification into api.conf */
#define DEFAULT_MARKING "VS-NUR F\xc3\x9cR DEN DIENSTGEBRAUCH"

enum fmt { F_HTML, F_MAN, F_LATEX, F_XML, F_COMMONMARK };

static const char *const fmt_name[] = { "html", "man", "latex", "xml",
	"commonmark" };

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-export [-C DIR] [-i FILE] [--passphrase-fd N] "
	    "[--purpose TEXT]\n"
	    "                  --to html|man|latex|xml|commonmark [-o FILE] "
	    "CASE...\n"
	    "       api-export [options] --bundle --recipient AGE1 "
	    "[--override-consent\n"
	    "                  --reason TEXT] [-o FILE] CASE\n"
	    "       api-export [options] --stats [--from D] [--to D] "
	    "[--json | --csv]\n"
	    "                  [--min-cell K] [--svg FILE] [-o FILE]\n");
}

/* ---- the tree ----------------------------------------------------------- */

/*
 * s (len bytes) into b (secret, NUL-terminated), control characters (C0
 * but tab, newline and carriage return, DEL, C1) as U+FFFD: none reaches
 * a terminal, roff or XML, where they are not allowed; with oneline, tab,
 * newline and carriage return become spaces too.
 */
static void
clean(api_buf *b, const char *s, size_t len, int oneline)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = 0;

	b->secret = 1;
	for (size_t i = 0; i < len && rc == 0; i++) {
		if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
			rc = api_buf_append(b, oneline ? " " : (const char *)&p[i], 1);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			rc = api_buf_append(b, "\xef\xbf\xbd", 3);
		else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			rc = api_buf_append(b, "\xef\xbf\xbd", 3);
			i++;
		} else
			rc = api_buf_append(b, &p[i], 1);
	}
	if (rc < 0 || api_buf_append(b, "", 1) < 0)
		cli_die("out of memory");
	b->len--;
}

static cmark_node *
text_node(const char *s)
{
	cmark_node *t = cmark_node_new(CMARK_NODE_TEXT);
	api_buf b = { 0 };

	clean(&b, s, strlen(s), 1);
	if (t == NULL || !cmark_node_set_literal(t, (const char *)b.ptr))
		cli_die("out of memory");
	api_buf_free(&b);
	return t;
}

static cmark_node *
add(cmark_node *parent, cmark_node *child)
{
	if (!cmark_node_append_child(parent, child))
		cli_die("cannot build the document");
	return child;
}

/* A paragraph (strong: the marking) of text. */
static void
para(cmark_node *doc, const char *s, int strong)
{
	cmark_node *p = add(doc, cmark_node_new(CMARK_NODE_PARAGRAPH));

	if (strong)
		p = add(p, cmark_node_new(CMARK_NODE_STRONG));
	add(p, text_node(s));
}

static void
heading(cmark_node *doc, int level, const char *s)
{
	cmark_node *h = add(doc, cmark_node_new(CMARK_NODE_HEADING));

	cmark_node_set_heading_level(h, level);
	add(h, text_node(s));
}

/* "Key: value" lines, one list item each. */
static cmark_node *
list(cmark_node *doc)
{
	cmark_node *l = add(doc, cmark_node_new(CMARK_NODE_LIST));

	cmark_node_set_list_type(l, CMARK_BULLET_LIST);
	cmark_node_set_list_tight(l, 1);
	return l;
}

static void
item(cmark_node *l, const char *k, const char *v)
{
	cmark_node *it = add(l, cmark_node_new(CMARK_NODE_ITEM));
	cmark_node *p = add(it, cmark_node_new(CMARK_NODE_PARAGRAPH));

	add(add(p, cmark_node_new(CMARK_NODE_STRONG)), text_node(k));
	add(p, text_node(": "));
	add(p, text_node(v));
}

/* Set for LaTeX: links whose URL unsafe_url refuses are emptied, as
 * cmark's safe default does in HTML (in the PDF they would be live); the
 * text formats keep a note's links as written. */
static int empty_unsafe_links;

/* 1 for a URL that runs or opens something where a link should only
 * point: the schemes cmark's safe default empties in HTML. */
static int
unsafe_url(const char *u)
{
	static const char *const bad[] = { "javascript:", "vbscript:", "file:",
		"data:" };

	while (*u == ' ' || *u == '\t')
		u++;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (strncasecmp(u, bad[i], strlen(bad[i])) == 0)
			return 1;
	return 0;
}

/* The first image of the tree b, or NULL. */
static cmark_node *
first_image(cmark_node *b)
{
	cmark_iter *it = cmark_iter_new(b);
	cmark_node *n = NULL;

	if (it == NULL)
		cli_die("out of memory");
	while (cmark_iter_next(it) != CMARK_EVENT_DONE)
		if (cmark_node_get_type(n = cmark_iter_get_node(it)) ==
		    CMARK_NODE_IMAGE)
			break;
		else
			n = NULL;
	cmark_iter_free(it);
	return n;
}

/* A note's body, parsed on its own: its blocks under doc, its headings
 * below level (a note cannot make a heading of the document's rank), its
 * images made links to them (an HTML page fetches nothing, a LaTeX one
 * includes no file), in LaTeX links that would run a script emptied. */
static void
graft(cmark_node *doc, const char *body, size_t len, int level)
{
	api_buf clear = { 0 };
	cmark_node *b, *n, *img, *a;
	cmark_iter *it;
	cmark_event_type ev;

	clean(&clear, body, len, 0);
	b = cmark_parse_document((const char *)clear.ptr, clear.len,
	    CMARK_OPT_VALIDATE_UTF8);
	api_buf_free(&clear);
	if (b == NULL)
		cli_die("out of memory");
	while ((img = first_image(b)) != NULL) {
		if ((a = cmark_node_new(CMARK_NODE_LINK)) == NULL ||
		    !cmark_node_set_url(a, cmark_node_get_url(img)) ||
		    !cmark_node_set_title(a, cmark_node_get_title(img)))
			cli_die("out of memory");
		while ((n = cmark_node_first_child(img)) != NULL) {
			cmark_node_unlink(n);
			add(a, n);
		}
		if (!cmark_node_replace(img, a))
			cli_die("cannot build the document");
		cmark_node_free(img);
	}
	it = cmark_iter_new(b);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		n = cmark_iter_get_node(it);
		if (ev == CMARK_EVENT_ENTER && cmark_node_get_type(n) ==
		    CMARK_NODE_HEADING) {
			int l = cmark_node_get_heading_level(n) + level;
			cmark_node_set_heading_level(n, l > 6 ? 6 : l);
		}
		if (ev == CMARK_EVENT_ENTER && cmark_node_get_type(n) ==
		    CMARK_NODE_LINK && empty_unsafe_links &&
		    unsafe_url(cmark_node_get_url(n)))
			cmark_node_set_url(n, "");
	}
	cmark_iter_free(it);
	while ((n = cmark_node_first_child(b)) != NULL) {
		cmark_node_unlink(n);
		add(doc, n);
	}
	cmark_node_free(b);
}

/* One note or event: a heading, its fields, its body. */
static void
record(cmark_node *doc, const struct item *it, int level)
{
	const api_record *r = &it->r;
	const char *type = api_record_get(r, "Type"), *v;
	int note = strcmp(it->kind, "notes") == 0;
	static const char skip[] = " Case Note Event Date Type Author ";
	char title[256], key[64];
	cmark_node *l = NULL;

	snprintf(title, sizeof title, "%s %s: %s%s%s%s",
	    (v = api_record_get(r, "Date")) ? v : "?", note ? "note" : "event",
	    type ? type : "?", api_record_get(r, "Author") ? " (" : "",
	    api_record_get(r, "Author") ? api_record_get(r, "Author") : "",
	    api_record_get(r, "Author") ? ")" : "");
	heading(doc, level, title);
	for (size_t i = 0; i < r->n; i++) {
		snprintf(key, sizeof key, " %s ", r->key[i]);
		if (strstr(skip, key) != NULL)
			continue;
		if (l == NULL)
			l = list(doc);
		item(l, r->key[i], r->val[i]);
	}
	if (l == NULL)
		l = list(doc);
	v = api_record_get(r, note ? "Note" : "Event");
	item(l, note ? "Note" : "Event", v ? v : it->name);
	if (note && r->bodylen)
		graft(doc, r->body, r->bodylen, level);
}

/* ---- one case ------------------------------------------------------------- */

struct kase {
	char id[API_CASE_ID_LEN + 1];
	api_case_state st;
	api_team team;
	struct item *v;
	size_t n;
	long first, last;            /* the dates of the records */
	long *contacts;              /* the dates of the contact events */
	size_t ncontacts;
};

static void
date(char out[11], long d)
{
	if (d < 0)
		snprintf(out, 11, "-");
	else
		api_date_format(out, d);
}

/* The cover: marking, title, phase, team, period. */
static cmark_node *
cover(const struct kase *k, const char *marking, const char *who)
{
	cmark_node *doc = cmark_node_new(CMARK_NODE_DOCUMENT), *l;
	char buf[512], d1[11], d2[11];
	size_t len = 0;

	if (doc == NULL)
		cli_die("out of memory");
	para(doc, marking, 1);
	snprintf(buf, sizeof buf, "Case %s", k->id);
	heading(doc, 1, buf);
	l = list(doc);
	date(d1, k->st.since);
	snprintf(buf, sizeof buf, "%s (since %s)", k->st.phase, d1);
	item(l, "Phase", buf);
	for (size_t i = 0; i < k->team.n && len < sizeof buf - 64; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s%s",
		    i ? ", " : "", k->team.member[i], i ? "" : " (lead)");
	item(l, "Team", len ? buf : "-");
	date(d1, k->st.opened >= 0 ? k->st.opened : k->first);
	date(d2, k->last);
	snprintf(buf, sizeof buf, "%s to %s%s", d1, d2,
	    strcmp(k->st.phase, "closed") == 0 ? " (closed)" : "");
	item(l, "Period", buf);
	item(l, "Classification", marking);
	snprintf(buf, sizeof buf, "%zu records, exported by %s", k->n, who);
	item(l, "Export", buf);
	return doc;
}

/* The records: the intake (the first note of type intake, which api-new
 * writes, else the first note), then all others in order. */
static cmark_node *
records(const struct kase *k, const char *marking)
{
	cmark_node *doc = cmark_node_new(CMARK_NODE_DOCUMENT);
	size_t intake = k->n;

	if (doc == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < k->n && intake == k->n; i++) {
		const char *t = api_record_get(&k->v[i].r, "Type");
		if (strcmp(k->v[i].kind, "notes") == 0 && t != NULL &&
		    strcmp(t, "intake") == 0)
			intake = i;
	}
	for (size_t i = 0; i < k->n && intake == k->n; i++)
		if (strcmp(k->v[i].kind, "notes") == 0)
			intake = i;
	heading(doc, 2, "Intake");
	if (intake < k->n)
		record(doc, &k->v[intake], 3);
	else
		para(doc, "No note.", 0);
	heading(doc, 2, "Notes and events");
	for (size_t i = 0; i < k->n; i++)
		if (i != intake)
			record(doc, &k->v[i], 3);
	para(doc, marking, 1);
	return doc;
}

/* Both, in one tree (for the formats without a timeline). */
static cmark_node *
whole(const struct kase *k, const char *marking, const char *who)
{
	cmark_node *doc = cover(k, marking, who), *r = records(k, marking), *n;

	while ((n = cmark_node_first_child(r)) != NULL) {
		cmark_node_unlink(n);
		add(doc, n);
	}
	cmark_node_free(r);
	return doc;
}

/* ---- the timeline (HTML) --------------------------------------------------- */

static const char *const phase_colour[] = { "#9ecae1", "#6baed6", "#74c476",
	"#fdae6b", "#bcbddc", "#969696", "#fd8d3c", "#c7e9c0" };

static void
xml_text(api_buf *o, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
		    *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;
		if (e ? api_buf_append(o, e, strlen(e)) < 0 :
		    api_buf_append(o, s, 1) < 0)
			cli_die("out of memory");
	}
}

static void
out_str(api_buf *o, const char *s)
{
	if (api_buf_append(o, s, strlen(s)) < 0)
		cli_die("out of memory");
}

static void
out_fmt(api_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_fmt(api_buf *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	out_str(o, buf);
}

/* Phases as bands over time, contact events as ticks, in inline SVG. */
static void
timeline(api_buf *o, const struct kase *k, const api_conf *conf)
{
	const double W = 760, X0 = 20;
	long t0 = k->first, t1 = k->last > k->first ? k->last : k->first + 1;
	const char *phases = api_phases(conf);
	char prev[32] = "", d0[11], d1[11];
	long from = -1;

#define X(d) (X0 + (W * (double)((d) - t0)) / (double)(t1 - t0))
	out_str(o, "<figure class=\"timeline\"><svg xmlns=\"http://www.w3.org/"
	    "2000/svg\" width=\"800\" height=\"110\" viewBox=\"0 0 800 110\" "
	    "role=\"img\" aria-label=\"phases and contacts over time\">\n");
	for (size_t i = 0; i <= k->n; i++) {
		const char *ph = i < k->n && strcmp(k->v[i].kind, "events") == 0 ?
		    api_record_get(&k->v[i].r, "Phase") : NULL;
		long d = i < k->n ? k->v[i].date : t1;
		if (ph == NULL && i < k->n)
			continue;
		if (from >= 0 && prev[0]) {
			int c = api_word_index(phases, prev);
			out_fmt(o, "<rect x=\"%.1f\" y=\"10\" width=\"%.1f\" height=\"40\" "
			    "fill=\"%s\"><title>", X(from), X(d) - X(from) > 1 ?
			    X(d) - X(from) : 1, phase_colour[(c < 0 ? 7 : c) % 8]);
			xml_text(o, prev);
			out_str(o, "</title></rect><text x=\"");
			out_fmt(o, "%.1f\" y=\"35\" font-size=\"11\">", X(from) + 3);
			xml_text(o, prev);
			out_str(o, "</text>\n");
		}
		if (ph != NULL) {
			snprintf(prev, sizeof prev, "%s", ph);
			from = d;
		}
	}
	/* a tick per contact event: a meeting, not every note (an imported
	 * record is a note, and no contact) */
	for (size_t i = 0; i < k->ncontacts; i++)
		out_fmt(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"56\" y2=\"72\" "
		    "stroke=\"#333\" stroke-width=\"1.5\"/>\n", X(k->contacts[i]),
		    X(k->contacts[i]));
	date(d0, t0);
	date(d1, t1);
	out_fmt(o, "<text x=\"%.0f\" y=\"92\" font-size=\"11\">%s</text>"
	    "<text x=\"%.0f\" y=\"92\" font-size=\"11\" text-anchor=\"end\">%s"
	    "</text><text x=\"%.0f\" y=\"106\" font-size=\"10\" fill=\"#555\">"
	    "bands: phases; ticks: contacts</text>\n", X0, d0, X0 + W, d1, X0);
	out_str(o, "</svg></figure>\n");
#undef X
}

/* ---- formats ---------------------------------------------------------------- */

static char *
render(cmark_node *doc, enum fmt f)
{
	char *s = NULL;

	switch (f) {
	case F_HTML: s = cmark_render_html(doc, CMARK_OPT_DEFAULT); break;
	case F_MAN: s = cmark_render_man(doc, CMARK_OPT_DEFAULT, 0); break;
	case F_LATEX: s = cmark_render_latex(doc, CMARK_OPT_DEFAULT, 0); break;
	case F_XML: s = cmark_render_xml(doc, CMARK_OPT_DEFAULT); break;
	case F_COMMONMARK:
		s = cmark_render_commonmark(doc, CMARK_OPT_DEFAULT, 0);
		break;
	}
	if (s == NULL)
		cli_die("out of memory");
	return s;
}

/* Appends rendered text and wipes cmark's copy. */
static void
emit(api_buf *o, char *s)
{
	size_t n = strlen(s);

	if (api_buf_append(o, s, n) < 0)
		cli_die("out of memory");
	sodium_memzero(s, n);
	free(s);
}

/* The marking for a roff request argument (.TH, whose titles would take
 * % for the page number) or a LaTeX command. */
static void
escaped(api_buf *o, const char *s, enum fmt f)
{
	for (; *s; s++) {
		const char *e = NULL;
		char one[2] = { *s, 0 };
		if (f == F_MAN)
			e = *s == '\\' ? "\\e" : *s == '"' ? "\\(dq" : *s == '%' ?
			    "\\N'37'" : NULL;
		else if (strchr("\\{}$&#^_%~", *s))
			e = *s == '\\' ? "\\textbackslash{}" : *s == '^' ?
			    "\\textasciicircum{}" : *s == '~' ? "\\textasciitilde{}" :
			    NULL;
		if (e == NULL && f == F_LATEX && strchr("{}$&#_%", *s))
			out_str(o, "\\");
		out_str(o, e ? e : one);
	}
}

/*
 * roff in ASCII: every other character as \[uXXXX], which groff reads
 * in any locale, without preconv (-k), as man(1) and mandoc do; a byte
 * that is not UTF-8 as U+FFFD.
 */
static void
man_ascii(api_buf *o)
{
	const unsigned char *p = o->ptr;
	api_buf a = { 0 };

	a.secret = 1;
	for (size_t i = 0; i < o->len; ) {
		unsigned c = p[i];
		unsigned long cp = 0;
		size_t n = 0;
		int ok;

		if (c < 0x80) {
			if (api_buf_append(&a, &p[i++], 1) < 0)
				cli_die("out of memory");
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		ok = n > 0 && i + n < o->len;
		for (size_t k = 1; ok && k <= n; k++) {
			ok = (p[i + k] & 0xc0) == 0x80;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (ok && ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)))
			ok = 0;
		if (!ok)
			cp = 0xfffd, n = 0;
		out_fmt(&a, "\\[u%04lX]", cp);
		i += n + 1;
	}
	api_buf_free(o);
	*o = a;
}

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	"'none'; style-src 'unsafe-inline'; img-src data:\">\n"
	"<meta name=\"referrer\" content=\"no-referrer\">\n<title>";
static const char html_style[] =
	"</title>\n<style>\n"
	"body{font:15px/1.45 sans-serif;max-width:52em;margin:3em auto;"
	"padding:0 1em;color:#111}\n"
	".marking{position:fixed;left:0;right:0;text-align:center;font-weight:"
	"bold;background:#fff;color:#a00;letter-spacing:.05em;padding:.2em}\n"
	".top{top:0}.bottom{bottom:0}\n"
	"section.case{page-break-after:always;border-top:2px solid #a00;"
	"margin-top:2em}\n"
	"h3{border-bottom:1px solid #ccc;margin-top:1.6em}\n"
	"pre{background:#f4f4f4;padding:.5em;overflow:auto}\n"
	"figure.timeline{margin:1em 0}figure.timeline svg{max-width:100%;"
	"height:auto}\n"
	/* printed, the head and foot of the table repeat on every page and
	 * keep the text clear of the fixed markings */
	".sheet{border-collapse:collapse;width:100%}.sheet td{padding:0}\n"
	"@media print{body{margin:0}.space{height:2.5em}}\n"
	"</style>\n</head>\n<body>\n";

static void
document(api_buf *o, struct kase *ks, size_t nk, enum fmt f,
    const char *marking, const char *who, const api_conf *conf)
{
	char today[11];

	date(today, (long)(time(NULL) / 86400));
	if (f == F_HTML) {
		out_str(o, html_head);
		xml_text(o, marking);
		out_str(o, html_style);
		out_str(o, "<div class=\"marking top\">");
		xml_text(o, marking);
		out_str(o, "</div>\n<div class=\"marking bottom\">");
		xml_text(o, marking);
		out_str(o, "</div>\n<table class=\"sheet\" role=\"presentation\">"
		    "<thead><tr><td><div class=\"space\"></div></td></tr></thead>"
		    "<tfoot><tr><td><div class=\"space\"></div></td></tr></tfoot>"
		    "<tbody><tr><td>\n");
		for (size_t i = 0; i < nk; i++) {
			cmark_node *c = cover(&ks[i], marking, who);
			cmark_node *r = records(&ks[i], marking);
			out_str(o, "<section class=\"case\">\n");
			emit(o, render(c, f));
			timeline(o, &ks[i], conf);
			emit(o, render(r, f));
			out_str(o, "</section>\n");
			cmark_node_free(c);
			cmark_node_free(r);
		}
		out_str(o, "</td></tr></tbody></table>\n</body>\n</html>\n");
		return;
	}
	if (f == F_MAN) {
		/* the marking in the middle of the page header and footer
		 * (the fields manual and date): every page */
		out_str(o, ".TH \"API-EXPORT\" \"7\" \"");
		escaped(o, marking, f);
		out_fmt(o, "\" \"%s\" \"", today);
		escaped(o, marking, f);
		/* U+FFFD, for a control character, where the device has none */
		out_str(o, "\"\n.fchar \\[uFFFD] ?\n");
	} else if (f == F_LATEX) {
		out_str(o, "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n"
		    "\\usepackage[T1]{fontenc}\n\\usepackage{hyperref}\n"
		    "\\usepackage{fancyhdr}\n\\DeclareUnicodeCharacter{FFFD}{\\fbox{?}}\n"
		    "\\pagestyle{fancy}\n\\fancyhf{}\n"
		    "\\fancyhead[C]{\\textbf{");
		escaped(o, marking, f);
		out_str(o, "}}\n\\fancyfoot[C]{\\textbf{");
		escaped(o, marking, f);
		out_str(o, "} --- \\thepage}\n\\begin{document}\n");
	}
	for (size_t i = 0; i < nk; i++) {
		cmark_node *d = whole(&ks[i], marking, who);
		if (f == F_COMMONMARK && i > 0)
			out_str(o, "\n-----\n\n");     /* apart: a rule */
		if (f == F_XML && nk > 1 && i > 0) {
			/* one XML document: the cases after the first as
			 * its children, without their own prologue */
			char *s = render(d, f), *p = strstr(s, "<document");
			p = p ? strchr(p, '>') : NULL;
			char *e = p ? strstr(p, "</document>") : NULL;
			if (p && e) {
				*e = '\0';
				out_str(o, p + 1);
			}
			sodium_memzero(s, strlen(s));
			free(s);
		} else if (f == F_XML && nk > 1) {
			char *s = render(d, f), *e = strstr(s, "</document>");
			if (e)
				*e = '\0';
			emit(o, s);
		} else
			emit(o, render(d, f));
		if (f == F_LATEX && i + 1 < nk)
			out_str(o, "\\clearpage\n");
		cmark_node_free(d);
	}
	if (f == F_XML && nk > 1)
		out_str(o, "</document>\n");
	if (f == F_MAN)
		man_ascii(o);
	if (f == F_LATEX)
		out_str(o, "\\end{document}\n");
}

/* ---- main ----------------------------------------------------------------- */

static void
load_case(api_store *s, const api_identity *me, const char *arg,
    struct kase *k)
{
	api_case *cs;
	int rc;

	memset(k, 0, sizeof *k);
	if (api_case_load(s, arg, &cs) < 0)
		cli_die_lib();
	snprintf(k->id, sizeof k->id, "%s", api_case_id(cs));
	if (api_case_purged(cs))
		cli_die("case %s was purged: nothing of it can be read", k->id);
	if ((rc = api_case_unlock(cs, me)) == API_EPERM)
		cli_die("%s is not on the team of case %s", me->handle, k->id);
	if (rc < 0)
		cli_die_lib();
	for (size_t i = 0; i < api_case_team(cs)->n; i++)
		if (api_team_add(&k->team, api_case_team(cs)->member[i]) < 0)
			cli_die_lib();
	api_case_free(cs);
}

static void
read_case(api_store *s, const api_identity *me, struct kase *k)
{
	api_case *cs;

	if (api_case_load(s, k->id, &cs) < 0 || api_case_unlock(cs, me) < 0 ||
	    api_case_state_load(cs, me, &k->st) < 0 ||
	    load_items(s, cs, me, NULL, 1, &k->v, &k->n) < 0)
		cli_die_lib();
	/* the contact events, which repeat the notes, only for the
	 * timeline: their dates */
	if ((k->contacts = calloc(k->n + 1, sizeof *k->contacts)) == NULL)
		cli_die("out of memory");
	size_t kept = 0;
	for (size_t i = 0; i < k->n; i++) {
		if (item_is_contact(&k->v[i])) {
			k->contacts[k->ncontacts++] = k->v[i].date;
			api_record_free(&k->v[i].r);
			free(k->v[i].name);
		} else
			k->v[kept++] = k->v[i];
	}
	k->n = kept;
	k->first = k->last = -1;
	for (size_t i = 0; i < k->n; i++) {
		if (k->first < 0 || k->v[i].date < k->first)
			k->first = k->v[i].date;
		if (k->v[i].date > k->last)
			k->last = k->v[i].date;
	}
	if (k->first < 0)
		k->first = k->last = (long)(time(NULL) / 86400);
	api_case_free(cs);
}

/* -o FILE while it is not complete: removed when the program dies. */
static const char *out_partial;

static void
out_cleanup(void)
{
	if (out_partial != NULL)
		unlink(out_partial);
}

/* -o FILE: made new, mode 0600, never over another file. */
static FILE *
open_out(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		cli_die("%s: %s%s", path, strerror(errno), errno == EEXIST ?
		    " (api-export writes only a new file)" : "");
	out_partial = path;
	atexit(out_cleanup);
	warn_public(path);
	if ((f = fdopen(fd, "w")) == NULL)
		cli_die("%s: %s", path, strerror(errno));
	return f;
}

/* ---- --bundle: a handover bundle for another programme ------------------ */

struct brec {
	char kind[8];                /* notes, events */
	char *name;                  /* the file: ID.md.age, ID.age */
	api_record r;
	long date;
	git_oid blob;
	int found;                   /* its commit is known */
	git_oid commit;
};

static int
brec_cmp(const void *a, const void *b)
{
	const struct brec *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The blob of dir/kind/name in tree, or a zero oid. */
static void
entry_oid(git_tree *tree, const char *dir, const char *kind, const char *name,
    git_oid *out)
{
	char path[160];
	git_tree_entry *e = NULL;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "%s/%s/%s", dir, kind, name);
	if (tree && git_tree_entry_bypath(&e, tree, path) == 0)
		git_oid_cpy(out, git_tree_entry_id(e));
	git_tree_entry_free(e);
}

/*
 * The commit that gave each record the blob it has now: walking main
 * from its tip, the first commit of this case (Api-Case) whose tree has
 * the blob and whose parent's has not.  Only the case's own commits are
 * opened to the tree.
 */
static void
find_commits(api_store *s, const char *id, struct brec *v, size_t n)
{
	git_repository *repo = api_store_repo(s);
	git_revwalk *w = NULL;
	git_oid oid;
	char dir[32], want[64];
	size_t left = n;

	api_case_dir(dir, id);
	snprintf(want, sizeof want, "\nApi-Case: %s\n", id);
	if (git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_push_ref(w, "refs/heads/main") < 0)
		cli_die("cannot walk the history: %s", git_error_last() ?
		    git_error_last()->message : "?");
	while (left > 0 && git_revwalk_next(&oid, w) == 0) {
		git_commit *c = NULL, *p = NULL;
		git_tree *t = NULL, *pt = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0)
			cli_die("commit %s cannot be read", git_oid_tostr_s(&oid));
		if (git_commit_parentcount(c) == 1 &&
		    strstr(git_commit_message(c), want) != NULL &&
		    git_commit_tree(&t, c) == 0 && git_commit_parent(&p, c, 0) == 0) {
			(void)git_commit_tree(&pt, p);
			for (size_t i = 0; i < n; i++) {
				git_oid a, b;
				if (v[i].found)
					continue;
				entry_oid(t, dir, v[i].kind, v[i].name, &a);
				entry_oid(pt, dir, v[i].kind, v[i].name, &b);
				if (git_oid_equal(&a, &v[i].blob) &&
				    !git_oid_equal(&b, &v[i].blob)) {
					git_oid_cpy(&v[i].commit, &oid);
					v[i].found = 1;
					left--;
				}
			}
		}
		git_tree_free(t);
		git_tree_free(pt);
		git_commit_free(p);
		git_commit_free(c);
	}
	git_revwalk_free(w);
	for (size_t i = 0; i < n; i++)
		if (!v[i].found)
			cli_die("case %s: no commit of main adds %s/%s", id, v[i].kind,
			    v[i].name);
}

/* Every record of the case, decrypted, in time order. */
static struct brec *
bundle_records(api_store *s, const api_identity *me, const char *id,
    size_t *n)
{
	static const char *kinds[] = { "notes", "events" };
	struct brec *v = NULL;
	git_tree *main_tree = NULL;
	api_case *cs;
	char dir[32];
	const char *d;

	*n = 0;
	api_case_dir(dir, id);
	if (api_case_load(s, id, &cs) < 0 || api_case_unlock(cs, me) < 0 ||
	    api_store_tree(s, NULL, &main_tree) < 0)
		cli_die_lib();
	for (int k = 0; k < 2; k++) {
		char **names;
		size_t nn;
		if (api_case_files(cs, kinds[k], &names, &nn) < 0)
			cli_die_lib();
		struct brec *nv = realloc(v, (*n + nn + 1) * sizeof *v);
		if (nv == NULL)
			cli_die("out of memory");
		v = nv;
		for (size_t i = 0; i < nn; i++) {
			struct brec *b = &v[(*n)++];
			memset(b, 0, sizeof *b);
			snprintf(b->kind, sizeof b->kind, "%s", kinds[k]);
			b->name = names[i];
			if (api_case_read(cs, me, kinds[k], names[i], &b->r) < 0)
				cli_die_lib();
			if ((d = api_record_get(&b->r, "Date")) == NULL ||
			    api_date_parse(d, &b->date) < 0)
				b->date = 0;
			entry_oid(main_tree, dir, kinds[k], names[i], &b->blob);
		}
		free(names);
	}
	qsort(v, *n, sizeof *v, brec_cmp);
	git_tree_free(main_tree);
	api_case_free(cs);
	return v;
}

/* The consent event that allows sharing with rcpt: the last consent
 * event naming it, if that one gives consent; else NULL. */
static const char *
consent_for(const struct brec *v, size_t n, const char *rcpt)
{
	const char *last = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *t = api_record_get(&v[i].r, "Type");
		const char *r = api_record_get(&v[i].r, "Recipient");
		const char *c = api_record_get(&v[i].r, "Consent");
		if (strcmp(v[i].kind, "events") || t == NULL ||
		    strcmp(t, "consent") || r == NULL || strcmp(r, rcpt))
			continue;
		last = c && strcmp(c, "given") == 0 ?
		    api_record_get(&v[i].r, "Event") : NULL;
	}
	return last;
}

struct handover {
	const api_identity *me;
	const char *id, *rcpt, *consent, *reason;
	char event[API_OBJ_ID_LEN + 1], date[11], sha[65], records[24];
};

/* The export, recorded as an event of the case. */
static int
build_handover(void *ctx, api_tx *tx)
{
	struct handover *h = ctx;
	api_buf ev = { 0 };
	api_case_w w;
	char path[128];
	int rc;

	ev.secret = 1;
	if ((rc = api_tx_case(tx, h->id, h->me, &w)) < 0)
		return rc;
	if ((rc = api_record_field(&ev, "Case", h->id)) < 0 ||
	    (rc = api_record_field(&ev, "Event", h->event)) < 0 ||
	    (rc = api_record_field(&ev, "Author", h->me->handle)) < 0 ||
	    (rc = api_record_field(&ev, "Date", h->date)) < 0 ||
	    (rc = api_record_field(&ev, "Type", "handover")) < 0 ||
	    (rc = api_record_field(&ev, "Recipient", h->rcpt)) < 0 ||
	    (rc = api_record_field(&ev, "Consent", h->consent)) < 0 ||
	    (rc = api_record_field(&ev, "Override", h->reason)) < 0 ||
	    (rc = api_record_field(&ev, "Bundle", h->sha)) < 0 ||
	    (rc = api_record_field(&ev, "Records", h->records)) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/events/%s.age", w.dir, h->event);
	if ((rc = api_tx_put_record(tx, path, &ev,
	    (const unsigned char (*)[32])w.event_pk, 1)) == 0)
		rc = api_tx_message(tx, "export: handover bundle recorded",
		    "handover", h->id, h->event);
out:
	api_buf_free(&ev);
	api_case_w_free(&w);
	return rc;
}

static int
bundle_main(const char *dir, const char *ident, int pass_fd, const char *purpose,
    const char *rcpt, int override, const char *reason, const char *outp,
    int operands, char **cases)
{
	unsigned char pk[32], sha[32];
	api_bundle_manifest m;
	api_staff_list l;
	api_identity *me;
	api_store *s;
	struct kase k;
	struct handover h;
	struct brec *v;
	size_t n;
	api_buf man = { 0 }, sig = { 0 }, tar = { 0 }, ct = { 0 };
	api_reads reads = { 0 };
	git_oid tip;
	char name[128];
	FILE *out = stdout;

	if (operands != 1 || rcpt == NULL || (reason && !override)) {
		usage(stderr);
		return 2;
	}
	if (api_age_recipient_parse(pk, rcpt) < 0) {
		fprintf(stderr, "api-export: --recipient %s: not an age1 recipient\n",
		    rcpt);
		return 2;
	}
	if (override && (reason == NULL || api_purpose_check(reason) < 0)) {
		fprintf(stderr, "api-export: --override-consent needs --reason TEXT%s%s\n",
		    reason ? ": " : "", reason ? api_error_last() : "");
		return 2;
	}
	if (outp == NULL && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "api-export: a bundle is binary: give -o FILE or "
		    "redirect standard output\n");
		return 2;
	}
	s = cli_store(dir);
	me = cli_identity(ident, pass_fd);
	cli_require_staff(s, me);
	if (api_store_staff(s, &l) < 0)
		cli_die_lib();
	if (override) {
		/* sharing against or without the client's consent: a lead's
		 * decision, not one a caseworker takes alone */
		long mi = api_staff_find(&l, me->handle);
		if (mi < 0 || strcmp(l.v[mi].role, "lead") != 0)
			cli_die("--override-consent: only a lead may export a case "
			    "without its consent; %s is %s %s", me->handle,
			    mi < 0 ? "not" : "a", mi < 0 ? "staff" : l.v[mi].role);
	}
	load_case(s, me, cases[0], &k);
	api_team_free(&k.team);
	if (api_reads_add(&reads, k.id) < 0)
		cli_die_lib();
	cli_readlog(s, me, "api-export", purpose, &reads);
	api_reads_free(&reads);
	v = bundle_records(s, me, k.id, &n);
	memset(&m, 0, sizeof m);
	memset(&h, 0, sizeof h);
	if (!override && (h.consent = consent_for(v, n, rcpt)) == NULL)
		cli_die("case %s has no consent to share with %s (record it with "
		    "api-status %s --schedule consent-given DATE --recipient %s, or "
		    "give --override-consent --reason TEXT)", k.id, rcpt, k.id, rcpt);
	find_commits(s, k.id, v, n);

	/* the manifest, signed */
	if (git_reference_name_to_id(&tip, api_store_repo(s), "refs/heads/main") < 0)
		cli_die_lib();
	memcpy(m.case_id, k.id, sizeof m.case_id);
	git_oid_tostr(m.store, sizeof m.store, &tip);
	api_time_format(m.exported, (int64_t)time(NULL));
	snprintf(m.by, sizeof m.by, "%s", me->handle);
	memcpy(m.recipient, pk, 32);
	if (h.consent)
		snprintf(m.consent, sizeof m.consent, "%s", h.consent);
	m.override = override ? (char *)reason : NULL;
	if ((m.staff = calloc(l.n + 1, sizeof *m.staff)) == NULL ||
	    (m.rec = calloc(n + 1, sizeof *m.rec)) == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < l.n; i++) {
		snprintf(m.staff[i].role, sizeof m.staff[i].role, "%s", l.v[i].role);
		m.staff[i].pub = l.v[i].pub;
	}
	m.nstaff = l.n;
	for (size_t i = 0; i < n; i++) {
		api_bundle_record *r = &m.rec[i];
		snprintf(r->path, sizeof r->path, "%s/%.*s%s", v[i].kind,
		    API_OBJ_ID_LEN, v[i].name, v[i].kind[0] == 'n' ? ".md" : "");
		crypto_hash_sha256(r->sha256, v[i].r.raw.ptr, v[i].r.raw.len);
		git_oid_tostr(r->blob, sizeof r->blob, &v[i].blob);
		git_oid_tostr(r->commit, sizeof r->commit, &v[i].commit);
	}
	m.nrec = n;
	if (api_bundle_manifest_format(&m, &man) < 0 ||
	    api_sshsig_sign(&sig, me->sign_sk, "api-bundle", man.ptr, man.len) < 0)
		cli_die_lib();

	/* the archive, encrypted */
	tar.secret = 1;
	snprintf(name, sizeof name, "%s/MANIFEST", k.id);
	if (api_tar_add(&tar, name, man.ptr, man.len, time(NULL)) < 0)
		cli_die_lib();
	snprintf(name, sizeof name, "%s/MANIFEST.sig", k.id);
	if (api_tar_add(&tar, name, sig.ptr, sig.len, time(NULL)) < 0)
		cli_die_lib();
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s/%s", k.id, m.rec[i].path);
		if (api_tar_add(&tar, name, v[i].r.raw.ptr, v[i].r.raw.len,
		    time(NULL)) < 0)
			cli_die_lib();
	}
	if (api_tar_end(&tar) < 0 ||
	    api_age_encrypt_mem((const unsigned char (*)[32])pk, 1, tar.ptr, tar.len,
	    &ct, 0) < 0)
		cli_die_lib();
	crypto_hash_sha256(sha, ct.ptr, ct.len);
	sodium_bin2hex(h.sha, sizeof h.sha, sha, sizeof sha);

	/* a file is written whole before the export is recorded, and removed
	 * if it cannot be; standard output gets it after */
	if (outp) {
		out = open_out(outp);
		if (fwrite(ct.ptr, 1, ct.len, out) != ct.len || fflush(out) != 0 ||
		    fsync(fileno(out)) != 0)
			cli_die("%s: write error", outp);
	}
	h.me = me;
	h.id = k.id;
	h.rcpt = rcpt;
	h.reason = override ? reason : NULL;
	snprintf(h.records, sizeof h.records, "%zu", n);
	api_date_format(h.date, api_date_today());
	if (api_obj_id_new(h.event) < 0 ||
	    api_store_write(s, me, build_handover, &h, NULL) < 0)
		cli_die("the export could not be recorded, so nothing was exported: %s",
		    api_error_last());
	if (outp) {
		if (fclose(out) != 0)
			cli_die("%s: write error", outp);
		out_partial = NULL;
	} else if (fwrite(ct.ptr, 1, ct.len, stdout) != ct.len || fflush(stdout))
		cli_die("standard output: write error (the export was recorded as "
		    "event %s)", h.event);
	fprintf(stderr, "api-export: case %s: %zu records for %s, recorded as "
	    "event %s; bundle SHA-256 %s\n", k.id, n, rcpt, h.event, h.sha);
	m.override = NULL;
	api_bundle_manifest_free(&m);
	for (size_t i = 0; i < n; i++) {
		api_record_free(&v[i].r);
		free(v[i].name);
	}
	free(v);
	api_buf_free(&man);
	api_buf_free(&sig);
	api_buf_free(&tar);
	api_buf_free(&ct);
	api_staff_list_free(&l);
	api_identity_free(me);
	api_store_free(s);
	return outp ? 0 : cli_flush();
}

/* --stats: the evaluation statistics (stats.h) */
static int
stats_main(const char *dir, const char *ident, int pass_fd, const char *purpose,
    const char *from, const char *to, int json, int csv, const char *outp,
    int operands, struct stats_opts *so)
{
	api_conf *conf;
	api_identity *me;
	api_store *s;
	FILE *out = stdout;

	if (operands > 0 || (json && csv)) {
		usage(stderr);
		return 2;
	}
	so->fmt = json ? STATS_JSON : csv ? STATS_CSV : STATS_TSV;
	so->purpose = purpose;
	if ((from && api_date_parse(from, &so->from) < 0) ||
	    (to && api_date_parse(to, &so->to) < 0)) {
		fprintf(stderr, "api-export: %s\n", api_error_last());
		return 2;
	}
	if (so->from >= 0 && so->to >= 0 && so->from > so->to) {
		fprintf(stderr, "api-export: --from %s is after --to %s\n", from, to);
		return 2;
	}
	s = cli_store_conf(dir, &conf);
	me = cli_identity(ident, pass_fd);
	cli_require_staff(s, me);
	if (outp)
		out = open_out(outp);
	stats_run(s, me, conf, so, out);
	if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0))
		cli_die("%s: write error", outp ? outp : "standard output");
	out_partial = NULL;
	api_conf_free(conf);
	api_identity_free(me);
	api_store_free(s);
	return out == stdout ? cli_flush() : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 'S' },
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "min-cell", required_argument, NULL, 'k' },
		{ "svg", required_argument, NULL, 'g' },
		{ "bundle", no_argument, NULL, 'b' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "override-consent", no_argument, NULL, 'O' },
		{ "reason", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *purpose = "export", *outp = NULL;
	const char *marking, *to = NULL, *from = NULL;
	const char *rcpt = NULL, *reason = NULL;
	int c, pass_fd = -1, f = -1, stats = 0, json = 0, csv = 0, bundle = 0;
	int override = 0;
	struct stats_opts so = { -1, -1, STATS_TSV, 5, NULL, NULL };
	api_reads reads = { 0 };
	api_buf doc = { 0 }, mark = { 0 };
	api_identity *me;
	api_conf *conf;
	api_store *s;
	struct kase *ks;
	size_t nk;
	FILE *out = stdout;

	cli_start("api-export");
	while ((c = getopt_long(argc, argv, "hC:i:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'p': purpose = cli_purpose(optarg); break;
		case 'o': outp = optarg; break;
		case 't': to = optarg; break;
		case 'S': stats = 1; break;
		case 'f': from = optarg; break;
		case 'j': json = 1; break;
		case 'c': csv = 1; break;
		case 'k':
			if ((so.k = atoi(optarg)) < 1 || strspn(optarg, "0123456789") !=
			    strlen(optarg) || strlen(optarg) > 6) {
				fprintf(stderr, "api-export: --min-cell %s: give a whole "
				    "number of at least 1\n", optarg);
				return 2;
			}
			break;
		case 'g': so.svg = optarg; break;
		case 'b': bundle = 1; break;
		case 'r': rcpt = optarg; break;
		case 'O': override = 1; break;
		case 'R': reason = optarg; break;
		case 'h':
			printf("api-export - a case as one document: HTML, man, LaTeX, "
			    "XML, CommonMark\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-export %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if ((rcpt || override || reason) && !bundle) {
		fprintf(stderr, "api-export: --recipient, --override-consent and "
		    "--reason go with --bundle\n");
		return 2;
	}
	if (bundle && (stats || to)) {
		usage(stderr);
		return 2;
	}
	if (bundle)
		return bundle_main(dir, ident, pass_fd, purpose, rcpt, override,
		    reason, outp, argc - optind, argv + optind);
	if (stats)
		return stats_main(dir, ident, pass_fd, purpose, from, to, json, csv,
		    outp, argc - optind, &so);
	if (from || json || csv || so.svg || so.k != 5) {
		fprintf(stderr, "api-export: --from, --json, --csv, --min-cell and "
		    "--svg go with --stats\n");
		return 2;
	}
	for (int i = 0; to && i < 5; i++)
		if (strcmp(to, fmt_name[i]) == 0)
			f = i;
	if (to && f < 0) {
		fprintf(stderr, "api-export: --to %s: use html, man, latex, xml or "
		    "commonmark\n", to);
		return 2;
	}
	if (f < 0 || optind >= argc) {
		usage(stderr);
		return 2;
	}
	s = cli_store_conf(dir, &conf);
	me = cli_identity(ident, pass_fd);
	cli_require_staff(s, me);
	/* the store's classification, which api-remind's mails carry too */
	marking = api_conf_get(conf, "programme.classification");
	if (marking == NULL || *marking == '\0')
		marking = DEFAULT_MARKING;
	clean(&mark, marking, strlen(marking), 1);
	marking = (const char *)mark.ptr;
	nk = (size_t)(argc - optind);
	if ((ks = calloc(nk, sizeof *ks)) == NULL)
		cli_die("out of memory");
	/* every case opens before anything is decrypted or logged */
	for (size_t i = 0; i < nk; i++) {
		load_case(s, me, argv[optind + (int)i], &ks[i]);
		if (api_reads_add(&reads, ks[i].id) < 0)
			cli_die_lib();
	}
	if (outp)
		out = open_out(outp);
	cli_readlog(s, me, "api-export", purpose, &reads);
	for (size_t i = 0; i < nk; i++)
		read_case(s, me, &ks[i]);
	doc.secret = 1;
	empty_unsafe_links = f == F_LATEX;
	document(&doc, ks, nk, (enum fmt)f, marking, me->handle, conf);
	if (fwrite(doc.ptr, 1, doc.len, out) != doc.len || fflush(out) != 0 ||
	    (out != stdout && fclose(out) != 0))
		cli_die("%s: write error", outp ? outp : "standard output");
	out_partial = NULL;
	if (outp)
		fprintf(stderr, "api-export: wrote the plain text of %zu case%s to "
		    "%s (mode 0600): it is not encrypted; keep it as the marking "
		    "says, and delete it when done\n", nk, nk == 1 ? "" : "s", outp);
	for (size_t i = 0; i < nk; i++) {
		items_free(ks[i].v, ks[i].n);
		free(ks[i].contacts);
		api_team_free(&ks[i].team);
	}
	free(ks);
	api_buf_free(&doc);
	api_buf_free(&mark);
	api_reads_free(&reads);
	api_conf_free(conf);
	api_identity_free(me);
	api_store_free(s);
	return out == stdout ? cli_flush() : 0;
}
