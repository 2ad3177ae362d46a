/* error.c - the last error message, per thread. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

static _Thread_local char last[512];

const char *
api_error_last(void)
{
	return last[0] ? last : "unknown error";
}

/* The message may quote the last one ("what: %s", api_error_last()):
 * it is formatted aside first, since vsnprintf must not overlap. */
int
api_error_set(int code, const char *fmt, ...)
{
	char buf[sizeof last];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	memcpy(last, buf, sizeof last);
	return code;
}

void
api_error_clear(void)
{
	last[0] = '\0';
}
