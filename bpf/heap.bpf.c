// SPDX-License-Identifier: (MIT OR GPL-2.0)
// clw-diag heap profiler, the kernel side: uprobes on the allocator's entry points and
// uretprobes on their returns. Every allocation is counted; byte-sampled ones (a Poisson
// process over the bytes allocated, mean `sample_bytes`, as jemalloc and tcmalloc sample) get
// an id and an entry in `live` (address -> id, size, time, frame-pointer stack id). With
// `mode` 0 (frame pointers) that is all: user space reads `live` at the end. With `mode` 1 each
// sampled allocation also sends an event with the registers and the top of the user stack for
// unwinding in user space, and a free of a sampled address sends a free event.
//
// Built by bpf/build.sh (clang -target bpf); the object is committed beside this file and
// embedded in the binary. The license string is GPL-compatible because bpf_probe_read_user
// and bpf_get_stackid are GPL-only helpers; the clw-diag binary itself is MIT OR Apache-2.0.
// Layout of `struct event` is read by src/heap/bpf.rs: change both together.

#define __VMLINUX_H__ 1
#include <linux/types.h>
#include <linux/bpf.h>

// struct pt_regs as the kernel lays it out (arch/x86/include/asm/ptrace.h), named as
// bpf_tracing.h expects with __VMLINUX_H__.
struct pt_regs {
  unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
  unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define STACK_MAX 16384
#define EXPO_N 1024

enum kind { K_MALLOC = 1, K_CALLOC, K_REALLOC, K_MEMALIGN, K_POSIX_MEMALIGN };
enum ev { EV_ALLOC = 1, EV_FREE = 2 };
enum stat {
  S_CALLS, S_FREES, S_SAMPLED, S_LOST, S_LIVE_FULL, S_STACK_ERR, S_FREED_SAMPLED, S_NESTED,
  S_N
};

struct pending {
  __u64 size;
  __u64 old;    // realloc: the pointer given
  __u64 memptr; // posix_memalign: where the pointer is stored
  __u64 sp;     // the stack pointer at entry (the return address's slot)
  __u32 kind;
  __u32 pad;
};

struct event {
  __u32 kind;
  __u32 tid;
  __u64 seq;
  __u64 addr;
  __u64 size;
  __u64 ts_ns;
  __s64 stackid;
  __u64 regs[8]; // ip sp bp bx r12 r13 r14 r15 at the return
  __u32 stack_len;
  __u32 pad;
};

// The record with a stack copy, in three sizes so that the ring buffer holds as many as
// `stack_bytes` allows.
struct event_stack16 {
  struct event h;
  __u8 stack[16384];
};
struct event_stack8 {
  struct event h;
  __u8 stack[8192];
};
struct event_stack4 {
  struct event h;
  __u8 stack[4096];
};

const volatile __u64 sample_bytes = 1;
const volatile __u32 mode = 0;
const volatile __u32 stack_bytes = 8192;
const volatile __u32 target_tgid = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct pending);
} pending SEC(".maps");

// A sampled allocation outstanding (read by src/heap/bpf.rs as LiveRecord).
struct live_rec {
  __u64 seq;
  __u64 size;
  __u64 ts_ns;
  __s64 stackid;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1 << 20);
  __type(key, __u64);
  __type(value, struct live_rec);
} live SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 16384);
  __uint(key_size, 4);
  __uint(value_size, 127 * 8);
} stacks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64);
} countdown SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, EXPO_N);
  __type(key, __u32);
  __type(value, __u64);
} expo SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} seqno SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, S_N);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&stats, &which);
  if (v)
    *v += 1;
}

static __always_inline int ours(void) {
  return target_tgid == 0 || (__u32)(bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline int enter(struct pt_regs *ctx, __u32 kind, __u64 size, __u64 old,
                                 __u64 memptr) {
  if (!ours())
    return 0;
  count(S_CALLS);
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  __u64 sp = PT_REGS_SP(ctx);
  struct pending *p = bpf_map_lookup_elem(&pending, &tid);
  // A call made inside another allocator call (glibc's realloc of an mmapped chunk calls
  // malloc; memalign with a small alignment too) belongs to the outer one: keep the outer
  // record, whose entry stack pointer is above ours. A record at or below ours is stale.
  if (p && p->sp > sp) {
    count(S_NESTED);
    return 0;
  }
  struct pending n = {.size = size, .old = old, .memptr = memptr, .sp = sp, .kind = kind};
  bpf_map_update_elem(&pending, &tid, &n, BPF_ANY);
  return 0;
}

// Wake the reader only when the ring buffer is a quarter full: a wake-up per record (the
// default) costs the traced thread several microseconds; the reader also polls every 10 ms.
static __always_inline __u64 wake(void) {
  __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  __u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
  return avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void forget(__u64 addr) {
  struct live_rec *r = bpf_map_lookup_elem(&live, &addr);
  if (!r)
    return;
  __u64 s = r->seq;
  bpf_map_delete_elem(&live, &addr);
  count(S_FREED_SAMPLED);
  if (mode == 0)
    return;
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
  if (!e) {
    count(S_LOST);
    return;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->kind = EV_FREE;
  e->tid = (__u32)bpf_get_current_pid_tgid();
  e->seq = s;
  e->addr = addr;
  e->ts_ns = bpf_ktime_get_ns();
  bpf_ringbuf_submit(e, wake());
}

// Whether an allocation of `size` bytes holds a sample point of the Poisson process.
static __always_inline int sampled(__u64 size) {
  if (sample_bytes <= 1)
    return 1;
  __u32 zero = 0;
  __s64 *left = bpf_map_lookup_elem(&countdown, &zero);
  if (!left)
    return 0;
  if (*left == 0) { // the first allocation seen on this CPU: draw where the first point is
    __u32 i = bpf_get_prandom_u32() % EXPO_N;
    __u64 *d = bpf_map_lookup_elem(&expo, &i);
    *left = d ? (__s64)*d + 1 : (__s64)sample_bytes;
  }
  *left -= (__s64)size;
  if (*left > 0)
    return 0;
  // Memoryless: the next point lies an exponential distance past this allocation.
  __u32 i = bpf_get_prandom_u32() % EXPO_N;
  __u64 *d = bpf_map_lookup_elem(&expo, &i);
  *left = d ? (__s64)*d + 1 : (__s64)sample_bytes;
  return 1;
}

// Copy the user stack from `sp` into `dst` (room for `room` bytes): the largest of 16, 8, 4, 2
// or 1 KiB (or 256 bytes) that fits the room and `stack_bytes` and can be read (the stack may
// end sooner); the length copied.
static __always_inline __u32 copy_stack(__u8 *dst, __u32 room, __u64 sp) {
  if (room >= 16384 && stack_bytes >= 16384 && bpf_probe_read_user(dst, 16384, (void *)sp) == 0)
    return 16384;
  if (room >= 8192 && stack_bytes >= 8192 && bpf_probe_read_user(dst, 8192, (void *)sp) == 0)
    return 8192;
  if (room >= 4096 && bpf_probe_read_user(dst, 4096, (void *)sp) == 0)
    return 4096;
  if (bpf_probe_read_user(dst, 2048, (void *)sp) == 0)
    return 2048;
  if (bpf_probe_read_user(dst, 1024, (void *)sp) == 0)
    return 1024;
  if (bpf_probe_read_user(dst, 256, (void *)sp) == 0)
    return 256;
  return 0;
}

static __always_inline void fill(struct event *h, struct pt_regs *ctx, __u64 seq, __u64 addr,
                                 __u64 size) {
  h->kind = EV_ALLOC;
  h->tid = (__u32)bpf_get_current_pid_tgid();
  h->seq = seq;
  h->addr = addr;
  h->size = size;
  h->ts_ns = bpf_ktime_get_ns();
  h->stackid = -1;
  h->regs[0] = PT_REGS_IP(ctx);
  h->regs[1] = PT_REGS_SP(ctx);
  h->regs[2] = ctx->bp;
  h->regs[3] = ctx->bx;
  h->regs[4] = ctx->r12;
  h->regs[5] = ctx->r13;
  h->regs[6] = ctx->r14;
  h->regs[7] = ctx->r15;
}

static __always_inline void record(struct pt_regs *ctx, __u64 addr, __u64 size) {
  if (!sampled(size))
    return;
  count(S_SAMPLED);
  __u32 zero = 0;
  __u64 *sq = bpf_map_lookup_elem(&seqno, &zero);
  if (!sq)
    return;
  __u64 seq = __sync_fetch_and_add(sq, 1) + 1;
  struct live_rec rec = {.seq = seq, .size = size, .ts_ns = bpf_ktime_get_ns(), .stackid = -1};
  if (mode == 0) {
    rec.stackid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
    if (rec.stackid < 0)
      count(S_STACK_ERR);
    if (bpf_map_update_elem(&live, &addr, &rec, BPF_ANY) != 0)
      count(S_LIVE_FULL);
    return;
  }
  struct event *e;
  __u32 room;
  if (stack_bytes >= 16384) {
    e = bpf_ringbuf_reserve(&events, sizeof(struct event_stack16), 0);
    room = 16384;
  } else if (stack_bytes >= 8192) {
    e = bpf_ringbuf_reserve(&events, sizeof(struct event_stack8), 0);
    room = 8192;
  } else {
    e = bpf_ringbuf_reserve(&events, sizeof(struct event_stack4), 0);
    room = 4096;
  }
  if (!e) {
    count(S_LOST);
    return;
  }
  fill(e, ctx, seq, addr, size);
  e->ts_ns = rec.ts_ns;
  e->pad = 0;
  e->stack_len = copy_stack((__u8 *)(e + 1), room, PT_REGS_SP(ctx));
  if (bpf_map_update_elem(&live, &addr, &rec, BPF_ANY) != 0) {
    count(S_LIVE_FULL);
    bpf_ringbuf_discard(e, 0);
    return;
  }
  bpf_ringbuf_submit(e, wake());
}

SEC("uprobe") int BPF_KPROBE(malloc_enter, __u64 size) {
  return enter(ctx, K_MALLOC, size, 0, 0);
}
SEC("uprobe") int BPF_KPROBE(calloc_enter, __u64 n, __u64 size) {
  return enter(ctx, K_CALLOC, n * size, 0, 0);
}
SEC("uprobe") int BPF_KPROBE(realloc_enter, __u64 old, __u64 size) {
  return enter(ctx, K_REALLOC, size, old, 0);
}
SEC("uprobe") int BPF_KPROBE(reallocarray_enter, __u64 old, __u64 n, __u64 size) {
  return enter(ctx, K_REALLOC, n * size, old, 0);
}
SEC("uprobe") int BPF_KPROBE(memalign_enter, __u64 align, __u64 size) {
  return enter(ctx, K_MEMALIGN, size, 0, 0);
}
SEC("uprobe") int BPF_KPROBE(posix_memalign_enter, __u64 memptr, __u64 align, __u64 size) {
  return enter(ctx, K_POSIX_MEMALIGN, size, 0, memptr);
}

SEC("uretprobe") int BPF_KRETPROBE(alloc_return, __u64 rc) {
  if (!ours())
    return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct pending *p = bpf_map_lookup_elem(&pending, &tid);
  if (!p)
    return 0;
  // The return of a nested call: its entry was not recorded; the outer one's stays.
  if (PT_REGS_SP(ctx) != p->sp + 8)
    return 0;
  struct pending c = *p;
  bpf_map_delete_elem(&pending, &tid);
  __u64 addr = rc;
  if (c.kind == K_POSIX_MEMALIGN) {
    if (rc != 0)
      return 0;
    if (bpf_probe_read_user(&addr, sizeof(addr), (void *)c.memptr) != 0)
      return 0;
  }
  // realloc: the old block is gone when a new one came back, or when the size was 0.
  if (c.kind == K_REALLOC && c.old != 0 && (addr != 0 || c.size == 0))
    forget(c.old);
  if (addr == 0)
    return 0;
  record(ctx, addr, c.size);
  return 0;
}

SEC("uprobe") int BPF_KPROBE(free_enter, __u64 addr) {
  if (!ours())
    return 0;
  count(S_FREES);
  if (addr)
    forget(addr);
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
