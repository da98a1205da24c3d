/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod in one VM (docs/vm-containers.md, "A pod in one VM"), as Kata does
 * it: the CRI annotations of config.json make a VM-isolated container a
 * pod's sandbox (it boots the VM, as any VM container) or one of its
 * members, which is created in the sandbox's VM by its agent: no VMM, no
 * file server of its own.  The sandbox's file server serves ROOT/SANDBOX/pod,
 * a shared mount whose slave it holds, so a member's rootfs and bind
 * sources mounted at pod/MEMBER/{rootfs,mN} on the host show up in the
 * running guest at VMC_GUEST_SHARE/pod/MEMBER/.  A member's state dir
 * names its sandbox, and its vsock.sock is a symlink to the sandbox's: the
 * ops of ops.c reach the pod's agent with the member's id unchanged.  Its
 * state.pid is a small supervisor that relays the init's stdio and exits
 * with its exit code, as a VM container's supervisor does.
 */
#include "vmcontainer/internal.h"
#include "confine/confine.h"
#include "guest/guest.h"
#include "microvm/microvm.h"

#include <dirent.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>

/* containerd's CRI, CRI-O */
static const char *const type_keys[] = { "io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType" };
static const char *const sandbox_keys[] = { "io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID" };

static const char *annotation(const struct oci_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

int vmc_pod_role(const struct oci_spec *spec, enum vmc_pod_role *role, const char **sandbox, const char **key,
		 struct hull_err **err)
{
	*role = VMC_POD_NONE;
	*sandbox = NULL;
	*key = NULL;
	for (size_t k = 0; k < ARRAY_SIZE(type_keys); k++) {
		const char *t = annotation(spec, type_keys[k]), *s = annotation(spec, sandbox_keys[k]);

		if (!t)
			continue;
		if (strcmp(t, "sandbox") == 0) {
			*role = VMC_POD_SANDBOX;
			return 0;
		}
		if (strcmp(t, "container") != 0)
			return hull_err_make(err, 0, "annotation %s \"%s\": must be sandbox or container", type_keys[k], t);
		if (!s || !*s)
			return hull_err_make(err, 0, "annotation %s: a pod's container (%s=container) needs it",
					     sandbox_keys[k], type_keys[k]);
		if (runtime_validate_id(s, err) < 0)
			return hull_err_wrap(err, "annotation %s", sandbox_keys[k]);
		*role = VMC_POD_MEMBER;
		*sandbox = s;
		*key = sandbox_keys[k];
		return 0;
	}
	return 0;
}

int vmc_pod_dir_make(struct container *c, struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/" VMC_POD_DIR, c->dir);

	if (mkdirat(c->dir_fd, VMC_POD_DIR, 0711) < 0)
		return hull_err_make(err, errno, "mkdir %s", path);
	/* Its own mount, in a peer group of its own (a shared parent's bind
	 * joined the parent's first): what is mounted below it reaches the
	 * file server's slave copy and nothing else. */
	if (mount(path, path, NULL, MS_BIND, NULL) < 0 || mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0 ||
	    mount(NULL, path, NULL, MS_SHARED, NULL) < 0) {
		int r = hull_err_make(err, errno, "the pod's directory %s", path);
		(void)vmc_pod_dir_remove(c->dir_fd, NULL);
		return r;
	}
	return 0;
}

/* Every entry of dir_fd/name detached (nothing mounted stays), then
 * removed with rmdir or unlink only: a mount that did not go makes it
 * EBUSY, never a removal of what is mounted there. */
static int remove_mounts(int dir_fd, const char *name, struct hull_err **err)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : hull_err_make(err, errno, "open %s", name);
	d = fdopendir(fd);
	if (!d)
		return hull_err_make(err, errno, "fdopendir %s", name);
	fd = -1;
	while (r == 0 && (e = readdir(d))) {
		char path[64];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d/", dirfd(d));
		{
			_cleanup_free_ char *p = xasprintf("%s%s", path, e->d_name);
			if (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
				r = hull_err_make(err, errno, "umount %s/%s", name, e->d_name);
		}
		/* a directory, or the file a file's bind was mounted on */
		if (r == 0 && unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
		    (errno != ENOTDIR || unlinkat(dirfd(d), e->d_name, 0) < 0))
			r = hull_err_make(err, errno, "remove %s/%s", name, e->d_name);
	}
	closedir(d);
	if (r == 0 && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = hull_err_make(err, errno, "remove %s", name);
	return r;
}

int vmc_pod_dir_remove(int dir_fd, struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/self/fd/%d/" VMC_POD_DIR, dir_fd);
	_cleanup_close_ int fd = openat(dir_fd, VMC_POD_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : hull_err_make(err, errno, "open " VMC_POD_DIR);
	close(take_fd(&fd));
	/* The pod's mount and every member's below it at once. */
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
		return hull_err_make(err, errno, "umount the pod's directory");
	fd = openat(dir_fd, VMC_POD_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "open " VMC_POD_DIR);
	d = fdopendir(fd);
	if (!d)
		return hull_err_make(err, errno, "fdopendir " VMC_POD_DIR);
	fd = -1;
	while (r == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = remove_mounts(dirfd(d), e->d_name, err);
	closedir(d);
	if (r == 0 && unlinkat(dir_fd, VMC_POD_DIR, AT_REMOVEDIR) < 0)
		r = hull_err_make(err, errno, "remove " VMC_POD_DIR);
	return r;
}

bool vmc_is_member(const struct container *c)
{
	return faccessat(c->dir_fd, VMC_SANDBOX_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the member's supervisor ---------------------------------------------- */

struct member_sup {
	const char *id;
	int dir_fd;
	const struct vmc_plan *plan;
	bool terminal;
	int tty, report;
};

/* A signal sent to the member's supervisor is for its init in the guest;
 * VMC_SIG_END (none sends it to a member) is a KILL of all its processes. */
static void member_signal(void *opaque, int sig)
{
	const char *id = opaque;
	struct json_object *req = guest_request_new("kill"), *resp = NULL;

	json_object_object_add(req, "id", json_object_new_string(id));
	json_object_object_add(req, "signal", json_object_new_int(sig == VMC_SIG_END ? SIGKILL : sig));
	json_object_object_add(req, "all", json_object_new_boolean(sig == VMC_SIG_END));
	if (vmc_agent_call(AT_FDCWD, req, &resp, NULL, NULL) == 0)
		json_object_put(resp);
}

__attribute__((noreturn)) static void member_supervise(struct member_sup *s)
{
	struct hull_err *err = NULL;
	struct json_object *req, *resp = NULL;
	int conn = -1, sigfd = -1, code = 255, in = STDIN_FILENO, out = STDOUT_FILENO;

	if (vmc_supervisor_begin(s->dir_fd, s->terminal ? s->tty : -1, s->report, &sigfd, &err) < 0)
		goto fail;
	if (s->terminal && s->tty >= 0)
		in = out = s->tty;
	if (vmc_runtime_hooks(s->id, s->plan, &err) < 0)
		goto fail;
	conn = vmc_agent_connect(AT_FDCWD, &err);
	if (conn < 0) {
		hull_err_wrap(&err, "the pod's VM");
		goto fail;
	}
	req = guest_request_new("create");
	json_object_object_add(req, "id", json_object_new_string(s->id));
	json_object_object_add(req, "config", json_object_new_string(s->plan->guest_config));
	json_object_object_add(req, "terminal", json_object_new_boolean(s->terminal));
	if (vmc_agent_request(conn, req, &resp, &err) < 0) {
		hull_err_wrap(&err, "the pod's VM");
		goto fail;
	}
	json_object_put(resp);
	/* From here it relays what the guest sends: the supervisor's filter. */
	if (microvm_seccomp_thread(MICROVM_THREAD_SUPERVISOR, &err) < 0) {
		struct json_object *del = guest_request_new("delete");
		json_object_object_add(del, "id", json_object_new_string(s->id));
		json_object_object_add(del, "force", json_object_new_boolean(true));
		if (vmc_agent_call(AT_FDCWD, del, &resp, NULL, NULL) == 0)
			json_object_put(resp);
		goto fail;
	}
	vmc_report(&s->report, NULL);
	if (s->terminal)
		vmc_send_winsize(conn, s->tty);
	if (vmc_relay(conn, s->terminal ? in : STDIN_FILENO, out, STDERR_FILENO, s->terminal ? s->tty : -1, sigfd,
		      member_signal, (void *)s->id, &code, &err) < 0) {
		/* The pod's VM ended under it (its sandbox stopped or deleted). */
		hull_warn("supervisor %s: %s; the pod's VM is gone", s->id, err->msg);
		hull_err_free(&err);
		code = 255;
	}
	close(conn);
	_exit(code);
fail:
	if (conn >= 0)
		close(conn);
	vmc_report(&s->report, err);
	hull_err_free(&err);
	_exit(1);
}

/* ---- create ----------------------------------------------------------------- */

/* The sandbox's guest pid, once it is checked to be a live pod sandbox VM
 * (sb open and locked). */
static int sandbox_check(struct container *sb, const char *key, pid_t *pid, struct hull_err **err)
{
	struct json_object *req, *resp = NULL;
	enum oci_status st;
	int gpid = 0, r;

	if (!sb->vm)
		return hull_err_make(err, 0, "annotation %s \"%s\": the pod's sandbox is not VM-isolated", key, sb->id);
	if (faccessat(sb->dir_fd, VMC_POD_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_err_make(err, 0, "annotation %s \"%s\": not a pod's sandbox (created without the "
				     "container-type=sandbox annotation)", key, sb->id);
	st = container_status(sb);
	if (st != OCI_STATUS_RUNNING && st != OCI_STATUS_CREATED)
		return hull_err_make(err, 0, "annotation %s \"%s\": the pod's sandbox is %s", key, sb->id,
				     oci_status_names[st]);
	req = guest_request_new("state");
	json_object_object_add(req, "id", json_object_new_string(sb->id));
	if (vmc_agent_call(sb->dir_fd, req, &resp, NULL, err) < 0)
		return hull_err_wrap(err, "annotation %s \"%s\": the pod's VM", key, sb->id);
	r = oci_json_get_int(resp, "pid", "response", true, &gpid, err);
	json_object_put(resp);
	if (r < 0)
		return hull_err_wrap(err, "annotation %s \"%s\": the pod's VM", key, sb->id);
	if (gpid <= 1)
		return hull_err_make(err, EPROTO, "annotation %s \"%s\": the pod's VM answered pid %d", key, sb->id,
				     gpid);
	*pid = gpid;
	return 0;
}

/* The member's rootfs and bind sources at SANDBOX/pod/ID/{rootfs,mN}:
 * clones made nodev,nosuid before they are attached, so the file server's
 * copies (propagated as they are) are too. */
static int member_mounts(struct container *sb, const char *id, const struct vmc_plan *p, struct hull_err **err)
{
	const unsigned int attrs = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID;
	_cleanup_close_ int pod = openat(sb->dir_fd, VMC_POD_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int mfd = -1, tree = -1;

	if (pod < 0)
		return hull_err_make(err, errno, "open %s/" VMC_POD_DIR, sb->dir);
	if (mkdirat(pod, id, 0711) < 0)
		return hull_err_make(err, errno, "mkdir %s/" VMC_POD_DIR "/%s", sb->dir, id);
	mfd = openat(pod, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0)
		return hull_err_make(err, errno, "open %s/" VMC_POD_DIR "/%s", sb->dir, id);
	tree = confine_tree_clone(AT_FDCWD, p->b.rootfs, true, attrs, err);
	if (tree < 0 || confine_tree_attach(mfd, "rootfs", tree, p->b.rootfs, err) < 0)
		return hull_err_wrap(err, "the pod's directory");
	for (size_t i = 0; i < p->n_shares; i++) {
		close(take_fd(&tree));
		tree = confine_tree_clone(AT_FDCWD, p->shares[i].source, true,
					  attrs | (p->shares[i].ro ? MOUNT_ATTR_RDONLY : 0), err);
		if (tree < 0 || confine_tree_attach(mfd, p->shares[i].name, tree, p->shares[i].source, err) < 0)
			return hull_err_wrap(err, "the pod's directory");
	}
	return 0;
}

/* c's mounts in its sandbox's pod directory (ROOT/SANDBOX/pod/ID). */
static int member_mounts_remove(struct container *c, const char *sandbox, struct hull_err **err)
{
	_cleanup_free_ char *pod = xasprintf("../%s/" VMC_POD_DIR, sandbox);
	_cleanup_close_ int fd = openat(c->dir_fd, pod, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	/* the sandbox's delete took them all */
	if (fd < 0)
		return errno == ENOENT ? 0 : hull_err_make(err, errno, "open %s", pod);
	return remove_mounts(fd, c->id, err);
}

int vmc_member_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		      struct vmc_plan *p, const char *sandbox, const char *key, struct container **out,
		      struct hull_err **err)
{
	struct container *sb = NULL, *c = NULL;
	_cleanup_free_ char *share = NULL, *link = NULL;
	_cleanup_close_ int master = -1, slave = -1;
	int rep[2] = { -1, -1 };
	bool mounted = false;
	pid_t gpid = 0, pid = 0;

	(void)foreground;
	if (container_open(ctx, sandbox, &sb, err) < 0)
		return hull_err_wrap(err, "annotation %s \"%s\": the pod's sandbox", key, sandbox);
	if (sandbox_check(sb, key, &gpid, err) < 0)
		goto fail;
	share = xasprintf(VMC_GUEST_SHARE "/" VMC_POD_DIR "/%s", o->id);
	if (vmc_rewrite_config(p->b.config, p->b.config_len, p->b.dir, share, gpid, &p->guest_config, &p->shares,
			       &p->n_shares, err) < 0)
		goto fail;
	hull_debug("create %s: in pod %s's VM (its init: guest pid %d), %zu shares", o->id, sandbox, (int)gpid,
		   p->n_shares);
	if (container_new(ctx, o->id, &c, err) < 0)
		goto fail;
	c->vm = true;
	c->bundle = xstrdup(p->b.dir);
	c->rootfs = xstrdup(p->b.rootfs);
	link = xasprintf("../%s/" VMC_VSOCK_SOCK, sandbox);
	if (write_file_atomic_at(c->dir_fd, "config.json", p->b.config, p->b.config_len, 0600, err) < 0 ||
	    write_file_atomic_at(c->dir_fd, VMC_SANDBOX_FILE, sandbox, strlen(sandbox), 0600, err) < 0)
		goto fail;
	if (mkfifoat(c->dir_fd, VMC_FIFO_FILE, 0600) < 0 || symlinkat(link, c->dir_fd, VMC_VSOCK_SOCK) < 0) {
		hull_err_make(err, errno, "%s: the state directory's files", c->dir);
		goto fail;
	}
	if (container_save(c, err) < 0)
		goto fail;
	mounted = true;
	if (member_mounts(sb, o->id, p, err) < 0)
		goto fail;
	/* The sandbox may go from here on: then its VM is gone and the
	 * member's create fails (its mounts went with the pod's directory). */
	container_free(take_ptr(sb));
	if (p->b.spec->process.terminal && o->console_socket) {
		if (console_open_pty(&master, &slave, &p->b.spec->process, err) < 0 ||
		    console_send_to_socket(o->console_socket, master, err) < 0)
			goto fail;
	}
	if (pipe2(rep, O_CLOEXEC) < 0) {
		hull_err_make(err, errno, "pipe");
		goto fail;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pid = 0;
		hull_err_make(err, errno, "fork");
		goto fail;
	}
	if (pid == 0) {
		struct member_sup s = { .id = c->id, .dir_fd = c->dir_fd, .plan = p,
					.terminal = p->b.spec->process.terminal, .tty = slave, .report = rep[1] };
		close(rep[0]);
		close(c->lock_fd);
		if (master >= 0)
			close(master);
		member_supervise(&s);
	}
	close(rep[1]);
	rep[1] = -1;
	if (vmc_created(c, rep[0], pid, o->pid_file, err) < 0)
		goto fail;
	close(rep[0]);
	*out = c;
	return 0;
fail:
	for (size_t i = 0; i < 2; i++)
		if (rep[i] >= 0)
			close(rep[i]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (c) {
		if (mounted)
			(void)member_mounts_remove(c, sandbox, NULL);
		c->pid = 0;
		container_abandon(c);
	}
	container_free(sb);
	return -1;
}

int vmc_member_cleanup(const struct runtime_ctx *ctx, struct container *c, bool *member, struct hull_err **err)
{
	_cleanup_free_ char *sandbox = NULL;
	struct json_object *req, *resp = NULL;
	struct hull_err *e = NULL;

	(void)ctx;
	*member = false;
	if (read_file_at(c->dir_fd, VMC_SANDBOX_FILE, &sandbox, NULL, 1024, &e) < 0) {
		int missing = e->errnum == ENOENT;
		if (missing) {
			hull_err_free(&e);
			return 0;
		}
		*err = e;
		return -1;
	}
	*member = true;
	if (runtime_validate_id(sandbox, err) < 0)
		return hull_err_wrap(err, "%s/" VMC_SANDBOX_FILE, c->dir);
	/* The guest's container (stopped by now, or killed here); a VM that
	 * is gone took it along. */
	req = guest_request_new("delete");
	json_object_object_add(req, "id", json_object_new_string(c->id));
	json_object_object_add(req, "force", json_object_new_boolean(true));
	if (vmc_agent_call(c->dir_fd, req, &resp, NULL, &e) == 0) {
		json_object_put(resp);
	} else {
		if (e->errnum == EAGAIN || e->errnum == ENOENT || e->errnum == EPIPE)
			hull_debug("delete %s: the pod's VM: %s", c->id, e->msg);
		else
			hull_warn("delete %s: the pod's VM: %s", c->id, e->msg);
		hull_err_free(&e);
	}
	return member_mounts_remove(c, sandbox, err);
}
