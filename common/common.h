/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/common.h: the one header every hull folder shares.
 *
 * Errors: fallible functions return int (< 0 on failure) and take
 * `struct hull_err **err` last.  hull_err_make() records errno where the
 * call failed; callers that add context use hull_err_wrap() so the chain
 * reads outermost first: "create: mount /proc: Operation not permitted".
 * Only cli/ prints the chain and picks the exit code.
 */
#ifndef HULL_COMMON_H
#define HULL_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define HULL_VERSION "0.1.0"
#define HULL_OCI_SPEC_VERSION "1.2.0"

/* ---- errors ------------------------------------------------------------ */

struct hull_err {
	int errnum;      /* errno of the innermost failure, 0 if none */
	char *msg;       /* full chain, outermost context first */
};

/* Set *err (if err is non-NULL and *err is NULL) and return -1 (or -errnum when > 0).
 * errnum 0 means "no errno" (a validation error). */
int hull_err_make(struct hull_err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix context to an existing error; returns the error's return value. */
int hull_err_wrap(struct hull_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hull_err_free(struct hull_err **err);
/* The return value hull_err_make would have produced for this error. */
int hull_err_ret(const struct hull_err *err);

/* ---- cleanup ------------------------------------------------------------ */

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) { int saved = errno; close(*fd); errno = saved; } }
static inline void cleanup_fclosep(FILE **f) { if (*f) fclose(*f); }
void cleanup_strvp(char ***v);

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))

/* Move ownership out of a cleanup variable. */
static inline int take_fd(int *fd) { int r = *fd; *fd = -1; return r; }
#define take_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small helpers (common/util.c) -------------------------------------- */

void *xmalloc(size_t n);          /* abort on OOM: nothing sensible to unwind */
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
size_t strv_len(char *const *v);
void strv_free(char **v);

/* Read a whole file (at most max bytes; 0 = 16 MiB) into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max, struct hull_err **err);
/* The same from an open fd, read to its end; path names it in errors. */
int read_fd_all(int fd, const char *path, char **out, size_t *len, size_t max, struct hull_err **err);
/* Write data to path via a temp file + rename in the same directory (atomic). */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
			 struct hull_err **err);
/* Write a string to an existing file (e.g. /proc, cgroupfs). */
int write_file_at(int dirfd, const char *path, const char *data, size_t len, struct hull_err **err);
/* mkdir -p; mode for created components. */
int mkdir_p(const char *path, mode_t mode, struct hull_err **err);
/* rm -rf of name under dfd, never following a symlink (a link is removed, not
 * its target).  Returns 0 (also when name is missing) or -errno of the last
 * step, the removal of name itself. */
int rm_rf_at(int dfd, const char *name);
/* Copy len bytes (or up to EOF) from in to out at their offsets.  name for
 * errors. */
int copy_fd_data(int in, int out, off_t len, const char *name, struct hull_err **err);
void utc_time(int64_t t, struct tm *tm);
/* Write all bytes, retrying on EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* Parse a decimal/0x number fully; -EINVAL if garbage or out of range. */
int parse_u64(const char *s, uint64_t *out);
int parse_i64(const char *s, int64_t *out);

/* ---- /proc/self/mountinfo (common/mountinfo.c) --------------------------- */

/* One mountinfo line, split in place; root, mountpoint and source unescaped. */
struct mountinfo_entry {
	char *root;         /* of the mount within its filesystem */
	char *mountpoint;
	char *mount_opts;   /* per-mount options ("rw,nosuid") */
	char *optional;     /* optional fields ("shared:1 master:2"), "" when none */
	char *fstype;
	char *source;
	char *super_opts;   /* superblock options ("rw,cpu,cpuacct") */
};
/* Undo the kernel's \ooo escapes in place; -EINVAL on a backslash that does
 * not start one (or an escaped NUL), s then half-rewritten. */
int mountinfo_unescape(char *s);
/* Split line (no newline) into e; -EINVAL when it is not a whole mountinfo line. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *e);
/* The next line of a mountinfo buffer that parses, advancing *cursor (which
 * starts at the buffer, modified in place); false at the end. */
bool mountinfo_next(char **cursor, struct mountinfo_entry *e);

/* ---- logging (common/log.c) --------------------------------------------- */

enum hull_log_level { HULL_LOG_ERROR, HULL_LOG_WARN, HULL_LOG_INFO, HULL_LOG_DEBUG };
/* cli/ configures the sink once: fd (default stderr), json lines or text, level. */
void hull_log_init(int fd, bool json, enum hull_log_level level);
void hull_log(enum hull_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define hull_debug(...) hull_log(HULL_LOG_DEBUG, __VA_ARGS__)
#define hull_warn(...) hull_log(HULL_LOG_WARN, __VA_ARGS__)
bool hull_log_enabled(enum hull_log_level lvl);
/* hull_log of msg from a signal handler (async-signal-safe: no malloc, no
 * stdio, one write(2), the line in the sink's format): msg must need no
 * quoting (printable, no '"' or '\\'); longer than 256 bytes, it is cut. */
void hull_log_signal_safe(enum hull_log_level lvl, const char *msg);
/* Async-signal-safe formatting: s, or v in decimal (at least width digits,
 * zero-padded), into buf at `at` while it fits with a NUL (cap); the new end. */
size_t buf_put_str(char *buf, size_t at, size_t cap, const char *s);
size_t buf_put_num(char *buf, size_t at, size_t cap, unsigned long long v, int width);
/* The sink hull_log_init() set (handed to the stage process across its exec). */
void hull_log_get(int *fd, bool *json, enum hull_log_level *level);
/* The calling process's stdio is about to become the container's alone (a
 * child switching to its pty, or past READY, once hull has returned): a log
 * that goes to stdio stops there, so none of hull's lines reaches the
 * container's terminal or output.  runc's init sends its log to runc
 * through a pipe; ours has nobody left to send it to after create. */
void hull_log_leave_stdio(void);

/*
 * Test pause point: when the environment has HULL_TEST_PAUSE=<phase>, the
 * calling process stops itself with SIGSTOP there, so that a test can
 * SIGKILL hull at exactly that phase (tests/integration/leaks.bats; the
 * phases are listed in docs/testing.md).  It grants nothing: whoever sets
 * hull's environment can stop hull at any moment anyway; without the
 * variable it is one getenv().
 */
void hull_test_pause(const char *phase);

#endif
