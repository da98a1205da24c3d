/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor of a VM-isolated container: the process whose pid is
 * state.pid, in the container's host cgroup (its payload sub-cgroup, once
 * the VM is made: cgroups_vm_split).  It serves the rootfs through
 * the file server (`hull virtiofsd`, its own process), runs the VM in a
 * thread (microvm_run), asks the guest's agent to create the container,
 * tells `hull create` how that went, relays the init's stdio and exits with
 * the init's exit code (what conmon and containerd's shim wait for).
 *
 * Its cwd is ROOT/ID, so the sockets there have short relative names
 * (ROOT/ID/vsock.sock may not fit a sun_path).
 */
#include "vmcontainer/internal.h"
#include "cgroups/cgroups.h"
#include "confine/confine.h"
#include "guest/guest.h"
#include "microvm/microvm.h"

#include <json-c/json.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#define KERNEL_CMDLINE "console=ttyS0 quiet panic=-1 rdinit=/init hull.agent=1"

struct vm_thread {
	struct vm_config cfg;
	int done[2];                /* pipe: readable once microvm_run returned */
	int exit_code;
	struct hull_err *err;
};

static void *vm_main(void *opaque)
{
	struct vm_thread *t = opaque;

	if (microvm_run(&t->cfg, &t->exit_code, &t->err) < 0)
		t->exit_code = -1;
	close(t->done[1]);
	return NULL;
}

void vmc_report(int *fd, struct hull_err *err)
{
	if (*fd < 0)
		return;
	if (!err) {
		(void)write_all(*fd, "\0", 1);
	} else {
		_cleanup_free_ char *m = xasprintf("\1%s", err->msg);
		(void)write_all(*fd, m, strlen(m));
	}
	close(*fd);
	*fd = -1;
}

/* The line that says most of how the guest ended, from the end of its
 * console (the kernel runs `quiet`): a panic's reason when the tail has one
 * (a panic's stack dump follows it), else the last line, or nothing.  It tells
 * a crashed kernel from a silent reset. */
static void console_last_line(int dir_fd, char *out, size_t size)
{
	_cleanup_close_ int fd = openat(dir_fd, VMC_CONSOLE_LOG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[4096];
	struct stat st;
	ssize_t n = -1, start, end;
	char *panic;

	snprintf(out, size, "no console output");
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		off_t from = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
		n = pread(fd, buf, sizeof(buf), from);
	}
	if (n <= 0)
		return;
	panic = memmem(buf, (size_t)n, "Kernel panic", strlen("Kernel panic"));
	if (panic) {
		start = panic - buf;
		for (end = start; end < n && buf[end] != '\n' && buf[end] != '\r';)
			end++;
	} else {
		end = n;
		while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
			end--;
		if (end == 0)
			return;
		start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
	}
	size_t len = (size_t)(end - start) < size - 32 ? (size_t)(end - start) : size - 32;
	/* one line, printable: it ends up in a one-line error */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[start + i] < 0x20 || (unsigned char)buf[start + i] >= 0x7f)
			buf[start + i] = '?';
	snprintf(out, size, "its console's %s line: \"%.*s\"", panic ? "panic" : "last", (int)len, buf + start);
}

/* How the VM ended, for an error: KVM's shutdown exit or pvpanic, a reboot,
 * a power-off. */
static const char *vm_end(const struct vm_thread *t)
{
	static const char *const ends[] = { [MICROVM_EXIT_POWEROFF] = "powered off",
					    [MICROVM_EXIT_ERROR] = "failed",
					    [MICROVM_EXIT_REBOOT] = "rebooted",
					    [MICROVM_EXIT_CRASH] = "crashed" };

	return t->exit_code >= 0 && t->exit_code < (int)ARRAY_SIZE(ends) ? ends[t->exit_code] : "stopped";
}

/* Listen on fs.sock before the VMM connects to it (microvm_run requires a
 * listening backend), and hand the listening socket to the file server: a
 * process of its own, which dies with us (PDEATHSIG; it sets it again). */
static pid_t start_file_server(const struct vmc_plan *p, struct hull_err **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid, parent = getpid();

	if (l < 0)
		return hull_err_make(err, errno, "file server: socket");
	strcpy(sa.sun_path, VMC_FS_SOCK);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
		return hull_err_make(err, errno, "file server: listen on " VMC_FS_SOCK);
	pid = fork();
	if (pid < 0)
		return hull_err_make(err, errno, "file server: fork");
	if (pid == 0) {
		char **argv = xcalloc(10 + 2 * p->n_shares, sizeof(char *));
		size_t n = 0;

		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		/* The container's stdio (conmon's pipes) is not the file server's. */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		if (fcntl(l, F_SETFD, 0) < 0)
			_exit(1);
		argv[n++] = "hull";
		argv[n++] = "virtiofsd";
		argv[n++] = "--fd";
		argv[n++] = xasprintf("%d", l);
		argv[n++] = "--shared-dir";
		argv[n++] = p->b.rootfs;
		for (size_t i = 0; i < p->n_shares; i++) {
			argv[n++] = "--mount";
			argv[n++] = xasprintf("%s=%s%s", p->shares[i].name, p->shares[i].source,
					      p->shares[i].ro ? ",ro" : "");
		}
		if (p->pod_dir) {
			argv[n++] = "--pod-dir";
			argv[n++] = p->pod_dir;
		}
		argv[n] = NULL;
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

static void vm_config_fill(struct vm_thread *t, const struct vmc_plan *p, int console, const struct vmc_net *net)
{
	static const struct vm_fs fs = { .socket_path = VMC_FS_SOCK, .tag = VMC_FS_TAG };

	microvm_config_init(&t->cfg);
	t->cfg.kernel = p->kernel;
	t->cfg.initrd = p->initrd;
	t->cfg.cmdline = KERNEL_CMDLINE;
	t->cfg.cpus = p->size.cpus;
	t->cfg.mem_mib = p->size.mem_mib;
	t->cfg.console = MICROVM_CONSOLE_SERIAL;
	t->cfg.console_in = -1;
	t->cfg.console_out = console;
	t->cfg.fs = &fs;
	t->cfg.nfs = 1;
	t->cfg.vsock_uds = VMC_VSOCK_SOCK;
	t->cfg.nets = net->vm;
	t->cfg.nnets = (unsigned int)net->n;
	t->cfg.vfios = p->vfios;
	t->cfg.nvfio = p->nvfio;
}

/* The guest's interfaces, before the container is created in it. */
static int configure_guest_net(int dir_fd, const struct vmc_net *net, struct hull_err **err)
{
	struct json_object *resp = NULL;

	if (net->n == 0)
		return 0;
	if (vmc_agent_call(dir_fd, guest_net_request(net->ifs, net->n), &resp, NULL, err) < 0)
		return hull_err_wrap(err, "guest network");
	json_object_put(resp);
	return 0;
}

/* Connect to the agent while the guest boots: until it answers, or the VM
 * is gone: then -2, and the VM's end is the story. */
static int agent_wait(struct vm_thread *t, int dir_fd, struct hull_err **err)
{
	for (;;) {
		struct hull_err *e = NULL;
		struct pollfd pfd = { .fd = t->done[0], .events = POLLIN };
		int fd = vmc_agent_connect(dir_fd, &e);

		if (fd >= 0)
			return fd;
		if (e->errnum != EAGAIN) {
			*err = e;
			return -1;
		}
		hull_err_free(&e);
		/* The pace of the retries, not a deadline: the VM's death ends them. */
		if (poll(&pfd, 1, 10) > 0)
			return -2;
	}
}

struct sig_ctx {
	int dir_fd;
	const char *id;
};

/* A signal sent to the supervisor (conmon's, containerd's, `hull run`'s
 * forwarding) is for the container's init. */
static void forward_signal(void *opaque, int sig)
{
	struct sig_ctx *x = opaque;
	struct json_object *req, *resp = NULL;

	if (sig == VMC_SIG_END) {
		/* `kill KILL`: the VM's threads end with us */
		vmc_net_teardown(x->dir_fd);
		_exit(128 + SIGKILL);
	}
	req = guest_request_new("kill");

	json_object_object_add(req, "id", json_object_new_string(x->id));
	json_object_object_add(req, "signal", json_object_new_int(sig));
	json_object_object_add(req, "all", json_object_new_boolean(false));
	if (vmc_agent_call(x->dir_fd, req, &resp, NULL, NULL) == 0)
		json_object_put(resp);
}

/* 0 once the agent took it (the guest then powers off). */
static int shutdown_guest(int dir_fd)
{
	struct json_object *resp = NULL;

	if (vmc_agent_call(dir_fd, guest_request_new("shutdown"), &resp, NULL, NULL) < 0)
		return -1;
	json_object_put(resp);
	return 0;
}

/*
 * prestart and createRuntime: in the runtime namespace, the host's, as
 * container mode runs them (runtime/spawn.c), once the VM (the container's
 * runtime environment on the host) is up and before the guest builds the
 * container, so they come before its createContainer hooks.  The state is
 * the host's: status creating, pid ours (state.pid), the host bundle.
 */
int vmc_runtime_hooks(const char *id, const struct vmc_plan *p, struct hull_err **err)
{
	const struct oci_spec *spec = p->b.spec;
	struct oci_state st = { .oci_version = spec->oci_version, .id = (char *)id,
				.status = OCI_STATUS_CREATING, .pid = getpid(), .bundle = p->b.dir,
				.annotations = spec->annotations, .n_annotations = spec->n_annotations };
	_cleanup_free_ char *json = NULL;

	if (spec->hooks[OCI_HOOK_PRESTART].n == 0 && spec->hooks[OCI_HOOK_CREATE_RUNTIME].n == 0)
		return 0;
	json = oci_state_to_json(&st, false);
	if (hooks_run(spec, OCI_HOOK_PRESTART, json, err) < 0 || hooks_run(spec, OCI_HOOK_CREATE_RUNTIME, json, err) < 0)
		return -1;
	return 0;
}

static void raw_tty(int fd)
{
	struct termios t;

	if (fd >= 0 && tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
}

/* The state directory: its fd until the jail closes it, then the cwd. */
static int sdir(const struct vmc_supervisor *s)
{
	return s->dir_fd >= 0 ? s->dir_fd : AT_FDCWD;
}

/*
 * The jail of the VMM (docs/vm-containers.md, "The VMM's jail"): a mount
 * namespace whose root holds only /state (ROOT/ID: the sockets, the console
 * log, the network record) and /dev/null (vsock's spare fd, what the VMM
 * still opens after it starts; vhost-net's fds are opened with the device).  Built while this process is single-threaded; each VMM
 * thread enters it before its seccomp filter, so before the guest runs
 * (vm_config.jail), and this thread once the hooks have run.  ROOT/ID
 * becomes 0711 (runc's mode for it): the jail's uid looks names up in it,
 * and every file there is 0600, the sockets too (our umask).
 */
static int jail_build(const struct vmc_supervisor *s, struct confine_jail *j, struct hull_err **err)
{
	static const char *const devs[] = { "/dev/null" };

	if (fchmodat(s->dir_fd, ".", 0711, 0) < 0)
		return hull_err_make(err, errno, "chmod the state directory");
	if (confine_jail_build(s->dir_fd, VMC_JAIL_STATE, devs, ARRAY_SIZE(devs), j->uid, j->gid, &j->mntns, err) < 0)
		return hull_err_wrap(err, "the VMM's jail");
	/* setns home put us at "/" */
	if (fchdir(s->dir_fd) < 0)
		return hull_err_make(err, errno, "chdir to the state directory");
	return 0;
}

/* This thread into the jail the VMM's threads are in.  What it still uses
 * of ROOT/ID becomes the jail's uid's (vsock.sock to call the agent, the
 * console log's tail for an error; the network record is read to remove the
 * taps, with CAP_NET_ADMIN, the one capability kept, and only when there are
 * taps); every path from here on is relative to its cwd, /state. */
static int jail_self(struct vmc_supervisor *s, struct confine_jail *j, bool taps, struct hull_err **err)
{
	if (fchownat(AT_FDCWD, VMC_VSOCK_SOCK, j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_err_make(err, errno, "chown " VMC_VSOCK_SOCK);
	if (fchownat(AT_FDCWD, VMC_CONSOLE_LOG, j->uid, j->gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
		return hull_err_make(err, errno, "chown " VMC_CONSOLE_LOG);
	if (fchmodat(AT_FDCWD, VMC_NET_FILE, 0644, 0) < 0 && errno != ENOENT)
		return hull_err_make(err, errno, "chmod " VMC_NET_FILE);
	cgroups_free(s->cg);   /* paths only; the moves are done */
	s->cg = NULL;
	/* A directory fd would lead out of the jail ("..", from a mount the
	 * jail does not have): this was the last (the VMM holds none). */
	close(s->dir_fd);
	s->dir_fd = -1;
	/* The jail's namespace fd stays open: a vCPU thread the guest never
	 * brought up enters it whenever it first runs; it leads nowhere else
	 * and, without CAP_SYS_ADMIN, cannot even be entered again. */
	return confine_jail_enter(j, taps ? 1ull << CAP_NET_ADMIN : 0, err);
}

int vmc_supervisor_begin(int dir_fd, int tty, int report, int *sigfd, struct hull_err **err)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	int keep[] = { -1, dir_fd, tty, report, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	/* What it makes in ROOT/ID (sockets, console log) is born 0600. */
	umask(077);
	/* Nothing of the caller's but the stdio (VM containers take no
	 * --preserve-fds): an fd the jailed VMM holds is one it needs. */
	{
		bool json;
		enum hull_log_level level;
		hull_log_get(&keep[0], &json, &level);
	}
	if (confine_close_all_but(keep, ARRAY_SIZE(keep), err) < 0)
		return -1;
	if (fchdir(dir_fd) < 0)
		return hull_err_make(err, errno, "chdir to the state directory");
	/* Blocked in every thread (the VMM's inherit it): the signalfd gets them. */
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaddset(&set, fwd[i]);
	sigaddset(&set, VMC_SIG_END);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	*sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (tty >= 0) {
		/* The pty slave is our controlling terminal: the master's size
		 * changes arrive as SIGWINCH.  The guest's pty does the line
		 * discipline: this one passes bytes through. */
		if (setsid() >= 0)
			(void)ioctl(tty, TIOCSCTTY, 0);
		raw_tty(tty);
	}
	return 0;
}

__attribute__((noreturn)) void vmc_supervise(struct vmc_supervisor *s)
{
	struct vm_thread t = { .done = { -1, -1 } };
	static struct vmc_net net;  /* ~16 KiB: not on the stack */
	struct sig_ctx sx = { .dir_fd = s->dir_fd, .id = s->id };
	struct confine_jail jail = { .mntns = -1, .cwd = "/" VMC_JAIL_STATE, .uid = s->jail_uid,
				    .gid = (gid_t)s->jail_uid };
	struct hull_err *err = NULL;
	struct json_object *req, *resp = NULL;
	_cleanup_close_ int console = -1;
	int conn = -1, sigfd = -1, code = 255, in = STDIN_FILENO, out = STDOUT_FILENO;
	pthread_t th;
	bool th_joined = false;
	pid_t fsd;

	if (vmc_supervisor_begin(s->dir_fd, s->terminal ? s->tty : -1, s->report, &sigfd, &err) < 0)
		goto fail;
	if (s->terminal && s->tty >= 0)
		in = out = s->tty;
	/* Before anything else: the VMM's threads open the taps in the
	 * container's network namespace, which the supervisor joins for good
	 * (its Unix sockets are paths: they do not care). */
	if (vmc_net_setup(s->dir_fd, vmc_netns_path(s->plan->b.spec), s->plan->size.cpus, s->plan->vhost, &net,
			  &err) < 0) {
		hull_err_wrap(&err, "VM isolation");
		goto fail;
	}
	console = openat(s->dir_fd, VMC_CONSOLE_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	/* The file server is born in the payload sub-cgroup, which pause
	 * freezes; the VM is made from the other one, where KVM's kernel
	 * thread then stays (cgroups_vm_split). */
	if (s->cg && cgroups_vm_enter_self(s->cg, CGROUPS_VM_PAYLOAD, &err) < 0)
		goto fail;
	fsd = start_file_server(s->plan, &err);
	if (fsd < 0 || (s->cg && cgroups_vm_enter_self(s->cg, CGROUPS_VM_KVM, &err) < 0))
		goto fail;
	if (pipe2(t.done, O_CLOEXEC) < 0) {
		hull_err_make(&err, errno, "pipe");
		goto fail;
	}
	if (jail_build(s, &jail, &err) < 0)
		goto fail;
	vm_config_fill(&t, s->plan, console, &net);
	t.cfg.jail = &jail;
	if (pthread_create(&th, NULL, vm_main, &t) != 0) {
		hull_err_make(&err, errno, "VM thread");
		goto fail;
	}
	conn = agent_wait(&t, sdir(s), &err);
	if (conn == -2) {
		pthread_join(th, NULL);
		if (t.err) {
			/* The VMM's own error says why (no kernel, KVM refused...). */
			err = t.err;
			t.err = NULL;
		} else {
			char last[200];

			console_last_line(sdir(s), last, sizeof(last));
			hull_err_make(&err, 0, "the guest %s before its agent answered (kernel or initramfs without "
				      "hull's agent?); %s", vm_end(&t), last);
		}
		hull_err_wrap(&err, "VM isolation");
		goto fail;
	}
	if (conn < 0)
		goto fail;
	/* The guest answered: its VM and KVM's kernel thread exist. */
	if (s->cg && cgroups_vm_enter_self(s->cg, CGROUPS_VM_PAYLOAD, &err) < 0) {
		close(conn);
		shutdown_guest(sdir(s));
		goto fail;
	}
	if (vmc_runtime_hooks(s->id, s->plan, &err) < 0) {
		close(conn);
		shutdown_guest(sdir(s));
		goto fail;
	}
	if (configure_guest_net(sdir(s), &net, &err) < 0) {
		hull_err_wrap(&err, "VM isolation");
		shutdown_guest(sdir(s));
		goto fail;
	}
	/* Before the guest gets the bundle: from here on this thread too is
	 * unprivileged and sees only the jail. */
	if (jail_self(s, &jail, net.n > 0, &err) < 0) {
		hull_err_wrap(&err, "VM isolation: the VMM's jail");
		shutdown_guest(sdir(s));
		goto fail;
	}
	sx.dir_fd = AT_FDCWD;
	req = guest_request_new("create");
	json_object_object_add(req, "id", json_object_new_string(s->id));
	json_object_object_add(req, "config", json_object_new_string(s->plan->guest_config));
	json_object_object_add(req, "terminal", json_object_new_boolean(s->terminal));
	if (vmc_agent_request(conn, req, &resp, &err) < 0) {
		hull_err_wrap(&err, "VM isolation");
		shutdown_guest(sdir(s));
		goto fail;
	}
	json_object_put(resp);
	hull_debug("supervisor %s: the guest created the container", s->id);
	/* Hooks and set-up are done; from here this thread relays stdio, calls
	 * the agent and removes the taps, under its own filter (the VMM's
	 * threads have theirs): a guest that took over the VMM thread cannot
	 * use this one to exec or fork. */
	if (microvm_seccomp_thread(MICROVM_THREAD_SUPERVISOR, &err) < 0) {
		hull_err_wrap(&err, "VM isolation");
		shutdown_guest(sdir(s));
		goto fail;
	}
	vmc_report(&s->report, NULL);
	if (s->terminal)
		vmc_send_winsize(conn, s->tty);
	if (vmc_relay(conn, s->terminal ? in : STDIN_FILENO, out, STDERR_FILENO, s->terminal ? s->tty : -1, sigfd,
		      forward_signal, &sx, &code, &err) < 0) {
		struct pollfd pfd = { .fd = t.done[0], .events = POLLIN };
		char last[200], end[240] = "the guest is still running";

		/* A stream that ends early is mostly a guest that ended (its
		 * VMM closes the connections as it stops): say how. */
		if (poll(&pfd, 1, 2000) > 0) {
			pthread_join(th, NULL);
			th_joined = true;
			console_last_line(sdir(s), last, sizeof(last));
			snprintf(end, sizeof(end), "the guest %s; %s", vm_end(&t), last);
		}
		hull_warn("supervisor %s: %s; %s", s->id, err->msg, end);
		hull_err_free(&err);
		code = 255;
	}
	close(conn);
	/* The guest powers off once the agent has synced; if the agent cannot
	 * be asked, exiting ends the VM as well (its threads are ours). */
	if (!th_joined && shutdown_guest(sdir(s)) == 0)
		pthread_join(th, NULL);
	vmc_net_teardown(sdir(s));
	_exit(code);
fail:
	/* nothing of the network stays once create reports its failure */
	vmc_net_teardown(sdir(s));
	vmc_report(&s->report, err);
	hull_err_free(&err);
	_exit(1);
}
