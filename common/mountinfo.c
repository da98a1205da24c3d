/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/mountinfo.c: the one parser of /proc/self/mountinfo lines
 * (proc(5): "36 35 98:0 /root /mnt rw,noatime shared:1 - ext3 /dev/sda rw").
 * The kernel writes the lines, but a mount point may hold any byte: its
 * escapes are checked, and a line that does not parse is skipped, never
 * half-read.
 */
#include "common/common.h"

/* The kernel escapes space, tab, newline and backslash as \ooo (seq_escape):
 * anything else after a backslash, or an escape of NUL, is not mountinfo. */
int mountinfo_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		if (s[1] < '0' || s[1] > '3' || s[2] < '0' || s[2] > '7' || s[3] < '0' || s[3] > '7')
			return -EINVAL;
		*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
		if (*o++ == '\0')
			return -EINVAL;
		s += 3;
	}
	*o = '\0';
	return 0;
}

static bool is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The next space-separated field of *rest, NULL when none is left. */
static char *field(char **rest)
{
	char *f = strsep(rest, " ");

	return f && *f ? f : NULL;
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *e)
{
	char *rest = line, *id, *parent, *dev, *sep;

	id = field(&rest);
	parent = field(&rest);
	dev = field(&rest);
	e->root = field(&rest);
	e->mountpoint = field(&rest);
	e->mount_opts = field(&rest);
	if (!id || !parent || !dev || !e->root || !e->mountpoint || !e->mount_opts || !rest ||
	    !is_number(id) || !is_number(parent) || !strchr(dev, ':'))
		return -EINVAL;
	/* Zero or more optional fields, then the "-" separator. */
	if (strncmp(rest, "- ", 2) == 0) {
		e->optional = e->mount_opts + strlen(e->mount_opts);   /* "" */
		rest += 2;
	} else if ((sep = strstr(rest, " - "))) {
		*sep = '\0';
		e->optional = rest;
		rest = sep + 3;
	} else {
		return -EINVAL;
	}
	e->fstype = field(&rest);
	e->source = field(&rest);
	e->super_opts = field(&rest);
	if (!e->fstype || !e->source || !e->super_opts || rest)
		return -EINVAL;
	if (mountinfo_unescape(e->root) < 0 || mountinfo_unescape(e->mountpoint) < 0 ||
	    mountinfo_unescape(e->source) < 0)
		return -EINVAL;
	return 0;
}

bool mountinfo_next(char **cursor, struct mountinfo_entry *e)
{
	char *line;

	while ((line = strsep(cursor, "\n")))
		if (*line && mountinfo_parse_line(line, e) == 0)
			return true;
	return false;
}
