/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the host finds the guest image (kernel + initramfs) of a VM-isolated
 * container: the bundle's annotations, /etc/hull/vm.conf, the install tree
 * next to the hull binary, the build tree.  See guest_image_find() in
 * guest/guest.h for the order and docs/vm-containers.md for the user's view.
 */
#include "guest/guest.h"
#include "oci/oci.h"

#include <libgen.h>
#include <sys/stat.h>

#define CONF_MAX_BYTES (64u << 10)

#define HINT "run `make guest` (or `make install`)"

enum { IMG_KERNEL, IMG_INITRD, IMG_COUNT };

/* One table for the annotation, the vm.conf key and the file names. */
static const struct {
	const char *what, *annotation, *conf_key, *file;
} items[IMG_COUNT] = {
	[IMG_KERNEL] = { "guest kernel", GUEST_ANN_KERNEL, "kernel", "vmlinuz" },
	[IMG_INITRD] = { "guest initramfs", GUEST_ANN_INITRD, "initrd", "initramfs.cpio" },
};

struct found {
	char *path[IMG_COUNT];
	const char *from[IMG_COUNT]; /* "annotation ...", the conf file: for errors */
};

static void found_clear(struct found *f)
{
	for (int i = 0; i < IMG_COUNT; i++)
		free(f->path[i]);
}

static int from_annotations(const struct oci_kv *ann, size_t n, struct found *f, struct hull_err **err)
{
	for (size_t a = 0; a < n; a++) {
		for (int i = 0; i < IMG_COUNT; i++) {
			if (strcmp(ann[a].key, items[i].annotation) != 0)
				continue;
			if (ann[a].value[0] != '/')
				return hull_err_make(err, 0, "annotation %s: \"%s\" is not an absolute path",
						     items[i].annotation, ann[a].value);
			free(f->path[i]);
			f->path[i] = xstrdup(ann[a].value);
			f->from[i] = "annotation";
		}
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Keys of vm.conf that are not the image's: their users read them with
 * guest_conf_value (and check their values). */
static const char *const other_keys[] = { GUEST_CONF_JAIL_UIDS };

/*
 * Every "key=value" line of conf, checked (a known key, once; the image's
 * paths absolute), to fn with its line number.  A missing file is none.
 */
static int conf_read(const char *conf, void (*fn)(void *opaque, const char *key, const char *value, size_t line),
		     void *opaque, struct hull_err **err)
{
	_cleanup_free_ char *text = NULL;
	bool seen[IMG_COUNT + ARRAY_SIZE(other_keys)] = { false };
	size_t len = 0, line = 0;
	struct hull_err *rerr = NULL;
	char *p, *nl;

	if (read_file_at(AT_FDCWD, conf, &text, &len, CONF_MAX_BYTES, &rerr) < 0) {
		int e = rerr->errnum;
		if (e == ENOENT) {
			hull_err_free(&rerr);
			return 0;
		}
		if (err && !*err)
			*err = rerr;
		else
			hull_err_free(&rerr);
		return e > 0 ? -e : -1;
	}
	if (strlen(text) != len)
		return hull_err_make(err, 0, "%s: holds a NUL byte", conf);
	for (p = text; p && *p; p = nl ? nl + 1 : NULL) {
		char *key, *value, *eq;
		size_t i;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		line++;
		key = trim(p);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return hull_err_make(err, 0, "%s line %zu: \"%s\" is not key=value", conf, line, key);
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		for (i = 0; i < ARRAY_SIZE(seen); i++)
			if (strcmp(key, i < IMG_COUNT ? items[i].conf_key : other_keys[i - IMG_COUNT]) == 0)
				break;
		if (i == ARRAY_SIZE(seen))
			return hull_err_make(err, 0, "%s line %zu: unknown key \"%s\" (kernel, initrd or %s)", conf,
					     line, key, GUEST_CONF_JAIL_UIDS);
		if (seen[i])
			return hull_err_make(err, 0, "%s line %zu: %s is set twice", conf, line, key);
		seen[i] = true;
		if (i < IMG_COUNT && value[0] != '/')
			return hull_err_make(err, 0, "%s line %zu: %s: \"%s\" is not an absolute path", conf, line,
					     key, value);
		fn(opaque, key, value, line);
	}
	return 0;
}

struct conf_image {
	struct found *f;
	const char *conf;
};

/* The first place that names an item wins, so the annotations' items are
 * kept, but the whole file is still validated. */
static void image_item(void *opaque, const char *key, const char *value, size_t line)
{
	struct conf_image *c = opaque;

	for (int i = 0; i < IMG_COUNT; i++) {
		if (strcmp(key, items[i].conf_key) != 0 || c->f->path[i])
			continue;
		c->f->path[i] = xstrdup(value);
		c->f->from[i] = c->conf;
	}
}

static int from_conf(const char *conf, struct found *f, struct hull_err **err)
{
	struct conf_image c = { .f = f, .conf = conf };

	return conf_read(conf, image_item, &c, err);
}

struct conf_value {
	const char *key;
	char *value;
	size_t line;
};

static void one_value(void *opaque, const char *key, const char *value, size_t line)
{
	struct conf_value *v = opaque;

	if (strcmp(key, v->key) == 0) {
		v->value = xstrdup(value);
		v->line = line;
	}
}

int guest_conf_value(const char *conf, const char *key, char **value, size_t *line, struct hull_err **err)
{
	struct conf_value v = { .key = key };

	*value = NULL;
	if (conf_read(conf, one_value, &v, err) < 0) {
		free(v.value);
		return -1;
	}
	*value = v.value;
	*line = v.line;
	return 0;
}

/* The directory above the one holding the hull binary (/usr/local for
 * /usr/local/bin/hull, the build dir for build/bin/hull). */
static int exe_prefix(const char *exe, char **out, struct hull_err **err)
{
	char buf[4096];
	ssize_t n;
	char *d;

	if (!exe) {
		n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
		if (n < 0)
			return hull_err_make(err, errno, "readlink /proc/self/exe");
		buf[n] = '\0';
	} else {
		snprintf(buf, sizeof(buf), "%s", exe);
	}
	d = dirname(dirname(buf));
	*out = xstrdup(d);
	return 0;
}

static int check_readable(const char *path, const char *what, const char *from, struct hull_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int e;

	if (fd < 0 || fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else
		return 0;
	return hull_err_make(err, 0, "%s %s%s%s: %s; " HINT, what, path, from ? " from " : "", from ? from : "",
			     e == EINVAL ? "not a regular file" : strerror(e));
}

int guest_image_find_at(const char *conf, const char *exe, const struct oci_kv *annotations,
			size_t n_annotations, char **kernel, char **initrd, struct hull_err **err)
{
	_cleanup_free_ char *prefix = NULL;
	struct found f = { 0 };
	int ret;

	ret = from_annotations(annotations, n_annotations, &f, err);
	if (ret == 0 && conf)
		ret = from_conf(conf, &f, err);
	if (ret == 0 && (!f.path[IMG_KERNEL] || !f.path[IMG_INITRD]))
		ret = exe_prefix(exe, &prefix, err);
	for (int i = 0; ret == 0 && i < IMG_COUNT; i++) {
		_cleanup_free_ char *inst = NULL, *tree = NULL;

		if (f.path[i]) {
			ret = check_readable(f.path[i], items[i].what, f.from[i], err);
			continue;
		}
		inst = xasprintf("%s/lib/hull/%s", prefix, items[i].file);
		tree = xasprintf("%s/guest/%s", prefix, items[i].file);
		/* the first that exists; it must then be readable */
		if (access(inst, F_OK) == 0)
			f.path[i] = take_ptr(inst);
		else if (access(tree, F_OK) == 0)
			f.path[i] = take_ptr(tree);
		else {
			ret = hull_err_make(err, 0, "%s: neither %s nor %s exists; " HINT, items[i].what, inst, tree);
			break;
		}
		ret = check_readable(f.path[i], items[i].what, NULL, err);
	}
	if (ret < 0) {
		found_clear(&f);
		return ret;
	}
	*kernel = f.path[IMG_KERNEL];
	*initrd = f.path[IMG_INITRD];
	return 0;
}

int guest_image_find(const struct oci_kv *annotations, size_t n_annotations, char **kernel, char **initrd,
		     struct hull_err **err)
{
	return guest_image_find_at(GUEST_IMAGE_CONF, NULL, annotations, n_annotations, kernel, initrd, err);
}
