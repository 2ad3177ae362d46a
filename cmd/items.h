/*
 * items.h - the records of a case, decrypted and in time order: what
 * api-show prints and api-export renders.
 */
#ifndef API_ITEMS_H
#define API_ITEMS_H

#include <stdatomic.h>

#include "cli.h"

struct item {
	long date;
	const char *kind;                    /* "notes" or "events" */
	char *name;
	api_record r;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The records to read, and the threads that read them: each decryption
 * is an X25519 operation, so the records are shared out over every core
 * (api_fanout_start).  A thread opens the case for itself, in a store of
 * its own: its own keys, scratch memory and libgit2 objects.
 */
struct loader {
	api_store *s;
	api_case *c;                         /* the caller's, for its thread */
	const api_identity *me;
	struct item *v;                      /* every file, in file order */
	int *rc;
	char (*err)[512];
	size_t n;
	int contacts;                        /* keep the contact events */
	_Atomic size_t next;
};

/* A contact event: it repeats a note (a meeting took place). */
static int
item_is_contact(const struct item *it)
{
	const char *t = api_record_get(&it->r, "Type");

	return strcmp(it->kind, "events") == 0 && t && strcmp(t, "contact") == 0;
}

/* Record i into l->v[i]; its code in l->rc[i], a failure's message in
 * l->err[i] (messages are per thread). */
static void
load_one(struct loader *l, api_case *c, size_t i)
{
	struct item *it = &l->v[i];
	const char *d;
	int rc;

	if ((rc = api_case_read(c, l->me, it->kind, it->name, &it->r)) ==
	    API_EPERM) {
		/* the case is unlocked: a record that its keys cannot open
		 * was written for another case */
		char dir[32];
		api_case_dir(dir, api_case_id(c));
		rc = api_error_set(API_EINVAL, "%s/%s/%s: tampering: not "
		    "encrypted to the key of case %s (moved ciphertext)", dir,
		    it->kind, it->name, api_case_id(c));
	}
	if ((l->rc[i] = rc) < 0) {
		snprintf(l->err[i], sizeof l->err[i], "%s", api_error_last());
		return;
	}
	if ((d = api_record_get(&it->r, "Date")) == NULL ||
	    api_date_parse(d, &it->date) < 0)
		it->date = 0;
	/* contact events repeat the notes: left out, unless asked for */
	if (!l->contacts && item_is_contact(it))
		l->rc[i] = 1;
}

static void
load_work(void *ctx, api_store *s)
{
	struct loader *l = ctx;
	api_case *c = l->c;
	size_t i;

	/* (the caller's thread reads what another cannot) */
	if (s != l->s && api_case_load(s, api_case_id(l->c), &c) < 0)
		return;
	while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
		load_one(l, c, i);
	if (c != l->c)
		api_case_free(c);
}

/* Decrypts every note and event (but contacts, which repeat the notes,
 * unless contacts is 1), or only the one named want, sorted by date. */
static int
load_items(api_store *s, api_case *c, const api_identity *me,
    const char *want, int contacts, struct item **v, size_t *n)
{
	static const char *kinds[] = { "notes", "events" };
	struct loader l;
	api_fanout f;
	size_t k = 0;
	int rc = 0;

	memset(&l, 0, sizeof l);
	l.s = s;
	l.c = c;
	l.me = me;
	l.contacts = contacts;
	*v = NULL;
	*n = 0;
	for (int kind = 0; kind < 2; kind++) {
		char **names;
		size_t nn;
		if ((rc = api_case_files(c, kinds[kind], &names, &nn)) < 0)
			goto out;
		struct item *nv = realloc(l.v, (l.n + nn + 1) * sizeof *nv);
		if (nv == NULL) {
			for (size_t i = 0; i < nn; i++)
				free(names[i]);
			free(names);
			rc = api_error_set(API_ENOMEM, "out of memory");
			goto out;
		}
		l.v = nv;
		for (size_t i = 0; i < nn; i++) {
			if (want && strncmp(names[i], want, strlen(want)) != 0) {
				free(names[i]);
				continue;
			}
			memset(&l.v[l.n], 0, sizeof l.v[l.n]);
			l.v[l.n].kind = kinds[kind];
			l.v[l.n++].name = names[i];
		}
		free(names);
	}
	if ((l.rc = calloc(l.n + 1, sizeof *l.rc)) == NULL ||
	    (l.err = calloc(l.n + 1, sizeof *l.err)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	atomic_init(&l.next, 0);
	api_fanout_start(&f, s, l.n <= 64, load_work, &l);
	load_work(&l, s);
	api_fanout_join(&f);
	/* the first failure in file order, as one thread would have met it */
	for (size_t i = 0; i < l.n && rc == 0; i++)
		if (l.rc[i] < 0)
			rc = api_error_set(l.rc[i], "%s", l.err[i]);
	for (size_t i = 0; i < l.n; i++) {
		if (rc == 0 && l.rc[i] == 0)
			l.v[k++] = l.v[i];
		else {
			api_record_free(&l.v[i].r);
			free(l.v[i].name);
		}
	}
	if (rc == 0) {
		qsort(l.v, k, sizeof *l.v, item_cmp);
		*v = l.v;
		*n = k;
		l.v = NULL;
	}
out:
	if (l.v != NULL && rc < 0 && l.rc == NULL)
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i].name);
	free(l.v);
	free(l.rc);
	free(l.err);
	return rc;
}

static void
items_free(struct item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		api_record_free(&v[i].r);
		free(v[i].name);
	}
	free(v);
}
#endif
