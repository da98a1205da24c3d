/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hull vm run: boot a kernel in a KVM microVM (microvm/microvm.h).
 * Exit status is the guest's: 0 poweroff, 2 reboot, 3 panic/triple fault;
 * 1 is a VMM error or bad usage (docs/microvm.md).
 */
#include "cli.h"
#include "microvm/microvm.h"
#include "vfio/vfio.h"

#include <inttypes.h>
#include <sys/eventfd.h>
#include <termios.h>


/* The --disk list lives until hull exits. */
static struct vm_disk *disks;

static int parse_disk(struct vm_config *cfg, char *arg, struct hull_err **err)
{
	char *comma = strrchr(arg, ',');
	bool ro = false;

	if (comma && strcmp(comma, ",ro") == 0) {
		*comma = '\0';
		ro = true;
	} else if (comma && strcmp(comma, ",rw") == 0) {
		*comma = '\0';
	}
	if (!*arg)
		return hull_err_make(err, 0, "--disk: empty path");
	/* microvm/ checks the count against the PCI bus (virtio_devices_check). */
	disks = xrealloc(disks, (cfg->ndisks + 1) * sizeof(*disks));
	disks[cfg->ndisks].path = arg;
	disks[cfg->ndisks].ro = ro;
	cfg->disks = disks;
	cfg->ndisks++;
	return 0;
}

/* --vsock cid=N,uds=PATH (either order; cid defaults to 3; PATH without commas). */
static int parse_vsock(struct vm_config *cfg, char *arg, struct hull_err **err)
{
	char *save = NULL;
	uint64_t v;

	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "cid=", 4) == 0) {
			if (parse_u64(tok + 4, &v) < 0 || v < MICROVM_VSOCK_CID_MIN || v > MICROVM_VSOCK_CID_MAX)
				return hull_err_make(err, 0, "--vsock cid \"%s\": must be %u..%u", tok + 4,
						     MICROVM_VSOCK_CID_MIN, MICROVM_VSOCK_CID_MAX);
			cfg->vsock_cid = v;
		} else if (strncmp(tok, "uds=", 4) == 0 && tok[4]) {
			cfg->vsock_uds = tok + 4;
		} else {
			return hull_err_make(err, 0, "--vsock \"%s\": expected cid=N,uds=PATH", tok);
		}
	}
	if (!cfg->vsock_uds)
		return hull_err_make(err, 0, "--vsock: uds=PATH is required");
	return 0;
}

/* The --fs list lives until hull exits. */
static struct vm_fs *fss;

/* --fs tag=T,socket=PATH (either order); microvm/ checks the tag length and
 * that the socket exists (virtio_fs_check). */
static int parse_fs(struct vm_config *cfg, char *arg, struct hull_err **err)
{
	const char *tag = NULL, *sock = NULL;
	char *save = NULL;

	for (char *kv = strtok_r(arg, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (strncmp(kv, "tag=", 4) == 0 && !tag)
			tag = kv + 4;
		else if (strncmp(kv, "socket=", 7) == 0 && !sock)
			sock = kv + 7;
		else
			return hull_err_make(err, 0, "--fs: \"%s\": expected tag=TAG,socket=PATH", kv);
	}
	if (!tag || !*tag || !sock || !*sock)
		return hull_err_make(err, 0, "--fs: expected tag=TAG,socket=PATH");
	fss = xrealloc(fss, (cfg->nfs + 1) * sizeof(*fss));
	fss[cfg->nfs] = (struct vm_fs){ .socket_path = sock, .tag = tag };
	cfg->fs = fss;
	cfg->nfs++;
	return 0;
}

/* --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX][,vhost=on|off]; the list lives
 * until hull exits, the names point into argv. */
static struct vm_net *nets;

static int parse_net(struct vm_config *cfg, char *arg, struct hull_err **err)
{
	struct vm_net n = { .vhost = VM_VHOST_AUTO };
	char *save = NULL;

	for (char *kv = strtok_r(arg, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (!v)
			return hull_err_make(err, 0, "--net \"%s\": expected KEY=VALUE (tap=, mac=, vhost=)", kv);
		*v++ = '\0';
		if (strcmp(kv, "tap") == 0) {
			n.tap = v;
		} else if (strcmp(kv, "mac") == 0) {
			if (vm_net_parse_mac(v, n.mac) < 0)
				return hull_err_make(err, 0, "--net mac=%s: not a unicast MAC address (xx:xx:xx:xx:xx:xx)",
						     v);
			n.has_mac = true;
		} else if (strcmp(kv, "vhost") == 0) {
			if (strcmp(v, "on") == 0)
				n.vhost = VM_VHOST_ON;
			else if (strcmp(v, "off") == 0)
				n.vhost = VM_VHOST_OFF;
			else
				return hull_err_make(err, 0, "--net vhost=%s: on or off", v);
		} else {
			return hull_err_make(err, 0, "--net: unknown key \"%s\" (tap=, mac=, vhost=)", kv);
		}
	}
	if (!n.tap || !*n.tap)
		return hull_err_make(err, 0, "--net: tap=NAME is required");
	nets = xrealloc(nets, (cfg->nnets + 1) * sizeof(*nets));
	nets[cfg->nnets] = n;
	cfg->nets = nets;
	cfg->nnets++;
	return 0;
}

/* --device vfio=BDF: the function must be bound to vfio-pci and its IOMMU
 * group viable, checked here so a bad one is a one-line error before
 * anything is opened (docs/passthrough.md).  The list and the BDFs live
 * until hull exits. */
static struct vm_vfio *vfios;

static int parse_device(struct vm_config *cfg, const char *arg, struct hull_err **err)
{
	const struct vfio_host h = { .sys = "/sys", .proc = "/proc" };
	char bdf[13];
	int group;

	if (strncmp(arg, "vfio=", 5) != 0)
		return hull_err_make(err, 0, "--device \"%s\": expected vfio=DDDD:BB:DD.F", arg);
	if (vfio_bdf_parse(arg + 5, bdf, err) < 0 || vfio_passthrough_check(&h, bdf, &group, err) < 0)
		return hull_err_wrap(err, "--device");
	for (unsigned int i = 0; i < cfg->nvfio; i++)
		if (strcmp(vfios[i].bdf, bdf) == 0)
			return hull_err_make(err, 0, "--device: %s given twice", bdf);
	vfios = xrealloc(vfios, (cfg->nvfio + 1) * sizeof(*vfios));
	vfios[cfg->nvfio] = (struct vm_vfio){ .bdf = xstrdup(bdf), .group = group };
	cfg->vfios = vfios;
	cfg->nvfio++;
	return 0;
}

/* --boot-timer: process start to the guest's boot-timer write, the figure
 * Firecracker's boot timer reports; tests and the benchmark read this line. */
static void print_boot_timer(void *opaque, uint64_t ns)
{
	(void)opaque;
	fprintf(stderr, "hull: boot-timer: %" PRIu64 ".%03" PRIu64 " ms\n", ns / 1000000, (ns / 1000) % 1000);
}

static int parse_run(struct vm_config *cfg, int argc, char **argv, struct hull_err **err)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_CPUS, O_MEMORY, O_DISK, O_FS, O_CONSOLE, O_HUGE, O_KSM,
	       O_TIMER, O_DUMP, O_VSOCK, O_NET, O_DEVICE, O_NO_SECCOMP };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "disk", required_argument, NULL, O_DISK },
		{ "fs", required_argument, NULL, O_FS },
		{ "net", required_argument, NULL, O_NET },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "hugepages", no_argument, NULL, O_HUGE },
		{ "ksm", no_argument, NULL, O_KSM },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "boot-timer", no_argument, NULL, O_TIMER },
		{ "no-seccomp", no_argument, NULL, O_NO_SECCOMP },
		{ "dump-acpi", required_argument, NULL, O_DUMP }, /* hidden: tests disassemble the tables */
		{ 0 }
	};
	uint64_t v;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		switch (c) {
		case O_KERNEL: cfg->kernel = optarg; break;
		case O_INITRD: cfg->initrd = optarg; break;
		case O_CMDLINE: cfg->cmdline = optarg; break;
		case O_CPUS:
			if (parse_u64(optarg, &v) < 0 || v < 1 || v > MICROVM_MAX_CPUS)
				return hull_err_make(err, 0, "--cpus \"%s\": must be 1..%d", optarg, MICROVM_MAX_CPUS);
			cfg->cpus = (unsigned int)v;
			break;
		case O_MEMORY:
			if (parse_u64(optarg, &v) < 0)
				return hull_err_make(err, 0, "--memory \"%s\": not a number of MiB", optarg);
			cfg->mem_mib = v;
			break;
		case O_DISK:
			if (parse_disk(cfg, optarg, err) < 0)
				return -1;
			break;
		case O_FS:
			if (parse_fs(cfg, optarg, err) < 0)
				return -1;
			break;
		case O_NET:
			if (parse_net(cfg, optarg, err) < 0)
				return -1;
			break;
		case O_DEVICE:
			if (parse_device(cfg, optarg, err) < 0)
				return -1;
			break;
		case O_CONSOLE:
			if (strcmp(optarg, "serial") == 0)
				cfg->console = MICROVM_CONSOLE_SERIAL;
			else if (strcmp(optarg, "virtio") == 0)
				cfg->console = MICROVM_CONSOLE_VIRTIO;
			else
				return hull_err_make(err, 0, "--console \"%s\": serial or virtio", optarg);
			break;
		case O_HUGE: cfg->hugepages = true; break;
		case O_KSM: cfg->ksm = true; break;
		case O_TIMER: cfg->boot_timer = print_boot_timer; break;
		case O_NO_SECCOMP: cfg->seccomp = false; break;
		case O_DUMP: cfg->dump_acpi = optarg; break;
		case O_VSOCK:
			if (parse_vsock(cfg, optarg, err) < 0)
				return -1;
			break;
		default: return hull_err_make(err, 0, "unknown option");
		}
	}
	if (optind < argc)
		return hull_err_make(err, 0, "unexpected argument \"%s\"", argv[optind]);
	if (!cfg->kernel && !cfg->dump_acpi)
		return hull_err_make(err, 0, "--kernel is required");
	return 0;
}

/* An interactive console is character-at-a-time without local echo (the
 * guest echoes); Ctrl-C still stops hull, and the terminal is restored on
 * every way out, including the fatal signals we re-raise. */
static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static void restore_and_reraise(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void raw_tty(int fd)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios t;

	if (fd != STDIN_FILENO || !isatty(fd) || tcgetattr(fd, &saved_tio) < 0)
		return;
	t = saved_tio;
	t.c_lflag &= (tcflag_t) ~(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_iflag &= (tcflag_t) ~(ICRNL | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return;
	tio_saved = true;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], restore_and_reraise);
}

/* SIGTERM asks the guest to shut down: the first one presses its ACPI power
 * button (vm_config.power_button_fd) and hull keeps running until the guest
 * powers off (exit 0) or otherwise stops; a second one stops the VM at once
 * (hull dies of SIGTERM, 143 in a shell).  There is no grace timer here: a
 * supervisor wanting one sends the second SIGTERM (or SIGKILL) itself. */
static int power_button_fd = -1;
static volatile sig_atomic_t term_seen;

static void on_sigterm(int sig)
{
	static const char msg[] = "hull: vm run: SIGTERM: pressed the guest's power button (a second SIGTERM stops the VM)\n";
	uint64_t one = 1;
	int saved = errno;

	if (term_seen) {
		restore_and_reraise(sig);
		return;
	}
	term_seen = 1;
	/* Failures are ignored: nothing more a signal handler could do. */
	ssize_t r = write(power_button_fd, &one, sizeof(one));
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	errno = saved;
}

static int power_button_on_sigterm(struct vm_config *cfg, struct hull_err **err)
{
	struct sigaction sa = { .sa_handler = on_sigterm };

	power_button_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (power_button_fd < 0)
		return hull_err_make(err, errno, "power button eventfd");
	cfg->power_button_fd = power_button_fd;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGTERM, &sa, NULL) < 0 ? hull_err_make(err, errno, "sigaction SIGTERM") : 0;
}

/* The error line names the sub-subcommand ("hull: vm run: ..."), which the
 * generic "hull: <cmd>: " prefix in main() cannot, so it is printed here the
 * same way main() prints. */
static int fail_as(struct cli_ctx *g, const char *what, struct hull_err **err)
{
	hull_log(HULL_LOG_ERROR, "%s: %s", what, (*err)->msg);
	if (g->log_path)
		fprintf(stderr, "hull: %s: %s\n", what, (*err)->msg);
	hull_err_free(err);
	return 1;
}

static int fail(struct cli_ctx *g, struct hull_err **err)
{
	return fail_as(g, "vm run", err);
}

CLI_CMD(vm)
{
	struct vm_config cfg;
	int code;

	if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
		int r = cli_vm_serve(g, argc - 1, argv + 1, err);
		return r < 0 ? fail_as(g, "vm serve", err) : r;
	}
	if (argc >= 2 && strcmp(argv[1], "run") != 0) {
		int r = cli_vm_net(argc - 1, argv + 1, err);

		if (r <= 0)
			return r;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		return hull_err_make(err, 0, "usage: hull vm run --kernel FILE [--initrd FILE] [--cmdline STR] "
				     "[--cpus N] [--memory MiB] [--disk PATH[,ro]]... [--fs tag=TAG,socket=PATH]... "
				     "[--net tap=NAME[,mac=MAC][,vhost=on|off]]... [--device vfio=DDDD:BB:DD.F]... "
				     "[--console serial|virtio] [--vsock cid=N,uds=PATH] [--hugepages] [--ksm] [--boot-timer] "
				     "[--no-seccomp] | "
				     "hull vm serve --api-sock PATH [--id ID] [--config-file FILE] [--no-seccomp] | "
				     "hull vm tap [--multi-queue] [--owner UID] [--group GID] NAME | "
				     "hull vm redirect [--remove] VETH TAP | hull vm link NAME");
	/* A closed console pipe must not kill the VMM: the UART just drops output. */
	signal(SIGPIPE, SIG_IGN);
	microvm_config_init(&cfg);
	if (parse_run(&cfg, argc - 1, argv + 1, err) < 0)
		return fail(g, err);
	raw_tty(cfg.console_in);
	if (!cfg.dump_acpi && power_button_on_sigterm(&cfg, err) < 0) {
		restore_tty();
		return fail(g, err);
	}
	int r = microvm_run(&cfg, &code, err);
	restore_tty();
	if (r < 0)
		return fail(g, err);
	return code;
}
