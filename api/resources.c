/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's resources (machine-config, boot-source, drives,
 * network-interfaces, vsock, logger, metrics) kept as the microVM being
 * configured, checked field by field as Firecracker's API does (an unknown
 * field or a wrong type is refused), and turned into a vm_config at
 * InstanceStart.  A resource is written only after all its fields passed,
 * so a refused request changes nothing.
 */
#include "api/internal.h"

#include <ctype.h>
#include <json.h>
#include <sys/stat.h>

#define NOT_AFTER_START "The requested operation is not supported after starting the microVM."

enum ftype { F_STR, F_U64, F_BOOL, F_OBJ };

struct field {
	const char *name;
	enum ftype type;
	bool required;
};

/* Unknown fields, missing required ones and wrong types, named. */
static int check_fields(struct json_object *o, const struct field *f, size_t n, struct hull_err **err)
{
	if (!json_object_is_type(o, json_type_object))
		return hull_err_make(err, 0, "the request body must be a JSON object");
	json_object_object_foreach(o, key, val) {
		size_t i;
		for (i = 0; i < n && strcmp(f[i].name, key) != 0; i++)
			;
		if (i == n)
			return hull_err_make(err, 0, "unknown field `%s`", key);
		bool ok = false;
		switch (f[i].type) {
		case F_STR: ok = json_object_is_type(val, json_type_string); break;
		case F_BOOL: ok = json_object_is_type(val, json_type_boolean); break;
		case F_OBJ: ok = json_object_is_type(val, json_type_object) || !val; break;
		case F_U64:
			ok = json_object_is_type(val, json_type_int) && json_object_get_int64(val) >= 0;
			break;
		}
		if (!ok)
			return hull_err_make(err, 0, "field `%s`: expected %s", key,
					     f[i].type == F_STR ? "a string" : f[i].type == F_BOOL ? "a boolean" :
					     f[i].type == F_OBJ ? "an object" : "a non-negative integer");
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && !json_object_object_get_ex(o, f[i].name, NULL))
			return hull_err_make(err, 0, "missing field `%s`", f[i].name);
	return 0;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static bool get_u64(struct json_object *o, const char *k, uint64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !v)
		return false;
	*out = (uint64_t)json_object_get_int64(v);
	return true;
}

static bool get_bool(struct json_object *o, const char *k, bool def)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_boolean(v) : def;
}

static bool has(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && v;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* Paths are checked when given, as Firecracker does, so the error names the
 * request that carried the bad path. */
static int check_file(const char *what, const char *path, int mode, struct hull_err **err)
{
	struct stat st;

	if (!*path)
		return hull_err_make(err, 0, "%s: empty path", what);
	if (stat(path, &st) < 0 || access(path, mode) < 0)
		return hull_err_make(err, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return hull_err_make(err, 0, "%s %s: not a regular file or block device", what, path);
	return 0;
}

static int not_started(const struct api_vm *v, struct hull_err **err)
{
	return v->state == API_NOT_STARTED ? 0 : hull_err_make(err, 0, NOT_AFTER_START);
}

void api_vm_init(struct api_vm *v, const char *id, const struct api_backend *be, void *opaque)
{
	memset(v, 0, sizeof(*v));
	v->id = id ? id : "anonymous-instance";
	v->vcpus = 1;
	v->mem_mib = 128;
	v->metrics_fd = -1;
	v->be = be;
	v->be_opaque = opaque;
}

void api_vm_free(struct api_vm *v)
{
	free(v->kernel);
	free(v->initrd);
	free(v->boot_args);
	for (unsigned int i = 0; i < v->ndrives; i++) {
		free(v->drives[i].id);
		free(v->drives[i].path);
		free(v->drives[i].partuuid);
	}
	for (unsigned int i = 0; i < v->nnets; i++) {
		free(v->nets[i].id);
		free(v->nets[i].tap);
	}
	free(v->vsock_uds);
	free(v->log_path);
	free(v->log_level);
	free(v->metrics_path);
	free(v->cmdline);
	if (v->metrics_fd >= 0) {
		microvm_seccomp_metrics_fd(-1);
		close(v->metrics_fd);
	}
	memset(v, 0, sizeof(*v));
	v->metrics_fd = -1;
}

/* ---- machine-config ---------------------------------------------------------- */

int api_put_machine(struct api_vm *v, struct json_object *o, bool patch, struct hull_err **err)
{
	static const struct field f[] = {
		{ "vcpu_count", F_U64, true }, { "mem_size_mib", F_U64, true }, { "smt", F_BOOL, false },
		{ "track_dirty_pages", F_BOOL, false }, { "huge_pages", F_STR, false },
		{ "cpu_template", F_STR, false },
	};
	struct field fp[ARRAY_SIZE(f)];
	uint64_t cpus = v->vcpus, mem = v->mem_mib;
	const char *hp, *tmpl;
	bool huge = patch ? v->hugepages : false;

	if (not_started(v, err) < 0)
		return -1;
	memcpy(fp, f, sizeof(f));
	for (size_t i = 0; patch && i < ARRAY_SIZE(fp); i++)
		fp[i].required = false;
	if (check_fields(o, fp, ARRAY_SIZE(fp), err) < 0)
		return -1;
	get_u64(o, "vcpu_count", &cpus);
	get_u64(o, "mem_size_mib", &mem);
	if (cpus < 1 || cpus > MICROVM_MAX_CPUS)
		return hull_err_make(err, 0, "vcpu_count %" PRIu64 ": must be 1..%d", cpus, MICROVM_MAX_CPUS);
	if (mem == 0)
		return hull_err_make(err, 0, "mem_size_mib: must be positive");
	/* microvm/ checks the memory range itself at start (its layout's limits) */
	if (get_bool(o, "smt", false))
		return hull_err_make(err, 0, "smt: not supported by hull (each vCPU is a core)");
	if (get_bool(o, "track_dirty_pages", false))
		return hull_err_make(err, 0, "track_dirty_pages: not supported by hull (no snapshots)");
	hp = get_str(o, "huge_pages");
	if (hp && strcmp(hp, "None") == 0)
		huge = false;
	else if (hp && strcmp(hp, "2M") == 0)
		huge = true;
	else if (hp)
		return hull_err_make(err, 0, "huge_pages \"%s\": None or 2M", hp);
	tmpl = get_str(o, "cpu_template");
	if (tmpl && strcmp(tmpl, "None") != 0)
		return hull_err_make(err, 0, "cpu_template \"%s\": not supported by hull (None only)", tmpl);
	v->vcpus = (unsigned int)cpus;
	v->mem_mib = mem;
	v->hugepages = huge;
	return 0;
}

/* ---- boot-source ------------------------------------------------------------- */

int api_put_boot(struct api_vm *v, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "kernel_image_path", F_STR, true }, { "boot_args", F_STR, false }, { "initrd_path", F_STR, false },
	};
	const char *k, *i;

	if (not_started(v, err) < 0 || check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return -1;
	k = get_str(o, "kernel_image_path");
	i = get_str(o, "initrd_path");
	if (check_file("kernel_image_path", k, R_OK, err) < 0 || (i && check_file("initrd_path", i, R_OK, err) < 0))
		return -1;
	set_str(&v->kernel, k);
	set_str(&v->initrd, i);
	set_str(&v->boot_args, get_str(o, "boot_args"));
	return 0;
}

/* ---- rate limiters --------------------------------------------------------------- */

/* A TokenBucket: size and refill_time required, one_time_burst optional.
 * json-c keeps integers past INT64_MAX as unsigned; beyond 2^64 it has no
 * integer at all, which check_fields refuses as not an integer. */
static int parse_bucket(struct json_object *o, struct vm_bucket *b, struct hull_err **err)
{
	static const struct field f[] = {
		{ "size", F_U64, true }, { "one_time_burst", F_U64, false }, { "refill_time", F_U64, true },
	};
	struct json_object *x;

	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return -1;
	/* json-c saturates a number past 2^64 - 1 at it: refuse both */
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (json_object_object_get_ex(o, f[i].name, &x) && x && json_object_get_uint64(x) == UINT64_MAX)
			return hull_err_make(err, 0, "field `%s`: out of range (at most %" PRIu64 ")", f[i].name,
					     UINT64_MAX - 1);
	memset(b, 0, sizeof(*b));
	json_object_object_get_ex(o, "size", &x);
	b->size = json_object_get_uint64(x);
	json_object_object_get_ex(o, "refill_time", &x);
	b->refill_ms = json_object_get_uint64(x);
	if (json_object_object_get_ex(o, "one_time_burst", &x) && x)
		b->one_time_burst = json_object_get_uint64(x);
	if (b->refill_ms > VM_BUCKET_MAX_REFILL_MS)
		return hull_err_make(err, 0, "field `refill_time` %" PRIu64 ": at most %" PRIu64 " ms", b->refill_ms,
				     (uint64_t)VM_BUCKET_MAX_REFILL_MS);
	return 0;
}

/* Firecracker's RateLimiter {bandwidth, ops} into *rl: a bucket that is
 * absent or null keeps what *rl had (PATCH) or is none (PUT: *rl zeroed by
 * the caller); size or refill_time 0 turns it off. */
static int parse_limiter(const char *name, struct json_object *o, struct vm_rate_limiter *rl, struct hull_err **err)
{
	static const struct field f[] = { { "bandwidth", F_OBJ, false }, { "ops", F_OBJ, false } };
	struct vm_rate_limiter n = *rl;
	struct json_object *x;

	if (!o)
		return 0;
	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return hull_err_wrap(err, "%s", name);
	if (json_object_object_get_ex(o, "bandwidth", &x) && x && parse_bucket(x, &n.bw, err) < 0)
		return hull_err_wrap(err, "%s.bandwidth", name);
	if (json_object_object_get_ex(o, "ops", &x) && x && parse_bucket(x, &n.ops, err) < 0)
		return hull_err_wrap(err, "%s.ops", name);
	*rl = n;
	return 0;
}

static struct json_object *limiter_json(const struct vm_rate_limiter *rl)
{
	struct json_object *o = json_object_new_object();
	const struct vm_bucket *b[2] = { &rl->bw, &rl->ops };
	const char *names[2] = { "bandwidth", "ops" };

	for (int i = 0; i < 2; i++) {
		struct json_object *j;
		if (!b[i]->size || !b[i]->refill_ms)
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "size", json_object_new_uint64(b[i]->size));
		json_object_object_add(j, "one_time_burst", json_object_new_uint64(b[i]->one_time_burst));
		json_object_object_add(j, "refill_time", json_object_new_uint64(b[i]->refill_ms));
		json_object_object_add(o, names[i], j);
	}
	return o;
}

static struct json_object *get_obj(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* ---- drives ------------------------------------------------------------------ */

static int check_id(const char *what, const char *path_id, struct json_object *o, const char *key,
		    struct hull_err **err)
{
	const char *body_id = get_str(o, key);

	if (!*path_id || strlen(path_id) > 64)
		return hull_err_make(err, 0, "%s id \"%s\": 1..64 characters", what, path_id);
	for (const char *p = path_id; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
			return hull_err_make(err, 0, "%s id \"%s\": only letters, digits, '_' and '-'", what,
					     path_id);
	if (body_id && strcmp(body_id, path_id) != 0)
		return hull_err_make(err, 0, "The id from the path does not match the id from the body!");
	return 0;
}

static struct api_drive *find_drive(struct api_vm *v, const char *id)
{
	for (unsigned int i = 0; i < v->ndrives; i++)
		if (strcmp(v->drives[i].id, id) == 0)
			return &v->drives[i];
	return NULL;
}

int api_put_drive(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "drive_id", F_STR, true }, { "path_on_host", F_STR, true }, { "is_root_device", F_BOOL, true },
		{ "is_read_only", F_BOOL, false }, { "partuuid", F_STR, false }, { "cache_type", F_STR, false },
		{ "io_engine", F_STR, false }, { "rate_limiter", F_OBJ, false }, { "socket", F_STR, false },
	};
	struct api_drive *d;
	const char *path, *cache, *engine;
	struct vm_rate_limiter rl = { 0 };
	bool ro, root;

	if (not_started(v, err) < 0 || check_fields(o, f, ARRAY_SIZE(f), err) < 0 ||
	    check_id("drive", id, o, "drive_id", err) < 0)
		return -1;
	path = get_str(o, "path_on_host");
	ro = get_bool(o, "is_read_only", false);
	root = get_bool(o, "is_root_device", false);
	cache = get_str(o, "cache_type");
	engine = get_str(o, "io_engine");
	if (parse_limiter("rate_limiter", get_obj(o, "rate_limiter"), &rl, err) < 0)
		return -1;
	if (has(o, "socket"))
		return hull_err_make(err, 0, "socket (vhost-user-blk): not supported by hull");
	if (cache && strcmp(cache, "Unsafe") != 0 && strcmp(cache, "Writeback") != 0)
		return hull_err_make(err, 0, "cache_type \"%s\": Unsafe or Writeback", cache);
	if (engine && strcmp(engine, "Sync") != 0)
		return hull_err_make(err, 0, "io_engine \"%s\": hull has Sync only", engine);
	if (check_file("path_on_host", path, ro ? R_OK : R_OK | W_OK, err) < 0)
		return -1;
	for (unsigned int i = 0; root && i < v->ndrives; i++)
		if (v->drives[i].root && strcmp(v->drives[i].id, id) != 0)
			return hull_err_make(err, 0, "A root block device already exists!");
	d = find_drive(v, id);
	if (!d) {
		if (v->ndrives == API_MAX_DRIVES)
			return hull_err_make(err, 0, "too many drives (at most %u)", API_MAX_DRIVES);
		d = &v->drives[v->ndrives++];
		d->id = xstrdup(id);
	}
	set_str(&d->path, path);
	set_str(&d->partuuid, get_str(o, "partuuid"));
	d->ro = ro;
	d->root = root;
	d->rl = rl;
	return 0;
}

/* The disk index microvm/ knows: the root drive first, then in PUT order. */
static unsigned int disk_index(const struct api_vm *v, const struct api_drive *d)
{
	unsigned int idx = 0;
	bool has_root = false;

	for (unsigned int i = 0; i < v->ndrives; i++)
		has_root |= v->drives[i].root;
	if (d->root)
		return 0;
	for (unsigned int i = 0; i < v->ndrives && &v->drives[i] != d; i++)
		if (!v->drives[i].root)
			idx++;
	return idx + has_root;
}

int api_patch_drive(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "drive_id", F_STR, true }, { "path_on_host", F_STR, false }, { "rate_limiter", F_OBJ, false },
	};
	struct api_drive *d;
	struct vm_rate_limiter rl;
	const char *path;

	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0 || check_id("drive", id, o, "drive_id", err) < 0)
		return -1;
	if (v->state == API_NOT_STARTED)
		return hull_err_make(err, 0, "The requested operation is not supported before starting the microVM.");
	d = find_drive(v, id);
	if (!d)
		return hull_err_make(err, 0, "drive \"%s\": no such drive", id);
	rl = d->rl;
	if (parse_limiter("rate_limiter", get_obj(o, "rate_limiter"), &rl, err) < 0)
		return -1;
	path = get_str(o, "path_on_host");
	if (path && check_file("path_on_host", path, d->ro ? R_OK : R_OK | W_OK, err) < 0)
		return -1;
	if (path && v->be->set_disk(v->be_opaque, disk_index(v, d), path, err) < 0)
		return -1;
	if (path)
		set_str(&d->path, path);
	if (has(o, "rate_limiter")) {
		if (v->be->set_limiter(v->be_opaque, false, disk_index(v, d), &rl, NULL, err) < 0)
			return -1;
		d->rl = rl;
	}
	return 0;
}

/* ---- network-interfaces ------------------------------------------------------- */

int api_put_net(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "iface_id", F_STR, true }, { "host_dev_name", F_STR, true }, { "guest_mac", F_STR, false },
		{ "rx_rate_limiter", F_OBJ, false }, { "tx_rate_limiter", F_OBJ, false },
	};
	struct api_net n = { 0 }, *slot = NULL;
	const char *tap, *mac;

	if (not_started(v, err) < 0 || check_fields(o, f, ARRAY_SIZE(f), err) < 0 ||
	    check_id("network interface", id, o, "iface_id", err) < 0)
		return -1;
	if (parse_limiter("rx_rate_limiter", get_obj(o, "rx_rate_limiter"), &n.rx_rl, err) < 0 ||
	    parse_limiter("tx_rate_limiter", get_obj(o, "tx_rate_limiter"), &n.tx_rl, err) < 0)
		return -1;
	tap = get_str(o, "host_dev_name");
	mac = get_str(o, "guest_mac");
	if (!*tap || strlen(tap) >= 16)
		return hull_err_make(err, 0, "host_dev_name \"%s\": 1..15 characters", tap);
	if (mac && vm_net_parse_mac(mac, n.mac) < 0)
		return hull_err_make(err, 0, "guest_mac \"%s\": not a unicast MAC address", mac);
	for (unsigned int i = 0; i < v->nnets; i++) {
		if (strcmp(v->nets[i].id, id) == 0)
			slot = &v->nets[i];
		else if (strcmp(v->nets[i].tap, tap) == 0)
			return hull_err_make(err, 0, "host_dev_name %s: already used by interface %s", tap,
					     v->nets[i].id);
	}
	if (!slot) {
		if (v->nnets == API_MAX_NETS)
			return hull_err_make(err, 0, "too many network interfaces (at most %u)", API_MAX_NETS);
		slot = &v->nets[v->nnets++];
		slot->id = xstrdup(id);
	}
	set_str(&slot->tap, tap);
	memcpy(slot->mac, n.mac, 6);
	slot->has_mac = mac != NULL;
	slot->rx_rl = n.rx_rl;
	slot->tx_rl = n.tx_rl;
	return 0;
}

/* Firecracker's PATCH: only the limiters of a running VM's interface. */
int api_patch_net(struct api_vm *v, const char *id, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "iface_id", F_STR, true }, { "rx_rate_limiter", F_OBJ, false }, { "tx_rate_limiter", F_OBJ, false },
	};
	struct api_net *n = NULL;
	struct vm_rate_limiter rx, tx;
	unsigned int idx;

	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0 || check_id("network interface", id, o, "iface_id", err) < 0)
		return -1;
	if (v->state == API_NOT_STARTED)
		return hull_err_make(err, 0, "The requested operation is not supported before starting the microVM.");
	for (idx = 0; idx < v->nnets && !n; idx++)
		if (strcmp(v->nets[idx].id, id) == 0)
			n = &v->nets[idx];
	if (!n)
		return hull_err_make(err, 0, "network interface \"%s\": no such interface", id);
	idx--;
	rx = n->rx_rl;
	tx = n->tx_rl;
	if (parse_limiter("rx_rate_limiter", get_obj(o, "rx_rate_limiter"), &rx, err) < 0 ||
	    parse_limiter("tx_rate_limiter", get_obj(o, "tx_rate_limiter"), &tx, err) < 0)
		return -1;
	if (!has(o, "rx_rate_limiter") && !has(o, "tx_rate_limiter"))
		return 0;
	/* one call for both sides: a refused one (vhost-net) changes neither;
	 * interfaces were plugged in PUT order (vm_config.nets) */
	if (v->be->set_limiter(v->be_opaque, true, idx, has(o, "rx_rate_limiter") ? &rx : NULL,
			       has(o, "tx_rate_limiter") ? &tx : NULL, err) < 0)
		return -1;
	n->rx_rl = rx;
	n->tx_rl = tx;
	return 0;
}

/* ---- vsock, logger, metrics ----------------------------------------------------- */

int api_put_vsock(struct api_vm *v, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "guest_cid", F_U64, true }, { "uds_path", F_STR, true }, { "vsock_id", F_STR, false },
	};
	uint64_t cid = 0;
	const char *uds;

	if (not_started(v, err) < 0 || check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return -1;
	get_u64(o, "guest_cid", &cid);
	uds = get_str(o, "uds_path");
	if (cid < MICROVM_VSOCK_CID_MIN || cid > MICROVM_VSOCK_CID_MAX)
		return hull_err_make(err, 0, "guest_cid %" PRIu64 ": must be %u..%u", cid, MICROVM_VSOCK_CID_MIN,
				     MICROVM_VSOCK_CID_MAX);
	if (!*uds)
		return hull_err_make(err, 0, "uds_path: empty");
	v->has_vsock = true;
	v->vsock_cid = cid;
	set_str(&v->vsock_uds, uds);
	return 0;
}

static const struct {
	const char *name;
	enum hull_log_level level;
} levels[] = {
	{ "Off", HULL_LOG_ERROR }, { "Error", HULL_LOG_ERROR }, { "Warning", HULL_LOG_WARN },
	{ "Info", HULL_LOG_INFO }, { "Debug", HULL_LOG_DEBUG }, { "Trace", HULL_LOG_DEBUG },
};

int api_put_logger(struct api_vm *v, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = {
		{ "log_path", F_STR, false }, { "level", F_STR, false }, { "show_level", F_BOOL, false },
		{ "show_log_origin", F_STR, false }, { "module", F_STR, false },
	};
	const char *path, *lvl;
	size_t i = 0;
	int fd = -1;

	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return -1;
	path = get_str(o, "log_path");
	lvl = get_str(o, "level");
	if (lvl) {
		/* Firecracker accepts the level in any case */
		for (i = 0; i < ARRAY_SIZE(levels) && strcasecmp(levels[i].name, lvl) != 0; i++)
			;
		if (i == ARRAY_SIZE(levels))
			return hull_err_make(err, 0, "level \"%s\": Off, Error, Warning, Info, Debug or Trace", lvl);
	} else {
		i = 2;  /* Warning */
	}
	if (path) {
		/* a FIFO with no reader fails now (ENXIO), not at the first line */
		fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return hull_err_make(err, errno, "log_path %s", path);
		if (fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) < 0)
			hull_debug("log_path: clearing O_NONBLOCK: %s", strerror(errno));
	}
	/* the previous sink stays open: another thread may be writing to it */
	int old;
	bool json;
	enum hull_log_level ol;
	hull_log_get(&old, &json, &ol);
	hull_log_init(fd >= 0 ? fd : old, fd >= 0 ? false : json, levels[i].level);
	set_str(&v->log_path, path);
	set_str(&v->log_level, levels[i].name);
	return 0;
}

int api_put_metrics(struct api_vm *v, struct json_object *o, struct hull_err **err)
{
	static const struct field f[] = { { "metrics_path", F_STR, true } };
	const char *path;
	int fd;

	if (check_fields(o, f, ARRAY_SIZE(f), err) < 0)
		return -1;
	if (v->metrics_fd >= 0)
		return hull_err_make(err, 0, "metrics: already configured");
	path = get_str(o, "metrics_path");
	fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hull_err_make(err, errno, "metrics_path %s", path);
	v->metrics_fd = fd;
	/* where a refused syscall's count goes, from the SIGSYS handler */
	microvm_seccomp_metrics_fd(fd);
	set_str(&v->metrics_path, path);
	return 0;
}

/* ---- InstanceStart ---------------------------------------------------------------- */

/* Firecracker appends the root device to the kernel command line. */
static char *make_cmdline(const struct api_vm *v)
{
	const struct api_drive *root = NULL;
	char *s = NULL;

	for (unsigned int i = 0; i < v->ndrives; i++)
		if (v->drives[i].root)
			root = &v->drives[i];
	if (!root)
		return v->boot_args ? xstrdup(v->boot_args) : NULL;
	if (asprintf(&s, "%s%sroot=%s%s %s", v->boot_args ? v->boot_args : "console=ttyS0 reboot=k panic=1",
		     " ", root->partuuid ? "PARTUUID=" : "/dev/vda", root->partuuid ? root->partuuid : "",
		     root->ro ? "ro" : "rw") < 0)
		abort();
	return s;
}

int api_instance_start(struct api_vm *v, struct hull_err **err)
{
	struct vm_config *cfg = &v->cfg;
	unsigned int n = 0;

	if (not_started(v, err) < 0)
		return -1;
	if (!v->kernel)
		return hull_err_make(err, 0, "Cannot start microvm without kernel configuration.");
	microvm_config_init(cfg);
	cfg->kernel = v->kernel;
	cfg->initrd = v->initrd;
	cfg->cpus = v->vcpus;
	cfg->mem_mib = v->mem_mib;
	cfg->hugepages = v->hugepages;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned int i = 0; i < v->ndrives; i++)
			if (v->drives[i].root == (pass == 0))
				v->disks[n++] = (struct vm_disk){ .path = v->drives[i].path, .ro = v->drives[i].ro,
								  .rl = v->drives[i].rl };
	cfg->disks = v->disks;
	cfg->ndisks = n;
	for (unsigned int i = 0; i < v->nnets; i++) {
		/* a limiter keeps the queues out of vhost-net (virtio_net_new) */
		v->vnets[i] = (struct vm_net){ .tap = v->nets[i].tap, .has_mac = v->nets[i].has_mac,
					       .vhost = VM_VHOST_AUTO, .rx_rl = v->nets[i].rx_rl,
					       .tx_rl = v->nets[i].tx_rl };
		memcpy(v->vnets[i].mac, v->nets[i].mac, 6);
	}
	cfg->nets = v->vnets;
	cfg->nnets = v->nnets;
	if (v->has_vsock) {
		cfg->vsock_cid = v->vsock_cid;
		cfg->vsock_uds = v->vsock_uds;
	}
	free(v->cmdline);
	v->cmdline = make_cmdline(v);
	cfg->cmdline = v->cmdline;
	if (v->be->start(v->be_opaque, cfg, err) < 0)
		return -1;
	v->state = API_RUNNING;
	return 0;
}

/* ---- the whole configuration (GET /vm/config, --config-file) ---------------------- */

/* An unset optional field is left out (as Firecracker's output does), so
 * the output reads back through the same field checks. */
static void add_str(struct json_object *o, const char *k, const char *s)
{
	if (s)
		json_object_object_add(o, k, json_object_new_string(s));
}

struct json_object *api_vm_config_json(const struct api_vm *v)
{
	struct json_object *root = json_object_new_object(), *m = json_object_new_object();
	struct json_object *drives = json_object_new_array(), *nets = json_object_new_array();

	json_object_object_add(m, "vcpu_count", json_object_new_int64(v->vcpus));
	json_object_object_add(m, "mem_size_mib", json_object_new_int64((int64_t)v->mem_mib));
	json_object_object_add(m, "smt", json_object_new_boolean(false));
	json_object_object_add(m, "track_dirty_pages", json_object_new_boolean(false));
	add_str(m, "huge_pages", v->hugepages ? "2M" : "None");
	if (v->kernel) {
		struct json_object *b = json_object_new_object();
		add_str(b, "kernel_image_path", v->kernel);
		add_str(b, "initrd_path", v->initrd);
		add_str(b, "boot_args", v->boot_args);
		json_object_object_add(root, "boot-source", b);
	} else {
		json_object_object_add(root, "boot-source", NULL);
	}
	for (unsigned int i = 0; i < v->ndrives; i++) {
		const struct api_drive *d = &v->drives[i];
		struct json_object *o = json_object_new_object();
		add_str(o, "drive_id", d->id);
		add_str(o, "path_on_host", d->path);
		json_object_object_add(o, "is_root_device", json_object_new_boolean(d->root));
		json_object_object_add(o, "is_read_only", json_object_new_boolean(d->ro));
		add_str(o, "partuuid", d->partuuid);
		add_str(o, "cache_type", "Unsafe");
		add_str(o, "io_engine", "Sync");
		if (vm_rate_limiter_set(&d->rl))
			json_object_object_add(o, "rate_limiter", limiter_json(&d->rl));
		json_object_array_add(drives, o);
	}
	json_object_object_add(root, "drives", drives);
	json_object_object_add(root, "machine-config", m);
	for (unsigned int i = 0; i < v->nnets; i++) {
		const struct api_net *n = &v->nets[i];
		struct json_object *o = json_object_new_object();
		char mac[18];
		add_str(o, "iface_id", n->id);
		add_str(o, "host_dev_name", n->tap);
		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
				 n->mac[3], n->mac[4], n->mac[5]);
			add_str(o, "guest_mac", mac);
		}
		if (vm_rate_limiter_set(&n->rx_rl))
			json_object_object_add(o, "rx_rate_limiter", limiter_json(&n->rx_rl));
		if (vm_rate_limiter_set(&n->tx_rl))
			json_object_object_add(o, "tx_rate_limiter", limiter_json(&n->tx_rl));
		json_object_array_add(nets, o);
	}
	json_object_object_add(root, "network-interfaces", nets);
	if (v->has_vsock) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "guest_cid", json_object_new_int64((int64_t)v->vsock_cid));
		add_str(o, "uds_path", v->vsock_uds);
		json_object_object_add(root, "vsock", o);
	} else {
		json_object_object_add(root, "vsock", NULL);
	}
	if (v->log_level) {
		struct json_object *o = json_object_new_object();
		add_str(o, "log_path", v->log_path);
		add_str(o, "level", v->log_level);
		json_object_object_add(root, "logger", o);
	} else {
		json_object_object_add(root, "logger", NULL);
	}
	if (v->metrics_path) {
		struct json_object *o = json_object_new_object();
		add_str(o, "metrics_path", v->metrics_path);
		json_object_object_add(root, "metrics", o);
	} else {
		json_object_object_add(root, "metrics", NULL);
	}
	return root;
}

/* Each item of an array section, through its PUT handler. */
static int load_array(struct api_vm *v, struct json_object *a, const char *section, const char *idkey,
		      int (*put)(struct api_vm *, const char *, struct json_object *, struct hull_err **),
		      struct hull_err **err)
{
	if (!json_object_is_type(a, json_type_array))
		return hull_err_make(err, 0, "%s: expected an array", section);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *it = json_object_array_get_idx(a, i);
		const char *id = json_object_is_type(it, json_type_object) ? get_str(it, idkey) : NULL;
		if (!id)
			return hull_err_make(err, 0, "%s[%zu]: missing field `%s`", section, i, idkey);
		if (put(v, id, it, err) < 0)
			return hull_err_wrap(err, "%s[%zu]", section, i);
	}
	return 0;
}

int api_load_config(struct api_vm *v, const char *json, size_t len, struct hull_err **err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	int r = 0;

	json_tokener_free(tok);
	if (!root || je != json_tokener_success) {
		json_object_put(root);
		return hull_err_make(err, 0, "not JSON: %s", json_tokener_error_desc(je));
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return hull_err_make(err, 0, "expected a JSON object");
	}
	json_object_object_foreach(root, key, val) {
		if (!val)
			continue;  /* "vsock": null, as GET /vm/config writes */
		if (strcmp(key, "machine-config") == 0)
			r = api_put_machine(v, val, false, err);
		else if (strcmp(key, "boot-source") == 0)
			r = api_put_boot(v, val, err);
		else if (strcmp(key, "drives") == 0)
			r = load_array(v, val, key, "drive_id", api_put_drive, err);
		else if (strcmp(key, "network-interfaces") == 0)
			r = load_array(v, val, key, "iface_id", api_put_net, err);
		else if (strcmp(key, "vsock") == 0)
			r = api_put_vsock(v, val, err);
		else if (strcmp(key, "logger") == 0)
			r = api_put_logger(v, val, err);
		else if (strcmp(key, "metrics") == 0)
			r = api_put_metrics(v, val, err);
		else
			r = hull_err_make(err, 0, "unknown section `%s`", key);
		if (r < 0) {
			if (strcmp(key, "drives") != 0 && strcmp(key, "network-interfaces") != 0)
				hull_err_wrap(err, "%s", key);
			break;
		}
	}
	json_object_put(root);
	return r;
}
