/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/internal.h: the core of the monitor (KVM, the machine's stages,
 * vCPUs, guest memory, event loop, buses, PCI), shared by every file of
 * microvm/ and its parts (never included outside microvm/):
 *   microvm/virtio/virtio.h  virtqueues, the virtio-pci transport, devices
 *   microvm/x86/x86.h        boot protocol, ACPI/AML, UART, platform ports
 *   microvm/x86/layout.h     every guest address and port
 * Only machine.c sees all three.  All machine and device state is plain
 * structs of numbers so a later snapshot can serialise it; fds and threads
 * are the only things rebuilt on restore.
 *
 * Lock order (outermost first), never reversed:
 *   vm->exit_lock  (leaf, taken alone)
 *   ctl->lock -> vm->pause_lock -> vm->exit_lock
 *   ctl->lock -> virtio_dev->lock (a disk swap)
 *   pci->lock (config space) -> bus->lock (write, BAR remap) -> vm->route_lock
 *   virtio_dev->lock -> msix.lock -> vm->route_lock
 * A bus lock is never held while a device handler runs: bus_access copies the
 * range out under the read lock and calls the handler after dropping it, so a
 * handler may remap BARs on the same bus.
 */
#ifndef HULL_MICROVM_INTERNAL_H
#define HULL_MICROVM_INTERNAL_H

#include "microvm/microvm.h"
#include "confine/confine.h"
#include "microvm/x86/layout.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <sys/uio.h>

/* ---- buses (bus.c) ------------------------------------------------------- */

/* A device callback sees only the offset inside its own range; for reads
 * `data` is pre-filled (zero for MMIO, 0xff for ports). */
typedef void (*bus_io_fn)(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

struct bus_range {
	uint64_t base, len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range *r; /* sorted by base, never overlapping */
	size_t n, cap;
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);
/* Fails on len 0, base+len overflow or overlap with an existing range. */
int bus_insert(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque, const char *name,
	       struct hull_err **err);
/* Remove the range starting at base owned by opaque; -ENOENT if none. */
int bus_remove(struct bus *b, uint64_t base, void *opaque);
/* Dispatch an access that lies wholly inside one range: 0, or -ENOENT. */
int bus_access(struct bus *b, uint64_t addr, void *data, uint32_t len, bool write);

/* ---- guest memory (guest_mem.c) ------------------------------------------ */

#define GM_MAX_REGIONS 8

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	/* The shared-memory file behind hva (memfd), for vhost-user's
	 * SET_MEM_TABLE: fd -1 for private memory. */
	int fd;
	uint64_t fd_offset;
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned int n;
};

/* Host pointer for [gpa, gpa+len) if the whole range lies in one region; checks
 * by subtracting from the region size, never by adding to gpa.  0 or -EFAULT.
 * len == 0 is -EFAULT (a zero-length guest buffer is never valid here). */
int gm_slice(const struct guest_mem *gm, uint64_t gpa, uint64_t len, void **hva);
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
/* Add a region; rejects overlap, zero size and gpa+size overflow. */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva, struct hull_err **err);
/* The same for memory that is file-backed: fd (not consumed, must outlive gm)
 * at fd_offset maps to hva. */
int gm_add_region_fd(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva, int fd, uint64_t fd_offset,
		     struct hull_err **err);

/* ---- event loop (evloop.c) ----------------------------------------------- */

struct evloop *evloop_new(struct hull_err **err);
/* Run callbacks on the calling thread until evloop_stop(). */
int evloop_run(struct evloop *l, struct hull_err **err);
void evloop_stop(struct evloop *l);
void evloop_free(struct evloop *l);
typedef void (*evloop_cb)(void *opaque, uint32_t events);
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque);
int evloop_del(struct evloop *l, int fd);

/* ---- rate limiters (ratelim.c) ---------------------------------------------
 * Firecracker's token buckets for a device's data path.  A request takes all
 * its tokens or none; one larger than the bucket goes through when the
 * bucket is full and leaves a debt that refills before anything else, so it
 * neither starves nor beats the rate.  All arithmetic saturates or uses 128
 * bits: no size, time or refill overflows. */
struct tbucket {
	struct vm_bucket cfg;       /* as set: an unchanged update keeps the state */
	uint64_t size, refill_ns;   /* size 0: unlimited */
	uint64_t budget, burst, debt;
	uint64_t last_ns;           /* CLOCK_MONOTONIC of the last refill */
};
void tbucket_init(struct tbucket *b, const struct vm_bucket *cfg, uint64_t now_ns);
/* Refill to now_ns, then take `tokens` (true) or nothing (false). */
bool tbucket_take(struct tbucket *b, uint64_t tokens, uint64_t now_ns);
/* After a refused take: ns until `tokens` would be taken (>= 1). */
uint64_t tbucket_wait_ns(const struct tbucket *b, uint64_t tokens, uint64_t now_ns);

struct ratelim {
	struct tbucket bw, ops;
	bool blocked;               /* the timer is armed; the queue waits for it */
	int timer_fd;               /* timerfd, made at the first throttle; -1 none */
	bool watched;               /* timer_fd is in the event loop */
	uint64_t throttled;         /* requests deferred (metrics), relaxed atomic */
};
void ratelim_init(struct ratelim *r);  /* unlimited, no timer */
/* New settings (a bucket whose settings are unchanged keeps its tokens); a
 * blocked queue is retried at once under the new ones. */
void ratelim_set(struct ratelim *r, const struct vm_rate_limiter *cfg);
static inline bool ratelim_limits(const struct ratelim *r)
{
	return r->bw.size || r->ops.size;
}
/* Take `bytes` and one operation.  False: throttled, nothing taken, and the
 * timer is armed to call cb(opaque) from the loop once both buckets hold
 * enough (the caller then calls ratelim_timer_fired and retries). */
bool ratelim_consume(struct ratelim *r, uint64_t bytes, struct evloop *loop, evloop_cb cb, void *opaque);
void ratelim_timer_fired(struct ratelim *r);
/* Device reset: disarm and leave the loop (the buckets stay). */
void ratelim_stop(struct ratelim *r, struct evloop *loop);
void ratelim_free(struct ratelim *r, struct evloop *loop);

/* ---- the VM (kvm.c) ------------------------------------------------------- */

struct vcpu;
struct pci_bus;
struct serial;
struct ged;
struct virtio_pci;

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd;
	int vcpu_mmap_size;
	struct guest_mem gm;
	uint8_t *ram;        /* one mapping of mem_size bytes, split into two slots */
	uint64_t mem_size, ram_low, ram_high;
	int ram_fd;          /* memfd with --hugepages, else -1 */
	struct bus pio, mmio;
	struct evloop *loop;
	bool ioeventfd_any_len;

	/* GSI routing: the irqchip pins plus one MSI route per used vector. */
	pthread_mutex_t route_lock;
	struct { uint64_t addr; uint32_t data; bool valid; } msi[LAYOUT_MAX_GSI - LAYOUT_MSI_GSI_BASE];
	uint32_t next_gsi;

	/* stop: the first vm_request_exit wins */
	pthread_mutex_t exit_lock;
	int exit_code;       /* -1 running, else MICROVM_EXIT_* */
	char *exit_reason;
	int exit_evt;        /* eventfd the event loop waits on */

	struct vcpu *vcpus;
	unsigned int ncpus;
	/* Pause (ctl.c asks, vcpu threads park before KVM_RUN); a leaf lock. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req;
	unsigned int nparked, nexited;
	/* exits by kind, for metrics (relaxed atomics) */
	uint64_t exits_io, exits_mmio, exits_other;
	struct kvm_cpuid2 *cpuid;

	/* boot (boot.c fills, vcpu.c consumes) */
	struct boot_info {
		bool pvh;            /* 32-bit PVH entry, else 64-bit Linux boot protocol */
		uint64_t entry;
		uint64_t kernel_end;
	} boot;

	struct pci_bus *pci;
	struct serial *serial;
	struct ged *ged;             /* NULL without cfg->power_button_fd */
	struct virtio_pci **vdevs;   /* plugged from the device table (virtio/devices.c) */
	unsigned int nvdevs;
	struct vfio_vm *vfio;        /* passed-through functions (vfio.c), NULL without */
	uint32_t extra_slots;        /* KVM memory slots taken after RAM's (vm_slot_alloc) */
	uint64_t boot_timer_t0_ns;
	bool boot_timer_fired;
	struct confine_filter vcpu_filter;  /* compiled once, each vCPU thread loads it; insns NULL: none */
};

int vm_open(struct vm *vm, const struct vm_config *cfg, struct hull_err **err);
int vm_setup_memory(struct vm *vm, struct hull_err **err);
void vm_close(struct vm *vm);
/* Stop the VM with code (first caller wins) and wake the event loop. */
void vm_request_exit(struct vm *vm, int code, const char *why);
bool vm_exiting(struct vm *vm);

/* Allocate count consecutive MSI GSIs. */
int vm_msi_alloc(struct vm *vm, unsigned int count, uint32_t *gsi, struct hull_err **err);
/* Install or drop (valid=false) the MSI route of gsi and commit the table. */
int vm_msi_route(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, bool valid);
int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign);
/* A KVM memory slot number not used by guest RAM. */
uint32_t vm_slot_alloc(struct vm *vm);
/* Map [gpa, gpa+size) to hva in slot (size 0 deletes it); not guest RAM:
 * the device models never see it (gm_*), only the vCPUs. */
int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva, struct hull_err **err);
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool assign);

/* ---- vCPUs (vcpu.c) ------------------------------------------------------- */

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

enum exit_action { EXIT_CONTINUE, EXIT_STOP };

/* One KVM exit, decided without KVM: dispatches I/O and MMIO to the buses
 * and maps stop reasons to MICROVM_EXIT_*.  *code is set on EXIT_STOP. */
enum exit_action vcpu_handle_exit(struct bus *pio, struct bus *mmio, struct kvm_run *run, int *code,
				  const char **why);

int vcpus_create(struct vm *vm, struct hull_err **err);
int vcpus_start(struct vm *vm, struct hull_err **err);
/* Kick every vCPU out of KVM_RUN and join the threads. */
void vcpus_stop(struct vm *vm);
/* Park every running vCPU outside KVM_RUN and wait until all are parked
 * (or gone), or let them run again. */
void vcpus_pause(struct vm *vm, bool pause);
void vcpus_destroy(struct vm *vm);
/* Patch KVM's supported CPUID for vCPU `id` of `ncpus` (topology, APIC id). */
void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus);

/* ---- seccomp (seccomp.c) ------------------------------------------------ */

/* Compile the filter of a thread kind (f->insns malloc'd), for one thread. */
int vm_seccomp_prepare(enum microvm_thread kind, struct confine_filter *f, struct hull_err **err);
/* Load f, of kind `kind`, on the calling thread (f is not changed: threads
 * may share it); a refused call is then named as this kind's.  jail (NULL:
 * none): the thread enters it first (vm_config.jail). */
int vm_seccomp_apply(enum microvm_thread kind, const struct confine_filter *f, const struct confine_jail *jail,
		     struct hull_err **err);

/* ---- control (ctl.c) ----------------------------------------------------- */

/* The VM runs (its vCPUs started) / is about to stop; c may be NULL. */
void ctl_attach(struct microvm_ctl *c, struct vm *vm);
void ctl_detach(struct microvm_ctl *c);

/* ---- PCI (pci.c) ---------------------------------------------------------- */

#define PCI_CFG_SIZE 4096
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS 6

struct pci_dev;
struct pci_dev_ops {
	/* Access inside BAR `bar` at offset off (len 1..8, wholly inside). */
	void (*bar_access)(struct pci_dev *d, unsigned int bar, uint64_t off, void *data, uint32_t len,
			   bool write);
	/* The guest wrote [off, off+len) of the config space (after the
	 * write mask); called with pb->lock held.  Optional. */
	void (*cfg_written)(struct pci_dev *d, uint32_t off, uint32_t len);
	/* The BAR moved (addr 0 = no longer decoded). Optional. */
	void (*bar_moved)(struct pci_dev *d, unsigned int bar, uint64_t old_addr, uint64_t new_addr);
};

struct msix_vec {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
	unsigned int n;          /* vectors, <= PCI_MSIX_MAX */
	uint8_t cap;             /* config offset of the capability */
	unsigned int bar;
	uint32_t table_off, pba_off;
	uint32_t gsi_base;
	struct msix_vec tab[64];
	uint64_t pba;            /* one bit per vector */
	bool enabled, fmask;
	int irqfd[64];
	pthread_mutex_t lock;
};
#define PCI_MSIX_MAX 64

struct pci_bar {
	uint64_t size;           /* 0: unused */
	bool is64;
	uint64_t mapped;         /* address currently on the bus, 0 = none */
	struct pci_dev *dev;     /* back pointers for the bus callback */
	unsigned int idx;
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned int slot;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may write */
	uint8_t last_cap;        /* config offset of the last capability, 0 none */
	uint16_t cap_end;        /* first free config byte for the next capability */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_msix *msix;   /* NULL when the device has none */
	const struct pci_dev_ops *ops;
	void *opaque;
};

struct pci_bus {
	struct vm *vm;           /* NULL in unit tests: no BAR mapping, no KVM */
	struct bus *mmio;
	pthread_mutex_t lock;
	uint32_t cf8;
	struct pci_dev host;     /* 00:00.0 */
	struct pci_dev *slots[PCI_MAX_SLOTS];
	uint64_t mmio32_next, mmio32_end;
};

void pci_bus_init(struct pci_bus *pb, struct vm *vm, struct bus *mmio);
/* Register the config mechanisms (0xcf8 ports, ECAM MMIO). */
int pci_bus_attach(struct pci_bus *pb, struct bus *pio, struct bus *mmio, struct hull_err **err);
void pci_bus_destroy(struct pci_bus *pb);
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t class, uint8_t subclass,
		  uint8_t progif, uint16_t subsys_vendor, uint16_t subsys_id);
/* Declare BAR i (32-bit memory when !is64), size a power of two >= 4 KiB. */
void pci_dev_set_bar(struct pci_dev *d, unsigned int i, uint64_t size, bool is64);
/* Append a capability; returns its config offset or 0 when space ran out. */
uint8_t pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len);
/* Put the device on a free slot and allocate its BARs; consumes nothing. */
int pci_bus_add(struct pci_bus *pb, struct pci_dev *d, struct hull_err **err);
void pci_bus_remove(struct pci_bus *pb, struct pci_dev *d);
/* Config access for (bus, slot, fn, off); any width 1/2/4, any offset. */
void pci_cfg_access(struct pci_bus *pb, unsigned int busno, unsigned int slot, unsigned int fn, uint32_t off,
		    void *data, uint32_t len, bool write);
void pci_cf8_access(void *opaque, uint64_t off, void *data, uint32_t len, bool write);
void pci_ecam_access(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

/* MSI-X: capability + table/PBA inside BAR `bar`. */
int pci_msix_init(struct pci_dev *d, unsigned int nvec, unsigned int bar, uint32_t table_off, uint32_t pba_off,
		  struct hull_err **err);
/* Allocate GSIs and per-vector irqfds once the device is on a bus with a VM. */
int pci_msix_connect(struct pci_dev *d, struct hull_err **err);
void pci_msix_destroy(struct pci_dev *d);
void pci_msix_table_access(struct pci_dev *d, uint64_t off, void *data, uint32_t len, bool write);
void pci_msix_pba_access(struct pci_dev *d, uint64_t off, void *data, uint32_t len, bool write);
void pci_msix_signal(struct pci_dev *d, unsigned int vec);

/* ---- VFIO passthrough: the guest's view of the config space (vfio_cfg.c) --- */

/* Where the device's own config space and BAR sizes come from: the VFIO
 * device's regions, or a fake in unit tests. */
struct vfio_cfg_src {
	int (*read_cfg)(void *opaque, uint8_t *buf, size_t len);  /* the first len bytes */
	uint64_t (*bar_size)(void *opaque, unsigned int bar);     /* region size, 0 none */
	void *opaque;
};
struct vfio_cfg_info {
	uint64_t bar_size[PCI_NUM_BARS];  /* as the device reports (the guest's BAR: a power of two >= 4 KiB) */
	unsigned int hidden_io;           /* bit i: BAR i is I/O space, not offered */
	unsigned int msix_vectors;        /* 0: no MSI-X; at most PCI_MSIX_MAX */
	unsigned int msix_dev_vectors;    /* the device's table size (may be more) */
	unsigned int msix_bar;
	uint32_t msix_table_off, msix_pba_off;
};
/* Fill d (pci_dev_init'ed here) from the device: identity, memory BARs, MSI-X
 * (emulated); I/O BARs, the ROM and every other capability hidden. */
int vfio_cfg_build(struct pci_dev *d, const struct vfio_cfg_src *src, struct vfio_cfg_info *info,
		   struct hull_err **err);

/* The parts of a BAR the guest reaches without a VM exit (KVM memory slots
 * over the mmap of the VFIO region): all of it, or around the page(s)
 * holding the MSI-X table and PBA, which trap to hull's emulation.  None
 * when the region is not page-sized (it cannot be mmapped). */
struct vfio_range {
	uint64_t off, len;
};
unsigned int vfio_bar_direct(const struct vfio_cfg_info *info, unsigned int bar, uint64_t page,
			     struct vfio_range out[2]);

/* ---- VFIO passthrough: the devices (vfio.c) -------------------------------- */

/* Open the container, groups and devices of cfg->vfios, map guest RAM for
 * their DMA, put them on the PCI bus; undone by vfio_devices_unplug (which
 * copes with a plug that failed half-way). */
int vfio_devices_plug(struct vm *vm, struct hull_err **err);
void vfio_devices_unplug(struct vm *vm);

#endif
