/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log sink.  JSON lines match runc's logrus format because containerd's shim
 * reads the last {"level":"error","msg":...} line of --log to report failures.
 */
#include "common.h"

#include <json-c/json.h>
#include <signal.h>
#include <time.h>

static int log_fd = STDERR_FILENO;
static bool log_json;
static enum hull_log_level log_level = HULL_LOG_WARN;

static const char *const level_names[] = {
	[HULL_LOG_ERROR] = "error",
	[HULL_LOG_WARN] = "warning",
	[HULL_LOG_INFO] = "info",
	[HULL_LOG_DEBUG] = "debug",
};

void hull_log_init(int fd, bool json, enum hull_log_level level)
{
	log_fd = fd;
	log_json = json;
	log_level = level;
}

void hull_log_get(int *fd, bool *json, enum hull_log_level *level)
{
	*fd = log_fd;
	*json = log_json;
	*level = log_level;
}

bool hull_log_enabled(enum hull_log_level lvl)
{
	return log_fd >= 0 && lvl <= log_level;
}

void hull_log_leave_stdio(void)
{
	if (log_fd <= STDERR_FILENO)
		log_fd = -1;
}

/* "msg" with \\, \" and control characters escaped, so one message is one line. */
static char *quote(const char *msg)
{
	size_t n = strlen(msg);
	char *out = xcalloc(n * 4 + 3, 1), *o = out;

	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p == '\n') {
			o = stpcpy(o, "\\n");
		} else if (*p == '\t') {
			o = stpcpy(o, "\\t");
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '"';
	return out;
}

void hull_log(enum hull_log_level lvl, const char *fmt, ...)
{
	char ts[64];
	struct timespec now;
	struct tm tm;
	va_list ap;
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char *line = NULL;

	if (!hull_log_enabled(lvl))
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;

	if (log_json) {
		struct json_object *o = json_object_new_object();
		clock_gettime(CLOCK_REALTIME, &now);
		utc_time(now.tv_sec, &tm);
		snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec);
		json_object_object_add(o, "level", json_object_new_string(level_names[lvl]));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		line = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (log_fd == STDERR_FILENO && lvl <= HULL_LOG_WARN) {
		/* On a terminal, errors and warnings are hull's one-line form. */
		line = lvl == HULL_LOG_ERROR ? xasprintf("hull: %s\n", msg)
					     : xasprintf("hull: %s: %s\n", level_names[lvl], msg);
	} else {
		/* logrus's text form, as runc writes it (msg quoted as Go's %q). */
		_cleanup_free_ char *q = quote(msg);
		clock_gettime(CLOCK_REALTIME, &now);
		utc_time(now.tv_sec, &tm);
		line = xasprintf("time=\"%04d-%02d-%02dT%02d:%02d:%02dZ\" level=%s msg=%s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				 tm.tm_sec, level_names[lvl], q);
	}
	(void)write_all(log_fd, line, strlen(line));
}

size_t buf_put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

size_t buf_put_num(char *buf, size_t at, size_t cap, unsigned long long v, int width)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n < width && n < (int)sizeof(d))
		d[n++] = '0';
	while (n > 0 && at + 1 < cap)
		buf[at++] = d[--n];
	return at;
}

/* hull_log's three forms, built by hand: utc_time is arithmetic only. */
void hull_log_signal_safe(enum hull_log_level lvl, const char *msg)
{
	char line[512], ts[40];
	size_t n = 0, t = 0;
	struct timespec now;
	struct tm tm;

	if (!hull_log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	utc_time(now.tv_sec, &tm);
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_year + 1900, 4);
	t = buf_put_str(ts, t, sizeof(ts), "-");
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_mon + 1, 2);
	t = buf_put_str(ts, t, sizeof(ts), "-");
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_mday, 2);
	t = buf_put_str(ts, t, sizeof(ts), "T");
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_hour, 2);
	t = buf_put_str(ts, t, sizeof(ts), ":");
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_min, 2);
	t = buf_put_str(ts, t, sizeof(ts), ":");
	t = buf_put_num(ts, t, sizeof(ts), (unsigned)tm.tm_sec, 2);
	ts[t] = '\0';
	if (log_json) {
		/* json-c's order: level, msg, time */
		n = buf_put_str(line, n, sizeof(line), "{\"level\":\"");
		n = buf_put_str(line, n, sizeof(line), level_names[lvl]);
		n = buf_put_str(line, n, sizeof(line), "\",\"msg\":\"");
		n = buf_put_str(line, n, sizeof(line), msg);
		n = buf_put_str(line, n, sizeof(line), "\",\"time\":\"");
		n = buf_put_str(line, n, sizeof(line), ts);
		n = buf_put_str(line, n, sizeof(line), ".");
		n = buf_put_num(line, n, sizeof(line), (unsigned long long)now.tv_nsec, 9);
		n = buf_put_str(line, n, sizeof(line), "Z\"}");
	} else if (log_fd == STDERR_FILENO && lvl <= HULL_LOG_WARN) {
		n = buf_put_str(line, n, sizeof(line), "hull: ");
		if (lvl != HULL_LOG_ERROR) {
			n = buf_put_str(line, n, sizeof(line), level_names[lvl]);
			n = buf_put_str(line, n, sizeof(line), ": ");
		}
		n = buf_put_str(line, n, sizeof(line), msg);
	} else {
		n = buf_put_str(line, n, sizeof(line), "time=\"");
		n = buf_put_str(line, n, sizeof(line), ts);
		n = buf_put_str(line, n, sizeof(line), "Z\" level=");
		n = buf_put_str(line, n, sizeof(line), level_names[lvl]);
		n = buf_put_str(line, n, sizeof(line), " msg=\"");
		n = buf_put_str(line, n, sizeof(line), msg);
		n = buf_put_str(line, n, sizeof(line), "\"");
	}
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}

void hull_test_pause(const char *phase)
{
	const char *want = getenv("HULL_TEST_PAUSE");

	if (want && strcmp(want, phase) == 0)
		raise(SIGSTOP);
}
