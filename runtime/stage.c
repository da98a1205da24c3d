/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stage (S): the first container-side process of create and run.
 *
 * hull forks S before it reads config.json, so that S's work overlaps with
 * hull's checks, state dir and cgroup.  S is a plain fork of hull; only when
 * its child, the init, could be reached by another container's process
 * before it execs the user's program (stage_needs_seal), S first gets
 *
 *   <- SEAL   fd: a sealed view of hull's binary (exe.c, CVE-2019-5736)
 *             S re-executes itself from it as `hull __stage`
 *
 * and then, in both cases:
 *
 *   <- BOOT   bundle, rootfs, id, options; fd: a memfd with hull's validated
 *             config.json (sent before the state dir exists, so S starts early)
 *             S parses it, chdir(bundle) and, with only new namespaces and no
 *             user namespace, creates them while hull makes the state dir
 *             and the cgroup
 *   <- CGROUP the cgroup (serialized); fds: the exec fifo, the cgroup2
 *             directory, the v1 `tasks` files
 *             [new user namespace: unshare(USER) -> USERNS -> hull writes the
 *              maps -> USERNS_DONE; then the other namespaces]
 *             S clones C, the init, straight into the cgroup2 directory; C
 *             enters the v1 hierarchies itself, then unshares its cgroup
 *             namespace (rooted at the container's cgroup) and runs init.c
 *   -> PID    C's pid; S brings up lo (new network namespace) while C works,
 *             tells C it is done, exits, and C is reparented to hull (run) or
 *             the shim
 *
 * Namespaces made before CGROUP are charged to hull's memory cgroup rather
 * than the container's: a few pages of kernel memory, runc-compatible limits.
 */
#include "internal.h"
#include "namespaces/namespaces.h"
#include "net/net.h"

#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

/* ---- hull's side --------------------------------------------------------- */

/* In S, told to seal: exec the sealed binary as `hull __stage`. */
static __attribute__((noreturn)) void exec_stage(int sock, int exe)
{
	struct hull_err *err = NULL;
	enum hull_log_level level;
	char a_sock[16], a_log[16], a_json[4], a_level[4];
	bool json;
	int log_fd;

	hull_log_get(&log_fd, &json, &level);
	/* Both must survive the exec; S marks them close-on-exec again. */
	if (fcntl(sock, F_SETFD, 0) < 0 || fcntl(log_fd, F_SETFD, 0) < 0) {
		hull_err_make(&err, errno, "fcntl F_SETFD");
		sync_fail(sock, err);
	}
	snprintf(a_sock, sizeof(a_sock), "%d", sock);
	snprintf(a_log, sizeof(a_log), "%d", log_fd);
	snprintf(a_json, sizeof(a_json), "%d", json);
	snprintf(a_level, sizeof(a_level), "%d", (int)level);
	syscall(SYS_execveat, exe, "", (char *[]){ "hull", (char *)STAGE_ARG, a_sock, a_log, a_json, a_level, NULL },
		environ, AT_EMPTY_PATH);
	hull_err_make(&err, errno, "exec the sealed hull binary");
	sync_fail(sock, err);
}

/*
 * A forked child starts on its parent's CPU, and the scheduler lets it
 * preempt the parent at once: hull then waits while S execs and glibc starts
 * (0.4 ms), or, once hull runs, S waits until hull sleeps.  So hull forks S
 * as a SCHED_BATCH task, which never preempts on wakeup, points it at the
 * other CPUs, and both return to SCHED_OTHER (S before its exec); S takes
 * hull's CPU mask back once it has its bootstrap.  Only from SCHED_OTHER:
 * a policy the caller chose is left alone.  1000 alternated runs: -0.3 ms.
 */
static void move_off_this_cpu(pid_t pid)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2 ||
	    !CPU_ISSET(cpu, &set))
		return;
	CPU_CLR(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		hull_debug("stage: sched_setaffinity: %s", strerror(errno));
}

static __attribute__((noreturn)) void stage_run(int sock);

/*
 * Whether the init must be a sealed copy of hull (CVE-2019-5736).  Until it
 * execs the user's program, the init's /proc/PID/exe is whatever S runs.  In
 * a new pid namespace nothing else is in the container before `start` (hull
 * exec refuses a created container then, see exec.c), and the init is not
 * dumpable, so only a process with CAP_SYS_PTRACE in the host's user
 * namespace could open that link from outside, and such a process reaches
 * hull itself as easily.  A joined pid namespace (a pod's) or the host's own
 * holds other containers' processes: there S re-executes from the sealed
 * binary.  Not exec'ing saves S glibc's start-up and hull the overlay mount.
 */
bool stage_needs_seal(const struct oci_spec *spec)
{
	const struct oci_namespace *n = oci_spec_get_ns(spec, OCI_NS_PID);

	return !n || n->path;
}

int stage_spawn(struct spawn_opts *so, struct hull_err **err)
{
	struct sched_param sp = { 0 };
	bool batch;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hull_err_make(err, errno, "socketpair");
	/* The init is S's child: it must come back to us when S exits. */
	if (so->foreground && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		close(sv[0]);
		close(sv[1]);
		return hull_err_make(err, errno, "prctl PR_SET_CHILD_SUBREAPER");
	}
	fflush(NULL);
	batch = sched_getscheduler(0) == SCHED_OTHER && sched_setscheduler(0, SCHED_BATCH, &sp) == 0;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		/* hull blocks the signals that abort set-up: not for S's tree. */
		sigprocmask(SIG_SETMASK, &so->sigmask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (batch)
			(void)sched_setscheduler(0, SCHED_OTHER, &sp);
		/* Keep container processes (a shared pid namespace) out of /proc/<S>. */
		prctl(PR_SET_DUMPABLE, 0);
		stage_run(sv[1]);
	}
	if (pid > 0)
		move_off_this_cpu(pid);
	if (batch)
		(void)sched_setscheduler(0, SCHED_OTHER, &sp);
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return hull_err_make(err, errno, "fork");
	}
	close(sv[1]);
	so->stage = pid;
	so->sock = sv[0];
	return 0;
}

void stage_close_seal(struct spawn_opts *so)
{
	if (so->seal_tree >= 0)
		close(so->seal_tree);
	so->seal_tree = -1;
}

void stage_abort(struct spawn_opts *so)
{
	stage_close_seal(so);
	if (so->stage > 0) {
		kill(so->stage, SIGKILL);
		while (waitpid(so->stage, NULL, 0) < 0 && errno == EINTR)
			;
		so->stage = 0;
	}
	if (so->sock >= 0)
		close(so->sock);
	so->sock = -1;
}

/* ---- S ------------------------------------------------------------------- */

/* Running from the sealed binary: a second SEAL would be a protocol error. */
static bool stage_sealed;

struct boot {
	struct oci_spec *spec;
	char *bundle, *rootfs, *id;
	bool no_pivot, no_new_keyring;
	int preserve_fds;
};

int stage_boot(struct spawn_opts *so, const struct oci_spec *spec, const char *bundle, const char *rootfs,
	       const char *cfg, size_t len, struct hull_err **err)
{
	_cleanup_close_ int mfd = memfd_create("config.json", MFD_CLOEXEC);
	struct json_object *o;
	int r;

	if (stage_needs_seal(spec)) {
		/* The tree stays open until S has exec'd: hull closes it (an RCU
		 * grace period) while it waits for the init. */
		_cleanup_close_ int exe = exe_sealed_fd(&so->seal_tree, err);
		if (exe < 0)
			return -1;
		r = sync_send_blob(so->sock, SYNC_SEAL, &exe, 1, "{}");
		if (r < 0 && r != -EPIPE)
			return hull_err_make(err, -r, "sync: send the sealed binary to the stage");
	}
	if (mfd < 0)
		return hull_err_make(err, errno, "memfd_create");
	/* S reads from the start: the file offset is shared with S. */
	if (write_all(mfd, cfg, len) < 0 || lseek(mfd, 0, SEEK_SET) < 0)
		return hull_err_make(err, errno, "write config.json to a memfd");
	o = json_object_new_object();
	json_object_object_add(o, "bundle", json_object_new_string(bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(rootfs));
	json_object_object_add(o, "id", json_object_new_string(so->o->id));
	json_object_object_add(o, "noPivot", json_object_new_boolean(so->o->no_pivot));
	json_object_object_add(o, "noNewKeyring", json_object_new_boolean(so->o->no_new_keyring));
	json_object_object_add(o, "preserveFds", json_object_new_int(so->o->preserve_fds));
	r = sync_send_blob(so->sock, SYNC_BOOT, &mfd, 1, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	/* A stage that died says why when hull next reads the socket. */
	if (r < 0 && r != -EPIPE)
		return hull_err_make(err, -r, "sync: send the bootstrap to the stage");
	return 0;
}

/* cfg_fd: hull's validated config.json, in a memfd. */
static int parse_boot(const char *text, int cfg_fd, struct boot *b, struct hull_err **err)
{
	struct json_object *o = json_tokener_parse(text);
	_cleanup_free_ char *cfg = NULL, *name = NULL;
	const char *bundle, *rootfs, *id;
	size_t len;

	if (!o)
		return hull_err_make(err, EBADMSG, "stage: bootstrap message");
	bundle = jstr(o, "bundle");
	rootfs = jstr(o, "rootfs");
	id = jstr(o, "id");
	if (!bundle || !rootfs || !id) {
		json_object_put(o);
		return hull_err_make(err, EBADMSG, "stage: bootstrap message");
	}
	b->bundle = xstrdup(bundle);
	b->rootfs = xstrdup(rootfs);
	b->id = xstrdup(id);
	b->no_pivot = jbool(o, "noPivot");
	b->no_new_keyring = jbool(o, "noNewKeyring");
	b->preserve_fds = (int)jint(o, "preserveFds");
	json_object_put(o);
	name = xasprintf("%s/config.json", b->bundle);
	if (read_fd_all(cfg_fd, name, &cfg, &len, 0, err) < 0)
		return -1;
	return oci_spec_parse(cfg, len, name, &b->spec, err);
}

/* New namespaces but the user one (made first, see below) and cgroup (C's). */
static void make_namespaces(int sock, const struct oci_spec *spec, int flags)
{
	struct hull_err *err = NULL;
	int rest = flags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);

	if (oci_spec_get_ns(spec, OCI_NS_USER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		hull_err_make(&err, errno, "become root in the user namespace (is 0 mapped?)");
		sync_fail(sock, err);
	}
	if (rest && unshare(rest) < 0) {
		hull_err_make(&err, errno, "unshare namespaces 0x%x", rest);
		sync_fail(sock, err);
	}
	if ((flags & CLONE_NEWTIME) && ns_write_time_offsets(spec, &err) < 0)
		sync_fail(sock, err);
}

/* Only new namespaces, none joined, no user namespace: S may create them
 * before it is in the cgroup.  Otherwise the cgroup comes first: joined
 * namespaces may hide the host's cgroupfs, and a user namespace's processes
 * can no longer write its root-owned files. */
static bool namespaces_first(const struct oci_spec *spec)
{
	if (oci_spec_get_ns(spec, OCI_NS_USER))
		return false;
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].path)
			return false;
	return true;
}

static void renew_pid_ns(int sock)
{
	struct hull_err *err = NULL;
	_cleanup_close_ int self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);

	if (self < 0 || setns(self, CLONE_NEWPID) < 0 || unshare(CLONE_NEWPID) < 0) {
		hull_err_make(&err, errno, "renew the pid namespace");
		sync_fail(sock, err);
	}
}

/* In C, the init: the cgroup (if not there yet), its cgroup namespace, init.c. */
static __attribute__((noreturn)) void start_init(int sock, const struct boot *b, const struct cgroup *cg,
						 bool in_unified, int *tasks, size_t n_tasks, int fifo_fd, int cg_fd,
						 const int pid_pipe[2], int flags, const int *bind_fds)
{
	struct hull_err *err = NULL;
	struct init_args a = {
		.spec = b->spec, .rootfs = b->rootfs, .sync = sock, .fifo_fd = fifo_fd,
		.no_pivot = b->no_pivot, .in_userns = oci_spec_get_ns(b->spec, OCI_NS_USER) != NULL,
		.preserve_fds = b->preserve_fds, .id = b->id, .bundle = b->bundle,
		.no_new_keyring = b->no_new_keyring, .pid_pipe = pid_pipe[0], .bind_fds = bind_fds,
	};

	close(pid_pipe[1]);
	/* A host directory: a process.cwd of /proc/self/fd/N must not find it. */
	if (cg_fd >= 0)
		close(cg_fd);
	if (cg && cgroups_enter_self(cg, in_unified, tasks, n_tasks, &err) < 0)
		sync_fail(sock, err);
	/* After the cgroup, so that it is the namespace's root. */
	if ((flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
		hull_err_make(&err, errno, "unshare cgroup namespace");
		sync_fail(sock, err);
	}
	init_container(&a);
}

/*
 * Tell hull C's pid, then C itself: C's messages can only follow ours.
 * Then bring up lo of a new network namespace (a netlink round trip, 0.2 ms)
 * while C builds the rootfs, and send C the outcome: C waits for it before
 * anything outside can see the namespace.  A failure goes to hull first.
 */
static __attribute__((noreturn)) void report_pid(int sock, pid_t pid, const int pid_pipe[2], bool lo)
{
	struct hull_err *err = NULL;
	int st = 0;

	sync_send(sock, SYNC_PID, pid, -1, NULL);
	if (write(pid_pipe[1], &pid, sizeof(pid)) != (ssize_t)sizeof(pid))
		_exit(1);
	if (lo && net_link_up("lo", &err) < 0) {
		sync_send(sock, SYNC_ERROR, 0, -1, err->msg);
		st = -1;
	}
	if (write(pid_pipe[1], &st, sizeof(st)) != (ssize_t)sizeof(st))
		_exit(1);
	_exit(st == 0 ? 0 : 1);
}

static bool new_netns(const struct oci_spec *spec)
{
	const struct oci_namespace *n = oci_spec_get_ns(spec, OCI_NS_NETWORK);

	return n && !n->path;
}

static __attribute__((noreturn)) void stage_run(int sock)
{
	struct hull_err *err = NULL;
	_cleanup_free_ char *boot_text = NULL, *cg_text = NULL;
	struct json_object *cgo;
	struct cgroup *cg = NULL;
	struct boot b = { 0 };
	struct sync_msg m;
	cpu_set_t cpus;
	int fds[SYNC_MAX_FDS], *tasks, *bind_fds = NULL;
	size_t nfds, n_tasks;
	int fifo_fd = -1, cg_fd = -1, flags, st, pid_pipe[2], r;
	bool early, in_unified = false, cloned_in = false;
	enum sync_type got = SYNC_BOOT;
	pid_t pid;

	if (sync_recv_blob(sock, SYNC_BOOT, stage_sealed ? NULL : &got, &boot_text, fds, 1, &nfds, &err) < 0)
		sync_fail(sock, err);
	if (got == SYNC_SEAL) {
		if (nfds != 1) {
			hull_err_make(&err, EBADMSG, "stage: seal message without the binary");
			sync_fail(sock, err);
		}
		exec_stage(sock, fds[0]);
	}
	if (nfds != 1) {
		hull_err_make(&err, EBADMSG, "stage: bootstrap message without config.json");
		sync_fail(sock, err);
	}
	/* hull's CPU mask again (see move_off_this_cpu), for C to inherit. */
	if (sched_getaffinity(getppid(), sizeof(cpus), &cpus) == 0)
		(void)sched_setaffinity(0, sizeof(cpus), &cpus);
	r = parse_boot(boot_text, fds[0], &b, &err);
	close(fds[0]);
	if (r < 0)
		sync_fail(sock, err);
	/* runc resolves relative mount sources against the bundle. */
	if (chdir(b.bundle) < 0) {
		hull_err_make(&err, errno, "chdir %s", b.bundle);
		sync_fail(sock, err);
	}
	flags = ns_new_flags(b.spec);
	early = namespaces_first(b.spec);
	if (early)
		make_namespaces(sock, b.spec, flags);

	if (sync_recv_blob(sock, SYNC_CGROUP, NULL, &cg_text, fds, SYNC_MAX_FDS, &nfds, &err) < 0)
		sync_fail(sock, err);
	cgo = json_tokener_parse(cg_text);
	if (!cgo) {
		hull_err_make(&err, EBADMSG, "stage: cgroup message");
		sync_fail(sock, err);
	}
	/* fds: the exec fifo, the cgroup2 directory if any, v1 `tasks` files. */
	if (nfds < 1 || (jbool(cgo, "cgroup2Fd") && nfds < 2)) {
		hull_err_make(&err, EBADMSG, "stage: cgroup message without the exec fifo");
		sync_fail(sock, err);
	}
	fifo_fd = fds[0];
	in_unified = jbool(cgo, "inUnified");
	if (jbool(cgo, "cgroup2Fd"))
		cg_fd = fds[1];
	tasks = fds + 1 + (cg_fd >= 0);
	n_tasks = nfds - 1 - (cg_fd >= 0);
	if (jstr(cgo, "cgroup") && cgroups_load(jstr(cgo, "cgroup"), &cg, &err) < 0)
		sync_fail(sock, err);
	json_object_put(cgo);
	if (pipe2(pid_pipe, O_CLOEXEC) < 0) {
		hull_err_make(&err, errno, "pipe");
		sync_fail(sock, err);
	}

	if (early) {
		r = clone_into_cgroup(cg_fd, &pid, &err);
		if (r < 0)
			sync_fail(sock, err);
		cloned_in = r == 1;
		/* A child killed at birth was the new pid namespace's init, which
		 * takes the namespace with it: make another one for the fork. */
		if (r == 2 && (flags & CLONE_NEWPID))
			renew_pid_ns(sock);
		if (!cloned_in && (pid = fork()) < 0) {
			hull_err_make(&err, errno, "fork container init");
			sync_fail(sock, err);
		}
		if (pid == 0)
			start_init(sock, &b, cg, cloned_in || in_unified, tasks, n_tasks, fifo_fd, cg_fd, pid_pipe,
				   flags, NULL);
		report_pid(sock, pid, pid_pipe, new_netns(b.spec));
	}
	/* The cgroup first: S2, born in it, owns the namespaces; S waits. */
	pid = fork_into_cgroup_fd(cg_fd, &cloned_in, &err);
	if (pid < 0)
		sync_fail(sock, err);
	if (pid > 0) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cg && cgroups_enter_self(cg, cloned_in || in_unified, tasks, n_tasks, &err) < 0)
		sync_fail(sock, err);
	if (ns_join_paths(b.spec, 0, &err) < 0)
		sync_fail(sock, err);
	if (flags & CLONE_NEWUSER) {
		/* While still the host's root (runc: mount sources as fds). */
		bind_fds = ns_open_bind_sources(b.spec);
		if (unshare(CLONE_NEWUSER) < 0) {
			hull_err_make(&err, errno, "unshare user namespace");
			sync_fail(sock, err);
		}
		/* Our pid: hull only knows S's. */
		sync_send(sock, SYNC_USERNS, getpid(), -1, NULL);
		if (sync_expect(sock, SYNC_USERNS_DONE, &m, NULL, &err) < 0)
			_exit(1);
	}
	make_namespaces(sock, b.spec, flags);
	pid = fork();
	if (pid < 0) {
		hull_err_make(&err, errno, "fork container init");
		sync_fail(sock, err);
	}
	if (pid == 0)
		start_init(sock, &b, NULL, true, NULL, 0, fifo_fd, cg_fd, pid_pipe, flags, bind_fds);
	report_pid(sock, pid, pid_pipe, new_netns(b.spec));
}

int runtime_stage_main(int argc, char **argv)
{
	int64_t sock, log_fd, json, level;

	if (argc != 6 || parse_i64(argv[2], &sock) < 0 || parse_i64(argv[3], &log_fd) < 0 ||
	    parse_i64(argv[4], &json) < 0 || parse_i64(argv[5], &level) < 0 || sock < 3 ||
	    level < HULL_LOG_ERROR || level > HULL_LOG_DEBUG) {
		fprintf(stderr, "hull: %s is internal to create and run\n", STAGE_ARG);
		return 1;
	}
	stage_sealed = true;
	hull_log_init((int)log_fd, json != 0, (enum hull_log_level)level);
	fcntl((int)sock, F_SETFD, FD_CLOEXEC);
	if (log_fd > STDERR_FILENO)
		fcntl((int)log_fd, F_SETFD, FD_CLOEXEC);
	/* Keep container processes (a shared pid namespace) out of /proc/<S>. */
	prctl(PR_SET_DUMPABLE, 0);
	stage_run((int)sock);
}
