/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkpoint / restore through CRIU, driven the way runc drives it: `criu
 * swrk 3` on one end of a SEQPACKET socketpair, one protobuf CriuReq (the
 * message types of criu's rpc.proto, from Debian's libcriu), then CriuResp
 * messages: NOTIFY ones (CRIU's action scripts: "post-restore" carries the
 * restored init's pid, "orphan-pts-master" a pty master), each acknowledged,
 * and the final answer.  The RPC rather than the criu command line because
 * hull needs what happens between CRIU's steps (the swrk process must start
 * inside the new container's cgroup and see the rootfs as a mount point, the
 * pid and pty come back in notifications) and gets typed errors back.
 *
 * CRIU sees what runc shows it (libcontainer/criu_linux.go):
 *   - mounts it cannot dump are external: bind mounts (key: destination;
 *     restored from the source), a cgroup mount (restored as a bind of the
 *     new container's cgroup2 directory), maskedPaths files (the container's
 *     /dev/null; restored from the host's) and device nodes;
 *   - the init's stdio that are pipes are listed in descriptors.json in the
 *     image (runc's file and format) and handed back as inherit_fd on restore,
 *     so `restore` reconnects them to its own stdio;
 *   - restore: swrk is cloned into the new container's cgroup and given that
 *     cgroup as cg_root; the rootfs is bound at ROOT/ID/criu-root (CRIU needs
 *     a mount point whose parent is not overmounted) in a mount namespace
 *     that `restore` makes for itself, so the host never sees the bind; the
 *     restored tree is hull's child (rst_sibling).
 */
#include "internal.h"
#include "namespaces/namespaces.h"

#include <criu/rpc.pb-c.h>
#include <json-c/json.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define CRIU_BIN "criu"
#define DESCRIPTORS_FILE "descriptors.json"
#define CRIU_ROOT_DIR "criu-root"
#define CRIU_MSG_MAX (1u << 20)
#define CRIU_LOG_LEVEL 4

static const struct { const char *name; CriuCgMode mode; } cg_modes[] = {
	{ "soft", CRIU_CG_MODE__SOFT },
	{ "full", CRIU_CG_MODE__FULL },
	{ "strict", CRIU_CG_MODE__STRICT },
	{ "ignore", CRIU_CG_MODE__IGNORE },
};

static int parse_cg_mode(const char *s, CriuOpts *opts, struct hull_err **err)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(cg_modes); i++) {
		if (strcmp(s, cg_modes[i].name) == 0) {
			opts->has_manage_cgroups_mode = true;
			opts->manage_cgroups_mode = cg_modes[i].mode;
			return 0;
		}
	}
	return hull_err_make(err, 0, "--manage-cgroups-mode: invalid value \"%s\" (soft, full, strict or ignore)",
			     s);
}

/* The repeated fields of one request, owned here (protobuf-c only points). */
struct req_lists {
	ExtMountMap **mnt;
	size_t n_mnt;
	InheritFd **ifd;
	size_t n_ifd;
	CgroupRoot **cg;
	size_t n_cg;
};

static void add_ext_mnt(struct req_lists *l, const char *key, const char *val)
{
	ExtMountMap *m = xmalloc(sizeof(*m));

	ext_mount_map__init(m);
	m->key = xstrdup(key);
	m->val = xstrdup(val);
	l->mnt = xrealloc(l->mnt, (l->n_mnt + 1) * sizeof(*l->mnt));
	l->mnt[l->n_mnt++] = m;
}

static void add_inherit_fd(struct req_lists *l, const char *key, int fd)
{
	InheritFd *f = xmalloc(sizeof(*f));

	inherit_fd__init(f);
	f->key = xstrdup(key);
	f->fd = fd;
	l->ifd = xrealloc(l->ifd, (l->n_ifd + 1) * sizeof(*l->ifd));
	l->ifd[l->n_ifd++] = f;
}

static void add_cg_root(struct req_lists *l, const char *ctrl, const char *path)
{
	CgroupRoot *c = xmalloc(sizeof(*c));

	cgroup_root__init(c);
	c->ctrl = ctrl ? xstrdup(ctrl) : NULL;
	c->path = xstrdup(path);
	l->cg = xrealloc(l->cg, (l->n_cg + 1) * sizeof(*l->cg));
	l->cg[l->n_cg++] = c;
}

static void lists_attach(struct req_lists *l, CriuOpts *opts)
{
	opts->ext_mnt = l->mnt;
	opts->n_ext_mnt = l->n_mnt;
	opts->inherit_fd = l->ifd;
	opts->n_inherit_fd = l->n_ifd;
	opts->cg_root = l->cg;
	opts->n_cg_root = l->n_cg;
}

static void lists_free(struct req_lists *l)
{
	for (size_t i = 0; i < l->n_mnt; i++) {
		free(l->mnt[i]->key);
		free(l->mnt[i]->val);
		free(l->mnt[i]);
	}
	for (size_t i = 0; i < l->n_ifd; i++) {
		free(l->ifd[i]->key);
		free(l->ifd[i]);
	}
	for (size_t i = 0; i < l->n_cg; i++) {
		free(l->cg[i]->ctrl);
		free(l->cg[i]->path);
		free(l->cg[i]);
	}
	free(l->mnt);
	free(l->ifd);
	free(l->cg);
}

static bool is_cgroup_mount(const struct oci_mount *m)
{
	return m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0);
}

/* Dump side: mount point -> the name it gets in the image. */
static int dump_ext_mounts(const struct oci_spec *s, pid_t pid, struct req_lists *l, struct hull_err **err)
{
	_cleanup_free_ char *root_path = xasprintf("/proc/%d/root", (int)pid);
	_cleanup_close_ int root = -1;
	const char *dev;

	for (size_t i = 0; i < s->n_mounts; i++)
		if (ns_mount_is_bind(&s->mounts[i]) || is_cgroup_mount(&s->mounts[i]))
			add_ext_mnt(l, s->mounts[i].destination, s->mounts[i].destination);
	/* A masked file is a bind of the container's /dev/null, which CRIU
	 * cannot tell from a host file; directories are tmpfs it dumps.  The
	 * path is the image's: looked up inside the container's root, where a
	 * symlink or ".." cannot lead to a host file. */
	if (s->linux_.n_masked_paths > 0) {
		root = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return hull_err_make(err, errno, "open %s", root_path);
	}
	for (size_t i = 0; i < s->linux_.n_masked_paths; i++) {
		_cleanup_close_ int fd = ns_open_in_root(root, s->linux_.masked_paths[i], O_PATH | O_CLOEXEC, 0, NULL);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
			add_ext_mnt(l, s->linux_.masked_paths[i], "/dev/null");
	}
	for (size_t i = 0; (dev = ns_default_device(i)); i++)
		add_ext_mnt(l, dev, dev);
	for (size_t i = 0; i < s->linux_.n_devices; i++)
		add_ext_mnt(l, s->linux_.devices[i].path, s->linux_.devices[i].path);
	return 0;
}

/* Restore side: image name -> what to mount there now. */
static void restore_ext_mounts(const struct oci_spec *s, const char *bundle, const struct cgroup *cg,
			       struct req_lists *l)
{
	const char *dev, *cgdir = cg ? cgroups_unified_dir(cg) : NULL;

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct oci_mount *m = &s->mounts[i];
		if (ns_mount_is_bind(m) && m->source) {
			_cleanup_free_ char *src = m->source[0] == '/' ? xstrdup(m->source)
								       : xasprintf("%s/%s", bundle, m->source);
			add_ext_mnt(l, m->destination, src);
		} else if (is_cgroup_mount(m) && cgdir) {
			add_ext_mnt(l, m->destination, cgdir);
		}
	}
	if (s->linux_.n_masked_paths > 0)
		add_ext_mnt(l, "/dev/null", "/dev/null");
	for (size_t i = 0; (dev = ns_default_device(i)); i++)
		if (strcmp(dev, "/dev/null") != 0 || s->linux_.n_masked_paths == 0)
			add_ext_mnt(l, dev, dev);
	for (size_t i = 0; i < s->linux_.n_devices; i++)
		add_ext_mnt(l, s->linux_.devices[i].path, s->linux_.devices[i].path);
}

/* runc's descriptors.json: what the init's fds 0-2 were, e.g. "pipe:[1234]". */
static int write_descriptors(int img_fd, pid_t pid, struct hull_err **err)
{
	struct json_object *a = json_object_new_array();
	const char *text;
	int r;

	for (int fd = 0; fd < 3; fd++) {
		char link[64], target[PATH_MAX];
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		json_object_array_add(a, json_object_new_string(target));
	}
	text = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = write_file_atomic_at(img_fd, DESCRIPTORS_FILE, text, strlen(text), 0600, err);
	json_object_put(a);
	return r;
}

/* Pipes among them are reconnected to restore's own fds of the same number. */
static int inherit_descriptors(int img_fd, struct req_lists *l, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *a;

	if (faccessat(img_fd, DESCRIPTORS_FILE, F_OK, 0) < 0 && errno == ENOENT)
		return 0;
	if (read_file_at(img_fd, DESCRIPTORS_FILE, &text, NULL, 1 << 16, err) < 0)
		return -1;
	a = json_tokener_parse(text);
	if (!a || !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		return hull_err_make(err, 0, "%s: not a JSON array", DESCRIPTORS_FILE);
	}
	for (size_t i = 0; i < json_object_array_length(a) && i < 3; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		if (s && strncmp(s, "pipe:", 5) == 0)
			add_inherit_fd(l, s, (int)i);
	}
	json_object_put(a);
	return 0;
}

/* ---- the swrk conversation ------------------------------------------------ */

struct criu_call {
	CriuReq *req;
	struct req_lists *lists;
	const char *action;         /* "dump", "pre-dump", "restore": log file and errors */
	const char *work_path;
	const struct cgroup *cg;    /* restore: swrk starts in it */
	const char *console_socket;
	int status_fd;              /* lazy dump: '\0' at "status-ready", then closed; -1: none */
	pid_t pid;                  /* out: the restored init */
};

/* Move fd to `to` without close-on-exec; `to` may be taken by another fd of
 * ours, which was duplicated away first. */
static int place_fd(int fd, int to)
{
	if (fd == to)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, to) < 0 ? -1 : 0;
}

static __attribute__((noreturn)) void swrk_child(struct criu_call *cc, int sock, int errpipe, bool cloned_in)
{
	struct hull_err *e = NULL;
	int high;

	if (cc->cg && cgroups_enter_self(cc->cg, cloned_in, NULL, 0, &e) < 0)
		goto fail;
	high = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	if (high < 0 || place_fd(high, 3) < 0) {
		hull_err_make(&e, errno, "dup the criu socket");
		goto fail;
	}
	execvp(CRIU_BIN, (char *[]){ CRIU_BIN, "swrk", "3", NULL });
	hull_err_make(&e, errno, "exec %s", CRIU_BIN);
fail:
	if (write_all(errpipe, e->msg, strlen(e->msg)) < 0)
		_exit(126);
	_exit(127);
}

/* The swrk process's cgroups become CRIU's roots for the restored tree
 * (runc's criuApplyCgroups reads the same file). */
static int add_cg_roots(pid_t pid, struct req_lists *l, struct hull_err **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, path, &text, NULL, 1 << 16, err) < 0)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(line, ':'), *cgpath, *save2 = NULL;
		if (!ctrls || !(cgpath = strchr(ctrls + 1, ':')))
			continue;
		*cgpath++ = '\0';
		ctrls++;
		if (!*ctrls) {
			add_cg_root(l, NULL, cgpath);
			continue;
		}
		for (char *c = strtok_r(ctrls, ",", &save2); c; c = strtok_r(NULL, ",", &save2))
			add_cg_root(l, c, cgpath);
	}
	return 0;
}

static int send_req(int sock, const CriuReq *req, struct hull_err **err)
{
	size_t len = criu_req__get_packed_size(req);
	_cleanup_free_ uint8_t *buf = xmalloc(len);
	int r;

	criu_req__pack(req, buf);
	r = sync_send_packet(sock, buf, len, NULL, 0);
	if (r < 0)
		return hull_err_make(err, -r, "criu swrk: send request");
	return 0;
}

/* One message; *fd gets a descriptor passed along with it, or -1. */
static int recv_resp(int sock, uint8_t *buf, CriuResp **out, int *fd, struct hull_err **err)
{
	size_t nfds;
	ssize_t n = sync_recv_packet(sock, buf, CRIU_MSG_MAX, fd, 1, &nfds);

	if (nfds == 0)
		*fd = -1;
	if (n < 0 && *fd >= 0)
		close(take_fd(fd));
	if (n == -EPIPE)
		return hull_err_make(err, 0, "criu swrk exited without an answer");
	if (n < 0)
		return hull_err_make(err, (int)-n, "criu swrk: receive");
	*out = criu_resp__unpack(NULL, (size_t)n, buf);
	if (!*out) {
		if (*fd >= 0)
			close(take_fd(fd));
		return hull_err_make(err, 0, "criu swrk: malformed answer");
	}
	return 0;
}

static int on_notify(struct criu_call *cc, const CriuNotify *nt, int fd, struct hull_err **err)
{
	const char *script = nt && nt->script ? nt->script : "";
	int r = 0;

	hull_debug("criu: notify %s", script);
	if (strcmp(script, "post-restore") == 0 && nt->has_pid)
		cc->pid = nt->pid;
	else if (strcmp(script, "orphan-pts-master") == 0 && fd >= 0 && cc->console_socket)
		r = console_send_to_socket(cc->console_socket, fd, err);
	else if (strcmp(script, "status-ready") == 0 && cc->status_fd >= 0) {
		/* runc's: CRIU >= 3.15 says so here (its status_fd option is
		 * obsolete); the reader may be gone, which stops nothing. */
		if (write_all(cc->status_fd, "", 1) < 0)
			hull_warn("--status-fd %d: %s", cc->status_fd, strerror(errno));
		close(cc->status_fd);
		cc->status_fd = -1;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* The last "Error (file:line): ..." line of CRIU's log, for a failure CRIU
 * sent no message about (it stopped in its start-up checks); malloc'd or NULL. */
static char *last_log_error(const struct criu_call *cc)
{
	_cleanup_free_ char *path = xasprintf("%s/%s.log", cc->work_path, cc->action);
	_cleanup_free_ char *text = NULL;
	char *line, *end;

	if (read_file_at(AT_FDCWD, path, &text, NULL, 64u << 20, NULL) < 0)
		return NULL;
	line = strstr(text, "Error (");
	for (char *next = line; next; next = strstr(next + 1, "Error ("))
		line = next;
	if (!line)
		return NULL;
	end = line + strcspn(line, "\n");
	return xstrndup(line, (size_t)(end - line));
}

static int converse(struct criu_call *cc, int sock, struct hull_err **err)
{
	_cleanup_free_ uint8_t *buf = xmalloc(CRIU_MSG_MAX);
	CriuReq ack = CRIU_REQ__INIT;
	CriuResp *resp = NULL;
	int fd, r;

	ack.type = CRIU_REQ_TYPE__NOTIFY;
	ack.has_notify_success = true;
	ack.notify_success = true;
	if (send_req(sock, cc->req, err) < 0)
		return -1;
	for (;;) {
		if (recv_resp(sock, buf, &resp, &fd, err) < 0)
			return -1;
		if (resp->type != CRIU_REQ_TYPE__NOTIFY)
			break;
		r = on_notify(cc, resp->notify, fd, err);
		criu_resp__free_unpacked(resp, NULL);
		if (r < 0 || send_req(sock, &ack, err) < 0)
			return -1;
	}
	if (fd >= 0)
		close(fd);
	if (!resp->success) {
		/* CRIU's message is its log's last error line, newline included;
		 * without one (CRIU failed in its start-up checks), the log's. */
		_cleanup_free_ char *logged = resp->cr_errmsg ? NULL : last_log_error(cc);
		const char *msg = resp->cr_errmsg ? resp->cr_errmsg : logged ? logged : "failed";
		hull_err_make(err, resp->has_cr_errno ? resp->cr_errno : 0, "criu %s: %.*s (see %s/%s.log)",
			      cc->action, (int)strcspn(msg, "\n"), msg, cc->work_path, cc->action);
		criu_resp__free_unpacked(resp, NULL);
		return -1;
	}
	if (resp->type == CRIU_REQ_TYPE__RESTORE && resp->restore)
		cc->pid = resp->restore->pid;
	criu_resp__free_unpacked(resp, NULL);
	return 0;
}

static int criu_run(struct criu_call *cc, struct hull_err **err)
{
	_cleanup_close_ int sock = -1, peer = -1, ep_r = -1, ep_w = -1;
	int sv[2], ep[2], wst, r = -1;
	char msg[1024];
	bool cloned_in;
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hull_err_make(err, errno, "socketpair");
	sock = sv[0];
	peer = sv[1];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return hull_err_make(err, errno, "pipe");
	ep_r = ep[0];
	ep_w = ep[1];
	pid = fork_into_cgroup(cc->cg, &cloned_in, err);
	if (pid < 0)
		return -1;
	if (pid == 0)
		swrk_child(cc, peer, ep_w, cloned_in);
	close(take_fd(&peer));
	close(take_fd(&ep_w));
	/* EOF: criu was exec'd; text: why it was not. */
	do
		n = read(ep_r, msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		msg[n] = '\0';
		hull_err_make(err, 0, "%s", msg);
		goto out;
	}
	if (cc->cg && add_cg_roots(pid, cc->lists, err) < 0)
		goto out;
	lists_attach(cc->lists, cc->req->opts);
	r = converse(cc, sock, err);
out:
	close(take_fd(&sock));
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	return r;
}

/* ---- checkpoint ----------------------------------------------------------- */

static int open_dir(const char *path, bool create, const char *flag, struct hull_err **err)
{
	int fd;

	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return hull_err_make(err, errno, "%s %s", flag, path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_err_make(err, errno, "%s %s", flag, path);
	return fd;
}

/*
 * --parent-path, looked up from inside the image directory as CRIU follows
 * the image's "parent" link.  Checkpoint: runc's checks (relative, so the
 * link survives moving both; an existing directory).  Restore (hull's: runc's
 * restore has no such flag, though its containerd shim passes one): CRIU
 * finds the parent through the link alone, so a parent that is not the one
 * the link names would be silently unused; it must be that one.
 */
static int check_parent(int img_fd, const char *image, const char *parent, bool restore, struct hull_err **err)
{
	struct stat st, link;

	if (!*parent || (!restore && parent[0] == '/'))
		return hull_err_make(err, 0, "--parent-path \"%s\": must be relative to --image-path (runc's)", parent);
	if (fstatat(img_fd, parent, &st, 0) < 0)
		return hull_err_make(err, errno, "--parent-path %s", parent);
	if (!S_ISDIR(st.st_mode))
		return hull_err_make(err, ENOTDIR, "--parent-path %s", parent);
	if (!restore)
		return 0;
	if (fstatat(img_fd, "parent", &link, 0) < 0)
		return hull_err_make(err, errno == ENOENT ? 0 : errno,
				     "--parent-path %s: %s has no parent (not dumped with --parent-path)", parent, image);
	if (link.st_dev != st.st_dev || link.st_ino != st.st_ino)
		return hull_err_make(err, 0, "--parent-path %s: not the parent of %s (its \"parent\" link)", parent, image);
	return 0;
}

static void common_opts(CriuOpts *opts, const struct runtime_criu_opts *o)
{
	opts->has_manage_cgroups = opts->manage_cgroups = true;
	opts->has_notify_scripts = opts->notify_scripts = true;
	opts->has_log_level = true;
	opts->log_level = CRIU_LOG_LEVEL;
	opts->has_tcp_established = true;
	opts->tcp_established = o->tcp_established;
	opts->has_ext_unix_sk = true;
	opts->ext_unix_sk = o->ext_unix_sk;
	opts->has_shell_job = true;
	opts->shell_job = o->shell_job;
	opts->has_file_locks = true;
	opts->file_locks = o->file_locks;
	opts->has_lazy_pages = true;
	opts->lazy_pages = o->lazy_pages;
}

/* runc's --page-server ADDRESS:PORT (Go's net.SplitHostPort: an IPv6
 * address in brackets); *addr is malloc'd. */
static int parse_page_server(const char *s, char **addr, int *port, struct hull_err **err)
{
	const char *colon = strrchr(s, ':');
	const char *a = s, *a_end = colon;
	int64_t p;

	if (colon && s[0] == '[') {
		a = s + 1;
		a_end = colon - 1;
		if (a_end < a || *a_end != ']')
			colon = NULL;
	} else if (colon && memchr(s, ':', (size_t)(colon - s))) {
		colon = NULL;
	}
	if (!colon || a_end == a || parse_i64(colon + 1, &p) < 0 || p < 1 || p > 65535)
		return hull_err_make(err, 0, "--page-server: invalid value \"%s\" (ADDRESS:PORT)", s);
	*addr = xstrndup(a, (size_t)(a_end - a));
	*port = (int)p;
	return 0;
}

static int lazy_checks(const struct runtime_checkpoint_opts *o, struct hull_err **err)
{
	int fl;

	if (o->status_fd >= 0 && !o->c.lazy_pages)
		return hull_err_make(err, 0, "--status-fd: only with --lazy-pages");
	if (o->c.lazy_pages && o->pre_dump)
		return hull_err_make(err, 0, "--lazy-pages: not with --pre-dump (a pre-dump serves no pages)");
	if (o->status_fd < 0)
		return 0;
	fl = fcntl(o->status_fd, F_GETFL);
	if (fl < 0)
		return hull_err_make(err, errno, "--status-fd %d", o->status_fd);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return hull_err_make(err, 0, "--status-fd %d: not open for writing", o->status_fd);
	/* Only hull writes it: criu keeping a copy would hold the reader's EOF. */
	if (fcntl(o->status_fd, F_SETFD, FD_CLOEXEC) < 0)
		return hull_err_make(err, errno, "--status-fd %d", o->status_fd);
	return 0;
}

int runtime_checkpoint(const struct runtime_ctx *ctx, const struct runtime_checkpoint_opts *o,
		       struct hull_err **err)
{
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuReq req = CRIU_REQ__INIT;
	struct req_lists lists = { 0 };
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	struct criu_call cc = { .req = &req, .lists = &lists, .status_fd = o->status_fd };
	_cleanup_close_ int img_fd = -1, work_fd = -1;
	_cleanup_free_ char *ps_addr = NULL;
	struct container *c = NULL;
	struct cgroup *cg = NULL;
	const char *image = o->c.image_path ? o->c.image_path : "checkpoint";
	bool gone, made;
	int r = -1;

	if (parse_cg_mode(o->c.manage_cgroups_mode, &opts, err) < 0 || lazy_checks(o, err) < 0 ||
	    (o->page_server && parse_page_server(o->page_server, &ps_addr, &ps.port, err) < 0) ||
	    container_open(ctx, o->id, &c, err) < 0)
		return -1;
	/* runc dumps a paused container too (containerd pauses a task around
	 * its checkpoint); CRIU finds the cgroup frozen and leaves it so. */
	if (container_status(c) != OCI_STATUS_RUNNING && container_status(c) != OCI_STATUS_PAUSED) {
		hull_err_make(err, 0, "container \"%s\" is not running", o->id);
		goto out;
	}
	if (c->vm) {
		hull_err_make(err, EOPNOTSUPP, "container \"%s\" is VM-isolated: CRIU dumps host processes, not a microVM",
			      o->id);
		goto out;
	}
	if (container_load_spec(c, err) < 0)
		goto out;
	made = mkdir(image, 0700) == 0;
	if (!made && errno != EEXIST) {
		hull_err_make(err, errno, "--image-path %s", image);
		goto out;
	}
	if ((img_fd = open_dir(image, false, "--image-path", err)) < 0)
		goto out;
	/* A bad parent leaves no image directory behind. */
	if (o->c.parent_path && check_parent(img_fd, image, o->c.parent_path, false, err) < 0) {
		if (made)
			rmdir(image);
		goto out;
	}
	if ((work_fd = open_dir(o->c.work_path ? o->c.work_path : image, true, "--work-path", err)) < 0 ||
	    write_descriptors(img_fd, c->pid, err) < 0)
		goto out;
	req.opts = &opts;
	req.type = o->pre_dump ? CRIU_REQ_TYPE__PRE_DUMP : CRIU_REQ_TYPE__DUMP;
	cc.action = o->pre_dump ? "pre-dump" : "dump";
	cc.work_path = o->c.work_path ? o->c.work_path : image;
	common_opts(&opts, &o->c);
	opts.images_dir_fd = img_fd;
	opts.has_work_dir_fd = true;
	opts.work_dir_fd = work_fd;
	opts.log_file = o->pre_dump ? "pre-dump.log" : "dump.log";
	opts.has_pid = true;
	opts.pid = c->pid;
	opts.root = c->rootfs;
	opts.has_leave_running = true;
	opts.leave_running = o->leave_running || o->pre_dump;
	opts.has_orphan_pts_master = opts.orphan_pts_master = c->spec->process.terminal;
	if (o->c.parent_path) {
		opts.parent_img = (char *)o->c.parent_path;
		opts.has_track_mem = opts.track_mem = true;
	}
	if (o->pre_dump)
		opts.has_track_mem = opts.track_mem = true;
	/* The pages go to the page server there; lazy, CRIU's own page server
	 * listens there instead and serves them to a restore's `criu
	 * lazy-pages` until all are taken (the dump holds until then). */
	if (ps_addr) {
		ps.address = ps_addr;
		ps.has_port = true;
		opts.ps = &ps;
	}
	/* runc's freeze_cgroup: CRIU freezes the whole tree before seizing it,
	 * so no child forks or exits under it (v2; hull keeps no v1 freezer
	 * path, and there CRIU seizes task by task). */
	if (container_cgroup(c, &cg, err) < 0)
		goto out;
	if (cg && cgroups_host_is_v2() && cgroups_unified_dir(cg))
		opts.freeze_cgroup = (char *)cgroups_unified_dir(cg);
	if (dump_ext_mounts(c->spec, c->pid, &lists, err) < 0)
		goto out;
	r = criu_run(&cc, err);
	gone = r == 0 && !opts.leave_running;
	container_free(take_ptr(c));
	/* runc: a container dumped without --leave-running is gone; its id,
	 * cgroup and state go with it, so it can be restored under that id. */
	if (gone)
		r = delete_container(ctx, o->id, true, NULL, err);
out:
	container_free(c);
	lists_free(&lists);
	return r;
}

/* ---- restore -------------------------------------------------------------- */

static int restore_checks(const struct runtime_restore_opts *o, const struct oci_spec *s, int img_fd,
			  const char *image, struct hull_err **err)
{
	if (faccessat(img_fd, "inventory.img", F_OK, 0) < 0)
		return hull_err_make(err, 0, "--image-path %s: not a CRIU checkpoint (no inventory.img)", image);
	if (o->c.parent_path && check_parent(img_fd, image, o->c.parent_path, true, err) < 0)
		return -1;
	if (!s->has_process || !s->has_linux)
		return hull_err_make(err, 0, "%s: required", s->has_process ? "linux" : "process");
	if (s->process.terminal && !o->console_socket)
		return hull_err_make(err, 0, "process.terminal is true but no --console-socket was given");
	if (!s->process.terminal && o->console_socket)
		return hull_err_make(err, 0, "--console-socket given but process.terminal is false");
	return 0;
}

static int restore_cgroup(const struct runtime_ctx *ctx, struct container *c, struct hull_err **err)
{
	const struct oci_linux *l = &c->spec->linux_;
	struct cgroups_cfg cfg = { .id = c->id, .cgroups_path = l->cgroups_path, .systemd = ctx->systemd_cgroup,
				   .resources = l->has_resources ? &l->resources : NULL,
				   .devices = l->devices, .n_devices = l->n_devices };

	if (!runtime_cgroups_enabled(ctx))
		return 0;
	if (cgroups_validate(cfg.resources, cfg.cgroups_path, cfg.systemd, err) < 0 ||
	    cgroups_create(&cfg, 0, &c->cg, err) < 0)
		return -1;
	c->cgroup = cgroups_serialize(c->cg);
	return 0;
}

static int restore_into(const struct runtime_ctx *ctx, const struct runtime_restore_opts *o, struct container *c,
			int img_fd, int work_fd, const char *image, const char *config, size_t config_len,
			struct hull_err **err)
{
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuReq req = CRIU_REQ__INIT;
	struct req_lists lists = { 0 };
	_cleanup_free_ char *root_mnt = xasprintf("%s/%s", c->dir, CRIU_ROOT_DIR);
	struct criu_call cc = { .req = &req, .lists = &lists, .action = "restore",
				.work_path = o->c.work_path ? o->c.work_path : image,
				.console_socket = o->console_socket };
	int r = -1;

	if (parse_cg_mode(o->c.manage_cgroups_mode, &opts, err) < 0 || restore_cgroup(ctx, c, err) < 0 ||
	    inherit_descriptors(img_fd, &lists, err) < 0)
		goto out;
	if (mkdir(root_mnt, 0700) < 0) {
		hull_err_make(err, errno, "mkdir %s", root_mnt);
		goto out;
	}
	if (mount(c->rootfs, root_mnt, NULL, MS_BIND | MS_REC, NULL) < 0) {
		hull_err_make(err, errno, "bind %s on %s", c->rootfs, root_mnt);
		rmdir(root_mnt);
		goto out;
	}
	cc.cg = c->cg;
	req.opts = &opts;
	req.type = CRIU_REQ_TYPE__RESTORE;
	common_opts(&opts, &o->c);
	opts.images_dir_fd = img_fd;
	opts.has_work_dir_fd = true;
	opts.work_dir_fd = work_fd;
	opts.log_file = "restore.log";
	opts.root = root_mnt;
	opts.has_rst_sibling = opts.rst_sibling = true;
	opts.has_evasive_devices = opts.evasive_devices = true;
	opts.has_orphan_pts_master = opts.orphan_pts_master = c->spec->process.terminal;
	restore_ext_mounts(c->spec, c->bundle, c->cg, &lists);
	r = criu_run(&cc, err);
	umount2(root_mnt, MNT_DETACH);
	rmdir(root_mnt);
	if (r < 0)
		goto out;
	if (cc.pid <= 0) {
		r = hull_err_make(err, 0, "criu restore: no pid for the restored init");
		goto out;
	}
	c->pid = cc.pid;
	c->pid_start = proc_start_time(c->pid);
	r = write_file_atomic_at(c->dir_fd, CONFIG_FILE, config, config_len, 0600, err);
	if (r == 0)
		r = container_save(c, err);
	if (r == 0 && o->pid_file)
		r = write_pid_file(o->pid_file, c->pid, err);
out:
	lists_free(&lists);
	return r;
}

int runtime_restore(const struct runtime_ctx *ctx, const struct runtime_restore_opts *o, int *status,
		    struct hull_err **err)
{
	const char *image = o->c.image_path ? o->c.image_path : "checkpoint";
	_cleanup_close_ int img_fd = -1, work_fd = -1;
	struct container *c = NULL;
	struct runtime_bundle b;
	pid_t pid;
	int r;

	*status = 0;
	if (runtime_validate_id(o->id, err) < 0 || parse_cg_mode(o->c.manage_cgroups_mode, &(CriuOpts){ 0 }, err) < 0)
		return -1;
	/*
	 * A mount namespace of our own, before any directory is opened: the
	 * rootfs bind for CRIU stays invisible to the host, and CRIU, which
	 * chdirs to the work directory through /proc/OUR_PID/fd, must land on
	 * a mount of its own namespace to mount its cgroup yard there.
	 */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return hull_err_make(err, errno, "a private mount namespace for criu");
	if ((img_fd = open_dir(image, false, "--image-path", err)) < 0)
		return -1;
	if (bundle_load(o->bundle ? o->bundle : ".", &b, err) < 0)
		return -1;
	if (restore_checks(o, b.spec, img_fd, image, err) < 0 ||
	    (work_fd = open_dir(o->c.work_path ? o->c.work_path : image, true, "--work-path", err)) < 0 ||
	    container_new(ctx, o->id, &c, err) < 0) {
		runtime_bundle_free(&b);
		return -1;
	}
	c->bundle = take_ptr(b.dir);
	c->rootfs = take_ptr(b.rootfs);
	c->spec = take_ptr(b.spec);
	c->new_pid_ns = oci_spec_has_ns(c->spec, OCI_NS_PID) && !oci_spec_get_ns(c->spec, OCI_NS_PID)->path;
	r = restore_into(ctx, o, c, img_fd, work_fd, image, b.config, b.config_len, err);
	runtime_bundle_free(&b);
	if (r < 0) {
		container_abandon(c);
		return -1;
	}
	pid = c->pid;
	/* Other commands on this id must not wait for a foreground restore. */
	container_free(c);
	if (o->detach)
		return 0;
	r = wait_forward(pid, -1, status, err);
	if (delete_container(ctx, o->id, true, NULL, r < 0 ? NULL : err) < 0 && r == 0)
		return -1;
	return r;
}
