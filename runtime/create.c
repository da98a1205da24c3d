/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create / run: validate everything first (nothing exists yet), then make
 * the state dir, then spawn.  Any failure after the state dir exists removes
 * it again, so bad input leaves nothing behind.
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <limits.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

/*
 * Without a mount namespace the process shares the host's mounts and is
 * only chrooted into the rootfs.  runc 1.1 then still makes every mount,
 * the rootfs's bind onto itself and the devices in the host's namespace,
 * where they outlive the container, and makes the host's "/" rslave: hull
 * mounts nothing and refuses what would need it.
 */
static int no_mntns_refuse(const struct oci_spec *s, struct hull_err **err)
{
	const struct oci_linux *l = &s->linux_;
	const struct { bool set; const char *field; } needs[] = {
		{ s->n_mounts > 0, "mounts" },
		{ l->n_devices > 0, "linux.devices" },
		{ l->n_masked_paths > 0, "linux.maskedPaths" },
		{ l->n_readonly_paths > 0, "linux.readonlyPaths" },
		{ l->rootfs_propagation != NULL, "linux.rootfsPropagation" },
		{ s->root_readonly, "root.readonly" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(needs); i++)
		if (needs[i].set)
			return hull_err_make(err, 0, "%s: needs a mount namespace (linux.namespaces has none)",
					     needs[i].field);
	return 0;
}

static int check_semantics(const struct oci_spec *s, const struct runtime_create_opts *o, bool foreground,
			   struct hull_err **err)
{
	if (!s->has_process)
		return hull_err_make(err, 0, "process: required");
	if (!s->has_linux)
		return hull_err_make(err, 0, "linux: required on Linux");
	if (!oci_spec_has_ns(s, OCI_NS_MOUNT) && no_mntns_refuse(s, err) < 0)
		return -1;
	if ((s->hostname || s->domainname) && oci_spec_get_ns(s, OCI_NS_UTS) == NULL)
		return hull_err_make(err, 0, "%s: requires a uts namespace", s->hostname ? "hostname" : "domainname");
	if (oci_spec_has_ns(s, OCI_NS_USER) && !oci_spec_get_ns(s, OCI_NS_USER)->path &&
	    (s->linux_.n_uid_mappings == 0 || s->linux_.n_gid_mappings == 0))
		return hull_err_make(err, 0, "linux.uidMappings: a new user namespace needs uid and gid mappings");
	if (!oci_spec_has_ns(s, OCI_NS_USER) && (s->linux_.n_uid_mappings || s->linux_.n_gid_mappings))
		return hull_err_make(err, 0, "linux.uidMappings: mappings given without a user namespace");
	if ((s->linux_.time_offsets[0].set || s->linux_.time_offsets[1].set) &&
	    (!oci_spec_has_ns(s, OCI_NS_TIME) || oci_spec_get_ns(s, OCI_NS_TIME)->path))
		return hull_err_make(err, 0, "linux.timeOffsets: requires a new time namespace");
	for (size_t i = 0; i < s->linux_.n_sysctl; i++) {
		const char *k = s->linux_.sysctl[i].key;
		bool net = strncmp(k, "net.", 4) == 0;
		bool ipc = strncmp(k, "kernel.msg", 10) == 0 || strncmp(k, "kernel.sem", 10) == 0 ||
			   strncmp(k, "kernel.shm", 10) == 0 || strncmp(k, "fs.mqueue.", 10) == 0;
		/* Only namespaced keys, and only when the container owns that namespace (runc's rule). */
		if (strstr(k, "..") || strchr(k, '/'))
			return hull_err_make(err, 0, "linux.sysctl: invalid key \"%s\"", k);
		/* Both uts keys have their own field, which a sysctl would silently
		 * override: runc refuses kernel.hostname, and hull kernel.domainname
		 * too (its field is spec 1.2's; runc 1.1 predates it). */
		if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
			return hull_err_make(err, 0, "linux.sysctl: \"%s\" is not allowed: use the %s field", k, k + 7);
		if (net && !oci_spec_has_ns(s, OCI_NS_NETWORK))
			return hull_err_make(err, 0, "linux.sysctl: \"%s\" requires a network namespace", k);
		if (ipc && !oci_spec_has_ns(s, OCI_NS_IPC))
			return hull_err_make(err, 0, "linux.sysctl: \"%s\" requires an ipc namespace", k);
		if (!net && !ipc)
			return hull_err_make(err, 0, "linux.sysctl: \"%s\" is not namespaced", k);
	}
	if (s->process.terminal && !o->console_socket && !foreground)
		return hull_err_make(err, 0, "process.terminal is true but no --console-socket was given");
	if (!s->process.terminal && o->console_socket)
		return hull_err_make(err, 0, "--console-socket given but process.terminal is false");
	return 0;
}

int bundle_load(const char *bundle_arg, struct runtime_bundle *b, struct hull_err **err)
{
	_cleanup_free_ char *cfg_path = NULL;
	_cleanup_free_ char *root = NULL;
	struct stat st;

	*b = (struct runtime_bundle){ 0 };
	b->dir = realpath(bundle_arg, NULL);
	if (!b->dir)
		return hull_err_make(err, errno, "--bundle %s", bundle_arg);
	cfg_path = xasprintf("%s/config.json", b->dir);
	if (read_file_at(AT_FDCWD, cfg_path, &b->config, &b->config_len, 0, err) < 0 ||
	    oci_spec_parse(b->config, b->config_len, cfg_path, &b->spec, err) < 0)
		goto fail;
	root = b->spec->root_path[0] == '/' ? xstrdup(b->spec->root_path)
					    : xasprintf("%s/%s", b->dir, b->spec->root_path);
	b->rootfs = realpath(root, NULL);
	if (!b->rootfs || stat(b->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		hull_err_make(err, b->rootfs ? ENOTDIR : errno, "root.path %s", root);
		goto fail;
	}
	return 0;
fail:
	runtime_bundle_free(b);
	return -1;
}

void runtime_bundle_free(struct runtime_bundle *b)
{
	free(b->dir);
	free(b->rootfs);
	free(b->config);
	oci_spec_free(b->spec);
	*b = (struct runtime_bundle){ 0 };
}

int runtime_bundle_check(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
			 struct runtime_bundle *b, struct hull_err **err)
{
	struct oci_spec *spec;

	if (runtime_validate_id(o->id, err) < 0 || bundle_load(o->bundle, b, err) < 0)
		return -1;
	hull_debug("create %s: parsed %s/config.json", o->id, b->dir);
	spec = b->spec;
	if (check_semantics(spec, o, foreground, err) < 0 || ns_validate_spec(spec, err) < 0 ||
	    confine_validate(spec, &spec->process, err) < 0)
		goto fail;
	if (runtime_cgroups_enabled(ctx) &&
	    cgroups_validate(spec->linux_.has_resources ? &spec->linux_.resources : NULL,
			     spec->linux_.cgroups_path, ctx->systemd_cgroup, err) < 0)
		goto fail;
	return 0;
fail:
	runtime_bundle_free(b);
	return -1;
}

static int prepare(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		   struct spawn_opts *so, struct container **out, struct hull_err **err)
{
	struct runtime_bundle b;
	struct oci_spec *spec;
	struct container *c = NULL;

	if (runtime_bundle_check(ctx, o, foreground, &b, err) < 0)
		return -1;
	spec = b.spec;
	/* Valid: S can start on the namespaces while the state dir is made. */
	hull_debug("create %s: config valid, rootfs %s; booting the stage", o->id, b.rootfs);
	if (stage_boot(so, spec, b.dir, b.rootfs, b.config, b.config_len, err) < 0)
		goto fail;
	hull_test_pause("create-booted");

	if (container_new(ctx, o->id, &c, err) < 0)
		goto fail;
	hull_debug("create %s: state directory %s", o->id, c->dir);
	/* The container keeps its own copy (exec and delete must not depend on
	 * the bundle), written with state.json once the init is working. */
	so->config = take_ptr(b.config);
	so->config_len = b.config_len;
	c->bundle = take_ptr(b.dir);
	c->rootfs = take_ptr(b.rootfs);
	c->spec = take_ptr(b.spec);
	c->new_pid_ns = oci_spec_has_ns(spec, OCI_NS_PID) && !oci_spec_get_ns(spec, OCI_NS_PID)->path;
	*out = c;
	return 0;
fail:
	runtime_bundle_free(&b);
	return -1;
}

int write_pid_file(const char *path, pid_t pid, struct hull_err **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	if (write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0644, err) < 0)
		return hull_err_wrap(err, "--pid-file");
	return 0;
}

/* Undo a failed create: the process (if any) and the state dir. */
void container_abandon(struct container *c)
{
	if (c->pid > 0 && proc_alive(c->pid, c->pid_start))
		kill(c->pid, SIGKILL);
	if (c->cg)
		cgroups_destroy(c->cg, NULL);
	container_remove_dir(c, NULL);
	container_free(c);
}

/*
 * SIGINT, SIGTERM and SIGHUP while the container is being set up abort the
 * set-up, which is undone as after a set-up error (a hull that died of them
 * left the state dir, the cgroups and the init behind).  They stay blocked
 * until create is done, read from a signalfd that converse (spawn.c) polls
 * beside the sync socket.  A signal the caller ignores stays ignored.
 */
static void block_abort_signals(struct spawn_opts *so)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&set, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &set, &so->sigmask);
}

/* After S is forked (it must not hold the fd): the ones blocked above. */
static int open_abort_signals(struct spawn_opts *so, struct hull_err **err)
{
	sigset_t blocked, set;

	sigprocmask(SIG_SETMASK, NULL, &blocked);
	sigemptyset(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&blocked, sig) == 1 && sigismember(&so->sigmask, sig) == 0)
			sigaddset(&set, sig);
	so->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (so->sigfd < 0)
		return hull_err_make(err, errno, "signalfd");
	return 0;
}

static int create_common(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
			 struct container **out, int *console_master, struct hull_err **err)
{
	struct container *c = NULL;
	struct spawn_opts so = { .ctx = ctx, .o = o, .foreground = foreground, .console_master = -1,
				 .sock = -1, .seal_tree = -1, .sigfd = -1 };
	int r = -1;

	block_abort_signals(&so);
	/* S first: it waits for BOOT, then its namespaces overlap with hull's
	 * state dir and cgroup. */
	if (stage_spawn(&so, err) < 0)
		goto out;
	hull_test_pause("create-stage");
	if (open_abort_signals(&so, err) < 0 || prepare(ctx, o, foreground, &so, &c, err) < 0) {
		free(so.config);
		stage_abort(&so);
		goto out;
	}
	so.c = c;
	r = spawn_container(&so, err);
	free(so.config);
	hull_test_pause("create-ready");
	/* A signal that came after the last message still aborts. */
	if (r == 0)
		r = spawn_check_abort(&so, err);
	if (r == 0)
		hull_debug("create %s: init %d ready, waiting for start", o->id, (int)c->pid);
	if (r < 0 || (o->pid_file && write_pid_file(o->pid_file, c->pid, err) < 0)) {
		if (so.console_master >= 0)
			close(so.console_master);
		container_abandon(c);
		r = -1;
		goto out;
	}
	*out = c;
	if (console_master)
		*console_master = so.console_master;
	else if (so.console_master >= 0)
		close(so.console_master);
out:
	if (so.sigfd >= 0)
		close(so.sigfd);
	/* A foreground run keeps them blocked: wait_forward passes them on to
	 * the container from now on. */
	if (r < 0 || !foreground)
		sigprocmask(SIG_SETMASK, &so.sigmask, NULL);
	return r;
}

int runtime_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, struct hull_err **err)
{
	struct container *c = NULL;

	if (create_common(ctx, o, false, &c, NULL, err) < 0)
		return -1;
	hull_debug("create %s: done", o->id);
	container_free(c);
	return 0;
}

int runtime_run(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, int *status,
		struct hull_err **err)
{
	struct container *c = NULL;
	struct oci_spec *spec;
	_cleanup_close_ int master = -1;
	pid_t pid;
	int r;

	if (create_common(ctx, o, !o->detach, &c, &master, err) < 0)
		return -1;
	if (start_release(c, err) < 0) {
		container_abandon(c);
		return -1;
	}
	{
		_cleanup_free_ char *st = container_state_json(c, OCI_STATUS_RUNNING, false);
		struct hull_err *herr = NULL;
		if (hooks_run(c->spec, OCI_HOOK_POSTSTART, st, &herr) < 0) {
			hull_warn("%s", herr->msg);
			hull_err_free(&herr);
		}
	}
	pid = c->pid;
	spec = o->detach || o->keep ? NULL : take_ptr(c->spec);
	/* Other commands (state, kill) on this id must not wait for us. */
	container_free(c);
	c = NULL;
	if (o->detach) {
		*status = 0;
		return 0;
	}
	r = wait_forward(pid, master, status, err);
	if (o->keep)
		return r;
	if (delete_container(ctx, o->id, true, spec, r < 0 ? NULL : err) < 0 && r == 0)
		return -1;
	return r;
}
