/* SPDX-License-Identifier: Apache-2.0 */
/* Small cgroupfs file helpers: one write per value, as the kernel expects. */
#include "cgroups/internal.h"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

int cg_write(const char *dir, const char *file, const char *val, struct hull_err **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t w;

	if (fd < 0)
		return hull_err_make(err, errno, "open %s", p);
	/* cgroupfs takes a value per write(); a short write is an error. */
	do
		w = write(fd, val, strlen(val));
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return hull_err_make(err, errno, "write \"%s\" to %s", val, p);
	return 0;
}

int cg_writef(const char *dir, const char *file, struct hull_err **err, const char *fmt, ...)
{
	_cleanup_free_ char *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		abort();
	va_end(ap);
	return cg_write(dir, file, v, err);
}

int cg_read(const char *dir, const char *file, char **out, struct hull_err **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	char *buf = NULL;
	size_t n = 0;

	if (read_file_at(AT_FDCWD, p, &buf, &n, 1u << 20, err) < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	*out = buf;
	return 0;
}

bool cg_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

int cg_read_kv(const char *dir, const char *file, const char *key, uint64_t *out)
{
	_cleanup_free_ char *buf = NULL;
	size_t klen = strlen(key);
	char *save = NULL;

	if (cg_read(dir, file, &buf, NULL) < 0)
		return -ENOENT;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
			return parse_u64(l + klen + 1, out);
	return -ENOENT;
}

int cg_collect_pids(const char *dir, pid_t **pids, size_t *n, size_t *cap, struct hull_err **err)
{
	_cleanup_free_ char *buf = NULL;
	DIR *d;
	struct dirent *e;
	char *save = NULL;

	if (cg_read(dir, "cgroup.procs", &buf, err) < 0)
		return -1;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int64_t v;
		if (parse_i64(l, &v) < 0 || v <= 0)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*pids = xrealloc(*pids, *cap * sizeof(**pids));
		}
		(*pids)[(*n)++] = (pid_t)v;
	}
	d = opendir(dir);
	if (!d)
		return hull_err_make(err, errno, "opendir %s", dir);
	while ((e = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (cg_collect_pids(sub, pids, n, cap, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int cg_wait_empty(const char *dir, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		pid_t *pids = NULL;
		size_t n = 0, cap = 0;
		int r = cg_collect_pids(dir, &pids, &n, &cap, NULL);
		free(pids);
		if (r < 0)
			return errno == ENOENT ? 0 : -1;
		if (n == 0)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

int cg_rmdir(const char *dir, struct hull_err **err)
{
	DIR *d;
	struct dirent *e;

	/* The common case: an empty leaf goes at once. */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : hull_err_make(err, errno, "opendir %s", dir);
	/* Sub-cgroups the container made itself go first. */
	while ((e = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (cg_rmdir(sub, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	/* EBUSY while the last tasks are still being torn down: retry for ~5 s. */
	for (int i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i >= 500)
			return hull_err_make(err, errno, "rmdir %s", dir);
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}
