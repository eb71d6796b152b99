/* c_step — expected label: leak.
 * A service that leaks a 16 MiB cache generation every LC_STEP_S seconds (default 5) when it
 * "reloads" its configuration and forgets the old one: memory rises in steps (12 in a minute,
 * 24 in two), capped at LC_CAP_MIB (default 400). Between steps it does small malloc/free churn.
 * Env: LC_STEP_S, LC_STEP_MIB (16), LC_CAP_MIB, LC_DURATION_S (0 = forever). */
#include <string.h>
#include "lc_common.h"

int main(void) {
    double step = lc_env("LC_STEP_S", 5), cap = lc_env("LC_CAP_MIB", 400) * 1048576;
    size_t size = (size_t)(lc_env("LC_STEP_MIB", 16) * 1048576), lost = 0;
    double duration = lc_env("LC_DURATION_S", 0), start = lc_now(), next = start + step;
    for (long n = 1; lc_running(start, duration); n++) {
        char *tmp = malloc(4096);
        if (tmp) { memset(tmp, 1, 4096); free(tmp); }
        if (lc_now() >= next) {
            next += step;
            if (lost + size <= cap) {
                char *p = malloc(size);
                if (p) { memset(p, 0x11, size); lost += size; }
            }
        }
        lc_sleep_until(start + n * 0.05);
    }
    return 0;
}
