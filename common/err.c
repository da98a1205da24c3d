/* SPDX-License-Identifier: Apache-2.0 */
/* The error chain: one allocation per error, context prefixed as it travels up. */
#include "common.h"

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

int hull_err_ret(const struct hull_err *err)
{
	return (err && err->errnum > 0) ? -err->errnum : -1;
}

int hull_err_make(struct hull_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *base, *msg;

	if (errnum < 0)
		errnum = -errnum;
	if (err == NULL)
		return errnum > 0 ? -errnum : -1;
	/* Never replace an error a callee already reported: it is the more precise one. */
	if (*err != NULL)
		return hull_err_ret(*err);

	va_start(ap, fmt);
	base = vfmt(fmt, ap);
	va_end(ap);
	if (errnum > 0) {
		if (asprintf(&msg, "%s: %s", base, strerror(errnum)) < 0)
			abort();
		free(base);
	} else {
		msg = base;
	}
	*err = xcalloc(1, sizeof(**err));
	(*err)->errnum = errnum;
	(*err)->msg = msg;
	return errnum > 0 ? -errnum : -1;
}

int hull_err_wrap(struct hull_err **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	ctx = vfmt(fmt, ap);
	va_end(ap);
	if (asprintf(&msg, "%s: %s", ctx, (*err)->msg) < 0)
		abort();
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return hull_err_ret(*err);
}

void hull_err_free(struct hull_err **err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
