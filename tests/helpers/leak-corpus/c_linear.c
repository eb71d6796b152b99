/* c_linear — expected label: leak.
 * A connection handler that mallocs a 256 KiB buffer per request, fills it, and forgets to free
 * it: anon memory grows linearly at LC_RATE_KIB KiB/s (default 2560, ~2.5 MiB/s) until LC_CAP_MIB
 * (default 400) is lost, then stays flat. Env: LC_RATE_KIB, LC_CAP_MIB, LC_DURATION_S (0 = forever). */
#include <string.h>
#include "lc_common.h"

int main(void) {
    double rate = lc_env("LC_RATE_KIB", 2560) * 1024, cap = lc_env("LC_CAP_MIB", 400) * 1048576;
    double duration = lc_env("LC_DURATION_S", 0), start = lc_now();
    size_t chunk = 256 * 1024, lost = 0;
    double period = chunk / rate;
    for (long n = 1; lc_running(start, duration); n++) {
        if (lost + chunk <= cap) {
            char *p = malloc(chunk);
            if (p) { memset(p, 0x5a, chunk); lost += chunk; }
        }
        lc_sleep_until(start + n * period);
    }
    return 0;
}
