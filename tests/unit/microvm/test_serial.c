/* SPDX-License-Identifier: Apache-2.0 */
/* The 8250 register model against what Linux's 8250 driver probes: scratch,
 * loopback MSR mapping, FIFO detection in IIR, THRE interrupt identification,
 * divisor latch, and wide or out-of-range accesses.  No KVM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "microvm/x86/x86.h"

static struct serial *s;
static int out[2];

static int setup(void **state)
{
	assert_int_equal(pipe2(out, O_NONBLOCK), 0);
	s = serial_create(NULL, -1, out[1], NULL);
	assert_non_null(s);
	return 0;
}

static int teardown(void **state)
{
	serial_destroy(s);
	close(out[0]);
	close(out[1]);
	return 0;
}

static uint8_t rd(unsigned int reg)
{
	uint8_t v = 0;
	serial_io(s, reg, &v, 1, false);
	return v;
}

static void wr(unsigned int reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static void test_serial_scratch_register_holds_a_value(void **state)
{
	wr(7, 0xa5);
	assert_int_equal(rd(7), 0xa5);
	wr(7, 0x5a);
	assert_int_equal(rd(7), 0x5a);
}

static void test_serial_loopback_maps_mcr_to_msr(void **state)
{
	wr(4, 0x10 | 0x0a); /* LOOP | RTS | OUT2: Linux's autoconfig expects 0x90 */
	assert_int_equal(rd(6) & 0xf0, 0x90);
	wr(4, 0x10 | 0x0f);
	assert_int_equal(rd(6) & 0xf0, 0xf0);
	wr(4, 0);
	assert_int_equal(rd(6) & 0xf0, 0xb0); /* DCD, DSR, CTS: a modem that is always there */
}

static void test_serial_loopback_echoes_thr_into_rbr(void **state)
{
	wr(4, 0x10);
	wr(0, 'x');
	assert_true(rd(5) & 0x01); /* data ready */
	assert_int_equal(rd(0), 'x');
	assert_false(rd(5) & 0x01);
	wr(4, 0);
}

static void test_serial_iir_reports_fifo_and_thre_interrupt(void **state)
{
	wr(2, 0x07); /* enable and clear FIFOs */
	assert_int_equal(rd(2) & 0xc0, 0xc0); /* 16550A */
	assert_int_equal(rd(2) & 0x0f, 0x01); /* no interrupt */
	wr(1, 0x02);                          /* IER: THRE */
	assert_int_equal(rd(2) & 0x0f, 0x02); /* THR empty */
	assert_int_equal(rd(2) & 0x0f, 0x01); /* reading IIR cleared it */
	wr(0, 'a');                           /* transmit: THR empty again */
	assert_int_equal(rd(2) & 0x0f, 0x02);
	assert_true(rd(5) & 0x60);            /* THRE | TEMT */
	char c;
	assert_int_equal(read(out[0], &c, 1), 1);
	assert_int_equal(c, 'a');
}

static void test_serial_divisor_latch_does_not_transmit(void **state)
{
	char c;

	wr(3, 0x80); /* DLAB */
	wr(0, 0x01);
	wr(1, 0x00);
	assert_int_equal(rd(0), 0x01);
	assert_int_equal(rd(1), 0x00);
	wr(3, 0x03);
	assert_int_equal(read(out[0], &c, 1), -1); /* nothing was sent */
	assert_int_equal(rd(1), 0);                /* IER untouched by the latch write */
}

static void test_serial_wide_and_out_of_range_accesses_are_safe(void **state)
{
	uint8_t buf[8];

	memset(buf, 0xee, sizeof(buf));
	serial_io(s, 5, buf, 4, false); /* LSR, MSR, SCR, then past the device */
	assert_int_equal(buf[3], 0xee);
	serial_io(s, 8, buf, 1, false);
	serial_io(s, UINT64_MAX, buf, 1, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serial_scratch_register_holds_a_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_loopback_maps_mcr_to_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_loopback_echoes_thr_into_rbr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_iir_reports_fifo_and_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_divisor_latch_does_not_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_wide_and_out_of_range_accesses_are_safe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
