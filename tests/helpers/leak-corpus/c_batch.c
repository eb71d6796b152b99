/* c_batch — expected label: no-leak.
 * A periodic batch job: every LC_PERIOD_S seconds (default 6) it mallocs 200 MiB (LC_BATCH_MIB),
 * fills it, works on it for 2 s, frees it (an mmap'd block, returned to the kernel) and sleeps.
 * Memory is a square wave over a flat floor of a few hundred KiB.
 * Env: LC_PERIOD_S, LC_BATCH_MIB, LC_DURATION_S (0 = forever). */
#include <string.h>
#include "lc_common.h"

int main(void) {
    double period = lc_env("LC_PERIOD_S", 6), duration = lc_env("LC_DURATION_S", 0);
    size_t size = (size_t)(lc_env("LC_BATCH_MIB", 200) * 1048576);
    double start = lc_now();
    volatile unsigned long sum = 0;
    for (long k = 1; lc_running(start, duration); k++) {
        unsigned char *p = malloc(size);
        if (p) {
            memset(p, 0x42, size);
            double end = lc_now() + 2.0;
            while (lc_now() < end) {
                for (size_t i = 0; i < size; i += 4096 * 64) sum += p[i];
                lc_sleep_until(lc_now() + 0.05);
            }
            free(p);
        }
        lc_sleep_until(start + k * period);
    }
    return 0;
}
