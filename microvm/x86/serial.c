/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 8250/16550A UART on COM1 (0x3f8, IRQ 4): enough of the register set for
 * Linux's 8250 driver to probe (scratch, loopback, FIFO detection) and run
 * interrupt-driven.  THR goes to the host console fd; host input is read
 * into a 64-byte FIFO only while it has room (reading stops when it is full
 * and resumes when the guest drains it, so input is never buffered without
 * limit).  The IRQ is an irqfd on IOAPIC pin 4, edge-triggered: it fires
 * whenever a new interrupt condition appears.
 */
#include "microvm/x86/x86.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#define FIFO_SIZE 64

#define UART_RX 0
#define UART_TX 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	struct vm *vm;               /* NULL in unit tests */
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_int;                /* THR-empty interrupt pending */
	uint8_t fifo[FIFO_SIZE];
	unsigned int head, count;
	int in_fd, out_fd, irq_fd;
	bool in_watched, in_eof;
};

static uint8_t iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->count)
		return IIR_RDI | IIR_FIFO;
	if ((s->ier & IER_THRI) && s->thr_int)
		return IIR_THRI | IIR_FIFO;
	return IIR_NO_INT | IIR_FIFO;
}

static void raise_irq(struct serial *s)
{
	uint64_t one = 1;
	if (s->irq_fd >= 0 && write(s->irq_fd, &one, sizeof(one)) < 0)
		hull_debug("serial: irqfd: %s", strerror(errno));
}

static void push(struct serial *s, uint8_t c)
{
	if (s->count == FIFO_SIZE)
		return;
	s->fifo[(s->head + s->count) % FIFO_SIZE] = c;
	s->count++;
}

static void input_ready(void *opaque, uint32_t events);

static void watch_input(struct serial *s, bool on)
{
	if (!s->vm || s->in_fd < 0 || s->in_eof || on == s->in_watched)
		return;
	if (on)
		s->in_watched = evloop_add(s->vm->loop, s->in_fd, EPOLLIN, input_ready, s) == 0;
	else
		s->in_watched = !(evloop_del(s->vm->loop, s->in_fd) == 0);
}

static void input_ready(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[FIFO_SIZE];
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	if (s->count == FIFO_SIZE) { /* raced with the guest filling up: wait for room */
		watch_input(s, false);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	n = read(s->in_fd, buf, FIFO_SIZE - s->count);
	if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
		watch_input(s, false);
		s->in_eof = true; /* EOF or error: the guest just sees no more input */
	}
	for (ssize_t i = 0; i < n; i++)
		push(s, buf[i]);
	if (s->count == FIFO_SIZE)
		watch_input(s, false);
	bool irq = n > 0 && (s->ier & IER_RDI);
	pthread_mutex_unlock(&s->lock);
	if (irq)
		raise_irq(s);
}

static void output(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		push(s, c);
		return;
	}
	if (s->out_fd >= 0 && write_all(s->out_fd, &c, 1) < 0)
		s->out_fd = -1; /* host console gone: drop output, keep the guest running */
}

static uint8_t reg_read(struct serial *s, unsigned int r, bool *rearm)
{
	uint8_t v = 0;

	switch (r) {
	case UART_RX:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->count) {
			v = s->fifo[s->head];
			s->head = (s->head + 1) % FIFO_SIZE;
			s->count--;
			*rearm = true;
		}
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_int = false; /* reading IIR clears the THRE source */
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (uint8_t)(LSR_THRE | LSR_TEMT | (s->count ? LSR_DR : 0));
	case UART_MSR:
		if (s->mcr & MCR_LOOP) /* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
					 ((s->mcr & 0x08) << 4));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return s->scr;
	}
	return 0;
}

/* Returns whether a new interrupt condition appeared. */
static bool reg_write(struct serial *s, unsigned int r, uint8_t v)
{
	switch (r) {
	case UART_TX:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return false;
		}
		output(s, v);
		s->thr_int = true; /* the byte left at once: THR empty again */
		return (s->ier & IER_THRI) || ((s->mcr & MCR_LOOP) && (s->ier & IER_RDI));
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return false;
		}
		{
			bool thri_on = (v & IER_THRI) && !(s->ier & IER_THRI);
			s->ier = v & 0x0f;
			if (thri_on)
				s->thr_int = true;
			return (iir(s) & IIR_NO_INT) == 0;
		}
	case UART_FCR:
		s->fcr = v;
		if (v & 0x02) { /* clear receive FIFO */
			s->head = s->count = 0;
		}
		return false;
	case UART_LCR:
		s->lcr = v;
		return false;
	case UART_MCR:
		s->mcr = v & 0x1f;
		return false;
	case UART_SCR:
		s->scr = v;
		return false;
	}
	return false; /* LSR, MSR: read-only */
}

void serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool write)
{
	struct serial *s = opaque;
	uint8_t *p = data;
	bool irq = false, rearm = false;

	pthread_mutex_lock(&s->lock);
	/* Byte registers; a wider access touches consecutive registers. */
	for (uint32_t i = 0; i < len && off < 8 && i < 8 - off; i++) {
		if (write)
			irq |= reg_write(s, (unsigned int)(off + i), p[i]);
		else
			p[i] = reg_read(s, (unsigned int)(off + i), &rearm);
	}
	/* Room again (a read, or a FIFO reset through FCR): resume host input. */
	if (s->count < FIFO_SIZE)
		watch_input(s, true);
	if (rearm && s->count && (s->ier & IER_RDI))
		irq = true; /* more data behind the byte just read */
	pthread_mutex_unlock(&s->lock);
	if (irq)
		raise_irq(s);
}

struct serial *serial_create(struct vm *vm, int in_fd, int out_fd, struct hull_err **err)
{
	struct serial *s = xcalloc(1, sizeof(*s));

	s->vm = vm;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->irq_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (!vm)
		return s;
	s->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irq_fd < 0) {
		hull_err_make(err, errno, "serial: eventfd");
		goto fail;
	}
	int r = vm_irqfd(vm, s->irq_fd, LAYOUT_COM1_IRQ, true);
	if (r < 0) {
		hull_err_make(err, -r, "serial: KVM_IRQFD");
		goto fail;
	}
	if (bus_insert(&vm->pio, LAYOUT_PORT_COM1, 8, serial_io, s, "com1", err) < 0) {
		vm_irqfd(vm, s->irq_fd, LAYOUT_COM1_IRQ, false);
		goto fail;
	}
	pthread_mutex_lock(&s->lock);
	watch_input(s, true);
	pthread_mutex_unlock(&s->lock);
	return s;
fail:
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->vm) {
		bus_remove(&s->vm->pio, LAYOUT_PORT_COM1, s);
		watch_input(s, false);
		vm_irqfd(s->vm, s->irq_fd, LAYOUT_COM1_IRQ, false);
	}
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
