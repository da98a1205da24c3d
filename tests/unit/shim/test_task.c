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

static const struct shim_backend stub = {
	.name = "stub", .create = stub_create, .start = stub_fail, .exec = stub_fail, .remove = stub_remove,
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

	assert_int_equal(call("Stats", NULL, &r), TTRPC_UNIMPLEMENTED);
	assert_int_equal(call("Checkpoint", NULL, &r), TTRPC_UNIMPLEMENTED);
	st.id = "nope";
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
	/* A live container keeps the shim: Shutdown answers and stays. */
	assert_int_equal(call("Shutdown", &sd.base, &r), TTRPC_OK);
	del.id = "c1";
	assert_int_equal(call("Delete", &del.base, &r), TTRPC_OK);
	free(r.payload);
	assert_int_equal(removes, 1);
	assert_int_equal(call("State", &st.base, &r), TTRPC_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_payload_every_method),
		cmocka_unit_test(test_unimplemented_and_unknown_ids),
		cmocka_unit_test(test_create_state_delete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
