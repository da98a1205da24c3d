/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confine_jail_build / confine_jail_enter: a jail that threads of one
 * process enter one by one (a VM container's VMM).  Each case runs in a
 * forked child (the test process keeps its namespace and credentials) and
 * needs root (it makes a mount namespace and device nodes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "confine/confine.h"

#define UID 65534
#define GID 65534

static char tmp[] = "/tmp/hull-test-jail-XXXXXX";

struct seen {
	int enter;                  /* confine_jail_enter's result */
	uid_t uid, euid;
	gid_t gid;
	uint32_t eff[2], prm[2];
	int bnd_admin;              /* prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) */
	int bnd_net;                /* CAP_NET_ADMIN */
	bool marker, etc, null_chr, null_owned, null_opens, dotdot_etc;
	char cwd[64];
};

static const struct confine_jail *the_jail;
static uint64_t the_keep;

static void look(struct seen *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct stat st;

	s->uid = (uid_t)syscall(SYS_getuid);
	s->euid = (uid_t)syscall(SYS_geteuid);
	s->gid = (gid_t)syscall(SYS_getgid);
	if (syscall(SYS_capget, &h, d) == 0) {
		s->eff[0] = d[0].effective, s->eff[1] = d[1].effective;
		s->prm[0] = d[0].permitted, s->prm[1] = d[1].permitted;
	}
	s->bnd_admin = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0);
	s->bnd_net = prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0);
	s->marker = stat("marker", &st) == 0;
	s->etc = stat("/etc/passwd", &st) == 0;
	s->dotdot_etc = stat("../../etc/passwd", &st) == 0;
	s->null_chr = stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode);
	s->null_owned = s->null_chr && st.st_uid == UID && st.st_gid == GID;
	{
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		s->null_opens = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	if (!getcwd(s->cwd, sizeof(s->cwd)))
		s->cwd[0] = '\0';
}

static void *jailed_thread(void *arg)
{
	struct seen *s = arg;
	struct hull_err *err = NULL;

	s->enter = confine_jail_enter(the_jail, the_keep, &err);
	hull_err_free(&err);
	look(s);
	return NULL;
}

/* In the child: build the jail on tmp, one thread enters it, the main
 * thread does not; both report what they see. */
static void run_child(uint64_t keep, struct seen out[2])
{
	struct seen *sh = mmap(NULL, 2 * sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;
	int st;

	assert_true(sh != MAP_FAILED);
	memset(sh, 0, 2 * sizeof(*sh));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char *const devs[] = { "/dev/null", "/dev/no-such-device" };
		struct confine_jail j = { .mntns = -1, .cwd = "/state", .uid = UID, .gid = GID };
		struct hull_err *err = NULL;
		int dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
		pthread_t th;

		if (dir < 0 || confine_jail_build(dir, "state", devs, 2, UID, GID, &j.mntns, &err) < 0) {
			fprintf(stderr, "jail build: %s\n", err ? err->msg : strerror(errno));
			_exit(2);
		}
		the_jail = &j;
		the_keep = keep;
		if (pthread_create(&th, NULL, jailed_thread, &sh[0]) != 0 || pthread_join(th, NULL) != 0)
			_exit(3);
		look(&sh[1]);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	memcpy(out, sh, 2 * sizeof(*sh));
	munmap(sh, 2 * sizeof(*sh));
}

static int setup(void **state)
{
	char path[64];
	int fd;

	if (getuid() != 0) {
		print_message("# skipped: needs root (a mount namespace, device nodes)\n");
		return -1;
	}
	/* 0711, as a VM container's state directory: the jail's uid looks
	 * names up in it */
	if (!mkdtemp(tmp) || chmod(tmp, 0711) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/marker", tmp);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/marker", tmp);
	unlink(path);
	rmdir(tmp);
	return 0;
}

static void test_jail_thread_sees_only_its_root_without_privileges(void **state)
{
	struct seen s[2];

	run_child(0, s);
	/* the jailed thread */
	assert_int_equal(s[0].enter, 0);
	assert_int_equal(s[0].uid, UID);
	assert_int_equal(s[0].euid, UID);
	assert_int_equal(s[0].gid, GID);
	assert_int_equal(s[0].eff[0] | s[0].eff[1] | s[0].prm[0] | s[0].prm[1], 0);
	assert_int_equal(s[0].bnd_admin, 0);
	assert_int_equal(s[0].bnd_net, 0);
	assert_string_equal(s[0].cwd, "/state");
	assert_true(s[0].marker);          /* the bound directory */
	assert_false(s[0].etc);            /* nothing of the host */
	assert_false(s[0].dotdot_etc);
	assert_true(s[0].null_chr);        /* made in the tmpfs, the jail uid's */
	assert_true(s[0].null_owned);
	assert_true(s[0].null_opens);      /* the tmpfs takes device nodes */
	/* the other thread of the same process: untouched */
	assert_int_equal(s[1].uid, 0);
	assert_int_equal(s[1].euid, 0);
	assert_int_equal(s[1].bnd_admin, 1);
	assert_true(s[1].etc);
	assert_string_equal(s[1].cwd, "/");
}

static void test_jail_keeps_only_the_named_capability(void **state)
{
	struct seen s[2];

	run_child(1ull << CAP_NET_ADMIN, s);
	assert_int_equal(s[0].enter, 0);
	assert_int_equal(s[0].uid, UID);
	assert_int_equal(s[0].eff[0], 1u << CAP_NET_ADMIN);
	assert_int_equal(s[0].prm[0], 1u << CAP_NET_ADMIN);
	assert_int_equal(s[0].eff[1] | s[0].prm[1], 0);
	assert_int_equal(s[0].bnd_net, 1);
	assert_int_equal(s[0].bnd_admin, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jail_thread_sees_only_its_root_without_privileges),
		cmocka_unit_test(test_jail_keeps_only_the_named_capability),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
