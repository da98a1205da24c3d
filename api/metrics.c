/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics: one JSON object per line to the metrics file or FIFO (PUT
 * /metrics), on FlushMetrics and periodically (server.c), as Firecracker
 * writes them: counters since start, grouped by component.
 */
#include "api/internal.h"

#include <json.h>
#include <time.h>

int api_flush_metrics(struct api_vm *v, struct hull_err **err)
{
	struct microvm_stats st = { 0 };
	struct json_object *o, *g;
	struct timespec ts;
	const char *line;
	char *buf = NULL;
	ssize_t w;
	int n;

	if (v->metrics_fd < 0)
		return 0;
	if (v->state != API_NOT_STARTED)
		v->be->stats(v->be_opaque, &st);
	clock_gettime(CLOCK_REALTIME, &ts);
	o = json_object_new_object();
	json_object_object_add(o, "utc_timestamp_ms",
			       json_object_new_int64((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	g = json_object_new_object();
	json_object_object_add(g, "requests", json_object_new_int64((int64_t)v->requests));
	json_object_object_add(g, "bad_requests", json_object_new_int64((int64_t)v->bad_requests));
	json_object_object_add(o, "api_server", g);
	g = json_object_new_object();
	json_object_object_add(g, "exit_io", json_object_new_int64((int64_t)st.exits_io));
	json_object_object_add(g, "exit_mmio", json_object_new_int64((int64_t)st.exits_mmio));
	json_object_object_add(g, "exit_other", json_object_new_int64((int64_t)st.exits_other));
	json_object_object_add(o, "vcpu", g);
	g = json_object_new_object();
	json_object_object_add(g, "read_count", json_object_new_int64((int64_t)st.blk_reads));
	json_object_object_add(g, "write_count", json_object_new_int64((int64_t)st.blk_writes));
	json_object_object_add(g, "read_bytes", json_object_new_int64((int64_t)st.blk_read_bytes));
	json_object_object_add(g, "write_bytes", json_object_new_int64((int64_t)st.blk_write_bytes));
	json_object_object_add(g, "rate_limiter_throttled_events", json_object_new_int64((int64_t)st.blk_throttled));
	json_object_object_add(o, "block", g);
	g = json_object_new_object();
	json_object_object_add(g, "rx_rate_limiter_throttled", json_object_new_int64((int64_t)st.net_rx_throttled));
	json_object_object_add(g, "tx_rate_limiter_throttled", json_object_new_int64((int64_t)st.net_tx_throttled));
	json_object_object_add(o, "net", g);
	/* Always 0 here: a refused call ends the process, after its handler
	 * wrote this group on a line of its own (microvm/seccomp.c). */
	g = json_object_new_object();
	json_object_object_add(g, "num_faults", json_object_new_int64((int64_t)microvm_seccomp_faults()));
	json_object_object_add(o, "seccomp", g);
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = asprintf(&buf, "%s\n", line);
	json_object_put(o);
	if (n < 0)
		abort();
	/* The fd is non-blocking and only the API thread writes: a FIFO whose
	 * reader is slow loses this line (EAGAIN, an error to the caller)
	 * rather than stalling the API. */
	w = write(v->metrics_fd, buf, (size_t)n);
	free(buf);
	if (w < 0)
		return hull_err_make(err, errno, "metrics_path %s", v->metrics_path);
	return 0;
}
