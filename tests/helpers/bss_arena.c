/* A gcc program with an 8 MiB .bss (1 MiB touched) and a 16 MiB anonymous mapping placed
 * directly after it (MAP_FIXED_NOREPLACE at page_up(_end)), which the kernel merges with the
 * .bss into one anonymous VMA, as a malloc arena or mmap placed there would be. 4 MiB of it are
 * touched. Prints the arena address and waits. Used by tests/live.rs
 * (vmmap_bss_is_bounded_by_the_elf_segment). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static char big[8 << 20];
extern char _end[];
int main(void) {
    memset(big, 1, 1 << 20);
    uintptr_t end = ((uintptr_t)_end + 4095) & ~(uintptr_t)4095;
    char *p = mmap((void *)end, 16 << 20, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    memset(p, 2, 4 << 20);
    printf("%p %p\n", (void *)end, (void *)p);
    fflush(stdout);
    pause();
    return 0;
}
