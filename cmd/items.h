/*
 * items.h - the records of a case, decrypted and in time order: what
 * api-show prints and api-export renders.
 */
#ifndef API_ITEMS_H
#define API_ITEMS_H

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

/* Decrypts every note and event (but contacts, which repeat the notes),
 * or only the one named want. */
static int
load_items(api_case *c, const api_identity *me, const char *want,
    struct item **v, size_t *n)
{
	static const char *kinds[] = { "notes", "events" };
	int rc = 0;

	*v = NULL;
	*n = 0;
	for (int k = 0; k < 2 && rc == 0; k++) {
		char **names;
		size_t nn;
		if ((rc = api_case_files(c, kinds[k], &names, &nn)) < 0)
			return rc;
		struct item *nv = realloc(*v, (*n + nn + 1) * sizeof *nv);
		if (nv == NULL)
			rc = api_error_set(API_ENOMEM, "out of memory");
		else
			*v = nv;
		for (size_t i = 0; i < nn; i++) {
			struct item *it = &(*v)[*n];
			const char *t, *d;
			memset(it, 0, sizeof *it);
			if (want && strncmp(names[i], want, strlen(want)) != 0) {
				free(names[i]);
				continue;
			}
			if (rc == 0 && (rc = api_case_read(c, me, kinds[k], names[i],
			    &it->r)) == API_EPERM) {
				/* the case is unlocked: a record that its keys
				 * cannot open was written for another case */
				char dir[32];
				api_case_dir(dir, api_case_id(c));
				rc = api_error_set(API_EINVAL, "%s/%s/%s: tampering: "
				    "not encrypted to the key of case %s (moved "
				    "ciphertext)", dir, kinds[k], names[i],
				    api_case_id(c));
			}
			if (rc == 0) {
				t = api_record_get(&it->r, "Type");
				if (k == 1 && t && strcmp(t, "contact") == 0) {
					api_record_free(&it->r);
					free(names[i]);
					continue;
				}
				it->kind = kinds[k];
				it->name = names[i];
				names[i] = NULL;
				if ((d = api_record_get(&it->r, "Date")) == NULL ||
				    api_date_parse(d, &it->date) < 0)
					it->date = 0;
				(*n)++;
			}
			free(names[i]);
		}
		free(names);
	}
	qsort(*v, *n, sizeof **v, item_cmp);
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
