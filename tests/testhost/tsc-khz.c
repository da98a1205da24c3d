/* Print this machine's TSC frequency in kHz.
 *
 * Under TCG the guest's TSC is the host's, but the guest kernel cannot
 * calibrate it: its PIT loops are too jittery when the emulator threads get
 * preempted, and a failed calibration leaves it without a clocksource, hung.
 * tests/testhost/run passes this number as tsc_early_khz= instead.
 *
 * Each sample brackets a clock read between two TSC reads over 20 ms; the
 * median of five is printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void sample_pair(uint64_t *tsc, int64_t *ns)
{
	struct timespec t;
	uint64_t a = __rdtsc();

	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	uint64_t b = __rdtsc();

	*tsc = a + (b - a) / 2;
	*ns = ns_of(&t);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	enum { SAMPLES = 5 };
	uint64_t khz[SAMPLES];
	const struct timespec gap = { .tv_nsec = 20 * 1000 * 1000 };

	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0, t1;
		int64_t n0, n1;

		sample_pair(&t0, &n0);
		nanosleep(&gap, NULL);
		sample_pair(&t1, &n1);
		if (n1 <= n0 || t1 <= t0)
			return 1;
		khz[i] = (t1 - t0) * 1000000 / (uint64_t)(n1 - n0);
	}
	qsort(khz, SAMPLES, sizeof(khz[0]), cmp_u64);
	printf("%llu\n", (unsigned long long)khz[SAMPLES / 2]);
	return 0;
}
