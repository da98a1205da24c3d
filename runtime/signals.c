/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signal names for `hull kill` and hook/exit messages.  Accepted like runc:
 * a number, or a name with or without "SIG" in any case ("KILL", "SIGKILL",
 * "kill"), plus RTMIN/RTMAX with an optional +n/-n.
 */
#include "runtime/runtime.h"

#include <signal.h>
#include <strings.h>

/* Names without the "SIG" prefix; aliases after the canonical name so that
 * runtime_signal_name() returns the usual one. */
const struct runtime_signal runtime_signals[] = {
	{ "HUP", SIGHUP },	   { "INT", SIGINT },	    { "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },	   { "ABRT", SIGABRT },	    { "IOT", SIGIOT },	   { "BUS", SIGBUS },
	{ "FPE", SIGFPE },	   { "KILL", SIGKILL },	    { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	   { "PIPE", SIGPIPE },	    { "ALRM", SIGALRM },   { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT },   { "CHLD", SIGCHLD },	    { "CLD", SIGCHLD },	   { "CONT", SIGCONT },
	{ "STOP", SIGSTOP },	   { "TSTP", SIGTSTP },	    { "TTIN", SIGTTIN },   { "TTOU", SIGTTOU },
	{ "URG", SIGURG },	   { "XCPU", SIGXCPU },	    { "XFSZ", SIGXFSZ },   { "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF },	   { "WINCH", SIGWINCH },   { "IO", SIGIO },	   { "POLL", SIGPOLL },
	{ "PWR", SIGPWR },	   { "SYS", SIGSYS },
};
const size_t runtime_n_signals = ARRAY_SIZE(runtime_signals);

const char *runtime_signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(runtime_signals); i++)
		if (runtime_signals[i].value == sig)
			return runtime_signals[i].name;
	return NULL;
}

/* Decimal only, like runc's Atoi: "010" is 10, not octal 8.  At most 3 digits. */
static int parse_dec(const char *s, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

/* "RTMIN", "RTMIN+3", "RTMAX-2": glibc's SIGRTMIN (34), as `kill -l` prints. */
static int parse_rt(const char *s, int *sig)
{
	int base, off = 0, n;
	const char *rest;

	if (strncmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN;
	else if (strncmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX;
	else
		return -1;
	rest = s + 5;
	if (*rest != '\0') {
		if (*rest != '+' && *rest != '-')
			return -1;
		if (parse_dec(rest + 1, &n) < 0 || n > SIGRTMAX - SIGRTMIN)
			return -1;
		off = *rest == '+' ? (int)n : -(int)n;
	}
	if (base + off < SIGRTMIN || base + off > SIGRTMAX)
		return -1;
	*sig = base + off;
	return 0;
}

/* The input is user text: quote it, but never echo control characters. */
static int bad_signal(const char *s, struct hull_err **err)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return hull_err_make(err, 0, "unknown signal (name contains control characters)");
	if (strlen(s) > 31)
		return hull_err_make(err, 0, "unknown signal \"%.31s...\"", s);
	return hull_err_make(err, 0, "unknown signal \"%s\"", s);
}

int runtime_signal_parse(const char *s, int *sig, struct hull_err **err)
{
	char up[32];
	const char *name;
	size_t len;
	int n;

	if (s == NULL || *s == '\0')
		return hull_err_make(err, 0, "unknown signal \"\"");
	if (*s >= '0' && *s <= '9') {
		/* 0 is kill(2)'s existence probe; anything past SIGRTMAX is no signal. */
		if (parse_dec(s, &n) < 0 || n > SIGRTMAX)
			return bad_signal(s, err);
		*sig = n;
		return 0;
	}
	len = strlen(s);
	if (len >= sizeof(up))
		return bad_signal(s, err);
	for (size_t i = 0; i <= len; i++)
		up[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 'a' + 'A' : s[i]);
	name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
	for (size_t i = 0; i < ARRAY_SIZE(runtime_signals); i++) {
		if (strcmp(runtime_signals[i].name, name) == 0) {
			*sig = runtime_signals[i].value;
			return 0;
		}
	}
	if (parse_rt(name, sig) == 0)
		return 0;
	return bad_signal(s, err);
}
