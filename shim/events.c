// SPDX-License-Identifier: Apache-2.0
/*
 * shim/events.c: task events to containerd, as the runc shim sends them:
 * containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS, an
 * Envelope{timestamp, namespace, topic, Any{"containerd.events.TaskExit",
 * bytes}}.  Handlers and the reaper only queue (a slow or absent containerd
 * never blocks a Task call or a reap); one thread sends in order, so
 * TaskExit precedes TaskDelete.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "shim/internal.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb-c.h"

#define QUEUE_MAX 256

struct event {
	uint8_t *buf; /* a packed ForwardRequest */
	size_t len;
	struct event *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct event *head, **tail = &head;
static size_t queued;
static bool sending;

void shim_publish(struct shim *s, const char *topic, const ProtobufCMessage *ev)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	struct timespec now;
	struct event *e;

	if (!s->ttrpc_address)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	/* containerd's typeurl for its gogo events is the full message name. */
	any.type_url = (char *)ev->descriptor->name;
	any.value.len = protobuf_c_message_get_packed_size(ev);
	any.value.data = xmalloc(any.value.len ? any.value.len : 1);
	protobuf_c_message_pack(ev, any.value.data);
	env.timestamp = &ts;
	env.namespace_ = s->ns;
	env.topic = (char *)topic;
	env.event = &any;
	req.envelope = &env;
	e = xcalloc(1, sizeof(*e));
	e->len = containerd__services__events__ttrpc__v1__forward_request__get_packed_size(&req);
	e->buf = xmalloc(e->len);
	containerd__services__events__ttrpc__v1__forward_request__pack(&req, e->buf);
	free(any.value.data);
	pthread_mutex_lock(&qlock);
	if (queued >= QUEUE_MAX) {
		/* containerd is gone or stuck: drop rather than grow without bound. */
		pthread_mutex_unlock(&qlock);
		hull_warn("shim: event queue full, %s dropped", topic);
		free(e->buf);
		free(e);
		return;
	}
	*tail = e;
	tail = &e->next;
	queued++;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
}

static int dial(const char *address)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = strncmp(address, "unix://", 7) == 0 ? address + 7 : address;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void *publisher(void *arg)
{
	struct shim *s = arg;
	uint32_t stream = 1;
	int fd = -1;

	for (;;) {
		struct event *e;
		struct ttrpc_reply r;
		struct hull_err *err = NULL;
		int ret = -1;

		pthread_mutex_lock(&qlock);
		while (!head)
			pthread_cond_wait(&qcond, &qlock); /* also woken by flushers */
		e = head;
		head = e->next;
		if (!head)
			tail = &head;
		queued--;
		sending = true;
		pthread_mutex_unlock(&qlock);
		/* One reconnect per event: containerd restarted, or closed us. */
		for (int attempt = 0; attempt < 2 && ret < 0; attempt++) {
			if (fd < 0) {
				fd = dial(s->ttrpc_address);
				stream = 1;
			}
			if (fd < 0)
				break;
			ret = ttrpc_call(fd, &stream, "containerd.services.events.ttrpc.v1.Events", "Forward",
					 e->buf, e->len, &r, &err);
			if (ret < 0) {
				hull_err_free(&err);
				close(fd);
				fd = -1;
			}
		}
		if (ret < 0)
			hull_warn("shim: event not delivered to %s", s->ttrpc_address);
		else if (r.code != TTRPC_OK)
			hull_warn("shim: event refused: %s", r.msg);
		if (ret == 0)
			free(r.payload);
		free(e->buf);
		free(e);
		pthread_mutex_lock(&qlock);
		sending = false;
		pthread_cond_broadcast(&qcond);
		pthread_mutex_unlock(&qlock);
	}
	return NULL;
}

void shim_events_flush(struct shim *s)
{
	if (!s->ttrpc_address)
		return;
	pthread_mutex_lock(&qlock);
	while (head || sending)
		pthread_cond_wait(&qcond, &qlock);
	pthread_mutex_unlock(&qlock);
}

int shim_events_start(struct shim *s)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (!s->ttrpc_address)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &attr, publisher, s) == 0 ? 0 : -1;
	pthread_attr_destroy(&attr);
	return ret;
}
