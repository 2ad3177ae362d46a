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
	    "CASE...\n");
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

/* Phases as bands over time, contacts (notes) as ticks, in inline SVG. */
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
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].kind, "notes") == 0)
			out_fmt(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"56\" y2=\"72\" "
			    "stroke=\"#333\" stroke-width=\"1.5\"/>\n", X(k->v[i].date),
			    X(k->v[i].date));
	date(d0, t0);
	date(d1, t1);
	out_fmt(o, "<text x=\"%.0f\" y=\"92\" font-size=\"11\">%s</text>"
	    "<text x=\"%.0f\" y=\"92\" font-size=\"11\" text-anchor=\"end\">%s"
	    "</text><text x=\"%.0f\" y=\"106\" font-size=\"10\" fill=\"#555\">"
	    "bands: phases; ticks: notes</text>\n", X0, d0, X0 + W, d1, X0);
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
	    load_items(cs, me, NULL, &k->v, &k->n) < 0)
		cli_die_lib();
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
	if ((f = fdopen(fd, "w")) == NULL)
		cli_die("%s: %s", path, strerror(errno));
	return f;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *purpose = "export", *outp = NULL;
	const char *marking;
	int c, pass_fd = -1, f = -1;
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
		case 't':
			for (int i = 0; i < 5; i++)
				if (strcmp(optarg, fmt_name[i]) == 0)
					f = i;
			if (f < 0) {
				fprintf(stderr, "api-export: --to %s: use html, man, latex, "
				    "xml or commonmark\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("api-export - a case as one document: HTML, man, LaTeX, "
			    "XML, CommonMark\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-export %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
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
