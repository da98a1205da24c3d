/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The power button: a Generic Event Device (ACPI 6.5 §5.6.9, ACPI0013, see
 * acpi.c) on IOAPIC pin LAYOUT_GED_IRQ.  Each press pulses the pin (an
 * irqfd, edge-triggered); the guest's GED driver (Linux: evged, built in
 * with ACPI) runs \_SB.GED0._EVT, which notifies \_SB.PWRB (PNP0C0C) with
 * 0x80, and the guest's button driver reports KEY_POWER on its "Power
 * Button" input device and an ACPI netlink event.  Shutting down is then
 * the guest userspace's choice, as on a real machine: it ends with S5
 * (exit code 0) or not at all.  A press before the guest's drivers are up
 * is lost, as on real hardware.
 *
 * The host presses it through vm_config.power_button_fd: every time that fd
 * becomes readable it is drained and the button pressed once.  The fd
 * belongs to the caller (typically an eventfd written from a SIGTERM
 * handler), is never closed here, and EOF on it just stops the watch.
 */
#include "microvm/x86/x86.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

struct ged {
	struct vm *vm;
	int in_fd;  /* the caller's power_button_fd */
	int irq_fd; /* irqfd on LAYOUT_GED_IRQ */
	bool watched;
};

static void unwatch(struct ged *g)
{
	if (g->watched)
		evloop_del(g->vm->loop, g->in_fd);
	g->watched = false;
}

static void pressed(void *opaque, uint32_t events)
{
	struct ged *g = opaque;
	uint8_t buf[64];
	uint64_t one = 1;
	ssize_t n = read(g->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF or a dead fd: nobody can press any more */
		hull_debug("power button fd: %s", n == 0 ? "EOF" : strerror(errno));
		unwatch(g);
		return;
	}
	hull_debug("microvm: power button pressed");
	if (write(g->irq_fd, &one, sizeof(one)) < 0)
		hull_debug("power button irqfd: %s", strerror(errno));
}

struct ged *ged_create(struct vm *vm, int in_fd, struct hull_err **err)
{
	struct ged *g = xcalloc(1, sizeof(*g));
	int r;

	g->vm = vm;
	g->in_fd = in_fd;
	g->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->irq_fd < 0) {
		hull_err_make(err, errno, "power button: eventfd");
		goto fail;
	}
	r = vm_irqfd(vm, g->irq_fd, LAYOUT_GED_IRQ, true);
	if (r < 0) {
		hull_err_make(err, -r, "power button: KVM_IRQFD");
		goto fail;
	}
	r = evloop_add(vm->loop, in_fd, EPOLLIN, pressed, g);
	if (r < 0) {
		vm_irqfd(vm, g->irq_fd, LAYOUT_GED_IRQ, false);
		hull_err_make(err, -r, "power button: fd %d", in_fd);
		goto fail;
	}
	g->watched = true;
	return g;
fail:
	if (g->irq_fd >= 0)
		close(g->irq_fd);
	free(g);
	return NULL;
}

void ged_destroy(struct ged *g)
{
	if (!g)
		return;
	unwatch(g);
	vm_irqfd(g->vm, g->irq_fd, LAYOUT_GED_IRQ, false);
	close(g->irq_fd);
	free(g);
}
