/* A program that crashes on purpose, for tests/backtrace.rs: `crash MODE`.
 *
 * Every mode first starts three threads and waits until each is parked in a different place
 * (pthread_cond_wait, nanosleep, pthread_join), then the main thread crashes in MODE:
 *   segv        a chain of five calls, the last writes to 0xdeadbeef (SIGSEGV)
 *   inline      three always_inline functions inlined into one, writing to 0xdeadbeef
 *   recurse     recursion 20 deep, then a write to 0xdeadbeef
 *   sighandler  raise(SIGUSR1); the handler writes to NULL (SIGSEGV through __restore_rt)
 *   abort       a failed assert (SIGABRT)
 * and two modes that do not crash, for `backtrace --pid` (they print "ready" when parked):
 *   hang        descend(3) -> ... -> hang_here, blocked in pause()
 *   spin        descend(3) -> ... -> spin_here, a busy loop
 * Compiled by the tests with several flag sets (-O0, -O2, -fomit-frame-pointer, -static, ...).
 */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
/* After a call: keeps the call from becoming a tail call, so every function keeps its frame. */
#define KEEP() __asm__ volatile("" ::: "memory")

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready;
static pthread_t sleeper;
volatile int sink;

static void mark_ready(void) {
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&ready_cond);
    pthread_mutex_unlock(&lock);
}

NOINLINE static void park_cond(void) {
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&ready_cond);
    while (1)
        pthread_cond_wait(&cond, &lock); /* never signalled */
}

NOINLINE static void *cond_thread(void *arg) {
    park_cond();
    KEEP();
    return arg;
}

NOINLINE static void park_sleep(void) {
    struct timespec ts = {3600, 0};
    mark_ready();
    nanosleep(&ts, NULL);
    KEEP();
}

NOINLINE static void *sleep_thread(void *arg) {
    park_sleep();
    KEEP();
    return arg;
}

NOINLINE static void park_join(void) {
    mark_ready();
    pthread_join(sleeper, NULL); /* the sleeper never returns */
    KEEP();
}

NOINLINE static void *join_thread(void *arg) {
    park_join();
    KEEP();
    return arg;
}

static void start_threads(void) {
    pthread_t t;
    pthread_create(&t, NULL, cond_thread, NULL);
    pthread_create(&sleeper, NULL, sleep_thread, NULL);
    pthread_create(&t, NULL, join_thread, NULL);
    pthread_mutex_lock(&lock);
    while (ready < 3)
        pthread_cond_wait(&ready_cond, &lock);
    pthread_mutex_unlock(&lock);
    /* Let the last ones get from mark_ready into their blocking call. */
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* segv: main -> run_segv -> level_1 -> level_2 -> level_3 -> fault_here */
NOINLINE void fault_here(int v) {
    int *volatile p = (int *)0xdeadbeef;
    *p = v;
    KEEP();
}
NOINLINE void level_3(int v) { fault_here(v + 3); KEEP(); }
NOINLINE void level_2(int v) { level_3(v + 2); KEEP(); }
NOINLINE void level_1(int v) { level_2(v + 1); KEEP(); }

/* inline: fault_inline calls inl_outer, which calls inl_middle, which calls inl_inner. */
__attribute__((always_inline)) static inline void inl_inner(int v) {
    int *volatile p = (int *)0xdeadbeef;
    *p = v;
}
__attribute__((always_inline)) static inline void inl_middle(int v) { inl_inner(v * 2); sink = v; }
__attribute__((always_inline)) static inline void inl_outer(int v) { inl_middle(v + 1); sink = v; }
NOINLINE void fault_inline(int v) { inl_outer(v); KEEP(); }

/* recurse: recurse(20) -> recurse(19) -> ... -> recurse(0) -> fault_here */
NOINLINE int recurse(int n) {
    volatile int here = n;
    if (n == 0)
        fault_here(n);
    else
        recurse(n - 1);
    KEEP();
    return here;
}

/* sighandler: trigger_usr1 -> raise -> <signal> -> on_usr1, which writes to NULL */
NOINLINE void on_usr1(int sig) {
    int *volatile p = NULL;
    *p = sig;
    KEEP();
}
NOINLINE void trigger_usr1(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    KEEP();
}

/* abort: check_depth asserts something false */
NOINLINE void check_depth(int depth) {
    assert(depth < 3 && "depth out of range");
    KEEP();
}
NOINLINE void validate(int depth) { check_depth(depth + 2); KEEP(); }

/* hang and spin: descend(3) -> descend(2) -> ... -> descend(0) -> hang_here or spin_here */
NOINLINE void hang_here(void) {
    for (;;)
        pause();
}
NOINLINE void spin_here(void) {
    for (;;)
        sink++;
}
NOINLINE void descend(int n, int spin) {
    if (n == 0) {
        printf("ready\n");
        fflush(stdout);
        if (spin)
            spin_here();
        else
            hang_here();
    } else {
        descend(n - 1, spin);
    }
    KEEP();
}

NOINLINE static int run(const char *mode) {
    if (!strcmp(mode, "segv"))
        level_1(1);
    else if (!strcmp(mode, "inline"))
        fault_inline(5);
    else if (!strcmp(mode, "recurse"))
        recurse(20);
    else if (!strcmp(mode, "sighandler"))
        trigger_usr1();
    else if (!strcmp(mode, "abort"))
        validate(7);
    else if (!strcmp(mode, "hang"))
        descend(3, 0);
    else if (!strcmp(mode, "spin"))
        descend(3, 1);
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    KEEP();
    return 3; /* did not crash */
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: crash segv|inline|recurse|sighandler|abort|hang|spin\n");
        return 2;
    }
    start_threads();
    int r = run(argv[1]);
    KEEP();
    return r;
}
