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

#include <sys/uio.h>

struct confine_jail;

#define MICROVM_FS_TAG_MAX 36       /* virtio-fs config tag[36] (virtio 1.2 §5.11.4) */
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

/* Firecracker's rate limiter (docs/sandbox.md): a token bucket of `size`
 * tokens (bytes or operations) that refills completely in refill_ms, plus a
 * one-time burst spent first and never refilled.  size or refill_ms 0: no
 * limit.  The API checks refill_ms <= VM_BUCKET_MAX_REFILL_MS. */
struct vm_bucket {
	uint64_t size, one_time_burst, refill_ms;
};
#define VM_BUCKET_MAX_REFILL_MS (UINT64_MAX / 1000000u)  /* fits in ns */

struct vm_rate_limiter {
	struct vm_bucket bw, ops;
};

/* Either bucket limits something. */
static inline bool vm_rate_limiter_set(const struct vm_rate_limiter *rl)
{
	return (rl->bw.size && rl->bw.refill_ms) || (rl->ops.size && rl->ops.refill_ms);
}

struct vm_disk {
	const char *path;
	bool ro;
	struct vm_rate_limiter rl;  /* zero: none */
};

/* A virtio-fs device whose queues a vhost-user backend (e.g. `hull
 * virtiofsd`) serves on socket_path; the guest mounts it by tag. */
struct vm_fs {
	const char *socket_path;
	const char *tag;            /* 1..MICROVM_FS_TAG_MAX bytes */
};

/* A PCI function passed through with VFIO (docs/passthrough.md): bdf
 * (DDDD:BB:DD.F) bound to vfio-pci in IOMMU group `group`, both checked by
 * the caller (vfio_passthrough_check); the group must be viable. */
struct vm_vfio {
	const char *bdf;
	int group;
};

enum vm_vhost { VM_VHOST_AUTO, VM_VHOST_ON, VM_VHOST_OFF };

/* A virtio-net device on an existing tap of the current network namespace. */
struct vm_net {
	const char *tap;
	uint8_t mac[6];
	bool has_mac;               /* else a random locally administered MAC */
	enum vm_vhost vhost;        /* AUTO: vhost-net when /dev/vhost-net opens */
	/* zero: none; a limiter keeps the data path in the event loop (vhost-net
	 * would bypass it): with vhost ON it is an error */
	struct vm_rate_limiter rx_rl, tx_rl;
};

/* "xx:xx:xx:xx:xx:xx" (a unicast address) into mac; -1 if it is not one. */
int vm_net_parse_mac(const char *s, uint8_t mac[6]);

struct vm_config {
	const char *kernel;
	const char *initrd;         /* NULL: none */
	const char *cmdline;        /* NULL: a default for the console kind */
	unsigned int cpus;          /* 1..MICROVM_MAX_CPUS */
	uint64_t mem_mib;
	const struct vm_disk *disks; /* ndisks entries, owned by the caller */
	unsigned int ndisks;
	const struct vm_fs *fs;     /* nfs entries, owned by the caller */
	unsigned int nfs;           /* > 0: guest RAM is a shared memfd */
	const struct vm_net *nets;  /* nnets entries, owned by the caller */
	unsigned int nnets;
	const struct vm_vfio *vfios; /* nvfio entries, owned by the caller */
	unsigned int nvfio;
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
	/* Graceful shutdown: each time this fd becomes readable, microvm_run
	 * drains it (one read) and presses the guest's ACPI power button.  Make
	 * it an eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) and write 8 bytes to it
	 * (async-signal-safe: a SIGTERM handler may do it; any thread may).  The
	 * guest decides: it powers off (microvm_run returns, exit code
	 * MICROVM_EXIT_POWEROFF) or ignores it.  A deadline, and what a second
	 * request means, are the caller's policy (docs/microvm.md, "Graceful
	 * shutdown").  The fd stays the caller's; EOF on it stops the watch.
	 * -1 (microvm_config_init): no power button. */
	int power_button_fd;
	/* Control of the running VM from other threads (hull vm serve's API):
	 * NULL none.  The caller owns it; it must outlive microvm_run. */
	struct microvm_ctl *ctl;
	/* Per-thread seccomp filters (microvm/seccomp.c): each vCPU thread
	 * installs its own before its first KVM_RUN, the thread that called
	 * microvm_run (the event loop) its own once the vCPUs are started.
	 * Default true (microvm_config_init); false is `--no-seccomp`. */
	bool seccomp;
	/* A jail (confine/confine.h) each of those threads enters, with no
	 * capability, right before its filter: a VM container's VMM
	 * (vmcontainer/supervisor.c).  NULL: none.  Needs seccomp. */
	const struct confine_jail *jail;
};

/* ---- seccomp filters of the VMM's threads (microvm/seccomp.c) -------------
 * One allowlist per thread kind, everything else kills the process by
 * SIGSYS after one line on stderr, `hull: seccomp: vcpu thread: forbidden
 * syscall socket (41)` (docs/sandbox.md).  The vCPU and event-loop threads get theirs from
 * microvm_run (vm_config.seccomp); a thread of the caller's that lives
 * alongside a running VM installs its kind with microvm_seccomp_thread once
 * its setup is done: it filters the calling thread only, and sets its
 * no_new_privs. */
enum microvm_thread {
	MICROVM_THREAD_VCPU,
	MICROVM_THREAD_VMM,         /* the event loop, then the stop */
	MICROVM_THREAD_API,         /* hull vm serve's API thread, after InstanceStart */
	MICROVM_THREAD_SUPERVISOR,  /* a VM container's supervisor, once the container runs */
};
int microvm_seccomp_thread(enum microvm_thread kind, struct hull_err **err);
/* Firecracker's "seccomp": {"num_faults": N}: the count of refused calls
 * (0 in a process that is still alive), and the metrics fd that the SIGSYS
 * handler writes that group to before the process dies (-1: none; the
 * caller owns it and sets -1 before closing it). */
unsigned long microvm_seccomp_faults(void);
void microvm_seccomp_metrics_fd(int fd);

/* ---- control of a running VM (microvm/ctl.c) -------------------------------
 * Every call may come from any thread; it blocks the caller (never the VMM)
 * until done, and fails with "not running" before microvm_run started the
 * vCPUs or once it is stopping. */
struct microvm_ctl;
struct microvm_ctl *microvm_ctl_new(void);
void microvm_ctl_free(struct microvm_ctl *c);
/* Wait until microvm_run either started the vCPUs (true) or returned (false). */
bool microvm_ctl_wait_started(struct microvm_ctl *c);
/* Park every vCPU outside KVM_RUN (pause) or let them run again. */
int microvm_ctl_pause(struct microvm_ctl *c, bool pause, struct hull_err **err);
/* Replace the backing file of disk idx (vm_config.disks[idx]) and tell the
 * guest its new capacity (a virtio config change interrupt). */
int microvm_ctl_set_disk(struct microvm_ctl *c, unsigned int idx, const char *path, struct hull_err **err);
/* Replace the rate limiter of disk idx (net false: *rl, tx unused) or network
 * interface idx's receive (*rl) and transmit (*tx) limiters, a NULL one kept:
 * both or neither.  A bucket whose settings did not change keeps its tokens.
 * Fails, changing nothing, if one would limit an interface vhost-net serves. */
int microvm_ctl_set_limiter(struct microvm_ctl *c, bool net, unsigned int idx, const struct vm_rate_limiter *rl,
			    const struct vm_rate_limiter *tx, struct hull_err **err);
/* Counters for metrics; zero before start. */
struct microvm_stats {
	uint64_t exits_io, exits_mmio, exits_other;
	uint64_t blk_reads, blk_writes, blk_read_bytes, blk_write_bytes;
	uint64_t blk_throttled;                    /* requests deferred by a rate limiter */
	uint64_t net_rx_throttled, net_tx_throttled;
};
void microvm_ctl_stats(struct microvm_ctl *c, struct microvm_stats *st);

/* Defaults; always start from this (0 is a valid fd: power_button_fd must be -1). */
void microvm_config_init(struct vm_config *cfg);
/* Whether this host can boot a stock guest at all (/dev/kvm opens, not PVM),
 * before anything is made for one: the error microvm_run would give. */
int microvm_check_host(struct hull_err **err);
int microvm_run(const struct vm_config *cfg, int *exit_code, struct hull_err **err);

/* ---- vhost-user backend (microvm/vhost_user_backend.c) -------------------
 * Serve a virtio device's queues for a vhost-user frontend (a VMM) in this
 * process: the frontend's guest memory is mapped here, and each request
 * chain goes to ops->handle.  Everything the frontend or its guest sends is
 * hostile: a bad memory table or ring is refused (and that queue stops), it
 * never crashes the backend. */
#define VUB_MAX_QUEUES 8

struct vub_ops {
	const char *name;           /* in messages, e.g. "virtio-fs" */
	uint16_t num_queues;        /* 1..VUB_MAX_QUEUES */
	uint64_t features;          /* device-specific virtio feature bits to offer */
	/* One chain of queue q: in = its driver->device buffers, out = its
	 * device->driver buffers (both already checked to lie in guest memory).
	 * Returns the bytes written into out (the used length), or < 0 to return
	 * the chain with 0 bytes.  Runs on the backend's one thread. */
	ssize_t (*handle)(void *opaque, unsigned int q, const struct iovec *in, int nin, const struct iovec *out,
			  int nout);
};

/* fd: a listening Unix stream socket (one connection is accepted; fd stays
 * open) or a connected one (not consumed).  Returns 0 when the frontend
 * disconnects, < 0 on a protocol error or a failure of this process. */
int vhost_user_backend_run(int fd, const struct vub_ops *ops, void *opaque, struct hull_err **err);

#endif
