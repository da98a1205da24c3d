// SPDX-License-Identifier: Apache-2.0
/*
 * shim/task.c: containerd.task.v2.Task (runtime/v2/task/shim.proto).  Every
 * payload is decoded by protobuf-c (bounded by the 4 MiB frame); a payload
 * that does not decode answers INVALID_ARGUMENT.  Methods not in the table
 * answer UNIMPLEMENTED.
 */
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "shim/internal.h"
#include "github.com/containerd/containerd/api/events/task.pb-c.h"
#include "shim/options.pb-c.h"
#include "vmcontainer/vmcontainer.h"

static void fail(struct ttrpc_reply *out, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct ttrpc_reply *out, int code, const char *fmt, ...)
{
	va_list ap;

	out->code = code;
	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
}

static void fail_err(struct ttrpc_reply *out, int code, struct hull_err **err)
{
	fail(out, code, "%s", *err ? (*err)->msg : "unknown error");
	hull_err_free(err);
}

/* Pack a message into the reply (protobuf-c's generic pack). */
static void reply(struct ttrpc_reply *out, const ProtobufCMessage *m)
{
	out->len = protobuf_c_message_get_packed_size(m);
	out->payload = xmalloc(out->len ? out->len : 1);
	protobuf_c_message_pack(m, out->payload);
}

static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *d, const uint8_t *in, size_t len,
				struct ttrpc_reply *out)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, in);

	if (!m)
		fail(out, TTRPC_INVALID_ARGUMENT, "%s: payload does not decode", d->name);
	return m;
}

/* The live (not deleted) process id/exec_id ("" or NULL: the init). */
static struct shim_proc *find_locked(struct shim *s, const char *id, const char *exec_id)
{
	for (struct shim_proc *p = s->procs; p; p = p->next)
		if (p->status != ST_UNKNOWN && strcmp(p->id, id) == 0 &&
		    strcmp(p->exec_id, exec_id ? exec_id : "") == 0)
			return p;
	return NULL;
}

static struct shim_proc *find(struct shim *s, const char *id, const char *exec_id, struct ttrpc_reply *out)
{
	struct shim_proc *p;

	pthread_mutex_lock(&s->lock);
	p = find_locked(s, id, exec_id);
	pthread_mutex_unlock(&s->lock);
	if (!p)
		fail(out, TTRPC_NOT_FOUND, "%s%s%s: not found", id, exec_id && *exec_id ? "/" : "",
		     exec_id ? exec_id : "");
	return p;
}

static void set_ts(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = (int32_t)t->tv_nsec;
}

/* CreateTaskRequest.options: runtimeoptions.v1.Options (containerd CRI's
 * `options = { ConfigPath = F }` for this runtime, `ctr run
 * --runtime-config-path F`).  F has lines `isolation = "vm"` or
 * `"container"`, blank lines and # comments; anything else is refused,
 * naming the file and line.  No options: hull's own default. */
static int task_options(const Google__Protobuf__Any *any, char **isolation, struct hull_err **err)
{
	Runtimeoptions__V1__Options *o;
	_cleanup_free_ char *text = NULL, *path = NULL;
	char *save = NULL, *line;
	unsigned lineno = 0;
	const char *url;

	if (!any || !any->type_url || !*any->type_url)
		return 0;
	url = strrchr(any->type_url, '/') ? strrchr(any->type_url, '/') + 1 : any->type_url;
	if (strcmp(url, runtimeoptions__v1__options__descriptor.name) != 0)
		return hull_err_make(err, 0, "options: type %s is not %s", any->type_url,
				     runtimeoptions__v1__options__descriptor.name);
	o = runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
	if (!o)
		return hull_err_make(err, 0, "options: %s does not decode", any->type_url);
	path = *o->config_path ? xstrdup(o->config_path) : NULL;
	runtimeoptions__v1__options__free_unpacked(o, NULL);
	if (!path)
		return 0;
	if (read_file_at(AT_FDCWD, path, &text, NULL, 64 << 10, err) < 0)
		return hull_err_wrap(err, "options");
	for (char *l = text; (line = strtok_r(l, "\n", &save)); l = NULL) {
		char key[32], val[32], *hash;

		lineno++; /* strtok_r skips empty lines: numbers count non-empty ones */
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		if (strspn(line, " \t\r") == strlen(line))
			continue;
		if (sscanf(line, " %31[a-z_] = \"%31[a-z]\" %1s", key, val, (char[2]){ 0 }) != 2 ||
		    strcmp(key, "isolation") != 0 || (strcmp(val, "vm") != 0 && strcmp(val, "container") != 0))
			return hull_err_make(err, 0, "options %s:%u: expected isolation = \"vm\" or \"container\"",
					     path, lineno);
		free(*isolation);
		*isolation = xstrdup(val);
	}
	return 0;
}

static void task_create(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__CreateTaskRequest *req =
		(void *)decode(&containerd__task__v2__create_task_request__descriptor, in, len, out);
	Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	struct hull_err *err = NULL;
	_cleanup_free_ char *isolation = NULL;
	struct shim_proc *p;
	bool vm = false;

	if (!req)
		return;
	if (!*req->id || strchr(req->id, '/') || !*req->bundle || req->bundle[0] != '/') {
		fail(out, TTRPC_INVALID_ARGUMENT, "create: id and absolute bundle are required");
		goto out;
	}
	if (*req->checkpoint && req->checkpoint[0] != '/') {
		fail(out, TTRPC_INVALID_ARGUMENT, "create: checkpoint \"%.64s\" is not an absolute path", req->checkpoint);
		goto out;
	}
	/* runc's shim passes it to the restore as --parent-path; without an
	 * image to restore it would be dropped without a word. */
	if (*req->parent_checkpoint && (!*req->checkpoint || req->parent_checkpoint[0] != '/')) {
		fail(out, TTRPC_INVALID_ARGUMENT, "create: parent_checkpoint \"%.64s\": %s", req->parent_checkpoint,
		     *req->checkpoint ? "is not an absolute path" : "without a checkpoint");
		goto out;
	}
	if (task_options(req->options, &isolation, &err) < 0) {
		fail_err(out, TTRPC_INVALID_ARGUMENT, &err);
		goto out;
	}
	/* hull decides so too (--isolation, else the bundle's annotation); a
	 * config that cannot be read is hull create's error to report. */
	(void)vmcontainer_isolation_of_bundle(isolation && strcmp(isolation, "vm") == 0 ? VMC_ISOLATION_VM
										      : VMC_ISOLATION_UNSET,
					      req->bundle, &vm, NULL);
	if (*req->checkpoint && vm) {
		fail(out, TTRPC_UNIMPLEMENTED,
		     "create: restore from a checkpoint: %s is VM-isolated (isolation=vm); CRIU restores only isolation=container",
		     req->id);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (find_locked(s, req->id, "")) {
		pthread_mutex_unlock(&s->lock);
		fail(out, TTRPC_ALREADY_EXISTS, "%s: already exists", req->id);
		goto out;
	}
	/* In the table at once (pid 0): a second Create of the id is refused. */
	p = xcalloc(1, sizeof(*p));
	p->id = xstrdup(req->id);
	p->exec_id = xstrdup("");
	p->bundle = xstrdup(req->bundle);
	p->stdin_path = xstrdup(req->stdin);
	p->stdout_path = xstrdup(req->stdout);
	p->stderr_path = xstrdup(req->stderr);
	p->terminal = req->terminal;
	p->isolation = take_ptr(isolation);
	p->vm = vm;
	p->checkpoint = *req->checkpoint ? xstrdup(req->checkpoint) : NULL;
	p->parent_checkpoint = *req->parent_checkpoint ? xstrdup(req->parent_checkpoint) : NULL;
	p->status = ST_CREATED;
	p->next = s->procs;
	s->procs = p;
	pthread_mutex_unlock(&s->lock);
	if (s->backend->create(s, p, req, &err) < 0) {
		pthread_mutex_lock(&s->lock);
		p->status = ST_UNKNOWN; /* deleted: kept, other threads may hold it */
		pthread_mutex_unlock(&s->lock);
		fail_err(out, err && err->errnum == EOPNOTSUPP ? TTRPC_UNIMPLEMENTED : TTRPC_UNKNOWN, &err);
		goto out;
	}
	resp.pid = (uint32_t)p->pid;
	reply(out, &resp.base);
	{
		Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
		Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;

		io.stdin = req->stdin;
		io.stdout = req->stdout;
		io.stderr = req->stderr;
		io.terminal = req->terminal;
		ev.container_id = req->id;
		ev.bundle = req->bundle;
		ev.n_rootfs = req->n_rootfs;
		ev.rootfs = req->rootfs;
		ev.io = &io;
		ev.pid = resp.pid;
		shim_publish(s, "/tasks/create", &ev.base);
	}
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_start(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__StartRequest *req =
		(void *)decode(&containerd__task__v2__start_request__descriptor, in, len, out);
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	struct hull_err *err = NULL;
	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (!p)
		goto out;
	if ((*p->exec_id ? s->backend->exec(s, p, &err) : s->backend->start(s, p, &err)) < 0) {
		fail_err(out, err && err->errnum == EOPNOTSUPP ? TTRPC_UNIMPLEMENTED : TTRPC_UNKNOWN, &err);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (!p->exited)
		p->status = ST_RUNNING;
	pthread_mutex_unlock(&s->lock);
	resp.pid = (uint32_t)p->pid;
	reply(out, &resp.base);
	if (*p->exec_id) { /* runc's shim: an exec's start is TaskExecStarted */
		Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;

		ev.container_id = p->id;
		ev.exec_id = p->exec_id;
		ev.pid = resp.pid;
		shim_publish(s, "/tasks/exec-started", &ev.base);
	} else {
		Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;

		ev.container_id = p->id;
		ev.pid = resp.pid;
		shim_publish(s, "/tasks/start", &ev.base);
	}
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_state(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__StateRequest *req =
		(void *)decode(&containerd__task__v2__state_request__descriptor, in, len, out);
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (p) {
		pthread_mutex_lock(&s->lock);
		resp.id = p->id;
		resp.exec_id = p->exec_id;
		resp.bundle = p->bundle;
		resp.pid = (uint32_t)p->pid;
		resp.status = (Containerd__V1__Types__Status)p->status;
		resp.stdin = p->stdin_path;
		resp.stdout = p->stdout_path;
		resp.stderr = p->stderr_path;
		resp.terminal = p->terminal;
		if (p->exited) {
			resp.exit_status = p->exit_status;
			set_ts(&ts, &p->exited_at);
			resp.exited_at = &ts;
		}
		reply(out, &resp.base);
		pthread_mutex_unlock(&s->lock);
	}
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_wait(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__WaitRequest *req =
		(void *)decode(&containerd__task__v2__wait_request__descriptor, in, len, out);
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (p) {
		/* The reaper wakes us; this thread is the request's own. */
		pthread_mutex_lock(&s->lock);
		while (!p->exited)
			pthread_cond_wait(&s->changed, &s->lock);
		resp.exit_status = p->exit_status;
		set_ts(&ts, &p->exited_at);
		resp.exited_at = &ts;
		pthread_mutex_unlock(&s->lock);
		reply(out, &resp.base);
	}
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Exec only records the process: it runs at Start(exec_id), as in runc's shim. */
static void task_exec(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__ExecProcessRequest *req =
		(void *)decode(&containerd__task__v2__exec_process_request__descriptor, in, len, out);
	Containerd__Task__V2__ExecProcessResponse resp = CONTAINERD__TASK__V2__EXEC_PROCESS_RESPONSE__INIT;
	struct shim_proc *init, *p;

	if (!req)
		return;
	if (!*req->exec_id || strchr(req->exec_id, '/') || strlen(req->exec_id) > 128 || !req->spec ||
	    !req->spec->value.len) {
		fail(out, TTRPC_INVALID_ARGUMENT, "exec: exec_id (a plain name) and spec are required");
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	init = find_locked(s, req->id, "");
	if (!init || init->exited) {
		pthread_mutex_unlock(&s->lock);
		fail(out, init ? TTRPC_FAILED_PRECONDITION : TTRPC_NOT_FOUND, "%s: no running task", req->id);
		goto out;
	}
	if (find_locked(s, req->id, req->exec_id)) {
		pthread_mutex_unlock(&s->lock);
		fail(out, TTRPC_ALREADY_EXISTS, "%s/%s: already exists", req->id, req->exec_id);
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->id = xstrdup(req->id);
	p->exec_id = xstrdup(req->exec_id);
	p->bundle = xstrdup(init->bundle);
	p->stdin_path = xstrdup(req->stdin);
	p->stdout_path = xstrdup(req->stdout);
	p->stderr_path = xstrdup(req->stderr);
	p->terminal = req->terminal;
	/* containerd's Any holds the OCI process as JSON; hull parses it. */
	p->spec_len = req->spec->value.len;
	p->spec = xmalloc(p->spec_len);
	memcpy(p->spec, req->spec->value.data, p->spec_len);
	p->isolation = init->isolation ? xstrdup(init->isolation) : NULL;
	p->status = ST_CREATED;
	p->next = s->procs;
	s->procs = p;
	pthread_mutex_unlock(&s->lock);
	reply(out, &resp.base);
	{
		Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;

		ev.container_id = req->id;
		ev.exec_id = req->exec_id;
		shim_publish(s, "/tasks/exec-added", &ev.base);
	}
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_kill(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__KillRequest *req =
		(void *)decode(&containerd__task__v2__kill_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	struct hull_err *err = NULL;
	struct shim_proc *p;
	bool exited;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (!p)
		goto out;
	if (req->signal == 0 || req->signal >= (uint32_t)NSIG) {
		fail(out, TTRPC_INVALID_ARGUMENT, "kill: signal %u", req->signal);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	exited = p->exited;
	pthread_mutex_unlock(&s->lock);
	/* runc's shim: an init already gone is "not found", unless --all (the
	 * container's other processes may still run). */
	if (exited && !req->all) {
		fail(out, TTRPC_NOT_FOUND, "%s: process already finished", p->id);
		goto out;
	}
	if (*p->exec_id) {
		/* Our child (reparented) until we reap it: its pid cannot be reused. */
		pthread_mutex_lock(&s->lock);
		int kr = p->pid > 0 && !p->exited ? kill(p->pid, (int)req->signal) : -1;
		int kerr = p->pid > 0 && !p->exited ? errno : ESRCH;
		pthread_mutex_unlock(&s->lock);
		if (kr < 0) {
			fail(out, TTRPC_NOT_FOUND, "%s/%s: %s", p->id, p->exec_id, strerror(kerr));
			goto out;
		}
	} else if (s->backend->kill(s, p, (int)req->signal, req->all, &err) < 0) {
		fail_err(out, exited ? TTRPC_NOT_FOUND : TTRPC_UNKNOWN, &err);
		goto out;
	}
	reply(out, &empty.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_delete(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__DeleteRequest *req =
		(void *)decode(&containerd__task__v2__delete_request__descriptor, in, len, out);
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct hull_err *err = NULL;
	struct shim_tty *tty;
	struct shim_proc *p;
	bool live;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (!p)
		goto out;
	pthread_mutex_lock(&s->lock);
	live = !p->exited && (p->status == ST_RUNNING || p->status == ST_PAUSED);
	pthread_mutex_unlock(&s->lock);
	if (live) {
		fail(out, TTRPC_FAILED_PRECONDITION, "%s: cannot delete a running task", p->id);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	shim_stop_oom_locked(s, p);
	pthread_mutex_unlock(&s->lock);
	/* An exec leaves only the table; for the init, --force: a created init
	 * is killed, a stopped one only cleaned up. */
	if (!*p->exec_id && s->backend->remove(s, p, &err) < 0) {
		fail_err(out, TTRPC_UNKNOWN, &err);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	while (p->pid > 0 && !p->exited)
		pthread_cond_wait(&s->changed, &s->lock);
	/* Off the proc under the lock (ResizePty and CloseIO use it there),
	 * drained and closed after it. */
	tty = p->tty;
	p->tty = NULL;
	if (p->rootfs_mounted) {
		shim_unmount_rootfs(p->bundle);
		p->rootfs_mounted = false;
	}
	p->status = ST_UNKNOWN; /* deleted: kept, a Wait may still hold it */
	/* The init's delete ends its container: its execs' records go with it. */
	for (struct shim_proc *e = s->procs; e && !*p->exec_id; e = e->next)
		if (strcmp(e->id, p->id) == 0)
			e->status = ST_UNKNOWN;
	resp.pid = (uint32_t)p->pid;
	resp.exit_status = p->exit_status;
	set_ts(&ts, &p->exited_at);
	resp.exited_at = &ts;
	pthread_mutex_unlock(&s->lock);
	shim_tty_stop(tty);
	reply(out, &resp.base);
	if (!*p->exec_id) { /* runc's shim: TaskDelete is the init's */
		Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;

		ev.container_id = p->id;
		ev.id = p->id;
		ev.pid = resp.pid;
		ev.exit_status = resp.exit_status;
		ev.exited_at = &ts;
		shim_publish(s, "/tasks/delete", &ev.base);
	}
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void pause_resume(struct shim *s, const uint8_t *in, size_t len, struct ttrpc_reply *out, bool pause)
{
	/* PauseRequest and ResumeRequest are both {string id = 1}. */
	Containerd__Task__V2__PauseRequest *req =
		(void *)decode(&containerd__task__v2__pause_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	struct hull_err *err = NULL;
	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, "", out);
	if (!p)
		goto out;
	if (s->backend->pause(s, p, pause, &err) < 0) {
		fail_err(out, TTRPC_UNKNOWN, &err);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (!p->exited)
		p->status = pause ? ST_PAUSED : ST_RUNNING;
	pthread_mutex_unlock(&s->lock);
	reply(out, &empty.base);
	if (pause) {
		Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;

		ev.container_id = p->id;
		shim_publish(s, "/tasks/paused", &ev.base);
	} else {
		Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;

		ev.container_id = p->id;
		shim_publish(s, "/tasks/resumed", &ev.base);
	}
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_pause(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	pause_resume(opaque, in, len, out, true);
}

static void task_resume(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	pause_resume(opaque, in, len, out, false);
}

static void task_pids(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__PidsRequest *req =
		(void *)decode(&containerd__task__v2__pids_request__descriptor, in, len, out);
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	struct hull_err *err = NULL;
	_cleanup_free_ int *pids = NULL;
	_cleanup_free_ Containerd__V1__Types__ProcessInfo *infos = NULL;
	_cleanup_free_ Containerd__V1__Types__ProcessInfo **ptrs = NULL;
	struct shim_proc *p;
	size_t n = 0;

	if (!req)
		return;
	p = find(s, req->id, "", out);
	if (!p)
		goto out;
	if (s->backend->pids(s, p, &pids, &n, &err) < 0) {
		fail_err(out, TTRPC_UNKNOWN, &err);
		goto out;
	}
	infos = xcalloc(n ? n : 1, sizeof(*infos));
	ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++) {
		containerd__v1__types__process_info__init(&infos[i]);
		infos[i].pid = (uint32_t)pids[i];
		ptrs[i] = &infos[i];
	}
	resp.n_processes = n;
	resp.processes = ptrs;
	reply(out, &resp.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* The container holds the stdin FIFO itself (the shim keeps no copy of it),
 * so it sees EOF when containerd's writer closes: nothing is left to close. */
static void task_closeio(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__CloseIORequest *req =
		(void *)decode(&containerd__task__v2__close_iorequest__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;

	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (p) {
		/* A terminal's stdin goes through the shim's copy: that one stops. */
		pthread_mutex_lock(&s->lock);
		if (req->stdin)
			shim_tty_close_stdin(p);
		pthread_mutex_unlock(&s->lock);
		reply(out, &empty.base);
	}
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_resize_pty(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__ResizePtyRequest *req =
		(void *)decode(&containerd__task__v2__resize_pty_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	struct hull_err *err = NULL;
	struct shim_proc *p;
	int r;

	if (!req)
		return;
	p = find(s, req->id, req->exec_id, out);
	if (p) {
		pthread_mutex_lock(&s->lock);
		r = shim_tty_resize(p, req->width, req->height, &err);
		pthread_mutex_unlock(&s->lock);
		if (r < 0)
			fail_err(out, err && err->errnum == ENOTTY ? TTRPC_FAILED_PRECONDITION : TTRPC_INVALID_ARGUMENT,
				 &err);
		else
			reply(out, &empty.base);
	}
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Resources come as containerd's Any of the OCI LinuxResources: JSON
 * (typeurl marshals non-protobuf types so), handed to `hull update`. */
static void task_update(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__UpdateTaskRequest *req =
		(void *)decode(&containerd__task__v2__update_task_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	struct hull_err *err = NULL;
	struct shim_proc *p;

	if (!req)
		return;
	p = find(s, req->id, "", out);
	if (!p)
		goto out;
	if (!req->resources || !req->resources->value.len || req->resources->value.data[0] != '{') {
		fail(out, TTRPC_INVALID_ARGUMENT, "update: resources must be LinuxResources JSON");
		goto out;
	}
	if (s->backend->update(s, p, req->resources->value.data, req->resources->value.len, &err) < 0) {
		fail_err(out, TTRPC_UNKNOWN, &err);
		goto out;
	}
	reply(out, &empty.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* runc's shim: the init's container dumped to path by the runtime's
 * checkpoint, running or paused (ctr pauses the task around it); without
 * options.exit it keeps running.  A VM-isolated task cannot be dumped:
 * CRIU would see only the VM's supervisor on this host. */
static void task_checkpoint(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__CheckpointTaskRequest *req =
		(void *)decode(&containerd__task__v2__checkpoint_task_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	struct shim_ckpt_opts o = { 0 };
	struct hull_err *err = NULL;
	struct shim_proc *p;
	bool live;

	if (!req)
		return;
	if (shim_ckpt_opts_decode(req->path, req->options, &o, &err) < 0) {
		fail_err(out, err && err->errnum == EOPNOTSUPP ? TTRPC_UNIMPLEMENTED : TTRPC_INVALID_ARGUMENT, &err);
		goto out;
	}
	p = find(s, req->id, "", out);
	if (!p)
		goto out;
	if (p->vm) {
		fail(out, TTRPC_UNIMPLEMENTED,
		     "checkpoint: %s is VM-isolated (isolation=vm); CRIU dumps only isolation=container tasks", p->id);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	live = !p->exited && (p->status == ST_RUNNING || p->status == ST_PAUSED);
	pthread_mutex_unlock(&s->lock);
	if (!live) {
		fail(out, TTRPC_FAILED_PRECONDITION, "checkpoint: %s is not running", p->id);
		goto out;
	}
	if (!s->backend->checkpoint || s->backend->checkpoint(s, p, &o, &err) < 0) {
		if (!err)
			hull_err_make(&err, EOPNOTSUPP, "checkpoint: not supported by the %s backend", s->backend->name);
		fail_err(out, err->errnum == EOPNOTSUPP ? TTRPC_UNIMPLEMENTED : TTRPC_UNKNOWN, &err);
		goto out;
	}
	reply(out, &empty.base);
out:
	shim_ckpt_opts_clear(&o);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static bool host_cgroup2(void)
{
	struct statfs st;

	return statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

static void task_stats(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__StatsRequest *req =
		(void *)decode(&containerd__task__v2__stats_request__descriptor, in, len, out);
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	struct hull_err *err = NULL;
	_cleanup_free_ char *json = NULL, *url = NULL;
	_cleanup_free_ uint8_t *value = NULL;
	struct shim_proc *p;
	size_t n = 0;

	if (!req)
		return;
	p = find(s, req->id, "", out);
	if (!p)
		goto out;
	if (s->backend->stats(s, p, &json, &err) < 0 ||
	    shim_stats_metrics(json ? json : "", host_cgroup2(), &url, &value, &n, &err) < 0) {
		fail_err(out, TTRPC_UNKNOWN, &err);
		goto out;
	}
	any.type_url = url;
	any.value.data = value;
	any.value.len = n;
	resp.stats = &any;
	reply(out, &resp.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void task_connect(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__ConnectRequest *req =
		(void *)decode(&containerd__task__v2__connect_request__descriptor, in, len, out);
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	struct shim_proc *p;

	if (!req)
		return;
	resp.shim_pid = (uint32_t)getpid();
	resp.version = (char *)HULL_VERSION;
	pthread_mutex_lock(&s->lock);
	p = find_locked(s, req->id, "");
	if (p)
		resp.task_pid = (uint32_t)p->pid;
	pthread_mutex_unlock(&s->lock);
	reply(out, &resp.base);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void shim_exit(void *opaque)
{
	struct shim *s = opaque;

	unlink(s->socket_path);
	shim_events_flush(s);
	_exit(0);
}

static void task_shutdown(void *opaque, const uint8_t *in, size_t len, struct ttrpc_reply *out)
{
	struct shim *s = opaque;
	Containerd__Task__V2__ShutdownRequest *req =
		(void *)decode(&containerd__task__v2__shutdown_request__descriptor, in, len, out);
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	bool busy = false;

	if (!req)
		return;
	pthread_mutex_lock(&s->lock);
	for (struct shim_proc *p = s->procs; p; p = p->next)
		busy |= p->status != ST_UNKNOWN && !*p->exec_id; /* containers, as runc's shim */
	pthread_mutex_unlock(&s->lock);
	/* The pod's shim stays while another of its containers lives. */
	if (!busy || req->now)
		out->after_send = shim_exit;
	reply(out, &empty.base);
	protobuf_c_message_free_unpacked(&req->base, NULL);
}

static const struct ttrpc_method task_methods[] = {
	{ "Create", task_create },   { "Start", task_start },   { "State", task_state },
	{ "Wait", task_wait },       { "Kill", task_kill },     { "Delete", task_delete },
	{ "Pause", task_pause },     { "Resume", task_resume }, { "Pids", task_pids },
	{ "Connect", task_connect }, { "Shutdown", task_shutdown }, { "Exec", task_exec },
	{ "CloseIO", task_closeio }, { "ResizePty", task_resize_pty }, { "Update", task_update },
	{ "Stats", task_stats },     { "Checkpoint", task_checkpoint },
};

const struct ttrpc_service shim_task_service = {
	.name = "containerd.task.v2.Task",
	.methods = task_methods,
	.n_methods = ARRAY_SIZE(task_methods),
};
