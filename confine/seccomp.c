/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp -> libseccomp, following runc's libcontainer/seccomp:
 *  - a syscall name libseccomp cannot resolve for the native arch is skipped
 *    (it may exist elsewhere), but a name libseccomp knows on no arch at all
 *    is bad input and fails validation;
 *  - several conditions on one syscall are ANDed in one rule, except when two
 *    of them test the same argument index: then each condition becomes its
 *    own rule (OR), as runc does since that AND could never match;
 *  - a rule whose action equals the default action is dropped (libseccomp
 *    refuses it, and it is a no-op);
 *  - ERRNO and TRACE without errnoRet return EPERM;
 *  - NOTIFY may be neither the default action nor the action for write(2)
 *    (the container could not hand the listener fd over).
 * We set no_new_privs ourselves, so libseccomp must not (CTL_NNP = 0).
 */
#include "internal.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>

static void cleanup_seccompp(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(cleanup_seccompp)))

/* ---- tables --------------------------------------------------------------- */

struct action_entry {
	const char *name;
	uint32_t act;
	bool takes_errno;           /* the low 16 bits carry errnoRet */
};

static const struct action_entry actions[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false }, /* libseccomp's KILL is KILL_THREAD */
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
	{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false },
};

struct op_entry { const char *name; enum scmp_compare op; };

static const struct op_entry ops[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },	      { "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },	      { "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },	      { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* {runtime-spec name, libseccomp name}: resolved through the linked library,
 * so an arch it lacks (LOONGARCH64, M68K, SH on 2.5.4) is reported as such and
 * a newer libseccomp enables it, in step with oci_features_json(). */
struct arch_entry { const char *name, *scmp; };

static const struct arch_entry arches[] = {
	{ "SCMP_ARCH_X86", "x86" },		  { "SCMP_ARCH_X86_64", "x86_64" },
	{ "SCMP_ARCH_X32", "x32" },		  { "SCMP_ARCH_ARM", "arm" },
	{ "SCMP_ARCH_AARCH64", "aarch64" },	  { "SCMP_ARCH_MIPS", "mips" },
	{ "SCMP_ARCH_MIPS64", "mips64" },	  { "SCMP_ARCH_MIPS64N32", "mips64n32" },
	{ "SCMP_ARCH_MIPSEL", "mipsel" },	  { "SCMP_ARCH_MIPSEL64", "mipsel64" },
	{ "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" }, { "SCMP_ARCH_PPC", "ppc" },
	{ "SCMP_ARCH_PPC64", "ppc64" },		  { "SCMP_ARCH_PPC64LE", "ppc64le" },
	{ "SCMP_ARCH_S390", "s390" },		  { "SCMP_ARCH_S390X", "s390x" },
	{ "SCMP_ARCH_PARISC", "parisc" },	  { "SCMP_ARCH_PARISC64", "parisc64" },
	{ "SCMP_ARCH_RISCV64", "riscv64" },	  { "SCMP_ARCH_LOONGARCH64", "loongarch64" },
	{ "SCMP_ARCH_M68K", "m68k" },		  { "SCMP_ARCH_SH", "sh" },
	{ "SCMP_ARCH_SHEB", "sheb" },
};

/* SECCOMP_FILTER_FLAG_* -> filter attribute set to 1.  WAIT_KILLABLE_RECV
 * needs libseccomp >= 2.6, so it is unknown here. */
struct flag_entry { const char *name; enum scmp_filter_attr attr; };

static const struct flag_entry flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
};

/* Syscalls newer than libseccomp 2.5.4's table that current profiles (Docker,
 * containers-common) already list.  runc skips them with a debug message; we
 * do the same instead of calling them unknown, or every podman container with
 * a recent profile would fail. */
static const char *const newer_syscalls[] = {
	"cachestat", "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
	"futex_requeue", "statmount", "listmount", "lsm_get_self_attr", "lsm_set_self_attr",
	"lsm_list_modules", "mseal", "setxattrat", "getxattrat", "listxattrat",
	"removexattrat", "open_tree_attr", "file_getattr", "file_setattr", "uretprobe",
};

int confine_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *act)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(actions[i].name, name) != 0)
			continue;
		*act = actions[i].act;
		if (actions[i].takes_errno)
			*act |= (has_errno ? errno_ret : (uint32_t)EPERM) & 0xffffU;
		return 0;
	}
	return -1;
}

int confine_seccomp_op(const char *name, int *op)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(ops); i++) {
		if (strcmp(ops[i].name, name) == 0) {
			*op = (int)ops[i].op;
			return 0;
		}
	}
	return -1;
}

int confine_seccomp_arch(const char *name, uint32_t *arch)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(arches); i++) {
		if (strcmp(arches[i].name, name) == 0) {
			*arch = seccomp_arch_resolve_name(arches[i].scmp);
			return *arch ? 0 : -2;
		}
	}
	return -1;
}

int confine_seccomp_flag(const char *name, int *attr)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(flags); i++) {
		if (strcmp(flags[i].name, name) == 0) {
			*attr = (int)flags[i].attr;
			return 0;
		}
	}
	return -1;
}

static bool is_newer_syscall(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(newer_syscalls); i++)
		if (strcmp(newer_syscalls[i], name) == 0)
			return true;
	return false;
}

/* libseccomp's table spans every arch: a name valid anywhere resolves on the
 * native arch too, to a negative pseudo number if the native arch lacks it. */
static bool syscall_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

/* ---- validation ----------------------------------------------------------- */

static int validate_errno(bool has, uint32_t v, const char *field, struct hull_err **err)
{
	/* The kernel keeps 16 bits of SECCOMP_RET_DATA; a larger value would turn
	 * silently into another errno. */
	if (has && v > 0xffff)
		return hull_err_make(err, 0, "%s: %u is out of range (0-65535)", field, v);
	return 0;
}

static int validate_syscall(const struct oci_seccomp_syscall *sc, size_t i, bool *uses_notify,
			    struct hull_err **err)
{
	uint32_t act;
	char field[96];

	if (confine_seccomp_action(sc->action, false, 0, &act) < 0)
		return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].action: unknown action \"%s\"", i,
				     sc->action ? sc->action : "");
	snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].errnoRet", i);
	if (validate_errno(sc->has_errno_ret, sc->errno_ret, field, err) < 0)
		return -1;
	if (act == SCMP_ACT_NOTIFY)
		*uses_notify = true;
	if (sc->n_names == 0)
		return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].names: must not be empty", i);
	for (size_t j = 0; j < sc->n_names; j++) {
		const char *name = sc->names[j];

		if (name == NULL || *name == '\0')
			return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].names[%zu]: empty syscall name",
					     i, j);
		if (!syscall_known(name) && !is_newer_syscall(name))
			return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].names[%zu]: unknown syscall \"%s\"",
					     i, j, name);
		if (act == SCMP_ACT_NOTIFY && strcmp(name, "write") == 0)
			return hull_err_make(err, 0,
					     "linux.seccomp.syscalls[%zu].names[%zu]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
					     i, j);
	}
	for (size_t k = 0; k < sc->n_args; k++) {
		int op;

		if (sc->args[k].index >= 6)
			return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].index: %u is out of range (0-5)",
					     i, k, sc->args[k].index);
		if (confine_seccomp_op(sc->args[k].op, &op) < 0)
			return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"",
					     i, k, sc->args[k].op ? sc->args[k].op : "");
	}
	return 0;
}

int confine_seccomp_validate(const struct oci_seccomp *s, struct hull_err **err)
{
	uint32_t act, arch;
	bool uses_notify = false;
	int attr;

	if (s == NULL)
		return 0;
	if (confine_seccomp_action(s->default_action, false, 0, &act) < 0)
		return hull_err_make(err, 0, "linux.seccomp.defaultAction: unknown action \"%s\"",
				     s->default_action ? s->default_action : "");
	if (act == SCMP_ACT_NOTIFY)
		return hull_err_make(err, 0, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
	if (validate_errno(s->has_default_errno_ret, s->default_errno_ret, "linux.seccomp.defaultErrnoRet", err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_architectures; i++) {
		int r = confine_seccomp_arch(s->architectures[i], &arch);

		if (r == -2)
			return hull_err_make(err, 0, "linux.seccomp.architectures[%zu]: %s is not supported by libseccomp %u.%u.%u",
					     i, s->architectures[i], seccomp_version()->major,
					     seccomp_version()->minor, seccomp_version()->micro);
		if (r < 0)
			return hull_err_make(err, 0, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i,
					     s->architectures[i] ? s->architectures[i] : "");
	}
	for (size_t i = 0; i < s->n_flags; i++)
		if (confine_seccomp_flag(s->flags[i], &attr) < 0)
			return hull_err_make(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
					     s->flags[i] ? s->flags[i] : "");
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (validate_syscall(&s->syscalls[i], i, &uses_notify, err) < 0)
			return -1;
	if (uses_notify && (s->listener_path == NULL || *s->listener_path == '\0'))
		return hull_err_make(err, 0, "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
	if (s->listener_path && strlen(s->listener_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return hull_err_make(err, 0, "linux.seccomp.listenerPath: longer than %zu bytes",
				     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

/* ---- building the filter --------------------------------------------------- */

static int add_rules(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t i, uint32_t def_act,
		     bool *uses_notify, struct hull_err **err)
{
	struct scmp_arg_cmp conds[64];
	unsigned per_index[6] = { 0 };
	bool same_index = false;
	uint32_t act;
	int op;

	if (confine_seccomp_action(sc->action, sc->has_errno_ret, sc->errno_ret, &act) < 0)
		return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].action: unknown action \"%s\"", i,
				     sc->action ? sc->action : "");
	if (act == def_act)
		return 0;
	if (sc->n_args > ARRAY_SIZE(conds))
		return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].args: more than %zu conditions", i,
				     ARRAY_SIZE(conds));
	for (size_t k = 0; k < sc->n_args; k++) {
		if (sc->args[k].index >= 6 || confine_seccomp_op(sc->args[k].op, &op) < 0)
			return hull_err_make(err, 0, "linux.seccomp.syscalls[%zu].args[%zu]: invalid condition", i, k);
		/* MASKED_EQ: (arg & value) == valueTwo, libseccomp's datum_a/datum_b. */
		conds[k] = (struct scmp_arg_cmp){ .arg = sc->args[k].index, .op = (enum scmp_compare)op,
						  .datum_a = sc->args[k].value, .datum_b = sc->args[k].value_two };
		if (++per_index[sc->args[k].index] > 1)
			same_index = true;
	}

	for (size_t j = 0; j < sc->n_names; j++) {
		int nr = seccomp_syscall_resolve_name(sc->names[j]);
		int r = 0;

		if (nr == __NR_SCMP_ERROR) {
			hull_debug("seccomp: syscall \"%s\" unknown to libseccomp, rule skipped", sc->names[j]);
			continue;
		}
		if (sc->n_args == 0)
			r = seccomp_rule_add_array(ctx, act, nr, 0, NULL);
		else if (!same_index)
			r = seccomp_rule_add_array(ctx, act, nr, (unsigned)sc->n_args, conds);
		else
			for (size_t k = 0; k < sc->n_args && r == 0; k++)
				r = seccomp_rule_add_array(ctx, act, nr, 1, &conds[k]);
		if (r < 0)
			return hull_err_make(err, -r, "linux.seccomp.syscalls[%zu].names[%zu]: add rule for %s", i, j,
					     sc->names[j]);
		if (act == SCMP_ACT_NOTIFY)
			*uses_notify = true;
	}
	return 0;
}

static int build_filter(const struct oci_seccomp *s, scmp_filter_ctx *out, bool *uses_notify,
			struct hull_err **err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	uint32_t def_act, arch;
	int r, attr;

	if (confine_seccomp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &def_act) < 0)
		return hull_err_make(err, 0, "linux.seccomp.defaultAction: unknown action \"%s\"",
				     s->default_action ? s->default_action : "");
	ctx = seccomp_init(def_act);
	if (ctx == NULL)
		return hull_err_make(err, EINVAL, "seccomp_init");
	/* We set no_new_privs ourselves (or not, as the spec says). */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return hull_err_make(err, -r, "seccomp: clear CTL_NNP");
	/* Real errno values from seccomp(2) rather than libseccomp's -ECANCELED. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	for (size_t i = 0; i < s->n_architectures; i++) {
		if (confine_seccomp_arch(s->architectures[i], &arch) < 0)
			return hull_err_make(err, 0, "linux.seccomp.architectures[%zu]: unsupported \"%s\"", i,
					     s->architectures[i] ? s->architectures[i] : "");
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST) /* the native arch is always present */
			return hull_err_make(err, -r, "linux.seccomp.architectures[%zu]: add %s", i, s->architectures[i]);
	}
	for (size_t i = 0; i < s->n_flags; i++) {
		if (confine_seccomp_flag(s->flags[i], &attr) < 0)
			return hull_err_make(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
					     s->flags[i] ? s->flags[i] : "");
		if ((r = seccomp_attr_set(ctx, (enum scmp_filter_attr)attr, 1)) < 0)
			return hull_err_make(err, -r, "linux.seccomp.flags[%zu]: %s", i, s->flags[i]);
	}
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (add_rules(ctx, &s->syscalls[i], i, def_act, uses_notify, err) < 0)
			return -1;
	*out = take_ptr(ctx);
	return 0;
}

/* Compile now, while every file and syscall is still reachable; the load
 * (confine_seccomp_install) is then one syscall. */
int confine_seccomp_prepare(const struct oci_seccomp *s, struct confine_filter *f, struct hull_err **err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	_cleanup_free_ uint32_t *profile_arches = NULL;
	bool uses_notify = false;
	size_t n = 0;
	uint32_t def;

	*f = (struct confine_filter){ 0 };
	if (s == NULL)
		return 0;
	if (confine_seccomp_validate(s, err) < 0 || build_filter(s, &ctx, &uses_notify, err) < 0)
		return -1;
	if (confine_seccomp_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret, &def) < 0)
		return hull_err_make(err, 0, "linux.seccomp.defaultAction: unknown action");
	/* Validated above: every name resolves. */
	profile_arches = xcalloc(s->n_architectures + 1, sizeof(*profile_arches));
	for (size_t i = 0; i < s->n_architectures; i++)
		if (confine_seccomp_arch(s->architectures[i], &profile_arches[n]) == 0)
			n++;
	return seccomp_export_prog(ctx, s, profile_arches, n, def != SCMP_ACT_ALLOW && def != SCMP_ACT_LOG, uses_notify, f,
				   err);
}

/* Nothing but seccomp(2) itself: whatever runs after it is under the filter.
 * The listener fd (notify) is the caller's, made O_CLOEXEC by the kernel. */
int confine_seccomp_install(struct confine_filter *f, int *notify_fd, struct hull_err **err)
{
	struct sock_fprog prog = { .len = f->len, .filter = f->insns };
	int r;

	if (notify_fd)
		*notify_fd = -1;
	if (f->insns == NULL || f->loaded)
		return 0;
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
	if (r < 0)
		return hull_err_make(err, errno, "seccomp: load filter");
	/* TSYNC without a listener: the id of a thread that could not take the
	 * filter, and then no thread did. */
	if (r > 0 && !f->notify)
		return hull_err_make(err, 0, "seccomp: thread %d could not take the filter", r);
	f->loaded = true;
	if (f->notify && notify_fd)
		*notify_fd = r;
	else if (f->notify)
		close(r);
	return 0;
}

int confine_seccomp_load(const struct oci_seccomp *s, int *notify_fd, struct hull_err **err)
{
	struct confine_filter f;
	int r;

	if (notify_fd)
		*notify_fd = -1;
	if (confine_seccomp_prepare(s, &f, err) < 0)
		return -1;
	r = confine_seccomp_install(&f, notify_fd, err);
	free(f.insns);
	return r;
}

int confine_seccomp_send_listener(const struct oci_seccomp *s, int notify_fd, const char *state_json,
				  struct hull_err **err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov;
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	_cleanup_close_ int sock = -1;
	size_t len;
	ssize_t n;

	if (s == NULL || s->listener_path == NULL || *s->listener_path == '\0')
		return hull_err_make(err, 0, "linux.seccomp.listenerPath: not set");
	if (notify_fd < 0)
		return hull_err_make(err, EBADF, "seccomp listener %s: no notify fd", s->listener_path);
	len = strlen(s->listener_path);
	if (len >= sizeof(addr.sun_path))
		return hull_err_make(err, ENAMETOOLONG, "seccomp listener %s", s->listener_path);
	memcpy(addr.sun_path, s->listener_path, len + 1);

	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hull_err_make(err, errno, "seccomp listener: socket");
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return hull_err_make(err, errno, "seccomp listener: connect %s", s->listener_path);

	/* One message: the containerProcessState JSON with the fd attached. */
	iov.iov_base = (void *)(state_json ? state_json : "");
	iov.iov_len = state_json ? strlen(state_json) : 0;
	if (iov.iov_len == 0) {
		/* SCM_RIGHTS needs at least one byte of payload on a stream socket. */
		iov.iov_base = (void *)"\n";
		iov.iov_len = 1;
	}
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &notify_fd, sizeof(int));

	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hull_err_make(err, errno, "seccomp listener: send to %s", s->listener_path);
	/* The fd went with the first byte; the rest is plain data. */
	for (size_t off = (size_t)n; off < iov.iov_len; off += (size_t)n) {
		n = send(sock, (const char *)iov.iov_base + off, iov.iov_len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0)
			return hull_err_make(err, errno, "seccomp listener: send to %s", s->listener_path);
	}
	return 0;
}
