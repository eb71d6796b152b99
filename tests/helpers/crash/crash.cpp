// A C++ program that crashes on purpose, for tests/backtrace.rs: `crash_cxx MODE`.
// Two threads are parked first (std::condition_variable::wait, std::this_thread::sleep_for),
// then the main thread crashes in MODE:
//   throw  app::Worker<long>::run throws std::runtime_error that nobody catches
//          (std::terminate -> abort, SIGABRT, with the throwing frames still on the stack)
//   segv   app::Worker<int>::poke writes to 0xdeadbeef from a lambda (SIGSEGV)
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP() __asm__ volatile("" ::: "memory")

namespace {
std::mutex lock;
std::condition_variable cond;
std::condition_variable ready_cond;
int ready = 0;
std::mutex hang_lock;
volatile long sink = 0;
}  // namespace

namespace app {

NOINLINE void park_cond() {
    std::unique_lock<std::mutex> g(lock);
    ready++;
    ready_cond.notify_all();
    cond.wait(g, [] { return false; });  // never woken for good
    KEEP();
}

NOINLINE void park_sleep() {
    {
        std::lock_guard<std::mutex> g(lock);
        ready++;
        ready_cond.notify_all();
    }
    std::this_thread::sleep_for(std::chrono::hours(1));
    KEEP();
}

template <typename T>
struct Worker {
    T base;
    NOINLINE T run(T v) {
        if (v > base) throw std::runtime_error("value out of range");
        KEEP();
        return v;
    }
    NOINLINE void poke(T v) {
        auto write = [](T x) {
            T* volatile p = reinterpret_cast<T*>(0xdeadbeef);
            *p = x;
        };
        write(v + base);
        KEEP();
    }
};

/* hang and spin, for backtrace --pid: Worker<long>::wait_here blocks in a condition variable
   (never notified), Worker<int>::spin_here loops; both print "ready" first. */
std::condition_variable never;
NOINLINE void wait_here() {
    std::printf("ready\n");
    std::fflush(stdout);
    std::unique_lock<std::mutex> g(hang_lock);
    for (;;) never.wait(g);
}
NOINLINE void spin_here() {
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) sink = sink + 1;
}

NOINLINE long dispatch(const char* mode) {
    if (!std::strcmp(mode, "hang")) {
        wait_here();
        KEEP();
        return 0;
    }
    if (!std::strcmp(mode, "spin")) {
        spin_here();
        KEEP();
        return 0;
    }
    if (!std::strcmp(mode, "throw")) {
        Worker<long> w{3};
        long r = w.run(10);
        KEEP();
        return r;
    }
    if (!std::strcmp(mode, "segv")) {
        Worker<int> w{1};
        w.poke(2);
        KEEP();
        return 0;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}

}  // namespace app

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: crash_cxx throw|segv|hang|spin\n");
        return 2;
    }
    std::thread a(app::park_cond);
    std::thread b(app::park_sleep);
    {
        std::unique_lock<std::mutex> g(lock);
        ready_cond.wait(g, [] { return ready == 2; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    long r = app::dispatch(argv[1]);
    KEEP();
    a.detach();
    b.detach();
    return r == 2 ? 2 : 3;
}
