/* SPDX-License-Identifier: Apache-2.0 */
/* pause, resume, update and events: runc's flags and output shapes. */
#include "cli.h"

#include <json-c/json.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>

static int one_id(int argc, char **argv, const char **id, struct hull_err **err)
{
	static const struct option none[] = { { 0 } };
	int c;

	optind = 0;
	do {
		if (cli_getopt(argc, argv, "+", none, &c, err) < 0)
			return -1;
	} while (c != -1);
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	*id = argv[optind];
	return 0;
}

CLI_CMD(pause)
{
	const char *id;
	return one_id(argc, argv, &id, err) < 0 || runtime_pause(&g->rt, id, true, err) < 0 ? -1 : 0;
}

CLI_CMD(resume)
{
	const char *id;
	return one_id(argc, argv, &id, err) < 0 || runtime_pause(&g->rt, id, false, err) < 0 ? -1 : 0;
}

/* runc's units.RAMInBytes: a number with an optional k/m/g/t suffix (binary);
 * "-1" means unlimited. */
static int parse_bytes(const char *flag, const char *s, int64_t *out, struct hull_err **err)
{
	static const struct { char c; int shift; } units[] = {
		{ 'k', 10 }, { 'm', 20 }, { 'g', 30 }, { 't', 40 },
	};
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		goto bad;
	if (*end) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(units); i++)
			if ((end[0] | 0x20) == units[i].c)
				break;
		if (i == ARRAY_SIZE(units) || (end[1] && !((end[1] | 0x20) == 'b' && !end[2])) || v < 0 ||
		    v > (INT64_MAX >> units[i].shift))
			goto bad;
		v <<= units[i].shift;
	}
	*out = v;
	return 0;
bad:
	return hull_err_make(err, 0, "--%s: invalid size \"%s\"", flag, s);
}

static int parse_num(const char *flag, const char *s, int64_t *out, struct hull_err **err)
{
	if (parse_i64(s, out) < 0)
		return hull_err_make(err, 0, "--%s: invalid number \"%s\"", flag, s);
	return 0;
}

enum { U_RES = 'r', U_BLKIO = 256, U_PERIOD, U_QUOTA, U_SHARES, U_RTPERIOD, U_RTRUNTIME, U_CPUS, U_MEMS,
       U_MEM, U_MEMRES, U_SWAP, U_KMEM, U_KMEMTCP, U_PIDS, U_L3, U_MEMBW };

CLI_CMD(update)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, U_RES },
		{ "blkio-weight", required_argument, NULL, U_BLKIO },
		{ "cpu-period", required_argument, NULL, U_PERIOD },
		{ "cpu-quota", required_argument, NULL, U_QUOTA },
		{ "cpu-share", required_argument, NULL, U_SHARES },
		{ "cpu-rt-period", required_argument, NULL, U_RTPERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, U_RTRUNTIME },
		{ "cpuset-cpus", required_argument, NULL, U_CPUS },
		{ "cpuset-mems", required_argument, NULL, U_MEMS },
		{ "memory", required_argument, NULL, U_MEM },
		{ "memory-reservation", required_argument, NULL, U_MEMRES },
		{ "memory-swap", required_argument, NULL, U_SWAP },
		{ "kernel-memory", required_argument, NULL, U_KMEM },
		{ "kernel-memory-tcp", required_argument, NULL, U_KMEMTCP },
		{ "pids-limit", required_argument, NULL, U_PIDS },
		{ "l3-cache-schema", required_argument, NULL, U_L3 },
		{ "mem-bw-schema", required_argument, NULL, U_MEMBW },
		{ 0 }
	};
	struct oci_resources res = { 0 };
	const char *file = NULL;
	int64_t v;
	int c, r = -1;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+r:", opts, &c, err) < 0)
			goto out;
		if (c == -1)
			break;
		switch (c) {
		case U_RES: file = optarg; break;
		case U_BLKIO:
			if (parse_num("blkio-weight", optarg, &v, err) < 0)
				goto out;
			if (v < 0 || v > UINT16_MAX) {
				hull_err_make(err, 0, "--blkio-weight: out of range \"%s\"", optarg);
				goto out;
			}
			res.block_io.has_weight = true;
			res.block_io.weight = (uint16_t)v;
			break;
		case U_PERIOD: case U_SHARES: case U_RTPERIOD: {
			const char *flag = c == U_PERIOD ? "cpu-period" : c == U_SHARES ? "cpu-share" : "cpu-rt-period";
			if (parse_num(flag, optarg, &v, err) < 0)
				goto out;
			if (v < 0) {
				hull_err_make(err, 0, "--%s: must not be negative", flag);
				goto out;
			}
			if (c == U_PERIOD)
				res.cpu.has_period = true, res.cpu.period = (uint64_t)v;
			else if (c == U_SHARES)
				res.cpu.has_shares = true, res.cpu.shares = (uint64_t)v;
			else
				res.cpu.has_realtime_period = true, res.cpu.realtime_period = (uint64_t)v;
			break;
		}
		case U_QUOTA:
			if (parse_num("cpu-quota", optarg, &v, err) < 0)
				goto out;
			res.cpu.has_quota = true;
			res.cpu.quota = v;
			break;
		case U_RTRUNTIME:
			if (parse_num("cpu-rt-runtime", optarg, &v, err) < 0)
				goto out;
			res.cpu.has_realtime_runtime = true;
			res.cpu.realtime_runtime = v;
			break;
		case U_CPUS: free(res.cpu.cpus); res.cpu.cpus = xstrdup(optarg); break;
		case U_MEMS: free(res.cpu.mems); res.cpu.mems = xstrdup(optarg); break;
		case U_MEM:
			if (parse_bytes("memory", optarg, &res.memory.limit, err) < 0)
				goto out;
			res.memory.has_limit = true;
			break;
		case U_MEMRES:
			if (parse_bytes("memory-reservation", optarg, &res.memory.reservation, err) < 0)
				goto out;
			res.memory.has_reservation = true;
			break;
		case U_SWAP:
			if (parse_bytes("memory-swap", optarg, &res.memory.swap, err) < 0)
				goto out;
			res.memory.has_swap = true;
			break;
		case U_KMEM: case U_KMEMTCP:
			/* runc ignores kernel memory on current kernels too. */
			hull_warn("--%s is ignored (kernel memory accounting is not configurable)",
				  c == U_KMEM ? "kernel-memory" : "kernel-memory-tcp");
			break;
		case U_PIDS:
			if (parse_num("pids-limit", optarg, &v, err) < 0)
				goto out;
			res.pids.has_limit = true;
			res.pids.limit = v;
			break;
		case U_L3: case U_MEMBW:
			hull_err_make(err, 0, "--%s: Intel RDT is not supported by hull",
				      c == U_L3 ? "l3-cache-schema" : "mem-bw-schema");
			goto out;
		}
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		goto out;
	if (file) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		const char *what = strcmp(file, "-") == 0 ? "stdin" : file;
		oci_resources_clear(&res);
		memset(&res, 0, sizeof(res));
		/* "-" reads fd 0 itself: /dev/stdin is missing where nothing made it
		 * (the guest agent's devtmpfs). */
		if ((strcmp(file, "-") == 0 ? read_fd_all(STDIN_FILENO, "stdin", &text, &len, 0, err)
					    : read_file_at(AT_FDCWD, file, &text, &len, 0, err)) < 0 ||
		    oci_resources_parse(text, len, what, &res, err) < 0) {
			hull_err_wrap(err, "--resources");
			goto out;
		}
	}
	r = runtime_update(&g->rt, argv[optind], &res, err);
out:
	oci_resources_clear(&res);
	return r < 0 ? -1 : 0;
}

static void print_event(const char *type, const char *id, const char *data_json)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "id", json_object_new_string(id));
	if (data_json)
		json_object_object_add(o, "data", json_tokener_parse(data_json));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* Durations as runc takes them: "5s", "500ms", "1m", or plain seconds. */
static int parse_interval(const char *s, int *ms, struct hull_err **err)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		goto bad;
	if (!*end || !strcmp(end, "s"))
		v *= 1000;
	else if (!strcmp(end, "m"))
		v *= 60000;
	else if (strcmp(end, "ms") != 0)
		goto bad;
	if (v < 1 || v > 86400000)
		goto bad;
	*ms = (int)v;
	return 0;
bad:
	return hull_err_make(err, 0, "--interval: invalid duration \"%s\"", s);
}

CLI_CMD(events)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ 0 }
	};
	bool stats = false;
	int c, interval = 5000;
	const char *id;
	_cleanup_close_ int oom_fd = -1;
	uint64_t ooms = 0;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (c == 's')
			stats = true;
		else if (parse_interval(optarg, &interval, err) < 0)
			return -1;
	}
	if (cli_need_args(argc, argv, 1, "container id", err) < 0)
		return -1;
	id = argv[optind];
	if (stats) {
		_cleanup_free_ char *json = NULL;
		if (runtime_stats_json(&g->rt, id, &json, err) < 0)
			return -1;
		print_event("stats", id, json);
		return 0;
	}
	if (runtime_oom_watch(&g->rt, id, &oom_fd, &ooms, err) < 0)
		return -1;
	/* v2 hands us memory.events (a kernfs file: POLLPRI on change, re-armed by
	 * reading that same fd; it always polls readable), v1 an eventfd, a
	 * VM-isolated container its agent's connection (readable once at the
	 * next OOM kill in the guest: then watched anew, which counts). */
	struct stat st;
	bool v2 = oom_fd >= 0 && fstat(oom_fd, &st) == 0 && S_ISREG(st.st_mode);
	bool vm = oom_fd >= 0 && !v2 && S_ISSOCK(st.st_mode);

	/* v1's eventfd counts invocations of the OOM killer, and one kill is
	 * several (the allocation retried while its victim dies): a wake opens a
	 * burst of V1_OOM_BURST_MS in which the kills counted (oom_kill) are the
	 * events, or one event if none was (the killer disabled: the container
	 * waits under OOM). */
	enum { V1_OOM_BURST_MS = 1000, V1_OOM_STEP_MS = 10 };
	int burst_left = 0;
	bool burst_told = false;

	/* Stream until the container is gone: stats every interval, OOMs as they come. */
	for (;;) {
		_cleanup_free_ char *json = NULL;
		struct pollfd p = { .fd = oom_fd, .events = v2 ? POLLPRI : POLLIN };
		struct timespec t0, t1;
		int left = interval;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (left > 0) {
			int step = burst_left > 0 && left > V1_OOM_STEP_MS ? V1_OOM_STEP_MS : left;
			int n = poll(&p, oom_fd >= 0 ? 1 : 0, step);
			uint64_t now = ooms;
			if (n > 0 && v2 && (p.revents & POLLPRI)) {
				char buf[512];
				if (lseek(oom_fd, 0, SEEK_SET) < 0 || read(oom_fd, buf, sizeof(buf)) < 0)
					p.fd = -1;
				if (runtime_oom_count(&g->rt, id, &now, NULL) == 0)
					for (; ooms < now; ooms++)
						print_event("oom", id, NULL);
			} else if (n > 0 && vm && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
				if (runtime_oom_watch(&g->rt, id, &oom_fd, &now, NULL) == 0) {
					for (; ooms < now; ooms++)
						print_event("oom", id, NULL);
				} else if (oom_fd >= 0) {
					close(oom_fd);
					oom_fd = -1;
				}
				p.fd = oom_fd;
			} else if (n > 0 && !v2 && (p.revents & POLLIN)) {
				uint64_t cnt = 0;
				if (read(oom_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
					p.fd = -1;
				else if (burst_left <= 0) {
					burst_left = V1_OOM_BURST_MS;
					burst_told = false;
				}
			} else if (n > 0) {
				p.fd = -1;   /* POLLERR/POLLHUP/POLLNVAL: stop watching, keep the stats */
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			int spent = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
			if (burst_left > 0) {
				/* the kill is counted just after the eventfd fires */
				if (runtime_oom_count(&g->rt, id, &now, NULL) == 0)
					for (; ooms < now; ooms++, burst_told = true)
						print_event("oom", id, NULL);
				burst_left -= spent - (interval - left);
				if (burst_left <= 0 && !burst_told)
					print_event("oom", id, NULL);
			}
			left = interval - spent;
		}
		if (runtime_stats_json(&g->rt, id, &json, NULL) < 0)
			return 0;   /* the container is gone: the stream ends, as runc's does */
		print_event("stats", id, json);
	}
}
