/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device controller: on cgroup v2 a BPF_PROG_TYPE_CGROUP_DEVICE program
 * assembled by hand (no libbpf, like runc's devicefilter and crun's ebpf.c),
 * on v1 devices.allow/devices.deny.
 *
 * Semantics are the v1 list's: start from "deny all", apply the rules in
 * order, the last matching rule decides.  The program therefore tests the
 * rules from last to first and returns on the first match.
 */
#include "cgroups/internal.h"

#include <inttypes.h>
#include <sys/syscall.h>

/* runc's libcontainer/specconv AllowedDevices, appended after the spec's
 * rules (so a spec cannot deny them, as with runc). -1 is "*". */
static const struct cg_dev_rule default_rules[] = {
	{ true, 'c', -1, -1, CG_ACC_MKNOD },
	{ true, 'b', -1, -1, CG_ACC_MKNOD },
	{ true, 'c', 1, 3, 7 },     /* /dev/null */
	{ true, 'c', 1, 8, 7 },     /* /dev/random */
	{ true, 'c', 1, 7, 7 },     /* /dev/full */
	{ true, 'c', 5, 0, 7 },     /* /dev/tty */
	{ true, 'c', 1, 5, 7 },     /* /dev/zero */
	{ true, 'c', 1, 9, 7 },     /* /dev/urandom */
	{ true, 'c', 136, -1, 7 },  /* /dev/pts/N */
	{ true, 'c', 5, 2, 7 },     /* /dev/ptmx */
};

/* The paths of the default rules above that name one device node; runc
 * drops such a rule when linux.devices redefines the path.  /dev/ptmx has
 * none, as in runc's AllowedDevices: the container's /dev/ptmx becomes a
 * symlink to pts/ptmx whatever linux.devices says, and that node is 5:2. */
static const char *const default_paths[ARRAY_SIZE(default_rules)] = {
	NULL, NULL, "/dev/null", "/dev/random", "/dev/full", "/dev/tty", "/dev/zero",
	"/dev/urandom", NULL, NULL,
};

bool cg_default_device(const char *path, char *type, int64_t *major, int64_t *minor)
{
	for (size_t i = 0; path && i < ARRAY_SIZE(default_rules); i++) {
		if (default_paths[i] && strcmp(default_paths[i], path) == 0) {
			*type = default_rules[i].type;
			*major = default_rules[i].major;
			*minor = default_rules[i].minor;
			return true;
		}
	}
	return false;
}

static int parse_access(const char *s, unsigned *out)
{
	unsigned a = 0;

	if (!s) {
		*out = 7;
		return 0;
	}
	for (; *s; s++) {
		switch (*s) {
		case 'r': a |= CG_ACC_READ; break;
		case 'w': a |= CG_ACC_WRITE; break;
		case 'm': a |= CG_ACC_MKNOD; break;
		default: return -1;
		}
	}
	*out = a;
	return 0;
}

int cg_dev_rules(const struct oci_resources *r, const struct oci_linux_device *devs, size_t n_devs,
		 struct cg_dev_rule **out, size_t *n, struct hull_err **err)
{
	size_t n_spec = r ? r->n_devices : 0, k = 0;
	struct cg_dev_rule *v = xcalloc(1 + n_spec + ARRAY_SIZE(default_rules) + n_devs, sizeof(*v));

	v[k++] = (struct cg_dev_rule){ false, 'a', -1, -1, 7 };
	for (size_t i = 0; i < n_spec; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		struct cg_dev_rule *x = &v[k++];
		x->allow = d->allow;
		x->type = d->type ? d->type : 'a';
		if (x->type != 'a' && x->type != 'b' && x->type != 'c') {
			free(v);
			return hull_err_make(err, 0, "linux.resources.devices[%zu].type: \"%c\" is not a, b or c",
					     i, d->type);
		}
		if (parse_access(d->access, &x->access) < 0) {
			free(v);
			return hull_err_make(err, 0, "linux.resources.devices[%zu].access: \"%s\" is not a subset "
					     "of \"rwm\"", i, d->access);
		}
		if ((d->has_major && d->major < -1) || (d->has_minor && d->minor < -1) ||
		    (d->has_major && d->major > UINT32_MAX) || (d->has_minor && d->minor > UINT32_MAX)) {
			free(v);
			return hull_err_make(err, 0, "linux.resources.devices[%zu]: invalid major/minor", i);
		}
		x->major = d->has_major ? d->major : -1;
		x->minor = d->has_minor ? d->minor : -1;
	}
	/* devs are the default rules to leave out (see cg_default_device). */
	for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++) {
		bool dropped = false;
		for (size_t j = 0; j < n_devs && !dropped; j++)
			dropped = default_paths[i] && devs[j].type == default_rules[i].type &&
				  devs[j].major == default_rules[i].major && devs[j].minor == default_rules[i].minor;
		if (!dropped)
			v[k++] = default_rules[i];
	}
	*out = v;
	*n = k;
	return 0;
}

/* ---- assembler ------------------------------------------------------------ */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, imm) INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src) INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
/* 32-bit compares: device numbers are u32 and imm is sign-extended in 64-bit ones. */
#define JNE_K(dst, imm, off) INSN(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm)
#define MOV64_K(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers after the prologue: r2 type, r3 access, r4 major, r5 minor. */
static size_t emit_rule(struct bpf_insn *out, const struct cg_dev_rule *r, bool *unconditional)
{
	struct bpf_insn b[8];
	size_t n = 0, jumps[4], nj = 0;
	bool any_type = r->type == 'a';

	if (!any_type) {
		jumps[nj++] = n;
		b[n++] = JNE_K(2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
	}
	if ((r->access & 7) != 7) {
		/* Every requested access bit must be in the rule. */
		b[n++] = MOV32_X(1, 3);
		b[n++] = ALU32_K(BPF_AND, 1, (int32_t)(~r->access & 7));
		jumps[nj++] = n;
		b[n++] = JNE_K(1, 0, 0);
	}
	/* Type "a" means every device (v1: "a *:* rwm"). */
	if (!any_type && r->major >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_K(4, (int32_t)r->major, 0);
	}
	if (!any_type && r->minor >= 0) {
		jumps[nj++] = n;
		b[n++] = JNE_K(5, (int32_t)r->minor, 0);
	}
	b[n++] = MOV64_K(0, r->allow ? 1 : 0);
	b[n++] = EXIT();
	for (size_t j = 0; j < nj; j++)
		b[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
	*unconditional = nj == 0;
	if (out)
		memcpy(out, b, n * sizeof(*b));
	return n;
}

int cg_bpf_build(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **insns, size_t *n_insns,
		 struct hull_err **err)
{
	struct bpf_insn *p = xcalloc(6 + n * 8 + 2, sizeof(*p));
	size_t k = 0;
	bool done = false;

	p[k++] = LDX_W(2, 1, 0);
	p[k++] = ALU32_K(BPF_AND, 2, 0xffff);
	p[k++] = LDX_W(3, 1, 0);
	p[k++] = ALU32_K(BPF_RSH, 3, 16);
	p[k++] = LDX_W(4, 1, 4);
	p[k++] = LDX_W(5, 1, 8);
	/* Last rule first; code after an unconditional return would be
	 * unreachable, which the verifier rejects. */
	for (size_t i = n; i-- > 0 && !done;)
		k += emit_rule(&p[k], &rules[i], &done);
	if (!done) {
		p[k++] = MOV64_K(0, 0);
		p[k++] = EXIT();
	}
	(void)err;
	*insns = p;
	*n_insns = k;
	return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int cg_bpf_load(const struct bpf_insn *insns, size_t n, struct hull_err **err)
{
	union bpf_attr a;
	char log[4096] = "";
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uintptr_t)"Apache";
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	if (errno == EPERM || errno == ENOSYS)
		return hull_err_make(err, errno, "load the device cgroup eBPF program");
	/* Load again with the verifier log for the message. */
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	log[sizeof(log) - 1] = '\0';
	return hull_err_make(err, errno, "load the device cgroup eBPF program (%zu insns): %.200s", n, log);
}

static int detach_ids(int cgfd, const uint32_t *ids, uint32_t n_ids, const char *dir, struct hull_err **err);

int cg_bpf_install(const char *dir, int prog_fd, struct hull_err **err)
{
	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t ids[64], n_ids = 0;
	union bpf_attr a;

	if (cgfd < 0)
		return hull_err_make(err, errno, "open %s", dir);
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cgfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = ARRAY_SIZE(ids);
	if (sys_bpf(BPF_PROG_QUERY, &a) == 0)
		n_ids = a.query.prog_cnt;
	/* New program first, old ones after: no moment without a filter. */
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)prog_fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
		/* A program attached without BPF_F_ALLOW_MULTI (another manager)
		 * blocks multi attachment: detach it, then attach ours. */
		if (errno != EPERM || n_ids == 0 || detach_ids(cgfd, ids, n_ids, dir, err) < 0 ||
		    sys_bpf(BPF_PROG_ATTACH, &a) < 0)
			return hull_err_make(err, errno, "attach the device eBPF program to %s", dir);
		return 0;
	}
	return detach_ids(cgfd, ids, n_ids, dir, err);
}

static int detach_ids(int cgfd, const uint32_t *ids, uint32_t n_ids, const char *dir, struct hull_err **err)
{
	union bpf_attr a;

	for (uint32_t i = 0; i < n_ids && i < 64; i++) {
		_cleanup_close_ int old = -1;
		memset(&a, 0, sizeof(a));
		a.prog_id = ids[i];
		old = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (old < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)cgfd;
		a.attach_bpf_fd = (uint32_t)old;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
			return hull_err_make(err, errno, "detach the old device eBPF program %u from %s", ids[i], dir);
	}
	return 0;
}

static void v1_rule(char *buf, size_t len, const struct cg_dev_rule *r)
{
	char maj[24], min[24], acc[4];
	size_t k = 0;

	if (r->access & CG_ACC_READ)
		acc[k++] = 'r';
	if (r->access & CG_ACC_WRITE)
		acc[k++] = 'w';
	if (r->access & CG_ACC_MKNOD)
		acc[k++] = 'm';
	acc[k] = '\0';
	if (r->type == 'a') {
		snprintf(buf, len, "a");
		return;
	}
	if (r->major < 0)
		snprintf(maj, sizeof(maj), "*");
	else
		snprintf(maj, sizeof(maj), "%" PRId64, r->major);
	if (r->minor < 0)
		snprintf(min, sizeof(min), "*");
	else
		snprintf(min, sizeof(min), "%" PRId64, r->minor);
	snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, acc);
}

/* One open per file, one write() per rule (all v1 devices takes at once). */
int cg_devices_v1(const char *dir, const struct cg_dev_rule *rules, size_t n, struct hull_err **err)
{
	static const char *const files[2] = { "devices.deny", "devices.allow" };
	_cleanup_close_ int deny = -1, allow = -1;
	int *fds[2] = { &deny, &allow };

	for (size_t i = 0; i < n; i++) {
		int k = rules[i].allow ? 1 : 0;
		char line[80];
		ssize_t w;

		if (rules[i].access == 0)
			continue;
		v1_rule(line, sizeof(line), &rules[i]);
		if (*fds[k] < 0) {
			_cleanup_free_ char *p = xasprintf("%s/%s", dir, files[k]);
			*fds[k] = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			if (*fds[k] < 0)
				return hull_err_make(err, errno, "open %s", p);
		}
		do
			w = write(*fds[k], line, strlen(line));
		while (w < 0 && errno == EINTR);
		if (w < 0)
			return hull_err_make(err, errno, "write \"%s\" to %s/%s", line, dir, files[k]);
	}
	return 0;
}
