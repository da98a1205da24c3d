/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container ids name a directory under --root, so they must never contain a
 * path separator, be "." or "..", or carry control characters.  Same set as
 * runc: [A-Za-z0-9_.+-]{1,1024}.
 */
#include "runtime/runtime.h"

#define ID_MAX 1024

static bool id_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '+' || c == '-';
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int runtime_validate_id(const char *id, struct hull_err **err)
{
	size_t len;

	if (id == NULL || id[0] == '\0')
		return hull_err_make(err, 0, "invalid container id \"\": must not be empty");
	len = strnlen(id, ID_MAX + 1);
	if (len > ID_MAX)
		return hull_err_make(err, 0, "invalid container id: longer than %d characters", ID_MAX);
	for (size_t i = 0; i < len; i++) {
		if (id_char_ok((unsigned char)id[i]))
			continue;
		/* The id is hostile input: never echo control characters to a terminal. */
		if (!printable(id))
			return hull_err_make(err, 0,
					     "invalid container id: contains control characters; only [A-Za-z0-9_.+-] allowed");
		return hull_err_make(err, 0, "invalid container id \"%s\": only [A-Za-z0-9_.+-] allowed", id);
	}
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hull_err_make(err, 0, "invalid container id \"%s\": must not be \".\" or \"..\"", id);
	return 0;
}
