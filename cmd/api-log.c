/* api-log - append one note to a case; print its ID. */
#include <getopt.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_TYPES "psychosocial ideological network crisis assessment admin"

struct op {
	const api_identity *me;
	const char *id;                      /* the case */
	char note[API_OBJ_ID_LEN + 1], event[API_OBJ_ID_LEN + 1];
	const char *type, *date, *duration, *partner, *next, *corrects;
	const char *body;
	size_t bodylen;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-log [-C DIR] [-i FILE] [--passphrase-fd N] CASE [-t TYPE]\n"
	    "               [--date D] [--duration MIN] [--partner P] [--next D]\n"
	    "               [--corrects NOTE] [-m TEXT | -F FILE]\n");
}

static int
build(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_buf note = { 0 }, ev = { 0 };
	char path[128], dir[32];
	api_case_w w;
	int rc;

	note.secret = ev.secret = 1;
	if ((rc = api_tx_case(tx, op->id, op->me, &w)) < 0)
		return rc;
	api_case_dir(dir, op->id);
	if (op->corrects) {
		snprintf(path, sizeof path, "%s/notes/%s.md.age", dir, op->corrects);
		api_buf b = { 0 };
		rc = api_tx_read(tx, path, &b);
		api_buf_free(&b);
		if (rc < 0) {
			rc = api_error_set(API_ENOTFOUND, "--corrects: case %s has no "
			    "note %s", op->id, op->corrects);
			goto out;
		}
	}
	if ((rc = api_record_field(&note, "Case", op->id)) < 0 ||
	    (rc = api_record_field(&note, "Note", op->note)) < 0 ||
	    (rc = api_record_field(&note, "Author", op->me->handle)) < 0 ||
	    (rc = api_record_field(&note, "Date", op->date)) < 0 ||
	    (rc = api_record_field(&note, "Type", op->type)) < 0 ||
	    (rc = api_record_field(&note, "Duration", op->duration)) < 0 ||
	    (rc = api_record_field(&note, "Partner", op->partner)) < 0 ||
	    (rc = api_record_field(&note, "Next", op->next)) < 0 ||
	    (rc = api_record_field(&note, "Corrects", op->corrects)) < 0 ||
	    (rc = api_buf_append(&note, "\n", 1)) < 0 ||
	    (rc = api_buf_append(&note, op->body, op->bodylen)) < 0)
		goto out;
	/* what the reminders need, readable without the case key */
	if ((rc = api_record_field(&ev, "Case", op->id)) < 0 ||
	    (rc = api_record_field(&ev, "Event", op->event)) < 0 ||
	    (rc = api_record_field(&ev, "Author", op->me->handle)) < 0 ||
	    (rc = api_record_field(&ev, "Date", op->date)) < 0 ||
	    (rc = api_record_field(&ev, "Type", "contact")) < 0 ||
	    (rc = api_record_field(&ev, "Note", op->note)) < 0 ||
	    (rc = api_record_field(&ev, "Kind", op->type)) < 0 ||
	    (rc = api_record_field(&ev, "Partner", op->partner)) < 0 ||
	    (rc = api_record_field(&ev, "Next", op->next)) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/notes/%s.md.age", dir, op->note);
	if ((rc = api_tx_put_record(tx, path, &note,
	    (const unsigned char (*)[32])w.note_pk, 1)) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/events/%s.age", dir, op->event);
	if ((rc = api_tx_put_record(tx, path, &ev,
	    (const unsigned char (*)[32])w.event_pk, 1)) < 0)
		goto out;
	rc = api_tx_message(tx, "log: note added", "log", op->id, op->note);
out:
	api_buf_free(&note);
	api_buf_free(&ev);
	api_case_w_free(&w);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "type", required_argument, NULL, 't' },
		{ "date", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 'D' },
		{ "partner", required_argument, NULL, 'p' },
		{ "next", required_argument, NULL, 'n' },
		{ "corrects", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *msg = NULL, *file = NULL, *types;
	char today[11], tmpl[1024], durbuf[16], deftype[64];
	char *vals[6] = { 0 };
	int c, pass_fd = -1, outfail = 0;
	api_buf text = { 0 };
	api_conf *conf = NULL;
	api_case *cs = NULL;
	struct op op;
	api_store *s;
	long d;

	memset(&op, 0, sizeof op);
	cli_start("api-log");
	while ((c = getopt_long(argc, argv, "hC:i:t:m:F:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 't': op.type = optarg; break;
		case 'd': op.date = optarg; break;
		case 'D': op.duration = optarg; break;
		case 'p': op.partner = optarg; break;
		case 'n': op.next = optarg; break;
		case 'c': op.corrects = optarg; break;
		case 'm': msg = optarg; break;
		case 'F': file = optarg; break;
		case 'h':
			printf("api-log - append a note to a case\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-log %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || (msg && file)) {
		usage(stderr);
		return 2;
	}
	s = cli_store_conf(dir, &conf);
	if ((types = api_conf_get(conf, "notes.types")) == NULL)
		types = DEFAULT_TYPES;
	if (api_case_load(s, argv[optind], &cs) < 0)
		cli_die_lib();
	op.id = api_case_id(cs);
	api_date_format(today, api_date_today());
	op.me = cli_identity(ident, pass_fd);
	/* what can be checked before the editor runs, so that no text typed
	 * there is lost to a refusal */
	{
		api_staff_list l;
		if (api_store_staff(s, &l) < 0 ||
		    api_staff_require(&l, op.me, "caseworker lead admin") < 0)
			cli_die_lib();
		if (!api_team_has(api_case_team(cs), op.me->handle) &&
		    api_staff_require(&l, op.me, "lead admin") < 0)
			cli_die("%s is not on the team of case %s", op.me->handle,
			    op.id);
		api_staff_list_free(&l);
	}
	if (op.type && api_word_index(types, op.type) < 0)
		cli_die("unknown note type '%s' (one of: %s)", op.type, types);
	if ((op.date && api_date_parse(op.date, &d) < 0) ||
	    (op.next && api_date_parse(op.next, &d) < 0))
		cli_die_lib();

	snprintf(tmpl, sizeof tmpl, "Type: %s\nDate: %s\nDuration: %s\n"
	    "Partner: %s\nNext: %s\n\n" CLI_EDIT_MARK "\n\n",
	    op.type ? op.type : "", op.date ? op.date : today,
	    op.duration ? op.duration : "", op.partner ? op.partner : "",
	    op.next ? op.next : "");
	if (cli_text(&text, msg, file, tmpl)) {
		op.body = cli_edited(&text, "Type Date Duration Partner Next",
		    vals, 5, &op.bodylen);
		op.type = vals[0];
		op.date = vals[1];
		op.duration = vals[2];
		op.partner = vals[3];
		op.next = vals[4];
	} else {
		op.body = (const char *)text.ptr;
		op.bodylen = text.len;
	}
	if (op.type == NULL) {
		/* the first of the configured types */
		size_t n = strcspn(types, " \t");
		snprintf(deftype, sizeof deftype, "%.*s", (int)n, types);
		op.type = deftype;
	}
	if (api_word_index(types, op.type) < 0)
		cli_die("unknown note type '%s' (one of: %s)", op.type, types);
	if (op.date == NULL)
		op.date = today;
	if (api_date_parse(op.date, &d) < 0 ||
	    (op.next && api_date_parse(op.next, &d) < 0))
		cli_die_lib();
	if (op.duration) {
		char *end;
		long v = strtol(op.duration, &end, 10);
		if (*op.duration == '\0' || *end || v < 1 || v > 1440)
			cli_die("duration '%s' is not a number of minutes "
			    "(1 to 1440)", op.duration);
		snprintf(durbuf, sizeof durbuf, "%ld", v);
		op.duration = durbuf;
	}
	if (op.corrects && !api_obj_id_valid(op.corrects))
		cli_die("--corrects: '%s' is not a note ID", op.corrects);
	if (api_obj_id_new(op.note) < 0 || api_obj_id_new(op.event) < 0)
		cli_die_lib();
	if (api_store_write(s, op.me, build, &op, NULL) < 0)
		cli_die_lib();
	printf("%s\n", op.note);
	/* the write is done: if its ID cannot be printed, say it here */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: note %s was written, but standard output "
		    "failed\n", cli_name, op.note);
		outfail = 1;
	}
	api_buf_free(&text);
	api_case_free(cs);
	api_conf_free(conf);
	api_identity_free((api_identity *)op.me);
	api_store_free(s);
	return outfail || cli_flush();
}
