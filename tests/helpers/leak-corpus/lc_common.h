/* Shared by the C programs of the leak corpus: environment knobs and a monotonic clock. */
#include <stdlib.h>
#include <time.h>

static double lc_env(const char *name, double dflt) {
    const char *v = getenv(name);
    return (v && *v) ? atof(v) : dflt;
}

static double lc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until `when` (a lc_now() time); returns at once if it has passed. */
static void lc_sleep_until(double when) {
    double d = when - lc_now();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

/* 1 while the run should go on: LC_DURATION_S seconds (0 = until killed). */
static int lc_running(double start, double duration) {
    return duration <= 0 || lc_now() - start < duration;
}
