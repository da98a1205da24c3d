/* SPDX-License-Identifier: Apache-2.0 */
/* Which isolation a container gets, and the size of its VM: pure functions of
 * the command line and the spec (docs/vm-containers.md). */
#include "vmcontainer/vmcontainer.h"
#include "microvm/microvm.h"

#include <json-c/json.h>
#include <ctype.h>

static const struct { const char *name; enum vmc_isolation value; } isolations[] = {
	{ "container", VMC_ISOLATION_CONTAINER },
	{ "vm", VMC_ISOLATION_VM },
};

int vmcontainer_isolation_parse(const char *s, const char *what, enum vmc_isolation *out, struct hull_err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(isolations); i++) {
		if (strcmp(s, isolations[i].name) == 0) {
			*out = isolations[i].value;
			return 0;
		}
	}
	return hull_err_make(err, 0, "%s \"%s\": must be vm or container", what, s);
}

enum vmc_isolation vmcontainer_isolation_argv0(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *base = slash ? slash + 1 : argv0;

	return base && strcmp(base, VMC_ARGV0) == 0 ? VMC_ISOLATION_VM : VMC_ISOLATION_UNSET;
}

static const char *annotation(const struct oci_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

int vmcontainer_isolation_choose(enum vmc_isolation cmdline, const struct oci_spec *spec, bool *vm,
				 struct hull_err **err)
{
	const char *a = annotation(spec, VMC_ANN_ISOLATION);
	enum vmc_isolation ann = VMC_ISOLATION_UNSET;

	if (a && vmcontainer_isolation_parse(a, "annotation " VMC_ANN_ISOLATION, &ann, err) < 0)
		return -1;
	*vm = cmdline == VMC_ISOLATION_VM || ann == VMC_ISOLATION_VM;
	return 0;
}

int vmcontainer_isolation_of_config(enum vmc_isolation cmdline, const char *config, size_t len, bool *vm,
				    struct hull_err **err)
{
	struct json_tokener *tok;
	struct json_object *root, *anns, *v;
	enum vmc_isolation ann = VMC_ISOLATION_UNSET;
	int r = 0;

	*vm = cmdline == VMC_ISOLATION_VM;
	if (*vm || !memmem(config, len, VMC_ANN_ISOLATION, strlen(VMC_ANN_ISOLATION)))
		return 0;
	/* A config.json that does not parse is the container path's error to
	 * report, with its file name and position: no opinion here. */
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, config, (int)len);
	json_tokener_free(tok);
	if (!root)
		return 0;
	if (json_object_object_get_ex(root, "annotations", &anns) && json_object_is_type(anns, json_type_object) &&
	    json_object_object_get_ex(anns, VMC_ANN_ISOLATION, &v)) {
		if (!json_object_is_type(v, json_type_string))
			r = hull_err_make(err, 0, "annotation " VMC_ANN_ISOLATION ": must be a string (vm or container)");
		else
			r = vmcontainer_isolation_parse(json_object_get_string(v), "annotation " VMC_ANN_ISOLATION,
							&ann, err);
	}
	json_object_put(root);
	*vm = ann == VMC_ISOLATION_VM;
	return r;
}

int vmcontainer_isolation_of_bundle(enum vmc_isolation cmdline, const char *bundle, bool *vm,
				    struct hull_err **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len = 0;

	*vm = cmdline == VMC_ISOLATION_VM;
	if (*vm)
		return 0;
	path = xasprintf("%s/config.json", bundle);
	if (read_file_at(AT_FDCWD, path, &text, &len, 0, NULL) < 0)
		return 0;
	return vmcontainer_isolation_of_config(cmdline, text, len, vm, err);
}

/* MiB from "512", "512M", "512MiB", "2G", "2GiB". */
static int parse_mib(const char *s, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t mul; } units[] = {
		{ "", 1 }, { "M", 1 }, { "MiB", 1 }, { "G", 1024 }, { "GiB", 1024 },
	};
	char *end;
	uint64_t v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (__builtin_mul_overflow(v, units[i].mul, out))
				return -1;
			return 0;
		}
	}
	return -1;
}

int vmcontainer_size(const struct oci_spec *spec, struct vmc_size *out, struct hull_err **err)
{
	const struct oci_resources *r = spec->linux_.has_resources ? &spec->linux_.resources : NULL;
	const char *cpus = annotation(spec, VMC_ANN_CPUS);
	const char *mem = annotation(spec, VMC_ANN_MEMORY);
	uint64_t v;

	out->cpus = 1;
	out->mem_mib = VMC_MEM_DEFAULT_MIB;
	if (r && r->cpu.has_quota && r->cpu.quota > 0) {
		uint64_t period = r->cpu.has_period && r->cpu.period > 0 ? r->cpu.period : 100000;
		uint64_t n = (uint64_t)r->cpu.quota / period + ((uint64_t)r->cpu.quota % period != 0);
		out->cpus = n > MICROVM_MAX_CPUS ? MICROVM_MAX_CPUS : (unsigned int)n;
	}
	if (r && r->memory.has_limit && r->memory.limit > 0) {
		uint64_t mib = ((uint64_t)r->memory.limit + (1u << 20) - 1) >> 20;
		out->mem_mib = mib > VMC_MEM_MAX_MIB - VMC_MEM_MARGIN_MIB ? VMC_MEM_MAX_MIB : mib + VMC_MEM_MARGIN_MIB;
	}
	if (cpus) {
		if (parse_u64(cpus, &v) < 0 || v < 1 || v > MICROVM_MAX_CPUS)
			return hull_err_make(err, 0, "annotation " VMC_ANN_CPUS " \"%s\": must be 1..%d", cpus,
					     MICROVM_MAX_CPUS);
		out->cpus = (unsigned int)v;
	}
	if (mem) {
		if (parse_mib(mem, &v) < 0 || v < VMC_MEM_MIN_MIB || v > VMC_MEM_MAX_MIB)
			return hull_err_make(err, 0,
					     "annotation " VMC_ANN_MEMORY " \"%s\": must be %u..%u MiB (e.g. 512 or 2G)",
					     mem, VMC_MEM_MIN_MIB, VMC_MEM_MAX_MIB);
		out->mem_mib = v;
	}
	return 0;
}
