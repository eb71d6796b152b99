/* hog N [SECONDS]: allocate and touch N MiB in 1 MiB steps, then sleep SECONDS (default 0).
 * Built with `gcc -static` into the busybox rootfs of the runtime tests (tests/common/runtimes.rs),
 * so it runs in any container image. Exit 0 when it got all N MiB; in a smaller memory cgroup the
 * kernel OOM-kills it (SIGKILL, exit 137 from the runtime). Prints "hog: N MiB" once it holds them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: hog MiB [SECONDS]\n");
        return 2;
    }
    long n = atol(argv[1]);
    long secs = argc > 2 ? atol(argv[2]) : 0;
    for (long i = 0; i < n; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            fprintf(stderr, "hog: malloc failed after %ld MiB\n", i);
            return 1;
        }
        memset(p, 0x5a, 1 << 20);
    }
    printf("hog: %ld MiB\n", n);
    fflush(stdout);
    if (secs > 0)
        sleep((unsigned)secs);
    return 0;
}
