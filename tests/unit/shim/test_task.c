/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Task service (shim/task.c) over a socketpair with a stub backend (no
 * hull is run): every method refuses a payload that does not decode with
 * INVALID_ARGUMENT, bad fields are refused before the backend is called,
 * and the table's state answers State/Create/Delete as containerd expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "shim/internal.h"
#include "shim/options.pb-c.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb-c.h"
#include "github.com/containerd/cgroups/stats/v1/metrics.pb-c.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb-c.h"

#include <pthread.h>
#include <sys/socket.h>

static int creates, removes;

static int stub_create(struct shim *s, struct shim_proc *p, const Containerd__Task__V2__CreateTaskRequest *req,
		       struct hull_err **err)
{
	creates++;
	return 0; /* pid stays 0: no process to wait for */
}

static int stub_fail(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	return hull_err_make(err, 0, "stub");
}

static int stub_remove(struct shim *s, struct shim_proc *p, struct hull_err **err)
{
	removes++;
	return 0;
}

static int updates;

static int stub_update(struct shim *s, struct shim_proc *p, const uint8_t *res, size_t len, struct hull_err **err)
{
	updates++;
	return 0;
}

static int checkpoints;
static struct shim_ckpt_opts last_ckpt;

static int stub_checkpoint(struct shim *s, struct shim_proc *p, const struct shim_ckpt_opts *o, struct hull_err **err)
{
	checkpoints++;
	shim_ckpt_opts_clear(&last_ckpt);
	last_ckpt = *o;
	last_ckpt.path = NULL; /* the request's, freed after the call */
	last_ckpt.cgroups_mode = o->cgroups_mode ? xstrdup(o->cgroups_mode) : NULL;
	last_ckpt.work_path = o->work_path ? xstrdup(o->work_path) : NULL;
	return 0;
}

static const struct shim_backend stub = {
	.name = "stub", .create = stub_create, .start = stub_fail, .exec = stub_fail, .remove = stub_remove,
	.update = stub_update, .checkpoint = stub_checkpoint,
};

static struct shim sh = { .ns = "t", .socket_path = "/nonexistent", .backend = &stub,
			  .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

struct server {
	int fd;
	pthread_t t;
};

static void *serve(void *arg)
{
	struct server *sv = arg;
	struct hull_err *err = NULL;

	ttrpc_serve_conn(sv->fd, &shim_task_service, 1, &sh, &err);
	hull_err_free(&err);
	close(sv->fd);
	return NULL;
}

static struct server srv;
static int cfd;
static uint32_t stream = 1;

static int setup(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv.fd = sv[1];
	cfd = sv[0];
	assert_int_equal(pthread_create(&srv.t, NULL, serve, &srv), 0);
	return 0;
}

static int teardown(void **state)
{
	close(cfd);
	pthread_join(srv.t, NULL);
	return 0;
}

static int call(const char *method, const ProtobufCMessage *m, struct ttrpc_reply *r)
{
	uint8_t buf[4096];
	size_t n = m ? protobuf_c_message_pack(m, buf) : 0;
	struct hull_err *err = NULL;

	assert_int_equal(ttrpc_call(cfd, &stream, "containerd.task.v2.Task", method, buf, n, r, &err), 0);
	return r->code;
}

static void test_garbage_payload_every_method(void **state)
{
	/* field 1 (string) claiming 2^35 bytes; and a truncated varint */
	static const uint8_t bad1[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t bad2[] = { 0x08, 0xff };
	struct ttrpc_reply r;
	struct hull_err *err = NULL;

	for (size_t i = 0; i < shim_task_service.n_methods; i++) {
		const char *m = shim_task_service.methods[i].name;
		assert_int_equal(ttrpc_call(cfd, &stream, "containerd.task.v2.Task", m, bad1, sizeof(bad1), &r, &err), 0);
		assert_int_equal(r.code, TTRPC_INVALID_ARGUMENT);
		assert_int_equal(ttrpc_call(cfd, &stream, "containerd.task.v2.Task", m, bad2, sizeof(bad2), &r, &err), 0);
		assert_int_equal(r.code, TTRPC_INVALID_ARGUMENT);
	}
	assert_int_equal(creates, 0);
}

static void test_unimplemented_and_unknown_ids(void **state)
{
	Containerd__Task__V2__StateRequest st = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
	struct ttrpc_reply r;

	assert_int_equal(call("Nope", NULL, &r), TTRPC_UNIMPLEMENTED);
	st.id = "nope";
	assert_int_equal(call("Stats", &st.base, &r), TTRPC_NOT_FOUND);
	assert_int_equal(call("Update", &st.base, &r), TTRPC_NOT_FOUND);
	assert_int_equal(call("ResizePty", &st.base, &r), TTRPC_NOT_FOUND);
	assert_int_equal(call("State", &st.base, &r), TTRPC_NOT_FOUND);
	assert_int_equal(call("Wait", &st.base, &r), TTRPC_NOT_FOUND);
}

static void test_create_state_delete(void **state)
{
	Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Containerd__Task__V2__StateRequest st = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
	Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
	Containerd__Task__V2__ExecProcessRequest ex = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
	Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	Containerd__Task__V2__ShutdownRequest sd = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
	Containerd__Task__V2__StateResponse *resp;
	struct ttrpc_reply r;

	/* Refused before the backend: relative bundle, id with a slash. */
	cr.id = "c1";
	cr.bundle = "relative";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	cr.id = "../c1";
	cr.bundle = "/b";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(creates, 0);
	cr.id = "c1";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_OK);
	free(r.payload);
	assert_int_equal(creates, 1);
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_ALREADY_EXISTS);
	st.id = "c1";
	assert_int_equal(call("State", &st.base, &r), TTRPC_OK);
	resp = containerd__task__v2__state_response__unpack(NULL, r.len, r.payload);
	assert_non_null(resp);
	assert_string_equal(resp->bundle, "/b");
	assert_int_equal(resp->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
	containerd__task__v2__state_response__free_unpacked(resp, NULL);
	free(r.payload);
	k.id = "c1";
	k.signal = 0;
	assert_int_equal(call("Kill", &k.base, &r), TTRPC_INVALID_ARGUMENT);
	k.signal = 1000;
	assert_int_equal(call("Kill", &k.base, &r), TTRPC_INVALID_ARGUMENT);
	ex.id = "c1";
	ex.exec_id = "../e";
	assert_int_equal(call("Exec", &ex.base, &r), TTRPC_INVALID_ARGUMENT);
	/* A backend failure is an error answer, not a dead connection. */
	Containerd__Task__V2__StartRequest sr = CONTAINERD__TASK__V2__START_REQUEST__INIT;
	sr.id = "c1";
	assert_int_equal(call("Start", &sr.base, &r), TTRPC_UNKNOWN);
	assert_string_equal(r.msg, "stub");
	/* Update: only LinuxResources JSON reaches the backend. */
	Containerd__Task__V2__UpdateTaskRequest up = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
	Google__Protobuf__Any res = GOOGLE__PROTOBUF__ANY__INIT;
	up.id = "c1";
	assert_int_equal(call("Update", &up.base, &r), TTRPC_INVALID_ARGUMENT);
	res.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
	res.value.data = (uint8_t *)"\x08\x01";
	res.value.len = 2;
	up.resources = &res;
	assert_int_equal(call("Update", &up.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(updates, 0);
	res.value.data = (uint8_t *)"{}";
	assert_int_equal(call("Update", &up.base, &r), TTRPC_OK);
	assert_int_equal(updates, 1);
	/* ResizePty of a task without a terminal: a precondition, not a crash. */
	Containerd__Task__V2__ResizePtyRequest rp = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
	rp.id = "c1";
	rp.width = 80;
	rp.height = 24;
	assert_int_equal(call("ResizePty", &rp.base, &r), TTRPC_FAILED_PRECONDITION);
	/* A live container keeps the shim: Shutdown answers and stays. */
	assert_int_equal(call("Shutdown", &sd.base, &r), TTRPC_OK);
	del.id = "c1";
	assert_int_equal(call("Delete", &del.base, &r), TTRPC_OK);
	free(r.payload);
	assert_int_equal(removes, 1);
	assert_int_equal(call("State", &st.base, &r), TTRPC_NOT_FOUND);
}

/* CreateTaskRequest.options: a foreign type, a payload that does not
 * decode, an unreadable file and bad lines are refused before the backend,
 * each naming what is wrong. */
static void test_create_options_refused(void **state)
{
	Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Runtimeoptions__V1__Options o = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	static const char *const bad_files[] = {
		"isolation = \"vmm\"\n", "isolation = vm\n", "isolation = \"vm\" extra\n", "cpus = \"2\"\n",
		"isolation = \"container\"\nisolation\n",
	};
	char path[] = "/tmp/hull-test-options-XXXXXX";
	uint8_t buf[512];
	struct ttrpc_reply r;
	int fd, creates0 = creates;

	cr.id = "o1";
	cr.bundle = "/b";
	cr.options = &any;
	any.type_url = "containerd.runc.v1.Options";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.msg, "containerd.runc.v1.Options"));
	any.type_url = "runtimeoptions.v1.Options";
	any.value.data = (uint8_t *)"\x12\xff";
	any.value.len = 2;
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	o.config_path = "/nonexistent/hull.toml";
	any.value.len = runtimeoptions__v1__options__pack(&o, buf);
	any.value.data = buf;
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.msg, "/nonexistent/hull.toml"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	o.config_path = path;
	any.value.len = runtimeoptions__v1__options__pack(&o, buf);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, bad_files[i], strlen(bad_files[i]), 0), (ssize_t)strlen(bad_files[i]));
		assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
		assert_non_null(strstr(r.msg, path));
	}
	close(fd);
	unlink(path);
	assert_int_equal(creates, creates0);
}

/* runc's stats JSON as containerd's metrics: the numbers land in the
 * fields ctr task metrics prints, in v1 and in v2 (microseconds). */
static void test_stats_metrics(void **state)
{
	static const char json[] = "{\"type\":\"stats\",\"id\":\"x\",\"data\":{"
		"\"cpu\":{\"usage\":{\"total\":5000,\"percpu\":[3000,2000],\"kernel\":1000,\"user\":4000},"
		"\"throttling\":{\"periods\":7,\"throttledPeriods\":2,\"throttledTime\":9000}},"
		"\"memory\":{\"cache\":11,\"usage\":{\"limit\":100,\"usage\":42,\"max\":50,\"failcnt\":1},"
		"\"raw\":{\"rss\":12,\"total_cache\":13,\"anon\":14}},\"pids\":{\"current\":3,\"limit\":10}}}";
	struct hull_err *err = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ uint8_t *val = NULL;
	size_t len = 0;

	assert_int_equal(shim_stats_metrics(json, false, &url, &val, &len, &err), 0);
	assert_string_equal(url, "io.containerd.cgroups.v1.Metrics");
	Io__Containerd__Cgroups__V1__Metrics *m1 = io__containerd__cgroups__v1__metrics__unpack(NULL, len, val);
	assert_non_null(m1);
	assert_int_equal(m1->pids->current, 3);
	assert_int_equal(m1->pids->limit, 10);
	assert_int_equal(m1->cpu->usage->total, 5000);
	assert_int_equal(m1->cpu->usage->n_per_cpu, 2);
	assert_int_equal(m1->cpu->usage->per_cpu[1], 2000);
	assert_int_equal(m1->cpu->throttling->throttled_time, 9000);
	assert_int_equal(m1->memory->usage->usage, 42);
	assert_int_equal(m1->memory->usage->limit, 100);
	assert_int_equal(m1->memory->rss, 12);
	assert_int_equal(m1->memory->total_cache, 13);
	io__containerd__cgroups__v1__metrics__free_unpacked(m1, NULL);
	free(url);
	free(val);
	assert_int_equal(shim_stats_metrics(json, true, &url, &val, &len, &err), 0);
	assert_string_equal(url, "io.containerd.cgroups.v2.Metrics");
	Io__Containerd__Cgroups__V2__Metrics *m2 = io__containerd__cgroups__v2__metrics__unpack(NULL, len, val);
	assert_non_null(m2);
	assert_int_equal(m2->pids->current, 3);
	assert_int_equal(m2->cpu->usage_usec, 5);
	assert_int_equal(m2->cpu->system_usec, 1);
	assert_int_equal(m2->cpu->throttled_usec, 9);
	assert_int_equal(m2->memory->usage, 42);
	assert_int_equal(m2->memory->usage_limit, 100);
	assert_int_equal(m2->memory->anon, 14);
	io__containerd__cgroups__v2__metrics__free_unpacked(m2, NULL);
	free(url);
	url = NULL;
	free(val);
	val = NULL;
	/* Not stats JSON: an error, nothing allocated. */
	static const char *const bad[] = { "", "[]", "{\"data\":3}", "{\"data\":{", "null" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(shim_stats_metrics(bad[i], false, &url, &val, &len, &err) < 0);
		assert_null(url);
		hull_err_free(&err);
	}
}

/* Pack CheckpointOptions o as an Any into buf (type url t). */
static Google__Protobuf__Any *ckpt_any(Google__Protobuf__Any *any, const char *t,
				       const Containerd__Runc__V1__CheckpointOptions *o, uint8_t *buf)
{
	google__protobuf__any__init(any);
	any->type_url = (char *)t;
	any->value.len = containerd__runc__v1__checkpoint_options__pack(o, buf);
	any->value.data = buf;
	return any;
}

/* CheckpointTaskRequest's path and runc's options: each bad one refused
 * naming its field, the good ones mapped one to one. */
static void test_checkpoint_opts_decode(void **state)
{
	Containerd__Runc__V1__CheckpointOptions o = CONTAINERD__RUNC__V1__CHECKPOINT_OPTIONS__INIT;
	Google__Protobuf__Any any;
	char *ns[] = { "network" };
	struct shim_ckpt_opts out;
	struct hull_err *err = NULL;
	uint8_t buf[512];
	static const struct { const char *path, *want; } paths[] = {
		{ "", "path is required" }, { "rel/dir", "\"rel/dir\" is not an absolute path" },
		{ "./x", "not an absolute path" },
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(shim_ckpt_opts_decode(paths[i].path, NULL, &out, &err), -1);
		assert_non_null(strstr(err->msg, paths[i].want));
		hull_err_free(&err);
	}
	/* No options: runc's defaults (leave running, nothing allowed). */
	assert_int_equal(shim_ckpt_opts_decode("/img", NULL, &out, &err), 0);
	assert_string_equal(out.path, "/img");
	assert_false(out.exit || out.open_tcp || out.file_locks);
	assert_null(out.cgroups_mode);
	shim_ckpt_opts_clear(&out);
	/* A foreign type; bytes that do not decode. */
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "containerd.runc.v1.Options", &o, buf), &out,
					       &err), -1);
	assert_non_null(strstr(err->msg, "containerd.runc.v1.Options"));
	hull_err_free(&err);
	any.type_url = "containerd.runc.v1.CheckpointOptions";
	any.value.data = (uint8_t *)"\x3a\xff\xff";
	any.value.len = 3;
	assert_int_equal(shim_ckpt_opts_decode("/img", &any, &out, &err), -1);
	assert_non_null(strstr(err->msg, "do not decode"));
	hull_err_free(&err);
	/* Fields hull cannot honour or that are wrong, each named. */
	o.n_empty_namespaces = 1;
	o.empty_namespaces = ns;
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf),
					       &out, &err), -1);
	assert_int_equal(err->errnum, EOPNOTSUPP);
	assert_non_null(strstr(err->msg, "empty_namespaces"));
	hull_err_free(&err);
	o.n_empty_namespaces = 0;
	o.cgroups_mode = "loose";
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf),
					       &out, &err), -1);
	assert_non_null(strstr(err->msg, "cgroups_mode \"loose\""));
	hull_err_free(&err);
	o.cgroups_mode = "";
	o.image_path = "/elsewhere";
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf),
					       &out, &err), -1);
	assert_non_null(strstr(err->msg, "image_path"));
	hull_err_free(&err);
	o.image_path = "/img";
	o.work_path = "work";
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf),
					       &out, &err), -1);
	assert_non_null(strstr(err->msg, "options.work_path"));
	hull_err_free(&err);
	/* All good: mapped one to one (the type url may carry a prefix). */
	o.work_path = "/work";
	o.exit = o.open_tcp = o.external_unix_sockets = o.terminal = o.file_locks = true;
	o.cgroups_mode = "strict";
	assert_int_equal(shim_ckpt_opts_decode("/img", ckpt_any(&any, "type.googleapis.com/containerd.runc.v1.CheckpointOptions",
								 &o, buf), &out, &err), 0);
	assert_true(out.exit && out.open_tcp && out.external_unix_sockets && out.terminal && out.file_locks);
	assert_string_equal(out.cgroups_mode, "strict");
	assert_string_equal(out.work_path, "/work");
	shim_ckpt_opts_clear(&out);
}

/* Checkpoint through the service: refused before the backend unless the
 * init runs (or is paused) and is not VM-isolated; a restore (Create with
 * checkpoint) of a VM-isolated bundle or from a relative path is refused. */
static void test_checkpoint_service(void **state)
{
	Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Containerd__Task__V2__CheckpointTaskRequest ck = CONTAINERD__TASK__V2__CHECKPOINT_TASK_REQUEST__INIT;
	Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	Containerd__Runc__V1__CheckpointOptions o = CONTAINERD__RUNC__V1__CHECKPOINT_OPTIONS__INIT;
	Google__Protobuf__Any any;
	char dir[] = "/tmp/hull-test-ckpt-XXXXXX";
	_cleanup_free_ char *cfg = NULL;
	struct shim_proc *p;
	struct ttrpc_reply r;
	uint8_t buf[256];
	int creates0 = creates;

	ck.id = "k1";
	ck.path = "/img";
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_NOT_FOUND);
	cr.id = "k1";
	cr.bundle = "/b";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_OK);
	free(r.payload);
	/* Created, not started: nothing to dump. */
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_FAILED_PRECONDITION);
	pthread_mutex_lock(&sh.lock);
	for (p = sh.procs; p && strcmp(p->id, "k1") != 0; p = p->next)
		;
	assert_non_null(p);
	p->status = ST_PAUSED; /* ctr pauses the task around its checkpoint */
	pthread_mutex_unlock(&sh.lock);
	ck.path = "";
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_INVALID_ARGUMENT);
	ck.path = "relative";
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.msg, "relative"));
	ck.path = "/img";
	o.n_empty_namespaces = 1;
	o.empty_namespaces = (char *[]){ "network" };
	ck.options = ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf);
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_UNIMPLEMENTED);
	assert_int_equal(checkpoints, 0);
	o.n_empty_namespaces = 0;
	o.exit = true;
	ck.options = ckpt_any(&any, "containerd.runc.v1.CheckpointOptions", &o, buf);
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_OK);
	free(r.payload);
	assert_int_equal(checkpoints, 1);
	assert_true(last_ckpt.exit);
	pthread_mutex_lock(&sh.lock);
	p->status = ST_STOPPED;
	pthread_mutex_unlock(&sh.lock);
	del.id = "k1";
	assert_int_equal(call("Delete", &del.base, &r), TTRPC_OK);
	free(r.payload);

	/* VM-isolated by the bundle's annotation: no checkpoint, no restore. */
	assert_non_null(mkdtemp(dir));
	cfg = xasprintf("%s/config.json", dir);
	static const char json[] = "{\"annotations\":{\"org.hull.isolation\":\"vm\"}}";
	assert_int_equal(write_file_atomic_at(AT_FDCWD, cfg, json, strlen(json), 0600, NULL), 0);
	cr.id = "k2";
	cr.bundle = dir;
	cr.checkpoint = "/img";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_UNIMPLEMENTED);
	assert_non_null(strstr(r.msg, "VM-isolated"));
	cr.checkpoint = "img";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(creates, creates0 + 1);
	cr.checkpoint = "";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_OK);
	free(r.payload);
	pthread_mutex_lock(&sh.lock);
	for (p = sh.procs; p && strcmp(p->id, "k2") != 0; p = p->next)
		;
	p->status = ST_RUNNING;
	pthread_mutex_unlock(&sh.lock);
	ck.id = "k2";
	ck.options = NULL;
	assert_int_equal(call("Checkpoint", &ck.base, &r), TTRPC_UNIMPLEMENTED);
	assert_non_null(strstr(r.msg, "VM-isolated"));
	assert_int_equal(checkpoints, 1);
	pthread_mutex_lock(&sh.lock);
	p->status = ST_STOPPED;
	pthread_mutex_unlock(&sh.lock);
	del.id = "k2";
	assert_int_equal(call("Delete", &del.base, &r), TTRPC_OK);
	free(r.payload);
	unlink(cfg);
	rmdir(dir);
	shim_ckpt_opts_clear(&last_ckpt);
}

/* Create's parent_checkpoint (runc's shim: restore --parent-path) is kept
 * for the restore at Start; a relative one, or one without a checkpoint to
 * restore, is refused before the backend. */
static void test_create_parent_checkpoint(void **state)
{
	Containerd__Task__V2__CreateTaskRequest cr = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Containerd__Task__V2__DeleteRequest del = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	struct shim_proc *p;
	struct ttrpc_reply r;
	int creates0 = creates;

	cr.id = "pc1";
	cr.bundle = "/b";
	cr.parent_checkpoint = "/pre";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.msg, "parent_checkpoint \"/pre\": without a checkpoint"));
	cr.checkpoint = "/img";
	cr.parent_checkpoint = "../pre";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(r.msg, "parent_checkpoint \"../pre\": is not an absolute path"));
	assert_int_equal(creates, creates0);
	cr.parent_checkpoint = "/pre";
	assert_int_equal(call("Create", &cr.base, &r), TTRPC_OK);
	free(r.payload);
	assert_int_equal(creates, creates0 + 1);
	pthread_mutex_lock(&sh.lock);
	for (p = sh.procs; p && strcmp(p->id, "pc1") != 0; p = p->next)
		;
	assert_non_null(p);
	assert_string_equal(p->checkpoint, "/img");
	assert_string_equal(p->parent_checkpoint, "/pre");
	p->status = ST_STOPPED;
	pthread_mutex_unlock(&sh.lock);
	del.id = "pc1";
	assert_int_equal(call("Delete", &del.base, &r), TTRPC_OK);
	free(r.payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_payload_every_method),
		cmocka_unit_test(test_unimplemented_and_unknown_ids),
		cmocka_unit_test(test_create_state_delete),
		cmocka_unit_test(test_create_options_refused),
		cmocka_unit_test(test_stats_metrics),
		cmocka_unit_test(test_checkpoint_opts_decode),
		cmocka_unit_test(test_checkpoint_service),
		cmocka_unit_test(test_create_parent_checkpoint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
