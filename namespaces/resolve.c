/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Path resolution inside a hostile rootfs.
 *
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) treats root_fd as "/" for
 * every absolute symlink and clamps ".." at it, so "/../../etc" or a link to
 * "/etc" stays in the rootfs.  Kernels without openat2 (ENOSYS, < 5.6) get a
 * component walk with O_PATH|O_NOFOLLOW that keeps the stack of directories
 * it went through: ".." pops that stack (never asks the kernel for the
 * parent, so a directory moved out of the root cannot lead outside it) and an
 * absolute symlink restarts from root_fd.
 */
#include "namespaces/internal.h"

#include <linux/openat2.h>
#include <limits.h>
#include <sys/syscall.h>

#define MAX_SYMLINKS 40
#define MAX_DEPTH 256

bool ns_resolve_force_fallback;

/* openat2() returns EAGAIN when a rename raced with RESOLVE_IN_ROOT: retry. */
static int openat2_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	for (int tries = 0; tries < 64; tries++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

struct walk {
	int stack[MAX_DEPTH];       /* stack[0] is the root; stack[depth] the current dir */
	int depth;
};

static void walk_pop_to(struct walk *w, int depth)
{
	while (w->depth > depth)
		close(w->stack[w->depth--]);
}

/* Replace the pending path with "target/rest". */
static char *splice_link(const char *target, const char *rest)
{
	return xasprintf("%s/%s", target, rest);
}

static int read_link_at(int dirfd, const char *name, char **out)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*out = xstrdup(buf);
	return 0;
}

static int manual_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct walk w = { .depth = 0 };
	_cleanup_free_ char *todo = xstrdup(path);
	int links = 0, r = -EINVAL;
	char *p = todo;

	w.stack[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w.stack[0] < 0)
		return -errno;

	for (;;) {
		char *comp, *rest;
		bool last;
		int cur = w.stack[w.depth], fd;
		struct stat st;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* Path ended on a directory ("", "/", "a/", "a/.."). */
			r = openat(cur, ".", flags | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			break;
		}
		comp = p;
		rest = strchrnul(p, '/');
		p = rest;
		if (*rest) {
			*rest = '\0';
			p = rest + 1;
		}
		last = p[strspn(p, "/")] == '\0';

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* Lexical ".." on the stack of visited dirs, clamped at the root. */
			if (w.depth > 0)
				walk_pop_to(&w, w.depth - 1);
			continue;
		}

		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && last && (flags & O_CREAT)) {
				fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				r = fd < 0 ? -errno : fd;
				break;
			}
			r = -errno;
			break;
		}

		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			_cleanup_free_ char *target = NULL;
			char *next;

			if (++links > MAX_SYMLINKS) {
				r = -ELOOP;
				break;
			}
			r = read_link_at(cur, comp, &target);
			if (r < 0)
				break;
			if (target[0] == '/')
				walk_pop_to(&w, 0);
			next = splice_link(target, p);
			free(todo);
			todo = next;
			p = todo;
			continue;
		}

		if (last) {
			if (S_ISLNK(st.st_mode) && !(flags & O_PATH)) {
				r = -ELOOP;
				break;
			}
			/* O_NOFOLLOW: a symlink swapped in after fstatat fails, not followed. */
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = fd < 0 ? -errno : fd;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			break;
		}
		if (w.depth + 1 >= MAX_DEPTH) {
			r = -ENAMETOOLONG;
			break;
		}
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			break;
		}
		w.stack[++w.depth] = fd;
	}
	walk_pop_to(&w, 0);
	close(w.stack[0]);
	return r;
}

int resolve_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	int r;

	if (path == NULL || *path == '\0')
		path = ".";
	if (!ns_resolve_force_fallback) {
		r = openat2_in_root(root_fd, path, flags, mode);
		if (r != -ENOSYS)
			return r;
	}
	return manual_in_root(root_fd, path, flags, mode);
}

int ns_open_in_root(int root_fd, const char *path, int flags, mode_t mode, struct hull_err **err)
{
	int fd = resolve_in_root(root_fd, path, flags, mode);

	if (fd < 0)
		return hull_err_make(err, -fd, "open %s in rootfs", path);
	return fd;
}

/* Create one missing component `name` in parent.  A dangling symlink makes
 * the create fail with EEXIST: then *relink gets its target so the caller
 * restarts the walk through it (still resolved inside the root). */
static int create_component(int parent, const char *name, mode_t mode, bool file, char **relink)
{
	int r;

	if (file) {
		r = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0666);
		if (r >= 0)
			close(r);
	} else {
		r = mkdirat(parent, name, mode);
	}
	if (r >= 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	r = read_link_at(parent, name, relink);
	/* Not a symlink: someone created it meanwhile; the next walk finds it. */
	return r == -EINVAL ? 0 : r;
}

/* One pass over `*path`.  Returns an fd or -errno; sets *again with *path
 * replaced when a dangling symlink has to be followed. */
static int mkdir_pass(int root_fd, char **path, mode_t mode, bool file, bool *again)
{
	char *s = *path;
	_cleanup_close_ int parent = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	size_t pos = 0;

	if (parent < 0)
		return -errno;
	for (;;) {
		size_t start, end;
		bool last, want_file;
		char save;
		int fd, r;
		_cleanup_free_ char *target = NULL;

		while (s[pos] == '/')
			pos++;
		if (s[pos] == '\0')
			return file ? -EISDIR : take_fd(&parent);
		start = pos;
		end = start + strcspn(s + start, "/");
		last = s[end + strspn(s + end, "/")] == '\0';
		want_file = last && file;
		pos = end;

		save = s[end];
		s[end] = '\0';
		fd = resolve_in_root(root_fd, s, want_file ? O_PATH : O_PATH | O_DIRECTORY, 0);
		if (fd >= 0) {
			s[end] = save;
			close(parent);
			parent = fd;
			if (last)
				return take_fd(&parent);
			continue;
		}
		if (fd != -ENOENT) {
			s[end] = save;
			return fd;
		}
		r = create_component(parent, s + start, mode, want_file, &target);
		if (r < 0) {
			s[end] = save;
			return r;
		}
		if (target) {
			/* Follow the dangling link: "prefix/target/rest" (an absolute
			 * target restarts at the root), resolved again inside root_fd. */
			const char *rest = save ? s + end + 1 : "";
			char *next;

			s[start] = '\0';
			if (target[0] == '/')
				next = xasprintf("%s/%s", target, rest);
			else
				next = xasprintf("%s%s/%s", s, target, rest);
			free(*path);
			*path = next;
			*again = true;
			return -EAGAIN;
		}
		s[end] = save;
		pos = start;    /* resolve the new component like any other */
	}
}

/* Only the last component missing (/dev/pts on a fresh /dev): create it in
 * its parent and look the whole path up again.  -EAGAIN: walk instead. */
static int mkdir_last(int root_fd, const char *path, mode_t mode, bool file)
{
	_cleanup_free_ char *clean = path_clean(path);
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int parent = -1;
	char *slash = strrchr(clean, '/');
	const char *base = slash + 1;

	/* path_clean folds ".." by name; only the walk resolves it in the root. */
	if (*base == '\0' || strstr(path, ".."))
		return -EAGAIN;
	*slash = '\0';
	parent = resolve_in_root(root_fd, *clean ? clean : "/", O_PATH | O_DIRECTORY, 0);
	if (parent < 0 || create_component(parent, base, mode, file, &target) < 0 || target)
		return -EAGAIN;
	return resolve_in_root(root_fd, path, file ? O_PATH : O_PATH | O_DIRECTORY, 0);
}

int ns_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, bool file, struct hull_err **err)
{
	_cleanup_free_ char *p = NULL;
	/* Usually all there already: one lookup instead of a walk. */
	int fd = resolve_in_root(root_fd, path, file ? O_PATH : O_PATH | O_DIRECTORY, 0);

	if (fd >= 0)
		return fd;
	if (fd == -ENOENT && (fd = mkdir_last(root_fd, path ? path : "", mode, file)) >= 0)
		return fd;
	p = xstrdup(path ? path : "");
	for (int links = 0; links <= MAX_SYMLINKS; links++) {
		bool again = false;
		int r = mkdir_pass(root_fd, &p, mode, file, &again);

		if (again)
			continue;
		if (r < 0)
			return hull_err_make(err, -r, "mkdir %s in rootfs", path);
		return r;
	}
	return hull_err_make(err, ELOOP, "mkdir %s in rootfs", path);
}

char *path_clean(const char *path)
{
	size_t n = strlen(path ? path : "");
	char *out = xmalloc(n + 2);
	size_t o = 0;
	const char *p = path ? path : "";

	out[o++] = '/';
	while (*p) {
		const char *e;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		len = (size_t)(e - p);
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p = e;
	}
	out[o] = '\0';
	return out;
}
