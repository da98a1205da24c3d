/* SPDX-License-Identifier: Apache-2.0 */
/* vhost-net: filled in by the next commit. */
#include "microvm/virtio/virtio.h"

int virtio_net_vhost_usable(bool required, struct hull_err **err)
{
	if (required)
		return hull_err_make(err, ENOTSUP, "vhost=on: not supported yet");
	return 0;
}

int virtio_net_vhost_start(struct virtio_dev *d, struct vhost_net **out, struct hull_err **err)
{
	return hull_err_make(err, ENOTSUP, "vhost-net");
}

void virtio_net_vhost_stop(struct vhost_net *v)
{
}
