/* SPDX-License-Identifier: Apache-2.0 */
/*
 * microvm/microvm.h: the door other folders use to boot a KVM microVM.
 *
 * microvm_run() boots a Linux kernel (bzImage, or an ELF vmlinux with a PVH
 * note) with virtio-pci devices and waits for the guest to stop.  It returns
 * 0 with *exit_code set to one of MICROVM_EXIT_* for a guest-initiated stop,
 * or < 0 with *err set (a VMM error: cli/ exits MICROVM_EXIT_ERROR).
 */
#ifndef HULL_MICROVM_H
#define HULL_MICROVM_H

#include "common/common.h"

#define MICROVM_MAX_CPUS 64
/* Guest CIDs: 0-2 are reserved (hypervisor, local, host), 2^32-1 is "any". */
#define MICROVM_VSOCK_CID_MIN 3u
#define MICROVM_VSOCK_CID_MAX 0xfffffffeu
#define MICROVM_VSOCK_CID_DEFAULT 3u

/* Process exit codes of `hull vm run` (docs/microvm.md). */
enum microvm_exit {
	MICROVM_EXIT_POWEROFF = 0, /* ACPI S5, KVM_SYSTEM_EVENT_SHUTDOWN, HLT with no irqchip */
	MICROVM_EXIT_ERROR = 1,    /* VMM error or bad usage */
	MICROVM_EXIT_REBOOT = 2,   /* ACPI reset register, i8042 reset, KVM_SYSTEM_EVENT_RESET */
	MICROVM_EXIT_CRASH = 3,    /* pvpanic, KVM_SYSTEM_EVENT_CRASH or triple fault */
};

enum microvm_console { MICROVM_CONSOLE_SERIAL, MICROVM_CONSOLE_VIRTIO };

struct vm_disk {
	const char *path;
	bool ro;
};

struct vm_config {
	const char *kernel;
	const char *initrd;         /* NULL: none */
	const char *cmdline;        /* NULL: a default for the console kind */
	unsigned int cpus;          /* 1..MICROVM_MAX_CPUS */
	uint64_t mem_mib;
	const struct vm_disk *disks; /* ndisks entries, owned by the caller */
	unsigned int ndisks;
	enum microvm_console console;
	bool hugepages;             /* back RAM with memfd MFD_HUGETLB */
	bool ksm;                   /* MADV_MERGEABLE on guest RAM */
	/* The guest's first boot-timer write (port 0x440 or MMIO 0xe0100000):
	 * called once, from a vCPU thread, with the nanoseconds since this
	 * process started.  NULL: the write is ignored. */
	void (*boot_timer)(void *opaque, uint64_t ns);
	void *boot_timer_opaque;
	const char *dump_acpi;      /* write the ACPI tables into this directory, then exit 0 */
	int console_in, console_out; /* host fds for the guest console (stdin, stdout) */
	/* virtio-vsock (docs/microvm.md): present when vsock_uds is set or
	 * vsock_cid is not 0; vsock_cid 0 means MICROVM_VSOCK_CID_DEFAULT.
	 * The VMM listens on vsock_uds for host clients ("CONNECT <port>\n")
	 * and connects guest-initiated streams to host port P to "<vsock_uds>_P". */
	uint64_t vsock_cid;
	const char *vsock_uds;
};

void microvm_config_init(struct vm_config *cfg);
/* Whether this host can boot a stock guest at all (/dev/kvm opens, not PVM),
 * before anything is made for one: the error microvm_run would give. */
int microvm_check_host(struct hull_err **err);
int microvm_run(const struct vm_config *cfg, int *exit_code, struct hull_err **err);

#endif
