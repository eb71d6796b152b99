/* c_fragment — expected label: no-leak.
 * Heap fragmentation that plateaus: 200 000 slots hold small blocks (32..4096 B, a skewed mix)
 * allocated in the first ~2 s; then each step frees a random slot and allocates a block of a new
 * random size there. The freed holes are scattered so the heap cannot shrink and the RSS rises
 * above the live size at first, but glibc reuses the holes, so it levels off at a fragmented
 * steady state instead of growing. Env: LC_RATE (replacements/s, default 20000), LC_DURATION_S. */
#include <string.h>
#include "lc_common.h"

int main(void) {
    enum { SLOTS = 200000 };
    static char *slot[SLOTS];
    double rate = lc_env("LC_RATE", 20000), duration = lc_env("LC_DURATION_S", 0), start = lc_now();
    unsigned long x = 0x9E3779B97F4A7C15UL;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
#define SIZE() (NEXT() % 4 == 0 ? 32 + NEXT() % 4064 : 32 + NEXT() % 480)
    for (long i = 0; i < SLOTS; i++) {
        size_t s = SIZE();
        slot[i] = malloc(s);
        if (slot[i]) memset(slot[i], 1, s);
        if (i % 1000 == 0) lc_sleep_until(start + i / 100000.0);
    }
    double t0 = lc_now();
    for (long n = 1; lc_running(start, duration); n++) {
        size_t i = NEXT() % SLOTS, s = SIZE();
        free(slot[i]);
        slot[i] = malloc(s);
        if (slot[i]) memset(slot[i], (int)n, s);
        if (n % 200 == 0) lc_sleep_until(t0 + n / rate);
    }
    return 0;
}
