/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `hull agent --selftest`: proof that the guest image boots (tests/integration/
 * testhost/guestimg.bats).  As the guest's PID 1: mount /proc and /sys, load
 * the image's modules, then report what the kernel has: the loaded modules
 * and the driver bound to each virtio device, and whether a new mount
 * namespace can pivot_root (it cannot on the initramfs: guest_leave_initramfs
 * first, as the agent does).  Its lines start with
 * "HULL-SELFTEST " so the test finds them among the kernel's.
 */
#include "guest/guest.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int mount_at(const char *fstype, const char *dir, struct hull_err **err)
{
	if (mkdir(dir, 0555) < 0 && errno != EEXIST)
		return hull_err_make(err, errno, "mkdir %s", dir);
	if (mount(fstype, dir, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
		return hull_err_make(err, errno, "mount %s on %s", fstype, dir);
	return 0;
}

static int print_modules(FILE *out, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;

	if (read_file_at(AT_FDCWD, "/proc/modules", &text, NULL, 0, err) < 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, " ")] = '\0';
		fprintf(out, "HULL-SELFTEST module %s\n", line);
	}
	return 0;
}

static void print_virtio_drivers(FILE *out)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	struct dirent *e;

	if (!d)
		return; /* no virtio bus: virtio.ko did not load, the module lines show it */
	while ((e = readdir(d))) {
		char link[512], target[256];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/sys/bus/virtio/devices/%s/driver", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(out, "HULL-SELFTEST device %s driver=%s\n", e->d_name,
			n > 0 ? strrchr(target, '/') + 1 : "none");
	}
	closedir(d);
}

/* What a container's create does to its root, in a child: 0 or the errno. */
static int try_pivot_root(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    (mkdir("/.pivot", 0755) < 0 && errno != EEXIST) ||
		    mount("tmpfs", "/.pivot", "tmpfs", 0, NULL) < 0 || mkdir("/.pivot/old", 0755) < 0 ||
		    syscall(SYS_pivot_root, "/.pivot", "/.pivot/old") < 0)
			_exit(errno & 0x7f);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

int guest_selftest(FILE *out, struct hull_err **err)
{
	int loaded;

	/* it mounts and the caller powers off: never on a host by mistake */
	if (getpid() != 1)
		return hull_err_make(err, 0, "--selftest runs only as PID 1 of a guest");
	fprintf(out, "HULL-SELFTEST pid=%d\n", (int)getpid());
	if (guest_leave_initramfs(err) < 0)
		return -1;
	if (mount_at("proc", "/proc", err) < 0 || mount_at("sysfs", "/sys", err) < 0)
		return -1;
	loaded = guest_load_modules(GUEST_MODULES_ORDER, err);
	if (loaded < 0)
		return loaded;
	fprintf(out, "HULL-SELFTEST loaded=%d\n", loaded);
	if (print_modules(out, err) < 0)
		return -1;
	print_virtio_drivers(out);
	int e = try_pivot_root();
	fprintf(out, "HULL-SELFTEST pivot_root %s\n", e ? strerror(e) : "ok");
	return 0;
}
