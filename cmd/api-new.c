/* api-new - open a case; print its ID. */
#include <getopt.h>
#include <time.h>

#include "cli.h"

struct op {
	const api_identity *me;
	char id[API_CASE_ID_LEN + 1], dir[32];
	char note[API_OBJ_ID_LEN + 1], opened[API_OBJ_ID_LEN + 1],
	    contact[API_OBJ_ID_LEN + 1];
	unsigned char pk[2][32];             /* notes key, events key */
	unsigned char *sk;                   /* 2 x 32, secret memory */
	api_team team;
	const api_staff_list *staff;         /* of main, for the envelope */
	const char *phase, *referral, *date;
	const char *body;
	size_t bodylen;
	int remove_key;                      /* undo: drop the envelope */
	const api_bundle *bundle;            /* --import */
	char (*imported)[API_OBJ_ID_LEN + 1];  /* a note ID per record */
	const char *file;                    /* its file */
	char tag[65];                        /* its Api-Bundle (bundle_tag) */
	int duplicate;                       /* --duplicate */
	api_store *s;
	git_oid seen;                        /* main, searched for tag */
	int have_seen;
	git_oid kbase;                       /* the keys our write replaced */
	int have_kbase;
	int has_cases;                       /* main has a cases/ tree */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-new [-C DIR] [-i FILE] [--passphrase-fd N] [--assign HANDLE]...\n"
	    "               [--referral SOURCE] [--date D] [-m TEXT | -F FILE]\n"
	    "       api-new [options] [--assign HANDLE]... [--referral SOURCE] "
	    "--import BUNDLE [--duplicate]\n");
}

/*
 * The case a bundle was imported as: the Api-Case of the commit of main
 * whose Api-Bundle is tag (see bundle_tag), from main's tip down to, not
 * into, *seen (all of main when !*have); "" if none.  *seen becomes the
 * tip.  The whole history is read (no cut-off by date: the clocks of two
 * programmes need not agree); an import is rare, and the walk reads only
 * commits.
 */
static int
imported_as(api_store *s, const char *tag, git_oid *seen, int *have,
    char out[API_CASE_ID_LEN + 1])
{
	git_repository *repo = api_store_repo(s);
	git_revwalk *w = NULL;
	git_oid oid, tip;
	char want[96];
	int rc = API_OK, err = 0;

	out[0] = '\0';
	snprintf(want, sizeof want, "\nApi-Bundle: %s\n", tag);
	if (git_reference_name_to_id(&tip, repo, "refs/heads/main") < 0)
		return API_OK;                   /* no case yet */
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, &tip) < 0 ||
	    (*have && git_revwalk_hide(w, seen) < 0)) {
		git_revwalk_free(w);
		return api_git_fail(API_EIO, "main");
	}
	while (out[0] == '\0' && (err = git_revwalk_next(&oid, w)) == 0) {
		git_commit *c = NULL;
		const char *m, *p;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = api_git_fail(API_EIO, git_oid_tostr_s(&oid));
			break;
		}
		m = git_commit_message(c);
		if (strstr(m, want) != NULL && (p = strstr(m, "\nApi-Case: ")))
			snprintf(out, API_CASE_ID_LEN + 1, "%.*s", API_CASE_ID_LEN,
			    p + 11);
		git_commit_free(c);
	}
	/* a commit that cannot be read is not the end of the history */
	if (rc == 0 && err != 0 && err != GIT_ITEROVER)
		rc = api_git_fail(API_EIO, "main");
	git_revwalk_free(w);
	if (rc == 0) {
		git_oid_cpy(seen, &tip);
		*have = 1;
	}
	return rc;
}

/* 0, or API_EEXIST naming the case the bundle was imported as (unless
 * --duplicate); main is read from where the last look stopped. */
static int
not_imported(struct op *op)
{
	char prev[API_CASE_ID_LEN + 1];
	int rc;

	if (op->duplicate)
		return 0;
	if ((rc = imported_as(op->s, op->tag, &op->seen, &op->have_seen,
	    prev)) < 0)
		return rc;
	if (prev[0])
		return api_error_set(API_EEXIST, "%s: this bundle was imported "
		    "already, as case %s; --duplicate opens another case from it",
		    op->file, prev);
	return 0;
}

/* The case's key envelopes on API_KEYS_REF (or their removal, to undo). */
static int
build_key(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_buf old = { 0 };
	char key[48], events[48];
	int rc;

	snprintf(key, sizeof key, "%s/key.age", op->dir);
	snprintf(events, sizeof events, "%s/events.age", op->dir);
	if (op->remove_key) {
		int found;
		if ((rc = api_tx_remove_envelopes(tx, op->id, &found)) == 0)
			rc = api_tx_message(tx, "keys: case keys removed (case not "
			    "opened)", "case-key-undo", op->id, NULL);
		return rc;
	}
	rc = api_tx_read(tx, key, &old);
	api_buf_free(&old);
	if (rc == 0)
		return api_error_set(API_EEXIST, "case %s already has keys",
		    op->id);
	/* the keys this write replaces, to put back on undo: read after the
	 * base was, so that when the ref moved in between, the write's
	 * compare-and-swap fails and this is read again */
	op->have_kbase = git_reference_name_to_id(&op->kbase,
	    api_store_repo(op->s), API_KEYS_REF) == 0;
	/* a copy of a store without its keys ref (a plain git clone): a
	 * new one here would replace the keys of every case when pushed */
	if (api_tx_is_root(tx) && op->has_cases)
		return api_error_set(API_ENOTFOUND, "this store has cases but no "
		    "%s (a copy made without it?); fetch it with "
		    "'git fetch ORIGIN +refs/api/*:refs/api/*' first", API_KEYS_REF);
	if ((rc = api_tx_put_envelopes(tx, op->id, op->sk, 1, op->sk + 32, 1,
	    &op->team, NULL, op->staff)) == 0)
		rc = api_tx_message(tx, "keys: case keys written", "case-key",
		    op->id, NULL);
	return rc;
}

/* One record: header fields (NULL-terminated key, value pairs), body. */
static int
put_record(api_tx *tx, const char *path, const char *const *kv,
    const char *body, size_t bodylen, const unsigned char (*pk)[32])
{
	api_buf b = { 0 };
	int rc = API_OK;

	b.secret = 1;
	for (size_t i = 0; kv[i] && rc == 0; i += 2)
		rc = api_record_field(&b, kv[i], kv[i + 1]);
	if (rc == 0 && body)
		if ((rc = api_buf_append(&b, "\n", 1)) == 0)
			rc = api_buf_append(&b, body, bodylen);
	if (rc == 0)
		rc = api_tx_put_record(tx, path, &b, pk, 1);
	api_buf_free(&b);
	return rc;
}

static int
build_case(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_staff_list l = { 0 };
	const unsigned char (*npk)[32] = (const unsigned char (*)[32])op->pk[0];
	const unsigned char (*epk)[32] = (const unsigned char (*)[32])op->pk[1];
	api_buf b = { 0 };
	char path[128];
	int rc;

	snprintf(path, sizeof path, "%s/team", op->dir);
	rc = api_tx_read(tx, path, &b);
	if (rc == 0) {
		rc = api_error_set(API_EEXIST, "case %s exists already", op->id);
		goto out;
	}
	b.len = 0;
	if ((rc = api_tx_staff(tx, &l)) < 0 ||
	    (rc = api_staff_require(&l, op->me, "caseworker lead admin")) < 0)
		goto out;
	if ((rc = api_team_format(&op->team, &b)) < 0 ||
	    (rc = api_tx_put(tx, path, b.ptr, b.len)) < 0)
		goto out;
	b.len = 0;
	snprintf(path, sizeof path, "%s/recipient", op->dir);
	if ((rc = api_recipient_format(&b, op->pk[0], op->pk[1])) < 0 ||
	    (rc = api_tx_put(tx, path, b.ptr, b.len)) < 0)
		goto out;

	const char *note[] = { "Case", op->id, "Note", op->note, "Author",
	    op->me->handle, "Date", op->date, "Type", "intake", "Referral",
	    op->referral, NULL };
	snprintf(path, sizeof path, "%s/notes/%s.md.age", op->dir, op->note);
	if ((rc = put_record(tx, path, note, op->body, op->bodylen, npk)) < 0)
		goto out;
	const char *opened[] = { "Case", op->id, "Event", op->opened, "Author",
	    op->me->handle, "Date", op->date, "Type", "opened", "Phase",
	    op->phase, "Referral", op->referral, NULL };
	snprintf(path, sizeof path, "%s/events/%s.age", op->dir, op->opened);
	if ((rc = put_record(tx, path, opened, NULL, 0, epk)) < 0)
		goto out;
	/* a bundle's records: each a note of its own, kept byte for byte */
	for (size_t i = 0; op->bundle && i < op->bundle->m.nrec; i++) {
		const api_bundle_record *br = &op->bundle->m.rec[i];
		const api_buf *t = &op->bundle->text[i];
		api_record r = { 0 };
		char src[API_CASE_ID_LEN + 2 + sizeof br->path], date[11];
		const char *d;
		long day;
		if ((rc = api_record_parse(&r, t->ptr, t->len)) < 0)
			goto out;
		d = api_record_get(&r, "Date");
		snprintf(date, sizeof date, "%s", d && api_date_parse(d, &day) == 0 ?
		    d : op->date);
		api_record_free(&r);
		snprintf(src, sizeof src, "%s/%s", op->bundle->m.case_id, br->path);
		const char *imp[] = { "Case", op->id, "Note", op->imported[i],
		    "Author", op->me->handle, "Date", date, "Type", "imported",
		    "Source", src, NULL };
		snprintf(path, sizeof path, "%s/notes/%s.md.age", op->dir,
		    op->imported[i]);
		if ((rc = put_record(tx, path, imp, (const char *)t->ptr, t->len,
		    npk)) < 0)
			goto out;
	}
	if (strcmp(op->phase, "intake") == 0 && op->bundle == NULL) {
		/* the intake meeting is the first contact */
		const char *contact[] = { "Case", op->id, "Event", op->contact,
		    "Author", op->me->handle, "Date", op->date, "Type", "contact",
		    "Note", op->note, "Kind", "intake", NULL };
		snprintf(path, sizeof path, "%s/events/%s.age", op->dir,
		    op->contact);
		if ((rc = put_record(tx, path, contact, NULL, 0, epk)) < 0)
			goto out;
	}
	/* another import of the bundle since the first look: main moves
	 * only from the tip this write was built on (else it is built
	 * again), so no import can slip in after this look */
	if (op->bundle && (rc = not_imported(op)) < 0)
		goto out;
	rc = api_tx_message(tx, "new: case opened", "new", op->id, op->note);
	if (rc == 0 && op->bundle)
		rc = api_tx_trailer(tx, "Api-Bundle", op->tag);
out:
	api_buf_free(&b);
	api_staff_list_free(&l);
	return rc;
}

/*
 * The case was not opened: put the keys ref back to the commit our write
 * replaced if nobody wrote to it since, else remove the envelopes with
 * another commit.  Keys commits have no parents: the commit to go back to
 * is the one recorded while our write was built, not the ref as it was
 * when api-new began (when another writer came in between, as two
 * imports of one bundle at once do, going back that far dropped the
 * other's envelopes).  The ref moves under the store's lock, as every
 * write's does.
 */
static void
undo_key(api_store *s, struct op *op, const char *ours)
{
	git_oid id;

	if (git_oid_fromstr(&id, ours) < 0 ||
	    api_ref_move(api_store_repo(s), API_KEYS_REF, op->have_kbase ?
	    &op->kbase : NULL, &id, "api-new: case not opened") < 0) {
		op->remove_key = 1;
		(void)api_store_write_ref(s, op->me, API_KEYS_REF, API_WRITE_ROOT,
		    build_key, op, NULL);
	}
}

/* An assigned handle must be active staff who can work a case. */
static void
check_member(const api_staff_list *l, const char *h)
{
	long i = api_staff_find(l, h);

	if (i < 0)
		cli_die("--assign %s: no such member of staff", h);
	if (l->v[i].valid_until[0])
		cli_die("--assign %s: retired on %s", h, l->v[i].valid_until);
	if (strcmp(l->v[i].role, "caseworker") != 0 &&
	    strcmp(l->v[i].role, "lead") != 0 && strcmp(l->v[i].role, "admin") != 0)
		cli_die("--assign %s: has role %s; a case team needs caseworkers, "
		    "leads or admins", h, l->v[i].role);
}

/* SHA256:... of an ssh-ed25519 key, as ssh-keygen -l prints it */
static void
fingerprint(char out[64], const unsigned char pk[32])
{
	unsigned char blob[4 + 11 + 4 + 32], h[crypto_hash_sha256_BYTES];

	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	memcpy(blob + 19, pk, 32);
	crypto_hash_sha256(h, blob, sizeof blob);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, 64 - 7, h, sizeof h,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

/*
 * The Api-Bundle trailer: HMAC-SHA-256 of the manifest under a key made
 * from the recipient's secret key (the reader's: a bundle for another is
 * refused), in hex.  The same bundle gives the same tag however it was
 * encrypted; but whoever holds the manifest without that key, the sending
 * programme among them, cannot tell from the history which case it
 * became.
 */
static void
bundle_tag(char out[65], const api_identity *me, const api_buf *manifest)
{
	static const char label[] = "api bundle tag";
	unsigned char k[crypto_auth_hmacsha256_KEYBYTES];
	unsigned char h[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(k, (const unsigned char *)label,
	    sizeof label - 1, me->age_sk);
	crypto_auth_hmacsha256(h, manifest->ptr, manifest->len, k);
	sodium_memzero(k, sizeof k);
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* --import: the bundle checked, and the intake that says where it came
 * from (the manifest and its signature in full, for the auditors) */
static const api_bundle *
import(const char *file, const api_identity *me, api_buf *intake,
    struct op *op)
{
	const api_bundle_manifest *m;
	api_buf ct = { 0 };
	api_bundle *b;
	char line[1024], fp[64], sha[65], rcpt[API_AGE_RECIPIENT_LEN + 1];
	int rc;

	if (api_file_read(file, &ct, API_BUNDLE_MAX + API_BUNDLE_MAX / 16) < 0)
		cli_die_lib();
	if (api_bundle_read(&b, me, ct.ptr, ct.len) < 0)
		cli_die("%s: %s", file, api_error_last());
	api_buf_free(&ct);
	m = &b->m;
	/* once a store: a bundle is known by its manifest, whatever file
	 * or encryption it came in */
	bundle_tag(op->tag, me, &b->manifest);
	op->file = file;
	if (not_imported(op) < 0)
		cli_die_lib();
	fingerprint(fp, b->signer->pub.sign_pk);
	sodium_bin2hex(sha, sizeof sha, b->sha256, sizeof b->sha256);
	api_age_recipient_encode(rcpt, m->recipient);
	intake->secret = 1;
	snprintf(line, sizeof line, "# Handover from another programme\n\n"
	    "This case was opened from a handover bundle.  Its %zu records "
	    "follow as notes of type `imported`, each byte for byte as the "
	    "other programme exported it.\n\n"
	    "- Source case: %s\n- Source store: main at %s\n"
	    "- Exported: %s by %s (%s), signing key %s\n",
	    m->nrec, m->case_id, m->store, m->exported, m->by, b->signer->role, fp);
	rc = api_buf_append(intake, line, strlen(line));
	if (m->override)
		snprintf(line, sizeof line, "- Exported without a consent event, "
		    "for this reason: %s\n", m->override);
	else
		snprintf(line, sizeof line, "- Consent: event %s of the source "
		    "case\n", m->consent);
	if (rc == 0)
		rc = api_buf_append(intake, line, strlen(line));
	snprintf(line, sizeof line, "- Bundle: SHA-256 %s, for %s\n\n"
	    "The bundle names its signer's key itself: compare %s with the "
	    "fingerprint the sending programme gives you by another way.\n\n"
	    "## Manifest\n\n```\n", sha, rcpt, fp);
	if (rc == 0)
		rc = api_buf_append(intake, line, strlen(line));
	if (rc == 0)
		rc = api_buf_append(intake, b->manifest.ptr, b->manifest.len);
	if (rc == 0)
		rc = api_buf_append(intake, "```\n", 4);
	if (rc < 0)
		cli_die_lib();
	fprintf(stderr, "api-new: bundle of case %s, %zu records, exported %s by "
	    "%s, signing key %s\n", m->case_id, m->nrec, m->exported, m->by, fp);
	return b;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "assign", required_argument, NULL, 'a' },
		{ "referral", required_argument, NULL, 'r' },
		{ "date", required_argument, NULL, 'd' },
		{ "message", required_argument, NULL, 'm' },
		{ "file", required_argument, NULL, 'F' },
		{ "import", required_argument, NULL, 'I' },
		{ "duplicate", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *msg = NULL, *file = NULL;
	const char *bundle = NULL;
	const char **assign = NULL;
	size_t nassign = 0;
	char today[11], tmpl[1024];
	char *vals[2] = { 0 };
	int c, pass_fd = -1, outfail = 0;
	api_buf text = { 0 };
	api_staff_list l;
	struct op op;
	api_store *s;
	long d;

	memset(&op, 0, sizeof op);
	cli_start("api-new");
	if ((assign = calloc((size_t)argc, sizeof *assign)) == NULL)
		cli_die("out of memory");
	while ((c = getopt_long(argc, argv, "hC:i:m:F:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'a': assign[nassign++] = optarg; break;
		case 'r': op.referral = optarg; break;
		case 'd': op.date = optarg; break;
		case 'm': msg = optarg; break;
		case 'F': file = optarg; break;
		case 'I': bundle = optarg; break;
		case 'D': op.duplicate = 1; break;
		case 'h':
			free(assign);
			printf("api-new - open a case and print its ID\n");
			usage(stdout);
			return cli_flush();
		case 'V':
			free(assign);
			printf("api-new %s\n", API_VERSION);
			return cli_flush();
		default: free(assign); usage(stderr); return 2;
		}
	}
	if (optind != argc || (msg && file) || (bundle && (msg || file || op.date)) ||
	    (op.duplicate && !bundle)) {
		free(assign);
		usage(stderr);
		return 2;
	}
	s = cli_store(dir);
	op.s = s;
	if (api_store_staff(s, &l) < 0)
		cli_die_lib();
	op.staff = &l;
	op.me = cli_identity(ident, pass_fd);
	if (api_staff_require(&l, op.me, "caseworker lead admin") < 0)
		cli_die_lib();
	/* the lead caseworker first: a caseworker opening a case leads it;
	 * a lead or admin opening one hands it to the first assigned */
	if (strcmp(l.v[api_staff_find(&l, op.me->handle)].role, "caseworker") == 0 &&
	    api_team_add(&op.team, op.me->handle) < 0)
		cli_die_lib();
	for (size_t i = 0; i < nassign; i++) {
		check_member(&l, assign[i]);
		if (api_team_add(&op.team, assign[i]) < 0)
			cli_die_lib();
	}
	if (api_team_add(&op.team, op.me->handle) < 0)
		cli_die_lib();

	api_date_format(today, api_date_today());
	if (bundle) {
		op.bundle = import(bundle, op.me, &text, &op);
		op.body = (const char *)text.ptr;
		op.bodylen = text.len;
		if ((op.imported = calloc(op.bundle->m.nrec + 1,
		    sizeof *op.imported)) == NULL)
			cli_die("out of memory");
		for (size_t i = 0; i < op.bundle->m.nrec; i++)
			if (api_obj_id_new(op.imported[i]) < 0)
				cli_die_lib();
	} else {
		snprintf(tmpl, sizeof tmpl, "Date: %s\nReferral: %s\n\n"
		    CLI_EDIT_MARK "\n\n", op.date ? op.date : today,
		    op.referral ? op.referral : "");
		if (cli_text(&text, msg, file, tmpl)) {
			op.body = cli_edited(&text, "Date Referral", vals, 2,
			    &op.bodylen);
			op.date = vals[0];
			op.referral = vals[1];
		} else {
			op.body = (const char *)text.ptr;
			op.bodylen = text.len;
		}
	}
	if (op.date == NULL)
		op.date = today;
	if (api_date_parse(op.date, &d) < 0)
		cli_die_lib();
	op.phase = op.referral ? "referral" : "intake";

	if ((op.sk = sodium_malloc(64)) == NULL)
		cli_die("out of secure memory");
	if (api_age_keypair(op.pk[0], op.sk) < 0 ||
	    api_age_keypair(op.pk[1], op.sk + 32) < 0 ||
	    api_obj_id_new(op.note) < 0 || api_obj_id_new(op.opened) < 0 ||
	    api_obj_id_new(op.contact) < 0)
		cli_die_lib();
	api_case_id_new(op.id);
	api_case_dir(op.dir, op.id);
	{
		git_tree *root = NULL;
		if (api_store_tree(s, NULL, &root) == 0)
			op.has_cases = git_tree_entry_byname(root, "cases") != NULL;
		git_tree_free(root);
	}
	/* the key first: a case on main without its key could not be read */
	char ours[GIT_OID_HEXSZ + 1];
	if (api_store_write_ref(s, op.me, API_KEYS_REF, API_WRITE_ROOT,
	    build_key, &op, ours) < 0)
		cli_die_lib();
	if (api_store_write(s, op.me, build_case, &op, NULL) < 0) {
		char err[512];
		snprintf(err, sizeof err, "%s", api_error_last());
		undo_key(s, &op, ours);
		cli_die("%s", err);
	}
	printf("%s\n", op.id);
	/* the write is done: if its ID cannot be printed, say it here */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: case %s was written, but standard output "
		    "failed\n", cli_name, op.id);
		outfail = 1;
	}
	sodium_free(op.sk);
	api_bundle_free((api_bundle *)op.bundle);
	free(op.imported);
	api_team_free(&op.team);
	api_staff_list_free(&l);
	api_buf_free(&text);
	free(assign);
	api_identity_free((api_identity *)op.me);
	api_store_free(s);
	return outfail || cli_flush();
}
