/* SPDX-License-Identifier: Apache-2.0 */
/* guest/internal.h: private to guest/ (the agent's pieces). */
#ifndef HULL_GUEST_INTERNAL_H
#define HULL_GUEST_INTERNAL_H

#include "guest/guest.h"

#include <pthread.h>

/* ---- children and reaping (reaper.c) --------------------------------------
 * The agent is PID 1 (or a subreaper in the test mode): every orphan of the
 * guest ends up its child, the container's init and detached exec'd
 * processes included.  One thread reaps them all (SIGCHLD is blocked in every
 * thread and waited for there) and hands each status to whoever watches that
 * pid; a status nobody watches yet is kept a while, for a watcher that learns
 * the pid only after the process died (an init that exits before its pid file
 * was read). */
struct agent_watch;

/* Start the reaper thread; SIGCHLD must be blocked in all threads first. */
int agent_reaper_start(struct hull_err **err);
/* fork+exec argv with fds[0..2] as stdio (-1: /dev/null), its signal mask and
 * dispositions reset; the returned watch sees its exit. */
int agent_spawn(char *const argv[], const int fds[3], struct agent_watch **w, struct hull_err **err);
/* Watch a process that is (or will be reparented as) the agent's child. */
struct agent_watch *agent_watch_pid(pid_t pid);
/* An fd that turns readable once the process was reaped (owned by the watch). */
int agent_watch_fd(const struct agent_watch *w);
/* Block until reaped; returns the wait status. */
int agent_watch_wait(struct agent_watch *w);
/* The wait status, or -1 while it runs. */
int agent_watch_status(struct agent_watch *w);
/* Stop watching (the process is still reaped, its status dropped). */
void agent_watch_free(struct agent_watch *w);
/* A wait status as an exit code: the code, or 128 + the signal. */
int agent_exit_code(int status);

/* ---- stdio relay (relay.c) ------------------------------------------------ */

struct agent_stdio {
	int in;                     /* write end of the process's stdin, or the pty master; -1 none */
	int out;                    /* read end of its stdout, or the pty master (tty) */
	int err;                    /* read end of its stderr; -1 with a tty */
	bool tty;
};
/* Relay between the connection and the process until it exits, then send
 * EXIT.  Consumes the stdio fds.  Returns when EXIT went out (0) or the host
 * closed or broke the connection (< 0: the process keeps running). */
int agent_relay(int conn, struct agent_stdio *s, struct agent_watch *w, struct hull_err **err);

/* ---- the guest (pid1.c) ---------------------------------------------------- */

/* PID 1's set-up: a tmpfs root (then argv is exec'd again from there, once),
 * file systems, modules, cgroup controllers, the share, lo. */
void agent_pid1_setup(char *const argv[]);
/* The ACPI power button's input device (fd), -1 if none; wait for a press. */
int agent_power_button_open(void);
bool agent_power_button_wait(int fd);
/* Listen on vsock port GUEST_AGENT_PORT. */
int agent_listen_vsock(struct hull_err **err);

#endif
