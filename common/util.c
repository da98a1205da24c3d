/* SPDX-License-Identifier: Apache-2.0 */
#include "common.h"

#include <dirent.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *r;
	if (!s)
		return NULL;
	r = strdup(s);
	if (!r)
		abort();
	return r;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void cleanup_strvp(char ***v)
{
	strv_free(*v);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}


int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max, struct hull_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	return read_fd_all(fd, path, out, len, max, err);
}

int read_fd_all(int fd, const char *path, char **out, size_t *len, size_t max, struct hull_err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, n = 0;

	if (max == 0)
		max = 16u << 20;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			if (cap >= max + 1)
				return hull_err_make(err, EFBIG, "read %s: larger than %zu bytes", path, max);
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return hull_err_make(err, errno, "read %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = take_ptr(buf);
	return 0;
}

int write_file_at(int dirfd, const char *path, const char *data, size_t len, struct hull_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return hull_err_make(err, errno, "open %s", path);
	r = write_all(fd, data, len);
	if (r < 0)
		return hull_err_make(err, -r, "write %s", path);
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
			 struct hull_err **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return hull_err_make(err, errno, "create %s", tmp);
	r = write_all(fd, data, len);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return hull_err_make(err, -r, "write %s", tmp);
	}
	/* Readers must see either the old or the complete new content.  An
	 * existing file is swapped out (RENAME_EXCHANGE) rather than renamed
	 * over: ext4 takes a rename over a file for an editor's save and
	 * allocates and starts writing the new file's blocks at once
	 * (auto_da_alloc), work that a runtime's state (create rewrites
	 * state.json) does not need. */
	if (renameat2(dirfd, tmp, dirfd, path, RENAME_EXCHANGE) == 0) {
		if (unlinkat(dirfd, tmp, 0) == 0)
			return 0;
		/* a directory was there: put it back and fail as rename does */
		r = errno;
		(void)renameat2(dirfd, tmp, dirfd, path, RENAME_EXCHANGE);
		unlinkat(dirfd, tmp, 0);
		return hull_err_make(err, r, "rename %s to %s", tmp, path);
	}
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		r = errno;
		unlinkat(dirfd, tmp, 0);
		return hull_err_make(err, r, "rename %s to %s", tmp, path);
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, struct hull_err **err)
{
	_cleanup_free_ char *p = NULL;
	char *s;

	/* Usually there already: one syscall rather than one per component. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	p = xstrdup(path);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return hull_err_make(err, errno, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return hull_err_make(err, errno, "mkdir %s", p);
	return 0;
}

int rm_rf_at(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0)
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	d = fdopendir(take_fd(&fd));
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR)
			rm_rf_at(dirfd(d), e->d_name);
		else
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int copy_fd_data(int in, int out, off_t len, const char *name, struct hull_err **err)
{
	while (len > 0) {
		ssize_t n = sendfile(out, in, NULL, len > (1 << 30) ? (1 << 30) : (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_err_make(err, errno, "copy %s", name);
		if (n == 0)
			break;  /* the file shrank meanwhile */
		len -= n;
	}
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);
	if (!r)
		abort();
	return r;
}

/* gmtime_r without glibc's tzset(), which reads /etc/localtime (seven
 * syscalls) even for UTC: the civil date from days since 1970-01-01 in the
 * proleptic Gregorian calendar (eras of 400 years, March-based years). */
void utc_time(int64_t t, struct tm *tm)
{
	int64_t days = t / 86400, secs = t % 86400;
	int64_t era, y;
	unsigned doe, yoe, doy, mp;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	*tm = (struct tm){ .tm_hour = (int)(secs / 3600), .tm_min = (int)(secs / 60 % 60), .tm_sec = (int)(secs % 60) };
	days += 719468; /* 0000-03-01 to 1970-01-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(y + (tm->tm_mon <= 1) - 1900);
}
