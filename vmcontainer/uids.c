/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uid of a VM container's jailed VMM (its gid is the same number): one
 * per container, so that no two VMMs share a uid (one escaped guest's VMM
 * could ptrace, signal or read /proc of another's).  Firecracker's jailer
 * takes one per microVM from its caller; hull picks it from a range
 * (VMC_UIDS_FIRST..VMC_UIDS_LAST, or vm.conf's jail_uids) under --root:
 *
 *   ROOT/@vm-uids/UID -> ID   a claim: a symlink naming the container
 *
 * "@" is in no container id, so no container can be called so.  symlinkat
 * fails on an existing name (a claim is exclusive), and the directory's flock
 * serialises the claims with the release at delete and with the reclaim of
 * stale ones: a claim whose ROOT/ID is gone (a delete that never ran, a
 * create killed) or that names the container being created (ROOT/ID is new:
 * the claim is an earlier container's of that name).  docs/vm-containers.md,
 * "The jail's uid".
 */
#include "vmcontainer/internal.h"

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

/* *out: the claims' directory, locked.  create: make it (ROOT too); else a
 * missing one is *out -1 (no claim).  The last release removes it, under
 * the lock: one that was removed while we waited is made (or looked up) again. */
static int claims_lock(const char *root, bool create, int *out, struct hull_err **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", root, VMC_UIDS_DIR);

	if (create && mkdir_p(root, 0700, err) < 0)
		return hull_err_wrap(err, "--root");
	for (;;) {
		_cleanup_close_ int fd = -1;
		struct stat st;

		if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
			return hull_err_make(err, errno, "mkdir %s", dir);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		*out = -1;
		if (fd < 0 && errno == ENOENT && !create)
			return 0;
		if (fd < 0 && errno == ENOENT)
			continue;   /* the last release removed it after our mkdir */
		if (fd < 0)
			return hull_err_make(err, errno, "open %s", dir);
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return hull_err_make(err, errno, "lock %s", dir);
		if (fstat(fd, &st) < 0)
			return hull_err_make(err, errno, "stat %s", dir);
		if (st.st_nlink > 0) {
			*out = take_fd(&fd);
			return 0;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The claim's uid, if name is one (canonical decimal). */
static bool claim_uid(const char *name, uint32_t *uid)
{
	uint64_t v;
	char canon[16];

	if (parse_u64(name, &v) < 0 || v > UINT32_MAX)
		return false;
	snprintf(canon, sizeof(canon), "%u", (unsigned)v);
	if (strcmp(canon, name) != 0)
		return false;
	*uid = (uint32_t)v;
	return true;
}

/*
 * Under the lock: every claim of a container that exists, but id's, which
 * are removed with the stale ones.  *used (malloc'd, sorted), *n.
 */
static int claims_scan(int dfd, const char *root, const char *id, uint32_t **used, size_t *n,
		       struct hull_err **err)
{
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int dup_fd = -1;
	DIR *d = NULL;
	struct dirent *e;
	size_t cap = 0;

	*used = NULL;
	*n = 0;
	if (rootfd < 0)
		return hull_err_make(err, errno, "open %s", root);
	dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		hull_err_make(err, errno, "open %s/%s", root, VMC_UIDS_DIR);
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	for (;;) {
		char target[1100] = "";
		struct stat st;
		uint32_t uid;
		ssize_t len;
		bool stale;

		errno = 0;
		e = readdir(d);
		if (!e && errno) {
			hull_err_make(err, errno, "read %s/%s", root, VMC_UIDS_DIR);
			goto fail;
		}
		if (!e)
			break;
		if (!claim_uid(e->d_name, &uid))
			continue;   /* ".", "..", nothing of ours */
		len = readlinkat(dfd, e->d_name, target, sizeof(target) - 1);
		if (len < 0 && errno == ENOENT)
			continue;
		if (len >= 0)
			target[len] = '\0';
		/* a claim whose target is no container id is none of hull's making: stale */
		stale = len < 0 || strcmp(target, id) == 0 || runtime_validate_id(target, NULL) < 0 ||
			(fstatat(rootfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
		if (stale) {
			if (unlinkat(dfd, e->d_name, 0) < 0 && errno != ENOENT) {
				hull_err_make(err, errno, "remove the stale claim %s/%s/%s", root, VMC_UIDS_DIR,
					      e->d_name);
				goto fail;
			}
			if (strcmp(target, id) != 0)
				hull_debug("VM jail uid %u: its container \"%s\" is gone: claim removed", uid,
					   len < 0 ? "?" : target);
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*used = xrealloc(*used, cap * sizeof(**used));
		}
		(*used)[(*n)++] = uid;
	}
	closedir(d);
	if (*n > 1)
		qsort(*used, *n, sizeof(**used), cmp_u32);
	return 0;
fail:
	closedir(d);
	free(*used);
	*used = NULL;
	*n = 0;
	return -1;
}

/* "FIRST-LAST", decimal, 0 < FIRST <= LAST < 2^31 - 1 (no root, no uid a
 * tool could take for -1 as a signed number). */
static bool parse_range(const char *v, struct vmc_uid_range *r)
{
	const char *dash = strchr(v, '-');
	_cleanup_free_ char *first = NULL;
	uint64_t a, b;

	if (!dash || dash == v || !dash[1] || strspn(v, "0123456789") != (size_t)(dash - v) ||
	    strspn(dash + 1, "0123456789") != strlen(dash + 1))
		return false;
	first = xstrndup(v, (size_t)(dash - v));
	if (parse_u64(first, &a) < 0 || parse_u64(dash + 1, &b) < 0 || a == 0 || a > b || b >= INT32_MAX)
		return false;
	r->first = (uint32_t)a;
	r->last = (uint32_t)b;
	return true;
}

/* Field n (0-based) of a ':'-separated line, or NULL. */
static const char *field(char *line, unsigned n, char **save)
{
	char *f = strtok_r(line, ":", save);

	while (f && n-- > 0)
		f = strtok_r(NULL, ":", save);
	return f;
}

/* etc/file's ids that fall in r: passwd's uids, group's gids (field 2),
 * subuid's and subgid's ranges (start, count: fields 1, 2).  A line that is
 * none (a comment, NIS's "+") is no id; a missing file none either. */
static int etc_overlap(const char *etc, const char *file, bool ranges, const struct vmc_uid_range *r,
		       const char *source, struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", etc, file), *text = NULL;
	struct hull_err *rerr = NULL;
	size_t len = 0, line = 0;
	char *p, *nl;

	if (read_file_at(AT_FDCWD, path, &text, &len, 64u << 20, &rerr) < 0) {
		if (rerr->errnum == ENOENT) {
			hull_err_free(&rerr);
			return 0;
		}
		*err = rerr;
		return -1;
	}
	for (p = text; p && *p; p = nl ? nl + 1 : NULL) {
		_cleanup_free_ char *copy = NULL;
		char *save = NULL;
		const char *f;
		uint64_t start, count = 1;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		line++;
		copy = xstrdup(p);
		if (ranges) {
			const char *c;
			f = field(copy, 1, &save);
			c = f ? strtok_r(NULL, ":", &save) : NULL;
			if (!c || parse_u64(c, &count) < 0 || count == 0)
				continue;
		} else {
			f = field(copy, 2, &save);
		}
		if (!f || parse_u64(f, &start) < 0)
			continue;
		if (start <= r->last && (start + count - 1 >= r->first || start + count - 1 < start))
			return hull_err_make(err, 0, "the VMMs' jail uids %u-%u (%s) overlap %s line %zu: \"%s\"",
					     (unsigned)r->first, (unsigned)r->last, source, path, line, p);
	}
	return 0;
}

int vmc_uid_range_get(const char *conf, const char *etc, struct vmc_uid_range *r, struct hull_err **err)
{
	_cleanup_free_ char *v = NULL, *source = NULL;
	size_t line = 0;

	*r = (struct vmc_uid_range){ VMC_UIDS_FIRST, VMC_UIDS_LAST };
	if (guest_conf_value(conf, GUEST_CONF_JAIL_UIDS, &v, &line, err) < 0)
		return -1;
	if (v && !parse_range(v, r))
		return hull_err_make(err, 0, "%s line %zu: " GUEST_CONF_JAIL_UIDS ": \"%s\" is not FIRST-LAST "
				     "(decimal uids, 0 < FIRST <= LAST < 2147483647)", conf, line, v);
	source = v ? xasprintf(GUEST_CONF_JAIL_UIDS " in %s", conf)
		   : xasprintf("the default; " GUEST_CONF_JAIL_UIDS " in %s sets others", conf);
	if (etc_overlap(etc, "passwd", false, r, source, err) < 0 || etc_overlap(etc, "group", false, r, source, err) < 0 ||
	    etc_overlap(etc, "subuid", true, r, source, err) < 0 || etc_overlap(etc, "subgid", true, r, source, err) < 0)
		return -1;
	return 0;
}

int vmc_uid_claim(const char *root, const char *id, const struct vmc_uid_range *r, uid_t *uid,
		  struct hull_err **err)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ uint32_t *used = NULL;
	char name[16];
	uint64_t cand = r->first;
	size_t n = 0;

	if (r->first > r->last || r->last >= UINT32_MAX)
		return hull_err_make(err, EINVAL, "VM jail uids %u-%u: not a range of uids", (unsigned)r->first,
				     (unsigned)r->last);
	if (claims_lock(root, true, &dfd, err) < 0 || claims_scan(dfd, root, id, &used, &n, err) < 0)
		return -1;
	/* the lowest free one */
	for (size_t i = 0; i < n && cand <= r->last; i++)
		if (used[i] == cand)
			cand++;
		else if (used[i] > cand)
			break;
	if (cand > r->last)
		return hull_err_make(err, 0, "no free uid for the VMM's jail: all of %u-%u are claimed (%s/%s)",
				     (unsigned)r->first, (unsigned)r->last, root, VMC_UIDS_DIR);
	snprintf(name, sizeof(name), "%u", (unsigned)cand);
	if (symlinkat(id, dfd, name) < 0)
		return hull_err_make(err, errno, "claim %s/%s/%s", root, VMC_UIDS_DIR, name);
	*uid = (uid_t)cand;
	return 0;
}

int vmc_uid_release(const char *root, const char *id, struct hull_err **err)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ uint32_t *used = NULL;
	size_t n = 0;

	if (claims_lock(root, false, &dfd, err) < 0)
		return hull_err_wrap(err, "release the VMM's jail uid");
	if (dfd < 0)
		return 0;   /* no claim here */
	if (claims_scan(dfd, root, id, &used, &n, err) < 0)
		return hull_err_wrap(err, "release the VMM's jail uid");
	/* The last one: nothing of VM containers stays under --root (a name
	 * that is no claim keeps it: ENOTEMPTY). */
	if (n == 0) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", root, VMC_UIDS_DIR);
		if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != ENOENT)
			return hull_err_make(err, errno, "rmdir %s", dir);
	}
	return 0;
}
