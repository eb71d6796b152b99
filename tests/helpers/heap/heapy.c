// heapy: a program that leaks from known functions at a known rate, for tests/heap.rs.
//
//   heapy leak COUNT SIZE [DELAY_US]   COUNT blocks of SIZE bytes from leak3 < leak2 < leak1 <
//                                      main, with balanced malloc/free pairs in churn() between;
//                                      then prints "leaked COUNT blocks of SIZE bytes" and exits
//   heapy forever SIZE DELAY_US        the same, one block per DELAY_US, until killed; prints
//                                      "pid N" first and "ready" once it is leaking
//   heapy mixed COUNT                  each of calloc, realloc (a new block), posix_memalign and
//                                      aligned_alloc leaks COUNT blocks of 1000 bytes from its own
//                                      function (leak_calloc, leak_realloc, leak_posix_memalign,
//                                      leak_aligned_alloc); a realloc'ed-then-freed buffer is balanced
//   heapy threads COUNT SIZE           4 threads each leak COUNT blocks from thread_leak
//   heapy onsignal COUNT SIZE          prints "pid N" and "ready", waits for SIGUSR1, leaks COUNT
//                                      blocks of SIZE from leak3 < leak2 < leak1 < main, prints
//                                      "leaked COUNT blocks of SIZE bytes", then waits for ever
//
// Built -O2 -fno-builtin -fno-optimize-sibling-calls (so gcc neither removes the malloc/free
// pairs nor turns the callers into tail calls), with and without -fomit-frame-pointer.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink[1 << 16];
static long kept;

static void keep(void *p) { sink[kept++ & 0xffff] = p; }

__attribute__((noinline)) void leak3(size_t n) {
  void *p = malloc(n);
  memset(p, 1, n < 64 ? n : 64);
  keep(p);
}
__attribute__((noinline)) void leak2(size_t n) { leak3(n); }
__attribute__((noinline)) void leak1(size_t n) { leak2(n); }

__attribute__((noinline)) void churn(void) {
  for (int i = 0; i < 20; i++) {
    char *p = malloc(48 + i);
    p[0] = 1;
    free(p);
  }
}

__attribute__((noinline)) void leak_calloc(void) { keep(calloc(10, 100)); }
__attribute__((noinline)) void leak_realloc(void) { keep(realloc(NULL, 1000)); }
__attribute__((noinline)) void leak_posix_memalign(void) {
  void *p = NULL;
  if (posix_memalign(&p, 64, 1000) == 0) keep(p);
}
__attribute__((noinline)) void leak_aligned_alloc(void) { keep(aligned_alloc(64, 1024)); }
__attribute__((noinline)) void balanced_realloc(void) {
  char *p = malloc(100);
  p = realloc(p, 5000);
  p = realloc(p, 100000);
  free(p);
}

static long thread_count;
static size_t thread_size;
__attribute__((noinline)) void thread_leak(void) {
  for (long i = 0; i < thread_count; i++) {
    void *p = malloc(thread_size);
    memset(p, 3, 16);
    __atomic_fetch_add(&kept, 1, __ATOMIC_RELAXED);
    sink[(i * 4 + (long)pthread_self()) & 0xffff] = p;
  }
}
static void *thread_main(void *arg) {
  (void)arg;
  thread_leak();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: heapy leak|forever|mixed|threads ...\n");
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "leak")) {
    long count = atol(argv[2]);
    size_t size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
    long delay = argc > 4 ? atol(argv[4]) : 0;
    for (long i = 0; i < count; i++) {
      leak1(size);
      churn();
      if (delay) usleep(delay);
    }
    fprintf(stderr, "leaked %ld blocks of %zu bytes\n", count, size);
    return 0;
  }
  if (!strcmp(mode, "forever")) {
    size_t size = (size_t)atol(argv[2]);
    long delay = argc > 3 ? atol(argv[3]) : 10000;
    printf("pid %d\n", getpid());
    fflush(stdout);
    for (long i = 0;; i++) {
      leak1(size);
      churn();
      if (i == 0) {
        printf("ready\n");
        fflush(stdout);
      }
      usleep(delay);
    }
  }
  if (!strcmp(mode, "onsignal")) {
    long count = atol(argv[2]);
    size_t size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("pid %d\nready\n", getpid());
    fflush(stdout);
    sigwait(&set, &sig);
    for (long i = 0; i < count; i++) leak1(size);
    printf("leaked %ld blocks of %zu bytes\n", count, size);
    fflush(stdout);
    for (;;) pause();
  }
  if (!strcmp(mode, "mixed")) {
    long count = atol(argv[2]);
    for (long i = 0; i < count; i++) {
      leak_calloc();
      leak_realloc();
      leak_posix_memalign();
      leak_aligned_alloc();
      balanced_realloc();
    }
    fprintf(stderr, "leaked %ld blocks from each of 4 functions\n", count);
    return 0;
  }
  if (!strcmp(mode, "threads")) {
    thread_count = atol(argv[2]);
    thread_size = argc > 3 ? (size_t)atol(argv[3]) : 4096;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_main, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    fprintf(stderr, "leaked %ld blocks of %zu bytes\n", 4 * thread_count, thread_size);
    return 0;
  }
  fprintf(stderr, "heapy: unknown mode %s\n", mode);
  return 2;
}
