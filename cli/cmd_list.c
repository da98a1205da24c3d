/* SPDX-License-Identifier: Apache-2.0 */
/* list and ps: runc's table and JSON shapes (containerd parses ps --format json). */
#include "cli.h"

#include <json-c/json.h>

static int parse_format(const char *s, bool *json, struct hull_err **err)
{
	if (strcmp(s, "json") == 0)
		*json = true;
	else if (strcmp(s, "table") == 0)
		*json = false;
	else
		return hull_err_make(err, 0, "--format: unknown format \"%s\" (table or json)", s);
	return 0;
}

CLI_CMD(list)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	struct runtime_info *v = NULL;
	bool json = false, quiet = false;
	size_t n = 0;
	int c;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+f:q", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (c == 'q')
			quiet = true;
		else if (parse_format(optarg, &json, err) < 0)
			return -1;
	}
	if (cli_need_args(argc, argv, 0, "", err) < 0)
		return -1;
	if (runtime_list(&g->rt, &v, &n, err) < 0)
		return -1;
	if (json) {
		struct json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "ociVersion", json_object_new_string(HULL_OCI_SPEC_VERSION));
			json_object_object_add(o, "id", json_object_new_string(v[i].id));
			json_object_object_add(o, "pid", json_object_new_int(v[i].pid));
			json_object_object_add(o, "status", json_object_new_string(oci_status_names[v[i].status]));
			json_object_object_add(o, "bundle", json_object_new_string(v[i].bundle ? v[i].bundle : ""));
			json_object_object_add(o, "created", json_object_new_string(v[i].created ? v[i].created : ""));
			json_object_object_add(o, "owner", json_object_new_string(v[i].owner ? v[i].owner : ""));
			json_object_array_add(arr, o);
		}
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].id);
	} else {
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++)
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", v[i].id, v[i].pid,
			       oci_status_names[v[i].status], v[i].bundle, v[i].created, v[i].owner);
	}
	runtime_info_free(v, n);
	return 0;
}

/* Table format: run ps(1) with the given arguments and keep the header plus the
 * rows whose PID column is a container pid, as runc does. */
static int ps_table(char **ps_args, const pid_t *pids, size_t n, struct hull_err **err)
{
	_cleanup_free_ char *cmd = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int pid_col = -1, line_no = 0;
	FILE *f;

	cmd = xstrdup("ps");
	for (size_t i = 0; ps_args && ps_args[i]; i++) {
		char *q = xasprintf("%s '%s'", cmd, ps_args[i]);
		if (strchr(ps_args[i], '\''))
			return hull_err_make(err, 0, "ps argument \"%s\" contains a quote", ps_args[i]);
		free(cmd);
		cmd = q;
	}
	if (!ps_args || !ps_args[0]) {
		free(cmd);
		cmd = xstrdup("ps -ef");
	}
	f = popen(cmd, "re");
	if (!f)
		return hull_err_make(err, errno, "run %s", cmd);
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *copy = xstrdup(line);
		int col = 0;
		bool keep = false;
		if (line_no++ == 0) {
			for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(tok, "PID") == 0)
					pid_col = col;
			free(copy);
			if (pid_col < 0) {
				pclose(f);
				return hull_err_make(err, 0, "ps output has no PID column");
			}
			fputs(line, stdout);
			continue;
		}
		for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (col == pid_col) {
				long p = strtol(tok, NULL, 10);
				for (size_t i = 0; i < n; i++)
					keep |= pids[i] == p;
				break;
			}
		}
		free(copy);
		if (keep)
			fputs(line, stdout);
	}
	pclose(f);
	return 0;
}

CLI_CMD(ps)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	_cleanup_free_ pid_t *pids = NULL;
	bool json = false;
	size_t n = 0;
	int c, r = 0;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+f:", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (parse_format(optarg, &json, err) < 0)
			return -1;
	}
	if (optind >= argc)
		return hull_err_make(err, 0, "missing container id");
	if (runtime_ps(&g->rt, argv[optind], &pids, &n, err) < 0)
		return -1;
	if (json) {
		struct json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, json_object_new_int(pids[i]));
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else {
		char **ps_args = argv + optind + 1;
		if (ps_args[0] && strcmp(ps_args[0], "--") == 0)
			ps_args++;
		fflush(stdout);
		r = ps_table(ps_args, pids, n, err);
	}
	return r < 0 ? -1 : 0;
}
