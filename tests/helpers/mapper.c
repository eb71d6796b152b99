/* Test and benchmark helper: a process that maps known amounts of memory, then waits.
 *
 * usage: mapper ANON_MIB MEMFD_MIB FILE FILE_MIB THREADS EXTRA_MAPS
 *   ANON_MIB    private anonymous memory, every page touched
 *   MEMFD_MIB   memfd_create() memory mapped MAP_SHARED, every page touched
 *   FILE        a file to map read-only, private ("-" for none); FILE_MIB of it is read
 *   THREADS     threads started (their stacks show up as thread stacks)
 *   EXTRA_MAPS  separate one-page mappings to add (alternating protections so the kernel
 *               cannot merge them), for benchmarks with many mappings
 * Prints "ready <pid>" on stdout once everything is mapped and touched, then waits until stdin
 * is closed and exits 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *idle(void *arg) {
    (void)arg;
    pause();
    return NULL;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s ANON_MIB MEMFD_MIB FILE FILE_MIB THREADS EXTRA_MAPS\n", argv[0]);
        return 2;
    }
    size_t anon = (size_t)atol(argv[1]) << 20, shm = (size_t)atol(argv[2]) << 20;
    size_t fsz = (size_t)atol(argv[4]) << 20;
    long threads = atol(argv[5]), extra = atol(argv[6]);
    long page = sysconf(_SC_PAGESIZE);
    if (anon) {
        char *a = mmap(NULL, anon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED) die("mmap anon");
        memset(a, 0x5a, anon);
    }
    if (shm) {
        int fd = memfd_create("clw-test-pool", 0);
        if (fd < 0 || ftruncate(fd, (off_t)shm) != 0) die("memfd");
        char *s = mmap(NULL, shm, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (s == MAP_FAILED) die("mmap memfd");
        memset(s, 0xa5, shm);
    }
    if (strcmp(argv[3], "-") != 0 && fsz) {
        int fd = open(argv[3], O_RDONLY);
        if (fd < 0) die("open file");
        volatile char *f = mmap(NULL, fsz, PROT_READ, MAP_PRIVATE, fd, 0);
        if (f == MAP_FAILED) die("mmap file");
        unsigned sum = 0;
        for (size_t i = 0; i < fsz; i += (size_t)page) sum += (unsigned)f[i];
        (void)sum;
    }
    if (extra > 0) {
        char *e = mmap(NULL, (size_t)extra * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (e == MAP_FAILED) die("mmap extra");
        for (long i = 0; i < extra; i++) e[i * page] = 1;
        for (long i = 1; i < extra; i += 2)
            if (mprotect(e + i * page, (size_t)page, PROT_READ) != 0) die("mprotect");
    }
    for (long i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL) != 0) die("pthread_create");
    }
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
