/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/internal.h: machine-side internals shared by the files of microvm/
 * (never included outside it).  All machine and device state is plain
 * structs of numbers so a later snapshot can serialise it; fds and threads
 * are the only things rebuilt on restore.
 *
 * Lock order (outermost first), never reversed:
 *   vm->exit_lock  (leaf, taken alone)
 *   pci->lock (config space) -> bus->lock (write, BAR remap) -> vm->route_lock
 *   virtio_dev->lock -> msix.lock -> vm->route_lock
 * A bus lock is never held while a device handler runs: bus_access copies the
 * range out under the read lock and calls the handler after dropping it, so a
 * handler may remap BARs on the same bus.
 */
#ifndef HULL_MICROVM_INTERNAL_H
#define HULL_MICROVM_INTERNAL_H

#include "microvm/microvm.h"
#include "microvm/virtio.h"
#include "microvm/layout.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdatomic.h>

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

/* ---- event loop (evloop.c) ----------------------------------------------- */

struct evloop *evloop_new(struct hull_err **err);
/* Run callbacks on the calling thread until evloop_stop(). */
int evloop_run(struct evloop *l, struct hull_err **err);
void evloop_stop(struct evloop *l);
void evloop_free(struct evloop *l);

/* ---- the VM (kvm.c) ------------------------------------------------------- */

struct vcpu;
struct pci_bus;
struct serial;
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
	struct kvm_cpuid2 *cpuid;

	/* boot (boot.c fills, vcpu.c consumes) */
	struct boot_info {
		bool pvh;            /* 32-bit PVH entry, else 64-bit Linux boot protocol */
		uint64_t entry;
		uint64_t kernel_end;
	} boot;

	struct pci_bus *pci;
	struct serial *serial;
	struct virtio_pci *vdevs[MICROVM_MAX_DISKS + 2];
	unsigned int nvdevs;
	uint64_t boot_timer_t0_ns;
	bool boot_timer_fired;
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
void vcpus_destroy(struct vm *vm);
/* Patch KVM's supported CPUID for vCPU `id` of `ncpus` (topology, APIC id). */
void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus);

/* ---- boot (boot.c) ----------------------------------------------------------- */

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst, boot.rst) */
#define ZP_ACPI_RSDP 0x070
#define ZP_E820_ENTRIES 0x1e8
#define ZP_HDR 0x1f1
#define ZP_SETUP_SECTS 0x1f1
#define ZP_VID_MODE 0x1fa
#define ZP_BOOT_FLAG 0x1fe
#define ZP_JUMP 0x200
#define ZP_HEADER 0x202
#define ZP_VERSION 0x206
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_LOADFLAGS 0x211
#define ZP_CODE32_START 0x214
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_HEAP_END_PTR 0x224
#define ZP_CMD_LINE_PTR 0x228
#define ZP_INITRD_ADDR_MAX 0x22c
#define ZP_KERNEL_ALIGNMENT 0x230
#define ZP_RELOCATABLE 0x234
#define ZP_XLOADFLAGS 0x236
#define ZP_CMDLINE_SIZE 0x238
#define ZP_PREF_ADDRESS 0x258
#define ZP_INIT_SIZE 0x260
#define ZP_HDR_END 0x26c
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_MAX 128
#define ZP_SIZE 4096

#define BOOT_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_MIN_VERSION 0x020c     /* 2.12: 64-bit entry point, xloadflags */
#define XLF_KERNEL_64 (1u << 0)
#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

enum kernel_kind { KERNEL_BZIMAGE, KERNEL_ELF_PVH, KERNEL_ELF_64 };

struct bzimage_info {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	uint64_t payload_off, payload_len;
};

/* Pure parsers (unit-tested with hostile images). */
int boot_parse_bzimage(const uint8_t *img, size_t len, struct bzimage_info *bi, struct hull_err **err);
int boot_kernel_kind(const uint8_t *img, size_t len, enum kernel_kind *kind, struct hull_err **err);
/* The e820 map for mem_size bytes of RAM; returns the number of entries. */
unsigned int boot_e820(uint64_t mem_size, struct e820_entry *e, unsigned int max);
/* Fill a zero page (ZP_SIZE bytes) for a parsed bzImage. */
void boot_fill_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage_info *bi, uint64_t cmdline_len,
			 uint64_t initrd_gpa, uint64_t initrd_len, uint64_t mem_size);
/* Read kernel/initrd and lay them out in guest memory; fills vm->boot. */
int boot_load(struct vm *vm, struct hull_err **err);
/* Check a kernel file before any KVM work so bad usage fails first. */
int boot_check_kernel(const char *path, struct hull_err **err);

/* ---- ACPI (aml.c, acpi.c) ------------------------------------------------- */

struct aml {
	uint8_t *buf;
	size_t len, cap;
};
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_int(struct aml *a, uint64_t v);          /* smallest integer encoding */
void aml_string(struct aml *a, const char *s);
void aml_namestring(struct aml *a, const char *path); /* "\\_SB_.PCI0", "_HID" */
void aml_eisaid(struct aml *a, const char *id);   /* "PNP0A08" */
/* Nested objects: begin returns a mark, end patches the PkgLength. */
size_t aml_begin(struct aml *a, const uint8_t *op, size_t oplen);
void aml_end(struct aml *a, size_t mark);
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_method(struct aml *a, const char *name, uint8_t nargs, bool serialized);
size_t aml_package(struct aml *a, uint8_t nelem);
size_t aml_buffer(struct aml *a); /* size is patched at aml_buffer_end */
void aml_buffer_end(struct aml *a, size_t mark);
void aml_name(struct aml *a, const char *name);   /* NameOp; value follows */
void aml_return(struct aml *a);                  /* ReturnOp; value follows */
/* Resource template descriptors (ACPI 6.5 §6.4), inside aml_buffer. */
void aml_rt_io(struct aml *a, uint16_t base, uint8_t len);
void aml_rt_irq(struct aml *a, uint8_t irq);
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max);
void aml_rt_end(struct aml *a);

struct acpi_tables {
	uint8_t *blob;     /* laid out for guest address `base` */
	size_t len;
	uint64_t base;
	uint64_t rsdp;
	struct { char sig[5]; size_t off, len; } t[8];
	unsigned int n;
};
int acpi_build(struct acpi_tables *t, uint64_t base, unsigned int ncpus, struct hull_err **err);
void acpi_tables_free(struct acpi_tables *t);
uint8_t acpi_checksum(const uint8_t *p, size_t len);
int acpi_dump(const struct acpi_tables *t, const char *dir, struct hull_err **err);

/* ---- PCI (pci.c) ---------------------------------------------------------- */

#define PCI_CFG_SIZE 4096
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS 6

struct pci_dev;
struct pci_dev_ops {
	/* Access inside BAR `bar` at offset off (len 1..8, wholly inside). */
	void (*bar_access)(struct pci_dev *d, unsigned int bar, uint64_t off, void *data, uint32_t len,
			   bool write);
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

/* ---- virtio-pci (virtio_pci.c) -------------------------------------------- */

struct virtio_pci *virtio_pci_create(struct vm *vm, struct virtio_dev *vdev, struct hull_err **err);
void virtio_pci_destroy(struct virtio_pci *vp);

/* ---- legacy devices (serial.c, boot_timer.c, platform.c) ---------------------- */

struct serial *serial_create(struct vm *vm, int in_fd, int out_fd, struct hull_err **err);
void serial_destroy(struct serial *s);
/* Pure register model for unit tests: */
void serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write);

int platform_devices_init(struct vm *vm, struct hull_err **err);
int boot_timer_init(struct vm *vm, struct hull_err **err);

#endif
