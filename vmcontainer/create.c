/* SPDX-License-Identifier: Apache-2.0 */
/*
 * create and run of a VM-isolated container.  The checks come first, in the
 * order a caller sees their errors, and none of them makes anything: the
 * bundle as the container path checks it, the VM's size, the guest's view
 * of the config, the host (no /dev/kvm, PVM), the guest image.  Then the
 * state directory and the host cgroup, as for a container, and the
 * supervisor in that cgroup, which reports once the guest's agent has
 * created the container (or why not: then everything is undone).
 */
#include "vmcontainer/internal.h"
#include "cgroups/cgroups.h"
#include "guest/guest.h"
#include "microvm/microvm.h"
#include "vfio/vfio.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static void plan_free(struct vmc_plan *p)
{
	runtime_bundle_free(&p->b);
	free(p->guest_config);
	vmcontainer_shares_free(p->shares, p->n_shares);
	vmcontainer_devices_free(p->vfios, p->nvfio);
	free(p->kernel);
	free(p->initrd);
	free(p->pod_dir);
	*p = (struct vmc_plan){ 0 };
}


/* A pod's member (*role VMC_POD_MEMBER, *sandbox its sandbox's id) is
 * planned by pod.c: its VM is the sandbox's. */
static int plan(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		struct vmc_plan *p, enum vmc_pod_role *role, const char **sandbox, const char **key,
		struct hull_err **err)
{
	static const struct vfio_host sysfs = { .sys = "/sys", .proc = "/proc" };

	*p = (struct vmc_plan){ 0 };
	if (runtime_bundle_check(ctx, o, foreground, &p->b, err) < 0)
		return -1;
	if (vmc_pod_role(p->b.spec, role, sandbox, key, err) < 0)
		goto fail;
	if (*role == VMC_POD_MEMBER)
		return 0;
	if (vmcontainer_size(p->b.spec, &p->size, err) < 0 || vmc_net_vhost(p->b.spec, &p->vhost, err) < 0 ||
	    vmcontainer_devices(p->b.spec, &sysfs, &p->vfios, &p->nvfio, err) < 0 ||
	    vmcontainer_rewrite_config(p->b.config, p->b.config_len, p->b.dir, &p->guest_config, &p->shares,
				       &p->n_shares, err) < 0)
		goto fail;
	hull_debug("create %s: VM isolation, %u vCPUs, %llu MiB, %zu shares", o->id, p->size.cpus,
		   (unsigned long long)p->size.mem_mib, p->n_shares);
	if (microvm_check_host(err) < 0 ||
	    guest_image_find(p->b.spec->annotations, p->b.spec->n_annotations, &p->kernel, &p->initrd, err) < 0 ||
	    vmc_uid_range_get(GUEST_IMAGE_CONF, "/etc", &p->uids, err) < 0) {
		hull_err_wrap(err, "VM isolation");
		goto fail;
	}
	return 0;
fail:
	plan_free(p);
	return -1;
}

/* Append an "rw" rule for the character device at path to r's rules (which
 * have room for it). */
static int allow_chr(struct oci_resources *r, const char *path, struct hull_err **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return hull_err_make(err, errno, "stat %s", path);
	r->devices[r->n_devices++] = (struct oci_device_rule){
		.allow = true, .type = 'c', .has_major = true, .has_minor = true, .major = major(st.st_rdev),
		.minor = minor(st.st_rdev), .access = (char *)"rw",
	};
	return 0;
}

/*
 * The host cgroup bounds the whole VM: the container's limits, except that
 * memory covers the guest's RAM and the VMM (the guest's own cgroup holds
 * the container to its limit), the pids limit (threads of the VMM, not the
 * container's processes) is the guest's business, and the VMM's devices are allowed.
 */
static int host_cgroup(const struct runtime_ctx *ctx, struct container *c, const struct vmc_plan *p, pid_t pid,
		       struct hull_err **err)
{
	const struct oci_linux *l = &p->b.spec->linux_;
	struct oci_resources r = l->has_resources ? l->resources : (struct oci_resources){ 0 };
	/* the VMM's devices: /dev/kvm; /dev/net/tun and /dev/vhost-net for the
	 * NICs that mirror the container's network namespace (vmcontainer/net.c) */
	static const int64_t vmm_minor[] = { 232, 200, 238 };
	/* and /dev/vfio/vfio + a group node per passed-through function */
	_cleanup_free_ struct oci_device_rule *rules =
		xcalloc(r.n_devices + ARRAY_SIZE(vmm_minor) + 1 + p->nvfio, sizeof(*rules));
	struct cgroups_cfg cfg = { .id = c->id, .cgroups_path = l->cgroups_path, .systemd = ctx->systemd_cgroup,
				   .disabled = !runtime_cgroups_enabled(ctx), .resources = &r,
				   .devices = l->devices, .n_devices = l->n_devices };

	if (r.memory.has_limit && r.memory.limit > 0)
		r.memory.limit = (int64_t)((p->size.mem_mib + VMC_HOST_OVERHEAD_MIB) << 20);
	r.memory.has_swap = r.memory.has_reservation = false;
	r.pids.has_limit = false;
	if (r.n_devices)
		memcpy(rules, r.devices, r.n_devices * sizeof(*rules));
	for (size_t i = 0; i < ARRAY_SIZE(vmm_minor); i++)
		rules[r.n_devices + i] = (struct oci_device_rule){ .allow = true, .type = 'c', .has_major = true,
								   .has_minor = true, .major = 10,
								   .minor = vmm_minor[i], .access = (char *)"rw" };
	r.devices = rules;
	r.n_devices += ARRAY_SIZE(vmm_minor);
	/* A passed-through function: the VMM opens /dev/vfio/vfio and its group. */
	for (unsigned int i = 0; i < p->nvfio; i++) {
		_cleanup_free_ char *group = xasprintf("/dev/vfio/%d", p->vfios[i].group);
		if ((i == 0 && allow_chr(&r, "/dev/vfio/vfio", err) < 0) || allow_chr(&r, group, err) < 0)
			return -1;
	}
	if (!cfg.systemd) {
		/* The state names the cgroup before it exists: a hull killed
		 * from here on leaves what `delete --force` removes. */
		struct cgroup *planned = NULL;
		if (cgroups_plan(&cfg, &planned, err) < 0)
			return -1;
		if (planned) {
			c->cgroup = cgroups_serialize(planned);
			cgroups_free(planned);
			if (container_save(c, err) < 0)
				return -1;
			free(c->cgroup);
			c->cgroup = NULL;
		}
	}
	if (cgroups_create(&cfg, pid, &c->cg, err) < 0)
		return -1;
	/* KVM's kernel thread apart from what pause freezes (cgroups.h). */
	if (cgroups_vm_split(c->cg, err) < 0)
		return -1;
	c->cgroup = cgroups_serialize(c->cg);
	return container_save(c, err);
}

/* The supervisor's report: "\0" created, "\1message" failed, EOF: it died. */
static int wait_report(int fd, pid_t pid, struct hull_err **err)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hull_err_make(err, errno, "VM supervisor: read");
		n += (size_t)r;
		if (buf[0] == '\0')
			return 0;
	}
	buf[n] = '\0';
	if (n > 1 && buf[0] == '\1')
		return hull_err_make(err, 0, "%s", buf + 1);
	return hull_err_make(err, 0, "VM supervisor %d died before the container was created", (int)pid);
}

int vmc_created(struct container *c, int report, pid_t pid, const char *pid_file, struct hull_err **err)
{
	if (wait_report(report, pid, err) < 0)
		return -1;
	c->pid = pid;
	c->pid_start = proc_start_time(pid);
	if (container_save(c, err) < 0 || (pid_file && write_pid_file(pid_file, pid, err) < 0))
		return -1;
	return 0;
}

static void abandon(const struct runtime_ctx *ctx, struct container *c, const struct oci_spec *spec, pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	/* a supervisor that died half-way left its taps listed */
	if (c) {
		(void)vmc_net_cleanup(c->dir_fd, spec, NULL);
		(void)vmc_pod_dir_remove(c->dir_fd, NULL);
		/* its VMM, which had the uid, is dead */
		(void)vmc_uid_release(ctx->root, c->id, NULL);
	}
	c->pid = 0;
	container_abandon(c);
}

static int create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, bool foreground,
		  struct container **out, struct hull_err **err)
{
	struct vmc_plan p;
	struct container *c = NULL;
	_cleanup_close_ int master = -1, slave = -1;
	int rep[2] = { -1, -1 }, go[2] = { -1, -1 };
	bool terminal, cloned_in = false;
	enum vmc_pod_role role = VMC_POD_NONE;
	const char *sandbox = NULL, *key = NULL;
	pid_t pid = 0;
	uid_t jail_uid = 0;

	if (plan(ctx, o, foreground, &p, &role, &sandbox, &key, err) < 0)
		return -1;
	if (role == VMC_POD_MEMBER) {
		int r = vmc_member_create(ctx, o, foreground, &p, sandbox, key, out, err);
		plan_free(&p);
		return r;
	}
	terminal = p.b.spec->process.terminal;
	if (container_new(ctx, o->id, &c, err) < 0)
		goto fail_plan;
	c->vm = true;
	c->bundle = xstrdup(p.b.dir);
	c->rootfs = xstrdup(p.b.rootfs);
	/* ROOT/ID exists: the claim names a container (uids.c) */
	if (vmc_uid_claim(ctx->root, c->id, &p.uids, &jail_uid, err) < 0) {
		hull_err_wrap(err, "VM isolation");
		goto fail;
	}
	hull_debug("create %s: the VMM's jail has uid and gid %u", o->id, (unsigned)jail_uid);
	/* state.json first: a hull killed from here on leaves what `delete
	 * --force` removes; the cgroup is named in it once made. */
	if (write_file_atomic_at(c->dir_fd, "config.json", p.b.config, p.b.config_len, 0600, err) < 0)
		goto fail;
	if (mkfifoat(c->dir_fd, VMC_FIFO_FILE, 0600) < 0) {
		hull_err_make(err, errno, "mkfifo %s/%s", c->dir, VMC_FIFO_FILE);
		goto fail;
	}
	/* A systemd scope needs a process to hold: the supervisor, which
	 * waits on `go` until it is in; otherwise it is born in the cgroup. */
	if (container_save(c, err) < 0 || (!ctx->systemd_cgroup && host_cgroup(ctx, c, &p, 0, err) < 0))
		goto fail;
	/* A pod's sandbox: the directory its members' trees are mounted in,
	 * before the file server starts (it serves it as "pod"); after
	 * state.json, so that `delete --force` (vm_cleanup) removes it. */
	if (role == VMC_POD_SANDBOX) {
		if (vmc_pod_dir_make(c, err) < 0)
			goto fail;
		p.pod_dir = xasprintf("%s/" VMC_POD_DIR, c->dir);
	}
	if (terminal && o->console_socket) {
		if (console_open_pty(&master, &slave, &p.b.spec->process, err) < 0 ||
		    console_send_to_socket(o->console_socket, master, err) < 0)
			goto fail;
	}
	if (pipe2(rep, O_CLOEXEC) < 0 || (ctx->systemd_cgroup && pipe2(go, O_CLOEXEC) < 0)) {
		hull_err_make(err, errno, "pipe");
		goto fail;
	}
	fflush(NULL);
	pid = fork_into_cgroup(ctx->systemd_cgroup ? NULL : c->cg, &cloned_in, err);
	if (pid < 0) {
		pid = 0;
		goto fail;
	}
	if (pid == 0) {
		struct hull_err *e = NULL;
		struct vmc_supervisor s = { .id = c->id, .dir_fd = c->dir_fd, .plan = &p, .terminal = terminal,
					    .tty = slave, .report = rep[1], .jail_uid = jail_uid };
		_cleanup_free_ char *go_msg = NULL;
		size_t go_len = 0;

		close(rep[0]);
		close(c->lock_fd);  /* the lock stays `hull create`'s */
		if (master >= 0)
			close(master);
		if (go[0] >= 0) {
			/* "g" and the handle of the scope made for us. */
			close(go[1]);
			if (read_fd_all(go[0], "go", &go_msg, &go_len, 1 << 16, NULL) < 0 || go_len == 0 ||
			    go_msg[0] != 'g' || (go_len > 1 && cgroups_load(go_msg + 1, &c->cg, NULL) < 0))
				_exit(1);
			close(go[0]);
		} else if (c->cg && cgroups_enter_self(c->cg, cloned_in, NULL, 0, &e) < 0) {
			_cleanup_free_ char *m = xasprintf("\1%s", e->msg);
			(void)write_all(rep[1], m, strlen(m));
			_exit(1);
		}
		s.cg = c->cg;
		vmc_supervise(&s);
	}
	close(rep[1]);
	rep[1] = -1;
	if (go[1] >= 0) {
		close(go[0]);
		go[0] = -1;
		if (host_cgroup(ctx, c, &p, pid, err) < 0 || write_all(go[1], "g", 1) < 0 ||
		    (c->cgroup && write_all(go[1], c->cgroup, strlen(c->cgroup)) < 0))
			goto fail;
		close(take_fd(&go[1]));
	}
	if (vmc_created(c, rep[0], pid, o->pid_file, err) < 0)
		goto fail;
	close(rep[0]);
	if (go[1] >= 0)
		close(go[1]);
	plan_free(&p);
	*out = c;
	return 0;
fail:
	for (size_t i = 0; i < 2; i++) {
		if (rep[i] >= 0)
			close(rep[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	abandon(ctx, c, p.b.spec, pid);
fail_plan:
	plan_free(&p);
	return -1;
}

int vmcontainer_create(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, struct hull_err **err)
{
	struct container *c = NULL;

	if (create(ctx, o, false, &c, err) < 0)
		return -1;
	container_free(c);
	return 0;
}

int vmcontainer_run(const struct runtime_ctx *ctx, const struct runtime_create_opts *o, int *status,
		    struct hull_err **err)
{
	struct container *c = NULL;
	pid_t pid;
	int r;

	*status = 0;
	if (create(ctx, o, !o->detach, &c, err) < 0)
		return -1;
	pid = c->pid;
	container_free(c);
	if (runtime_start(ctx, o->id, err) < 0) {
		(void)runtime_delete(ctx, o->id, true, NULL);
		return -1;
	}
	if (o->detach)
		return 0;
	r = wait_forward(pid, -1, status, err);
	if (o->keep)
		return r;
	if (runtime_delete(ctx, o->id, true, r < 0 ? NULL : err) < 0 && r == 0)
		return -1;
	return r;
}
