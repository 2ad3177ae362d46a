/* error.c - the last error message, per thread. */
#include <stdarg.h>
#include <stdio.h>

#include "api.h"

static _Thread_local char last[512];

const char *
api_error_last(void)
{
	return last[0] ? last : "unknown error";
}

int
api_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last, sizeof last, fmt, ap);
	va_end(ap);
	return code;
}

void
api_error_clear(void)
{
	last[0] = '\0';
}
