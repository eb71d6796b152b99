/* c_churn — expected label: no-leak.
 * A request loop with malloc/free churn: a ring of 4096 live buffers of random size 16 B..64 KiB;
 * every request frees the oldest and mallocs a new one, touching it. The live set is bounded
 * (at most 256 MiB, ~128 MiB on average), so after the ring fills in the first second the
 * resident set is flat apart from allocator noise. Env: LC_RATE (requests/s, default 4000),
 * LC_DURATION_S (0 = forever). */
#include <string.h>
#include "lc_common.h"

int main(void) {
    enum { SLOTS = 4096 };
    static char *ring[SLOTS];
    double rate = lc_env("LC_RATE", 4000), duration = lc_env("LC_DURATION_S", 0), start = lc_now();
    unsigned long x = 88172645463325252UL;
    for (long n = 1; lc_running(start, duration); n++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t i = n % SLOTS, size = 16 + x % (64 * 1024);
        free(ring[i]);
        ring[i] = malloc(size);
        if (ring[i]) memset(ring[i], (int)n, size);
        if (n % 100 == 0) lc_sleep_until(start + n / rate);
    }
    return 0;
}
