/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel modules of the guest image: /lib/modules/hull.order lists them,
 * dependencies first (guest/build-image.sh resolved those from modinfo), so
 * the agent loads them one by one with finit_module(2) and needs neither
 * modprobe nor modules.dep.  The file is ours, but it is read as input:
 * bounded, and every entry stays beneath its directory.
 */
#include "guest/guest.h"

#include <libgen.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#define ORDER_MAX_BYTES (64u << 10)
#define ORDER_MAX_LINE  1024u
#define ORDER_MAX_ENTRIES 256u

/* NULL when the entry is acceptable, else why not. */
static const char *entry_problem(const char *e, size_t len)
{
	size_t i, start = 0;

	if (len > ORDER_MAX_LINE)
		return "longer than 1024 bytes";
	if (e[0] == '/')
		return "an absolute path";
	if (len < 4 || strcmp(e + len - 3, ".ko") != 0)
		return "not a .ko file";
	for (i = 0; i <= len; i++) {
		if (i < len && (e[i] <= ' ' || e[i] == 0x7f))
			return "a space or control character";
		if (i < len && e[i] != '/')
			continue;
		/* one component: e[start, i) */
		if (i == start)
			return "an empty path component";
		if ((i - start == 1 && e[start] == '.') || (i - start == 2 && e[start] == '.' && e[start + 1] == '.'))
			return "a \".\" or \"..\" component";
		start = i + 1;
	}
	return NULL;
}

int guest_modules_parse(char *text, const char *what, char ***out, size_t *n, struct hull_err **err)
{
	_cleanup_free_ char **v = NULL;
	size_t count = 0, line = 0;
	char *p = text;

	while (*p) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *why;

		line++;
		if (nl)
			*nl = '\0';
		if (len > 0 && p[0] != '#') {
			why = entry_problem(p, len);
			if (why)
				return hull_err_make(err, EINVAL, "%s line %zu: %s", what, line, why);
			if (count == ORDER_MAX_ENTRIES)
				return hull_err_make(err, EINVAL, "%s line %zu: more than %u modules", what, line,
						     ORDER_MAX_ENTRIES);
			v = xrealloc(v, (count + 2) * sizeof(*v));
			v[count++] = p;
			v[count] = NULL;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (!v)
		v = xcalloc(1, sizeof(*v));
	*n = count;
	*out = take_ptr(v);
	return 0;
}

static int open_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		/* a symlink in the image could point anywhere: refuse them all */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

int guest_load_modules(const char *order_file, struct hull_err **err)
{
	_cleanup_free_ char *dir = xstrdup(order_file), *text = NULL;
	_cleanup_free_ char **entries = NULL;
	_cleanup_close_ int dirfd = -1;
	size_t n = 0, len = 0;
	int loaded = 0;

	dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return hull_err_make(err, errno, "modules: open the directory of %s", order_file);
	if (read_file_at(AT_FDCWD, order_file, &text, &len, ORDER_MAX_BYTES, err) < 0)
		return hull_err_wrap(err, "modules");
	if (strlen(text) != len)
		return hull_err_make(err, EINVAL, "modules: %s holds a NUL byte", order_file);
	if (guest_modules_parse(text, order_file, &entries, &n, err) < 0)
		return hull_err_wrap(err, "modules");
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = open_beneath(dirfd, entries[i]);

		if (fd < 0)
			return hull_err_make(err, errno, "modules: open %s", entries[i]);
		/* params "", no flags: the image's modules match its kernel */
		if (syscall(SYS_finit_module, fd, "", 0) < 0) {
			if (errno == EEXIST)
				continue;
			return hull_err_make(err, errno, "modules: load %s", entries[i]);
		}
		loaded++;
	}
	return loaded;
}
