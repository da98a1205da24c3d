/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <sys/stat.h>

CLI_CMD(spec)
{
	static const struct option opts[] = {
		{ "rootless", no_argument, NULL, 'r' },
		{ "bundle", required_argument, NULL, 'b' },
		{ 0 }
	};
	_cleanup_free_ char *json = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	const char *bundle = ".";
	bool rootless = false;
	int c, r;

	optind = 0;
	for (;;) {
		if (cli_getopt(argc, argv, "+b:", opts, &c, err) < 0)
			return -1;
		if (c == -1)
			break;
		if (c == 'r')
			rootless = true;
		else
			bundle = optarg;
	}
	if (cli_need_args(argc, argv, 0, "", err) < 0)
		return -1;
	json = oci_spec_default_json(rootless, getuid(), getgid());
	path = xasprintf("%s/config.json", bundle);
	/* runc refuses to overwrite an existing config.json; so do we. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return hull_err_make(err, errno, "%s", path);
	r = write_all(fd, json, strlen(json));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r < 0)
		return hull_err_make(err, -r, "write %s", path);
	return 0;
}

CLI_CMD(features)
{
	_cleanup_free_ char *json = NULL;

	if (argc > 1)
		return hull_err_make(err, 0, "unexpected argument \"%s\"", argv[1]);
	json = oci_features_json();
	printf("%s\n", json);
	return 0;
}
