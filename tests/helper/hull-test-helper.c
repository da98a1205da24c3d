/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull-test-helper: assertions from inside a container.  Static, libc only:
 * the busybox rootfs has no shared libraries.  Every subcommand prints
 * one-line, machine-checkable results (a few print one line per item) so the
 * bats suites compare exact strings.  Failures print the errno name and exit 1.
 *
 *   hull-test-helper SUBCOMMAND [ARGS...]      (see the table at the bottom)
 */
/* Subcommands share one signature; most ignore argc/argv. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct name_val { const char *name; long val; };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct name_val errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINTR", EINTR },
	{ "EIO", EIO }, { "ENXIO", ENXIO }, { "E2BIG", E2BIG }, { "EBADF", EBADF },
	{ "ECHILD", ECHILD }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "EXDEV", EXDEV },
	{ "ENODEV", ENODEV }, { "ENOTDIR", ENOTDIR }, { "EISDIR", EISDIR }, { "EINVAL", EINVAL },
	{ "ENFILE", ENFILE }, { "EMFILE", EMFILE }, { "ENOTTY", ENOTTY }, { "ETXTBSY", ETXTBSY },
	{ "EFBIG", EFBIG }, { "ENOSPC", ENOSPC }, { "EROFS", EROFS }, { "EMLINK", EMLINK },
	{ "ERANGE", ERANGE }, { "ENAMETOOLONG", ENAMETOOLONG }, { "ENOSYS", ENOSYS },
	{ "ELOOP", ELOOP }, { "ENOMSG", ENOMSG }, { "ENOTSUP", ENOTSUP }, { "ECONNREFUSED", ECONNREFUSED },
};

static const char *errno_name(int e)
{
	static char buf[32];
	for (size_t i = 0; i < ARRAY_LEN(errnos); i++)
		if (errnos[i].val == e)
			return errnos[i].name;
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

static int fail(const char *what)
{
	int e = errno;
	printf("%s\n", errno_name(e));
	(void)what;
	return 1;
}

static int print_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return fail(path);
	}
	return 0;
}

/* Print "Field:\tvalue" lines of /proc/self/status whose name is in `fields`. */
static int status_fields(const char *const *fields, size_t n)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return fail("/proc/self/status");
	char line[1024];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(fields[i]);
			if ((size_t)(colon - line) == len && strncmp(line, fields[i], len) == 0) {
				char *v = colon + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				v[strcspn(v, "\n")] = '\0';
				for (size_t end = strlen(v); end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t');)
					v[--end] = '\0';
				/* tabs inside values (Uid:) become spaces */
				for (char *p = v; *p; p++)
					if (*p == '\t')
						*p = ' ';
				printf(*v ? "%s: %s\n" : "%s:%s\n", fields[i], v);
				found++;
			}
		}
	}
	fclose(f);
	return found ? 0 : 1;
}

static int cmd_caps(int argc, char **argv)
{
	static const char *const f[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	return status_fields(f, ARRAY_LEN(f));
}

static int cmd_status(int argc, char **argv)
{
	return status_fields((const char *const *)argv + 1, (size_t)argc - 1);
}

static const struct name_val rlimits[] = {
	{ "CPU", RLIMIT_CPU }, { "FSIZE", RLIMIT_FSIZE }, { "DATA", RLIMIT_DATA },
	{ "STACK", RLIMIT_STACK }, { "CORE", RLIMIT_CORE }, { "RSS", RLIMIT_RSS },
	{ "NPROC", RLIMIT_NPROC }, { "NOFILE", RLIMIT_NOFILE }, { "MEMLOCK", RLIMIT_MEMLOCK },
	{ "AS", RLIMIT_AS }, { "LOCKS", RLIMIT_LOCKS }, { "SIGPENDING", RLIMIT_SIGPENDING },
	{ "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE }, { "RTPRIO", RLIMIT_RTPRIO },
	{ "RTTIME", RLIMIT_RTTIME },
};

static void print_rlim(rlim_t v)
{
	if (v == RLIM_INFINITY)
		printf("unlimited");
	else
		printf("%llu", (unsigned long long)v);
}

static int cmd_rlimit(int argc, char **argv)
{
	const char *name = argv[1];
	if (strncmp(name, "RLIMIT_", 7) == 0)
		name += 7;
	for (size_t i = 0; i < ARRAY_LEN(rlimits); i++) {
		if (strcmp(rlimits[i].name, name) != 0)
			continue;
		struct rlimit r;
		if (getrlimit((int)rlimits[i].val, &r) < 0)
			return fail("getrlimit");
		print_rlim(r.rlim_cur);
		putchar(' ');
		print_rlim(r.rlim_max);
		putchar('\n');
		return 0;
	}
	printf("unknown rlimit %s\n", argv[1]);
	return 2;
}

/* Probes for seccomp tests: each normally succeeds, so an error is the filter. */
static long sc_getpid(const char *arg) { return syscall(SYS_getpid); }
static long sc_getppid(const char *arg) { return syscall(SYS_getppid); }
static long sc_mkdir(const char *arg)
{
	const char *p = arg ? arg : "/tmp/.hull-probe";
	long r = syscall(SYS_mkdir, p, 0700);
	if (r == 0)
		rmdir(p);
	return r;
}
static long sc_personality(const char *arg)
{
	return syscall(SYS_personality, arg ? strtoul(arg, NULL, 0) : 0xffffffffUL);
}
static long sc_uname(const char *arg) { struct utsname u; return syscall(SYS_uname, &u); }
static long sc_chdir(const char *arg) { return syscall(SYS_chdir, arg ? arg : "/"); }
static long sc_getcwd(const char *arg) { char b[4096]; return syscall(SYS_getcwd, b, sizeof b); }
static long sc_umask(const char *arg) { long old = syscall(SYS_umask, 022); umask((mode_t)old); return 0; }
static long sc_unshare(const char *arg) { return syscall(SYS_unshare, arg ? strtol(arg, NULL, 0) : 0); }
static long sc_sethostname(const char *arg)
{
	char h[65] = "";
	gethostname(h, sizeof h - 1);
	return syscall(SYS_sethostname, arg ? arg : h, strlen(arg ? arg : h));
}
static long sc_dup(const char *arg)
{
	long r = syscall(SYS_dup, arg ? atoi(arg) : 1);
	if (r >= 0)
		close((int)r);
	return r;
}

/* Newer than most of the above (Linux 5.8): for "newer than the profile". */
static long sc_faccessat2(const char *arg) { return syscall(SYS_faccessat2, AT_FDCWD, arg ? arg : "/", F_OK, 0); }

static const struct { const char *name; long (*fn)(const char *); } syscalls[] = {
	{ "getpid", sc_getpid }, { "getppid", sc_getppid }, { "mkdir", sc_mkdir },
	{ "personality", sc_personality }, { "uname", sc_uname }, { "chdir", sc_chdir },
	{ "getcwd", sc_getcwd }, { "umask", sc_umask }, { "unshare", sc_unshare },
	{ "sethostname", sc_sethostname }, { "dup", sc_dup }, { "faccessat2", sc_faccessat2 },
};

static int cmd_syscall(int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_LEN(syscalls); i++) {
		if (strcmp(syscalls[i].name, argv[1]) != 0)
			continue;
		errno = 0;
		long r = syscalls[i].fn(argc > 2 ? argv[2] : NULL);
		if (r < 0) {
			printf("%s\n", errno_name(errno));
			return 1;
		}
		printf("OK\n");
		return 0;
	}
	printf("unknown syscall %s\n", argv[1]);
	return 2;
}

static int cmd_read(int argc, char **argv) { return print_file(argv[1]); }

static int cmd_write(int argc, char **argv)
{
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(argv[1]);
	size_t len = strlen(argv[2]);
	ssize_t n = write(fd, argv[2], len);
	int e = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return fail(argv[1]);
	}
	printf("OK\n");
	return 0;
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFLNK: return "link";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	}
	return "unknown";
}

/* "TYPE MODE MAJOR:MINOR UID GID" with MODE in octal permission bits. */
static int do_stat(const char *path, int follow)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		return fail(path);
	printf("%s %04o %u:%u %u %u\n", type_name(st.st_mode), (unsigned)(st.st_mode & 07777),
	       major(st.st_rdev), minor(st.st_rdev), (unsigned)st.st_uid, (unsigned)st.st_gid);
	return 0;
}
static int cmd_stat(int argc, char **argv) { return do_stat(argv[1], 1); }
static int cmd_lstat(int argc, char **argv) { return do_stat(argv[1], 0); }

/* One "FD TARGET" line per open fd, the directory stream's own fd excluded. */
static int cmd_fds(int argc, char **argv)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return fail("/proc/self/fd");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		char link[300], target[4096];
		snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 0)
			snprintf(target, sizeof target, "?%s", errno_name(errno));
		else
			target[n] = '\0';
		printf("%s %s\n", de->d_name, target);
	}
	closedir(d);
	return 0;
}

static int cmd_sleep(int argc, char **argv)
{
	unsigned s = (unsigned)atoi(argv[1]);
	while ((s = sleep(s)) > 0)
		;
	return 0;
}

static int cmd_exit(int argc, char **argv) { return atoi(argv[1]); }

static const struct name_val signals[] = {
	{ "SIGTERM", SIGTERM }, { "SIGINT", SIGINT }, { "SIGUSR1", SIGUSR1 },
	{ "SIGUSR2", SIGUSR2 }, { "SIGHUP", SIGHUP }, { "SIGQUIT", SIGQUIT },
};

static void noop_handler(int sig) { }

/*
 * As pid 1 of a PID namespace a signal with the default action is dropped,
 * so install a handler and block the signals before announcing "ready".
 */
static int cmd_signal_wait(int argc, char **argv)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_LEN(signals); i++) {
		signal((int)signals[i].val, noop_handler);
		sigaddset(&set, (int)signals[i].val);
	}
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	int sig = 0;
	if (sigwait(&set, &sig) != 0)
		return fail("sigwait");
	for (size_t i = 0; i < ARRAY_LEN(signals); i++)
		if (signals[i].val == sig)
			printf("%s\n", signals[i].name);
	return 0;
}

static int cmd_tty(int argc, char **argv)
{
	const char *name = ttyname(0);
	printf("stdin=%d stdout=%d ttyname=%s\n", isatty(0), isatty(1), name ? name : "none");
	return 0;
}

static int cmd_umask(int argc, char **argv)
{
	mode_t m = umask(0);
	umask(m);
	printf("%04o\n", (unsigned)m);
	return 0;
}

static int cmd_cwd(int argc, char **argv)
{
	char buf[4096];
	if (!getcwd(buf, sizeof buf))
		return fail("getcwd");
	printf("%s\n", buf);
	return 0;
}

/* pgrp=N sid=N pid=N, numbered in our pid namespace (0: outside it). */
static int cmd_pgrp(int argc, char **argv)
{
	printf("pgrp=%d sid=%d pid=%d\n", (int)getpgrp(), (int)getsid(0), (int)getpid());
	return 0;
}

static int cmd_hostname(int argc, char **argv)
{
	struct utsname u;
	if (uname(&u) < 0)
		return fail("uname");
	printf("%s\n", u.nodename);
	return 0;
}

static int cmd_domainname(int argc, char **argv)
{
	struct utsname u;
	if (uname(&u) < 0)
		return fail("uname");
	printf("%s\n", u.domainname);
	return 0;
}

/* "NAME TARGET" per namespace, e.g. "net net:[4026532008]". */
static int cmd_ns(int argc, char **argv)
{
	static const char *const names[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (argc > 1 && strcmp(argv[1], names[i]) != 0)
			continue;
		char link[64], target[256];
		snprintf(link, sizeof link, "/proc/self/ns/%s", names[i]);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 0)
			snprintf(target, sizeof target, "%s", errno_name(errno));
		else
			target[n] = '\0';
		printf("%s %s\n", names[i], target);
	}
	return 0;
}

static int cmd_ioprio(int argc, char **argv)
{
	static const char *const classes[] = { "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT",
					       "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };
	long r = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
	if (r < 0)
		return fail("ioprio_get");
	unsigned cls = (unsigned)(r >> 13), prio = (unsigned)(r & 0x1fff);
	printf("%s %u\n", cls < 4 ? classes[cls] : "?", prio);
	return 0;
}

static int cmd_sched(int argc, char **argv)
{
	static const struct name_val pol[] = {
		{ "SCHED_OTHER", SCHED_OTHER }, { "SCHED_FIFO", SCHED_FIFO }, { "SCHED_RR", SCHED_RR },
		{ "SCHED_BATCH", SCHED_BATCH }, { "SCHED_IDLE", SCHED_IDLE }, { "SCHED_DEADLINE", 6 },
	};
	int p = sched_getscheduler(0);
	if (p < 0)
		return fail("sched_getscheduler");
	p &= ~SCHED_RESET_ON_FORK;
	struct sched_param sp;
	sched_getparam(0, &sp);
	const char *name = "?";
	for (size_t i = 0; i < ARRAY_LEN(pol); i++)
		if (pol[i].val == p)
			name = pol[i].name;
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	printf("%s priority=%d nice=%d\n", name, sp.sched_priority, nice);
	return 0;
}

/* Try to switch to SCHED_FIFO at PRIO: "OK" or the errno name (v1 RT budget tests). */
static int cmd_rt(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = atoi(argv[1]) };
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		return fail("sched_setscheduler");
	printf("OK\n");
	return 0;
}

static int cmd_personality(int argc, char **argv)
{
	int p = personality(0xffffffff);
	if (p < 0)
		return fail("personality");
	printf("%s 0x%04x\n", (p & PER_MASK) == PER_LINUX32 ? "LINUX32" :
	       (p & PER_MASK) == PER_LINUX ? "LINUX" : "OTHER", (unsigned)p);
	return 0;
}

static int cmd_oom(int argc, char **argv) { return print_file("/proc/self/oom_score_adj"); }
static int cmd_mountinfo(int argc, char **argv) { return print_file("/proc/self/mountinfo"); }

static int cmd_fork_bomb(int argc, char **argv)
{
	int n = atoi(argv[1]), ok = 0;
	int fds[2];
	if (pipe(fds) < 0)
		return fail("pipe");
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			char c;
			close(fds[1]);
			/* wait until the parent closes the pipe, so all children coexist */
			(void)!read(fds[0], &c, 1);
			_exit(0);
		}
		ok++;
	}
	close(fds[1]);
	close(fds[0]);
	while (wait(NULL) > 0)
		;
	printf("%d\n", ok);
	return 0;
}

static int cmd_alloc(int argc, char **argv)
{
	size_t len = (size_t)atol(argv[1]) << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	printf("OK\n");
	return 0;
}

static int cmd_count(int argc, char **argv)
{
	for (unsigned long i = 0;; i++) {
		printf("%lu\n", i);
		fflush(stdout);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int cmd_id(int argc, char **argv)
{
	static const char *const f[] = { "Uid", "Gid", "Groups" };
	return status_fields(f, ARRAY_LEN(f));
}

/* Read an inherited fd (preserve-fds, --console-socket tests). */
static int cmd_read_fd(int argc, char **argv)
{
	int fd = atoi(argv[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	if (n < 0)
		return fail("read");
	return 0;
}

/*
 * CVE-2019-5736 probe.  For SECONDS, scan /proc/[pid]/exe of every process in
 * the container; if one resolves to the host runtime binary (DEV:INO given by
 * the test, seen from the host), try to open it for writing.  Prints "safe"
 * or "VULNERABLE pid=N" and "WRITABLE" when the open succeeded.
 */
static int cmd_exe_watch(int argc, char **argv)
{
	unsigned long long want_dev = strtoull(argv[1], NULL, 0), want_ino = strtoull(argv[2], NULL, 0);
	time_t end = time(NULL) + atoi(argv[3]);
	pid_t self = getpid();
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		if (!d)
			return fail("/proc");
		struct dirent *de;
		while ((de = readdir(d))) {
			pid_t pid = atoi(de->d_name);
			if (pid <= 0 || pid == self)
				continue;
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/exe", pid);
			int fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue;
			struct stat st;
			if (fstat(fd, &st) == 0 && st.st_dev == want_dev && st.st_ino == want_ino) {
				printf("VULNERABLE pid=%d\n", pid);
				char fdpath[64];
				snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
				for (int i = 0; i < 2000; i++) {
					int w = open(fdpath, O_WRONLY | O_CLOEXEC);
					if (w >= 0) {
						printf("WRITABLE\n");
						close(w);
						break;
					}
					usleep(500);
				}
				close(fd);
				closedir(d);
				return 1;
			}
			close(fd);
		}
		closedir(d);
	}
	printf("safe\n");
	return 0;
}

static const struct {
	const char *name;
	int nargs;
	int (*fn)(int argc, char **argv);
	const char *usage;
} cmds[] = {
	{ "caps", 0, cmd_caps, "CapInh/CapPrm/CapEff/CapBnd/CapAmb lines" },
	{ "status", 1, cmd_status, "FIELD...: /proc/self/status fields" },
	{ "id", 0, cmd_id, "Uid/Gid/Groups lines" },
	{ "rlimit", 1, cmd_rlimit, "NAME: \"soft hard\"" },
	{ "syscall", 1, cmd_syscall, "NAME [ARG]: OK or the errno name" },
	{ "read", 1, cmd_read, "PATH: content or errno name" },
	{ "write", 2, cmd_write, "PATH TEXT: OK or errno name" },
	{ "stat", 1, cmd_stat, "PATH: TYPE MODE MAJ:MIN UID GID" },
	{ "lstat", 1, cmd_lstat, "PATH: like stat, not following a symlink" },
	{ "fds", 0, cmd_fds, "\"FD TARGET\" per open fd" },
	{ "read-fd", 1, cmd_read_fd, "FD: copy an inherited fd to stdout" },
	{ "sleep", 1, cmd_sleep, "SECONDS" },
	{ "exit", 1, cmd_exit, "CODE" },
	{ "signal-wait", 0, cmd_signal_wait, "print ready, wait for a signal, print its name" },
	{ "tty", 0, cmd_tty, "stdin=0|1 stdout=0|1 ttyname=..." },
	{ "umask", 0, cmd_umask, "octal umask" },
	{ "cwd", 0, cmd_cwd, "getcwd()" },
	{ "pgrp", 0, cmd_pgrp, "pgrp=N sid=N pid=N" },
	{ "hostname", 0, cmd_hostname, "uname nodename" },
	{ "domainname", 0, cmd_domainname, "uname domainname" },
	{ "ns", 0, cmd_ns, "[NAME]: \"NAME TARGET\" per namespace" },
	{ "ioprio", 0, cmd_ioprio, "CLASS LEVEL" },
	{ "sched", 0, cmd_sched, "POLICY priority=N nice=N" },
	{ "personality", 0, cmd_personality, "LINUX|LINUX32 0xVALUE" },
	{ "rt", 1, cmd_rt, "PRIO: switch to SCHED_FIFO, OK or errno name" },
	{ "oom", 0, cmd_oom, "oom_score_adj" },
	{ "mountinfo", 0, cmd_mountinfo, "/proc/self/mountinfo" },
	{ "fork-bomb", 1, cmd_fork_bomb, "N: number of children that could be forked" },
	{ "alloc", 1, cmd_alloc, "MB: touch MB of anonymous memory" },
	{ "count", 0, cmd_count, "print an increasing counter every 100ms" },
	{ "exe-watch", 3, cmd_exe_watch, "DEV INO SECONDS: CVE-2019-5736 probe" },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2) {
		for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
			if (strcmp(argv[1], cmds[i].name) != 0)
				continue;
			if (argc - 2 < cmds[i].nargs) {
				fprintf(stderr, "usage: hull-test-helper %s %s\n", cmds[i].name, cmds[i].usage);
				return 2;
			}
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "usage: hull-test-helper COMMAND [ARGS]\n");
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		fprintf(stderr, "  %-12s %s\n", cmds[i].name, cmds[i].usage);
	return 2;
}
