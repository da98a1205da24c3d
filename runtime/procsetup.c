/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What runc's init does for the user process beyond confinement: HOME from
 * the container's /etc/passwd, a missing process.cwd created, and the
 * chroot into the rootfs of a container without a mount namespace.  All run
 * in the container (after pivot_root or that chroot for create, after setns
 * for exec), as root, before confine_apply: a seccomp filter may refuse
 * openat2 and mkdir.
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <fcntl.h>
#include <sys/stat.h>

const char *runtime_env_get(char *const *env, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

/* The home field of the first passwd line for uid (runc's user.GetExecUser),
 * or NULL.  text is modified. */
const char *runtime_passwd_home(char *text, uint32_t uid)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = { line };
		size_t n = 1;
		uint64_t v;

		for (char *c = line; *c && n < ARRAY_SIZE(f); c++)
			if (*c == ':') {
				*c = '\0';
				f[n++] = c + 1;
			}
		if (n < 6 || parse_u64(f[2], &v) < 0 || v != uid)
			continue;
		return f[5];
	}
	return NULL;
}

/* The image is hostile: /etc/passwd is resolved inside "/" (our root is the
 * container's here), must be a regular file (a FIFO would block, a device
 * never end), and is read up to read_fd_all's cap.  Any failure means no
 * entry, as runc ignores a passwd it cannot open. */
static char *home_of(uint32_t uid)
{
	_cleanup_close_ int root = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	const char *home;
	struct stat st;

	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return NULL;
	fd = ns_open_in_root(root, "/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0, NULL);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (read_fd_all(fd, "/etc/passwd", &text, NULL, 0, NULL) < 0)
		return NULL;
	home = runtime_passwd_home(text, uid);
	return home && *home ? xstrdup(home) : NULL;
}

char **runtime_process_env(const struct oci_process *p)
{
	size_t n = strv_len(p->env);
	char **env = xcalloc(n + 2, sizeof(char *));
	_cleanup_free_ char *home = NULL;

	for (size_t i = 0; i < n; i++)
		env[i] = xstrdup(p->env[i]);
	if (runtime_env_get(p->env, "HOME"))
		return env;
	/* runc and crun: the user's home, "/" when the uid has no entry. */
	home = home_of(p->user.uid);
	env[n] = xasprintf("HOME=%s", home ? home : "/");
	return env;
}

int runtime_make_cwd(const struct oci_process *p, struct hull_err **err)
{
	_cleanup_close_ int root = -1;
	struct stat st;
	int fd;

	/* Only a missing cwd is made; one that exists, even through a magic
	 * link the in-root walk refuses, is for confine_apply's chdir and its
	 * CVE-2024-21626 check to judge. */
	if (!p->cwd || stat(p->cwd, &st) == 0)
		return 0;
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_err_make(err, errno, "open /");
	fd = ns_mkdir_p_in_root(root, p->cwd, 0755, false, err);
	if (fd < 0)
		return hull_err_wrap(err, "process.cwd %s", p->cwd);
	close(fd);
	return 0;
}

int runtime_chroot(const char *dir, struct hull_err **err)
{
	if (chdir(dir) < 0)
		return hull_err_make(err, errno, "chdir %s", dir);
	if (chroot(".") < 0)
		return hull_err_make(err, errno, "chroot %s", dir);
	if (chdir("/") < 0)
		return hull_err_make(err, errno, "chdir /");
	return 0;
}
