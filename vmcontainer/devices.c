/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The org.hull.vm.devices annotation: host PCI functions a VM-isolated
 * container's VM gets with VFIO (docs/passthrough.md), the same as
 * `hull vm run --device vfio=BDF`.  Checked while planning, before anything
 * is made, so a bad one is create's one-line error.
 */
#include "vmcontainer/vmcontainer.h"
#include "microvm/microvm.h"
#include "vfio/vfio.h"

int vmcontainer_devices(const struct oci_spec *spec, const struct vfio_host *h, struct vm_vfio **out,
			unsigned int *n, struct hull_err **err)
{
	const char *val = NULL;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, VMC_ANN_DEVICES) == 0)
			val = spec->annotations[i].value;
	if (!val)
		return 0;
	copy = xstrdup(val);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char bdf[13];
		int group;

		if (strncmp(tok, "vfio=", 5) != 0) {
			hull_err_make(err, 0, "annotation " VMC_ANN_DEVICES " \"%s\": expected vfio=DDDD:BB:DD.F[,...]",
				      tok);
			goto fail;
		}
		if (vfio_bdf_parse(tok + 5, bdf, err) < 0 || vfio_passthrough_check(h, bdf, &group, err) < 0) {
			hull_err_wrap(err, "annotation " VMC_ANN_DEVICES);
			goto fail;
		}
		for (unsigned int i = 0; i < *n; i++)
			if (strcmp((*out)[i].bdf, bdf) == 0) {
				hull_err_make(err, 0, "annotation " VMC_ANN_DEVICES ": %s given twice", bdf);
				goto fail;
			}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n] = (struct vm_vfio){ .bdf = xstrdup(bdf), .group = group };
		(*n)++;
	}
	return 0;
fail:
	vmcontainer_devices_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

void vmcontainer_devices_free(struct vm_vfio *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free((char *)v[i].bdf);
	free(v);
}
