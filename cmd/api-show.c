/* api-show - decrypt and print a case, or one note or event. */
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>

#include "items.h"


static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-show [-C DIR] [-i FILE] [--passphrase-fd N] [--raw]\n"
	    "                [--no-pager] [--purpose TEXT] CASE [NOTE]\n");
}

static FILE *out;
static int neutralise;

/*
 * Writes text; on a terminal, control characters (but newline and tab)
 * become U+FFFD, so that a record cannot drive the terminal.
 */
static void
put(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!neutralise) {
		fwrite(s, 1, n, out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			fputs("\xef\xbf\xbd", out);
		else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			fputs("\xef\xbf\xbd", out);     /* C1 controls */
			i++;
		} else
			fputc(p[i], out);
	}
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

/* The exact text of a record. */
static void
show_raw(const api_record *r)
{
	put((const char *)r->raw.ptr, r->raw.len);
}

/* A record as Markdown: a heading, its fields, its body. */
static void
show_item(const struct item *it)
{
	const api_record *r = &it->r;
	const char *type = api_record_get(r, "Type"), *skip, *v;
	int note = strcmp(it->kind, "notes") == 0, first = 1;

	puts_("\n## ");
	puts_((v = api_record_get(r, "Date")) ? v : "?");
	puts_(note ? " note: " : " event: ");
	puts_(type ? type : "?");
	if ((v = api_record_get(r, "Author")) != NULL) {
		puts_(" (");
		puts_(v);
		puts_(")");
	}
	puts_("\n\n");
	skip = note ? "Case Note Date Type Author" : "Case Event Date Type Author";
	for (size_t i = 0; i < r->n; i++) {
		const char *k = r->key[i];
		size_t kl = strlen(k);
		const char *p = strstr(skip, k);
		if (p && (p == skip || p[-1] == ' ') && (p[kl] == ' ' || !p[kl]))
			continue;
		puts_(first ? "" : "  \n");
		puts_(k);
		puts_(": ");
		puts_(r->val[i]);
		first = 0;
	}
	if (!first)
		puts_("  \n");
	puts_(note ? "ID: " : "Event: ");
	puts_(note ? api_record_get(r, "Note") : api_record_get(r, "Event"));
	puts_("\n");
	if (r->bodylen) {
		puts_("\n");
		put(r->body, r->bodylen);
		if (r->body[r->bodylen - 1] != '\n')
			puts_("\n");
	}
}

/* Who can grant access (the leads, who hold every case's keys), for the
 * refusal. */
static void
refuse(api_store *s, const api_identity *me, const char *id)
{
	api_staff_list l;
	char who[512] = "";
	size_t len = 0;

	if (api_store_staff(s, &l) == 0) {
		for (size_t i = 0; i < l.n; i++)
			if (!l.v[i].valid_until[0] && strcmp(l.v[i].role, "lead") == 0 &&
			    len < sizeof who - 40)
				len += (size_t)snprintf(who + len, sizeof who - len, "%s%s",
				    len ? ", " : "", l.v[i].handle);
		api_staff_list_free(&l);
	}
	if (len)
		cli_die("%s is not on the team of case %s; a lead (%s) can grant "
		    "access with: api grant %s %s", me->handle, id, who, id,
		    me->handle);
	cli_die("%s is not on the team of case %s; its team can grant access "
	    "where api.conf sets access.teamMayGrant (this store has no lead)",
	    me->handle, id);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "raw", no_argument, NULL, 'r' },
		{ "no-pager", no_argument, NULL, 'n' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *want = NULL, *purpose = "show";
	int c, pass_fd = -1, raw = 0, nopager = 0, rc;
	struct item *v = NULL;
	size_t n = 0, shown = 0;
	FILE *pager = NULL;
	api_identity *me;
	api_case *cs;
	api_store *s;

	cli_start("api-show");
	while ((c = getopt_long(argc, argv, "hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'r': raw = 1; break;
		case 'n': nopager = 1; break;
		case 'p': purpose = cli_purpose(optarg); break;
		case 'h':
			printf("api-show - decrypt and print a case or one note\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-show %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	want = argc - optind == 2 ? argv[optind + 1] : NULL;
	s = cli_store(dir);
	if (api_case_load(s, argv[optind], &cs) < 0)
		cli_die_lib();
	me = cli_identity(ident, pass_fd);
	cli_require_staff(s, me);
	if ((rc = api_case_unlock(cs, me)) == API_EPERM)
		refuse(s, me, api_case_id(cs));
	if (rc == 0)         /* logged before anything is decrypted and shown */
		cli_readlog_one(s, me, "api-show", purpose, api_case_id(cs));
	if (rc < 0 || load_items(s, cs, me, want, 0, &v, &n) < 0)
		cli_die_lib();

	if (want && n > 1)
		cli_die("%s is ambiguous in case %s; give more of the ID", want,
		    api_case_id(cs));
	out = stdout;
	if (isatty(1)) {
		neutralise = 1;
		if (!nopager) {
			const char *p = getenv("PAGER");
			/* less must not keep searches (note text) in a file */
			setenv("LESSHISTFILE", "-", 1);
			if (getenv("LESS") == NULL)
				setenv("LESS", "FRX", 1);
			signal(SIGPIPE, SIG_IGN);
			if ((pager = popen(p && *p ? p : "less", "w")) != NULL)
				out = pager;
		}
	}
	if (want == NULL && !raw) {
		const api_team *t = api_case_team(cs);
		fprintf(out, "# Case %s\n\nTeam: ", api_case_id(cs));
		for (size_t i = 0; i < t->n; i++)
			fprintf(out, "%s%s%s", i ? ", " : "", t->member[i],
			    i ? "" : " (lead)");
		fputs("\n", out);
	}
	for (size_t i = 0; i < n; i++) {
		if (raw) {
			if (shown) {
				/* between records, a line with a form feed */
				const api_buf *pr = &v[i - 1].r.raw;
				if (pr->len && pr->ptr[pr->len - 1] != '\n')
					fputs("\n", out);
				fputs("\f\n", out);
			}
			show_raw(&v[i].r);
		} else
			show_item(&v[i]);
		shown++;
	}
	rc = 0;
	if (want && shown == 0) {
		fprintf(stderr, "api-show: case %s has no note or event %s\n",
		    api_case_id(cs), want);
		rc = 1;
	}
	if (pager) {
		int st = pclose(pager);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127) {
			fprintf(stderr, "api-show: the pager failed (PAGER=%s)\n",
			    getenv("PAGER") ? getenv("PAGER") : "less");
			rc = 1;
		}
	} else if (cli_flush())
		rc = 1;
	items_free(v, n);
	api_case_free(cs);
	api_identity_free(me);
	api_store_free(s);
	return rc;
}
