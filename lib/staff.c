/*
 * staff.c - staff/<handle> files and the allowed_signers file derived
 * from them.
 *
 * A staff file is "key: value" lines:
 *
 *	handle: mkaya
 *	role: caseworker
 *	age: age1...
 *	ssh: ssh-ed25519 AAAA...
 *	valid-from: 2026-11-26T14:30:00Z
 *	valid-until: 2027-03-01T09:00:00Z     (once retired)
 *	added-by: admin1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

int
api_role_valid(const char *role)
{
	static const char *roles[] = { "caseworker", "lead", "admin", "auditor",
	    "service" };

	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

int
api_time_format(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return api_error_set(API_EINVAL, "time out of range");
	return API_OK;
}

int
api_time_parse(const char *s, int64_t *t)
{
	char back[32];
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    s[n] != '\0' || strlen(s) != 20)
		return api_error_set(API_EINVAL, "bad time '%s': want "
		    "YYYY-MM-DDTHH:MM:SSZ", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = (int64_t)timegm(&tm);
	/* one text per time: sscanf takes signs and blanks, timegm takes
	 * month 13 or second 60, and allowed_signers passes the digits on */
	if (api_time_format(back, *t) < 0 || strcmp(back, s) != 0)
		return api_error_set(API_EINVAL, "bad time '%s': want "
		    "YYYY-MM-DDTHH:MM:SSZ", s);
	return API_OK;
}

static int
copy_field(char *dst, size_t cap, const char *v, const char *what)
{
	size_t n = strlen(v);

	if (n >= cap)
		return api_error_set(API_EINVAL, "staff file: %s too long", what);
	memcpy(dst, v, n + 1);
	return API_OK;
}

int
api_staff_parse(api_staff *m, const char *text, size_t len)
{
	char line[512], pub[512] = "", age[128] = "", ssh[256] = "";
	size_t i = 0, n;
	int64_t t;
	int rc = API_OK;

	memset(m, 0, sizeof *m);
	if (memchr(text, '\0', len) != NULL)
		return api_error_set(API_EINVAL, "staff file: contains a NUL byte");
	while (i < len && rc == 0) {
		for (n = 0; i < len && text[i] != '\n'; i++) {
			if (n + 1 >= sizeof line)
				return api_error_set(API_EINVAL, "staff file: line too long");
			line[n++] = text[i];
		}
		i++;
		line[n] = '\0';
		if (n == 0)
			continue;
		char *v = strstr(line, ": ");
		if (v == NULL)
			return api_error_set(API_EINVAL, "staff file: malformed line");
		*v = '\0';
		v += 2;
		if (strcmp(line, "handle") == 0)
			rc = copy_field(m->handle, sizeof m->handle, v, "handle");
		else if (strcmp(line, "role") == 0)
			rc = copy_field(m->role, sizeof m->role, v, "role");
		else if (strcmp(line, "age") == 0)
			rc = copy_field(age, sizeof age, v, "age");
		else if (strcmp(line, "ssh") == 0)
			rc = copy_field(ssh, sizeof ssh, v, "ssh");
		else if (strcmp(line, "valid-from") == 0)
			rc = copy_field(m->valid_from, sizeof m->valid_from, v,
			    "valid-from");
		else if (strcmp(line, "valid-until") == 0)
			rc = copy_field(m->valid_until, sizeof m->valid_until, v,
			    "valid-until");
		else if (strcmp(line, "added-by") == 0)
			rc = copy_field(m->added_by, sizeof m->added_by, v, "added-by");
		else
			rc = api_error_set(API_EINVAL, "staff file: unknown field '%s'",
			    line);
	}
	if (rc < 0)
		return rc;
	if (!api_handle_valid(m->handle))
		return api_error_set(API_EINVAL, "staff file: invalid handle");
	if (!api_role_valid(m->role))
		return api_error_set(API_EINVAL, "staff file %s: unknown role '%s'",
		    m->handle, m->role);
	if (api_time_parse(m->valid_from, &t) < 0 ||
	    (m->valid_until[0] && api_time_parse(m->valid_until, &t) < 0))
		return api_error_set(API_EINVAL, "staff file %s: bad validity time",
		    m->handle);
	snprintf(pub, sizeof pub, "%s %s %s", m->handle, age, ssh);
	if (api_pubid_parse(&m->pub, pub) < 0)
		return api_error_set(API_EINVAL, "staff file %s: bad keys", m->handle);
	return API_OK;
}

int
api_staff_format(const api_staff *m, api_buf *out)
{
	char age[API_AGE_RECIPIENT_LEN + 1], ssh[API_SSH_PUBKEY_LEN + 1];
	char text[1024];
	int n, rc;

	if ((rc = api_age_recipient_encode(age, m->pub.age_pk)) < 0 ||
	    (rc = api_ssh_pubkey_encode(ssh, m->pub.sign_pk)) < 0)
		return rc;
	n = snprintf(text, sizeof text, "handle: %s\nrole: %s\nage: %s\nssh: %s\n"
	    "valid-from: %s\n%s%s%sadded-by: %s\n", m->handle, m->role, age, ssh,
	    m->valid_from, m->valid_until[0] ? "valid-until: " : "",
	    m->valid_until, m->valid_until[0] ? "\n" : "", m->added_by);
	if (n < 0 || (size_t)n >= sizeof text)
		return api_error_set(API_EINVAL, "staff file too long");
	return api_buf_append(out, text, (size_t)n);
}

/* "2026-11-26T14:30:00Z" -> "20261126143000Z" for ssh-keygen. */
static void
ssh_time(char out[32], const char *iso)
{
	size_t n = 0;

	for (; *iso && n < 30; iso++)
		if ((*iso >= '0' && *iso <= '9') || *iso == 'Z')
			out[n++] = *iso;
	out[n] = '\0';
}

static int
cmp_handle(const void *a, const void *b)
{
	return strcmp((*(const api_staff *const *)a)->handle,
	    (*(const api_staff *const *)b)->handle);
}

/*
 * In handle order, which is git's order of staff/: the same staff give
 * the same bytes however the list was built, so it can be compared.
 */
int
api_allowed_signers(const api_staff_list *l, api_buf *out)
{
	char ssh[API_SSH_PUBKEY_LEN + 1], after[32], before[32], line[512];
	const api_staff **v;
	int rc = API_OK, n;

	if ((v = calloc(l->n ? l->n : 1, sizeof *v)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	qsort(v, l->n, sizeof *v, cmp_handle);
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		const api_staff *m = v[i];
		if ((rc = api_ssh_pubkey_encode(ssh, m->pub.sign_pk)) < 0)
			break;
		ssh_time(after, m->valid_from);
		ssh_time(before, m->valid_until);
		n = snprintf(line, sizeof line,
		    "%s namespaces=\"git\",valid-after=\"%s\"%s%s%s %s\n",
		    m->handle, after, before[0] ? ",valid-before=\"" : "", before,
		    before[0] ? "\"" : "", ssh);
		if (n < 0 || (size_t)n >= sizeof line)
			rc = api_error_set(API_EINVAL, "allowed_signers line too long");
		else
			rc = api_buf_append(out, line, (size_t)n);
	}
	free(v);
	return rc;
}

long
api_staff_find_key(const api_staff_list *l, const unsigned char pk[32])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i].pub.sign_pk, pk, 32) == 0)
			return (long)i;
	return -1;
}

long
api_staff_find(const api_staff_list *l, const char *handle)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].handle, handle) == 0)
			return (long)i;
	return -1;
}

void
api_staff_list_free(api_staff_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
