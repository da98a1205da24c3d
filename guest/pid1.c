/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's PID 1 set-up: the kernel ran /init (the hull binary) from the
 * initramfs with nothing mounted.  Each step that fails is logged to the
 * console and the next one still runs: a guest without, say, the share can
 * still answer the host, which then reports the cause.  PID 1 never exits
 * (the kernel would panic); the end is a power-off.
 */
#include "guest/internal.h"
#include "net/net.h"

#include <dirent.h>
#include <linux/input.h>
#include <linux/vm_sockets.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>

static const struct {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
	mode_t mode;
} mounts[] = {
	/* first: the console for what the others say */
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0755 },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755 },
	{ "tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate", 0555 },
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hull agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The kernel opens /dev/console as 0, 1 and 2 only when the initramfs has the
 * node; without it they are closed, and the first fds the agent opens would
 * become a child's stdio by accident.  Fill them from devtmpfs's console. */
static void console_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int c = open("/dev/console", O_RDWR | O_NOCTTY);
		if (c < 0)
			c = open("/dev/null", O_RDWR);
		if (c >= 0 && c != fd) {
			dup2(c, fd);
			close(c);
		}
	}
}

/* Every controller the kernel has, for the containers' cgroups below the root. */
static void enable_controllers(void)
{
	_cleanup_free_ char *avail = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, "/sys/fs/cgroup/cgroup.controllers", &avail, NULL, 4096, NULL) < 0) {
		say("read /sys/fs/cgroup/cgroup.controllers: %s", strerror(errno));
		return;
	}
	for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		_cleanup_free_ char *w = xasprintf("+%s", c);
		struct hull_err *err = NULL;
		if (write_file_at(AT_FDCWD, "/sys/fs/cgroup/cgroup.subtree_control", w, strlen(w), &err) < 0) {
			say("enable cgroup controller %s: %s", c, err->msg);
			hull_err_free(&err);
		}
	}
}

#define ROOTED "/.hull-agent-rooted"

void agent_pid1_setup(char *const argv[])
{
	struct hull_err *err = NULL;

	/* first, before any mount: a container's create cannot pivot_root out
	 * of the kernel's rootfs (EINVAL), so / becomes a tmpfs copy of it.
	 * The binary running now was deleted with the rootfs' copies, and
	 * hull's children (exec seals /proc/self/exe by its path) need a live
	 * one: exec the copy, which finds the marker and goes on from here. */
	if (access(ROOTED, F_OK) != 0) {
		if (guest_leave_initramfs(&err) < 0) {
			say("leave the initramfs: %s", err->msg);
			hull_err_free(&err);
		} else if (write_file_atomic_at(AT_FDCWD, ROOTED, "", 0, 0644, NULL) < 0) {
			say("create %s: %s", ROOTED, strerror(errno));
		} else {
			execv("/init", argv);
			say("exec /init in the tmpfs root: %s", strerror(errno));
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		if (mkdir(mounts[i].target, mounts[i].mode) < 0 && errno != EEXIST)
			say("mkdir %s: %s", mounts[i].target, strerror(errno));
		if (mount(mounts[i].source, mounts[i].target, mounts[i].type, mounts[i].flags,
			  mounts[i].data) < 0)
			say("mount %s on %s: %s", mounts[i].type, mounts[i].target, strerror(errno));
		if (strcmp(mounts[i].target, "/dev") == 0) {
			console_stdio();
			/* with the console there to say what failed */
			if (guest_load_modules(GUEST_MODULES_ORDER, &err) < 0) {
				say("modules: %s", err->msg);
				hull_err_free(&err);
			}
		}
	}
	/* devtmpfs's /dev/ptmx is the initial devpts instance's; ours is new. */
	if (unlink("/dev/ptmx") < 0 || symlink("pts/ptmx", "/dev/ptmx") < 0)
		say("/dev/ptmx -> pts/ptmx: %s", strerror(errno));
	enable_controllers();
	if (mkdir("/run/share", 0755) < 0 && errno != EEXIST)
		say("mkdir /run/share: %s", strerror(errno));
	if (mount("hull", "/run/share", "virtiofs", 0, NULL) < 0)
		say("mount virtiofs hull on /run/share: %s", strerror(errno));
	if (net_link_up("lo", &err) < 0) {
		say("lo: %s", err->msg);
		hull_err_free(&err);
	}
}

/* The ACPI power button's event device: the host's VMM presses it to ask
 * for a shutdown (SIGTERM to the supervisor).  -1 when the guest has none. */
int agent_power_button_open(void)
{
	DIR *d = opendir("/dev/input");
	struct dirent *de;
	int found = -1;

	while (d && found < 0 && (de = readdir(d))) {
		char name[64] = "", path[300];
		int fd;

		if (strncmp(de->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name) >= 0 && strcmp(name, "Power Button") == 0)
			found = fd;
		else
			close(fd);
	}
	if (d)
		closedir(d);
	return found;
}

/* Block until the button is pressed (a KEY_POWER press); false when the
 * device failed. */
bool agent_power_button_wait(int fd)
{
	struct input_event ev;

	for (;;) {
		ssize_t n = read(fd, &ev, sizeof(ev));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(ev))
			return false;
		if (ev.type == EV_KEY && ev.code == KEY_POWER && ev.value == 1)
			return true;
	}
}

int agent_listen_vsock(struct hull_err **err)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				 .svm_port = GUEST_AGENT_PORT };
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return hull_err_make(err, errno, "vsock socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return hull_err_make(err, errno, "vsock bind port %d", GUEST_AGENT_PORT);
	if (listen(fd, 64) < 0)
		return hull_err_make(err, errno, "vsock listen");
	return take_fd(&fd);
}

void guest_power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only a kernel without the power-off path gets here: halt, never exit. */
	say("reboot(RB_POWER_OFF): %s", strerror(errno));
	for (;;)
		pause();
}
