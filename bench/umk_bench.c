// One benchmark binary, run natively and under umk: each probe prints
// "name ns_per_op". Every probe makes a real kernel round trip. Calls go
// through libc's wrappers (`mov $nr,%eax; syscall`, sites umk patches).
// UMK_BENCH_DIVISOR=N in the environment: an Nth of the iterations.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long g_divisor = 1; // UMK_BENCH_DIVISOR
static long scaled(long iterations) { return iterations / g_divisor > 0 ? iterations / g_divisor : 1; }

#define PROBE(name, iters, body)                                    \
    do {                                                            \
        long n_ = scaled(iters);                                    \
        double start = now_ns();                                    \
        for (long i = 0; i < n_; i++) { body; }                     \
        printf("%s %.1f\n", name, (now_ns() - start) / n_);         \
    } while (0)

static void fork_exit_wait(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
}

static const char* self_path;

static void fork_exec_wait(void)
{
    pid_t p = fork();
    if (p == 0) {
        execl(self_path, "umk_bench", "exit", (char*)NULL);
        _exit(127);
    }
    waitpid(p, NULL, 0);
}

static void* thread_body(void* arg) { return arg; }

static void thread_create_join(void)
{
    pthread_t t;
    pthread_create(&t, NULL, thread_body, NULL);
    pthread_join(t, NULL);
}

static int ping[2], pong[2];

static void pipe_pingpong(void)
{
    char c = 0;
    if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
        abort();
}

// One byte there and back between two processes, through a pair of
// pipes or one unix stream socket pair: the parent writes `out` and reads
// `in`; the echoing child reads `echo_in` and writes `echo_out`.
static void pingpong(const char* name, int out, int in, int echo_in, int echo_out)
{
    pid_t echo = fork();
    if (echo == 0) {
        close(out);
        if (in != out)
            close(in);
        char c;
        while (read(echo_in, &c, 1) == 1 && write(echo_out, &c, 1) == 1) {
        }
        _exit(0);
    }
    close(echo_in);
    if (echo_out != echo_in)
        close(echo_out);
    ping[1] = out;
    pong[0] = in;
    PROBE(name, 20000, pipe_pingpong());
    close(out);
    waitpid(echo, NULL, 0);
    if (in != out)
        close(in);
}

// epoll_wait on an eventfd that is always readable: per call.
static void epoll_ready(void)
{
    int ep = epoll_create1(0), ev = eventfd(1, 0);
    struct epoll_event e = { .events = EPOLLIN }, out;
    if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0)
        abort();
    PROBE("epoll_wait_ready", 100000, if (epoll_wait(ep, &out, 1, 0) != 1) abort());
    close(ev);
    close(ep);
}

// ns per MiB moved through a pipe between two processes, 64 KiB writes.
static void pipe_throughput(void)
{
    enum { kChunk = 64 << 10 };
    long kTotal = scaled(256) << 20;
    int fds[2];
    if (pipe(fds))
        abort();
    pid_t reader = fork();
    if (reader == 0) {
        close(fds[1]);
        static char buf[kChunk];
        while (read(fds[0], buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(fds[0]);
    static char chunk[kChunk];
    memset(chunk, 'x', sizeof chunk);
    double start = now_ns();
    for (long done = 0; done < kTotal; done += kChunk)
        if (write(fds[1], chunk, kChunk) != kChunk)
            abort();
    close(fds[1]);
    waitpid(reader, NULL, 0);
    printf("pipe_throughput %.1f\n", (now_ns() - start) / (kTotal >> 20));
}

// ns per MiB written, then read, of a 256 MiB file in /dev/shm (memory
// natively and in umk), 1 MiB at a time.
static void file_write_read(void)
{
    enum { kChunk = 1 << 20 };
    long kTotal = scaled(256) << 20;
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/umk-bench-%d", getpid());
    static char buf[kChunk];
    memset(buf, 'y', sizeof buf);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    double start = now_ns();
    for (long done = 0; done < kTotal; done += kChunk)
        if (write(fd, buf, kChunk) != kChunk)
            abort();
    printf("file_write %.1f\n", (now_ns() - start) / (kTotal >> 20));
    start = now_ns();
    for (long done = 0; done < kTotal; done += kChunk)
        if (pread(fd, buf, kChunk, done) != kChunk)
            abort();
    printf("file_read %.1f\n", (now_ns() - start) / (kTotal >> 20));
    close(fd);
    unlink(path);
}

// mmap, touch every page, munmap: per call.
static void mmap_touch(size_t size)
{
    char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    for (size_t off = 0; off < size; off += 4096)
        p[off] = 1;
    munmap(p, size);
}

// Two threads hand a futex word back and forth: per round trip.
static unsigned futex_word;
static void futex_wait_for(unsigned value)
{
    while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) != value)
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, value ^ 1, NULL, NULL, 0);
}
static void futex_set(unsigned value)
{
    __atomic_store_n(&futex_word, value, __ATOMIC_RELEASE);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
static void* futex_partner(void* arg)
{
    long rounds = (long)arg;
    for (long i = 0; i < rounds; i++) {
        futex_wait_for(1);
        futex_set(0);
    }
    return NULL;
}
static void futex_pingpong(void)
{
    long kRounds = scaled(20000);
    pthread_t t;
    pthread_create(&t, NULL, futex_partner, (void*)(long)kRounds);
    double start = now_ns();
    for (long i = 0; i < kRounds; i++) {
        futex_set(1);
        futex_wait_for(0);
    }
    printf("futex_pingpong %.1f\n", (now_ns() - start) / kRounds);
    pthread_join(t, NULL);
}

// 4 threads each making getppid calls: wall time per call of all of them
// (aggregate throughput; compare with the one-thread getppid row).
static void* getppid_loop(void* arg)
{
    for (long i = 0; i < (long)arg; i++)
        getppid();
    return NULL;
}
static void getppid_4threads(void)
{
    enum { kThreads = 4 };
    long kPerThread = scaled(100000);
    pthread_t t[kThreads];
    double start = now_ns();
    for (int i = 0; i < kThreads; i++)
        pthread_create(&t[i], NULL, getppid_loop, (void*)(long)kPerThread);
    for (int i = 0; i < kThreads; i++)
        pthread_join(t[i], NULL);
    printf("getppid_4threads %.1f\n", (now_ns() - start) / (kThreads * kPerThread));
}

// 2000 small files created in a fresh directory under /dev/shm: per file.
static void small_files(void)
{
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/dev/shm/umk-bench-files-%d", getpid());
    mkdir(dir, 0700);
    double start = now_ns();
    for (int i = 0; i < 2000; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, path, 64) != 64)
            abort();
        close(fd);
    }
    printf("small_files_2000 %.1f\n", (now_ns() - start) / 2000);
    for (int i = 0; i < 2000; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char** argv)
{
    const char* only = argc > 1 ? argv[1] : NULL;
    self_path = argv[0];
    const char* divisor = getenv("UMK_BENCH_DIVISOR");
    if (divisor && atol(divisor) > 0)
        g_divisor = atol(divisor);
    if (only && !strcmp(only, "exit"))
        return 0;
    struct stat st;
    if (!only || !strcmp(only, "getppid"))
        PROBE("getppid", 200000, getppid());
    if (!only || !strcmp(only, "open_close"))
        PROBE("open_close", 50000, close(open("/etc/passwd", O_RDONLY)));
    if (!only || !strcmp(only, "stat"))
        PROBE("stat", 50000, stat("/usr/bin/ls", &st));
    if (!only || !strcmp(only, "fork_exit_wait"))
        PROBE("fork_exit_wait", 300, fork_exit_wait());
    if (!only || !strcmp(only, "fork_100m")) {
        // The same fork from a process with 100 MiB of heap in use.
        size_t size = 100 << 20;
        volatile char* heap = malloc(size);
        if (!heap)
            abort();
        for (size_t off = 0; off < size; off += 4096)
            heap[off] = 1;
        PROBE("fork_100m", 50, fork_exit_wait());
        free((char*)heap);
    }
    if (!only || !strcmp(only, "fork_exec_wait"))
        PROBE("fork_exec_wait", 200, fork_exec_wait());
    if (!only || !strcmp(only, "thread_create_join"))
        PROBE("thread_create_join", 2000, thread_create_join());
    if (!only || !strcmp(only, "pipe_pingpong")) {
        int there[2], back[2];
        if (pipe(there) || pipe(back))
            return 1;
        pingpong("pipe_pingpong", there[1], back[0], there[0], back[1]);
    }
    if (!only || !strcmp(only, "unix_pingpong")) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
            return 1;
        pingpong("unix_pingpong", pair[0], pair[0], pair[1], pair[1]);
    }
    if (!only || !strcmp(only, "epoll_wait_ready"))
        epoll_ready();
    if (!only || !strcmp(only, "pipe_throughput"))
        pipe_throughput();
    if (!only || !strcmp(only, "file_write_read"))
        file_write_read();
    if (!only || !strcmp(only, "mmap_touch_1m"))
        PROBE("mmap_touch_1m", 500, mmap_touch(1 << 20));
    if (!only || !strcmp(only, "mmap_touch_256m"))
        PROBE("mmap_touch_256m", 3, mmap_touch(256 << 20));
    if (!only || !strcmp(only, "futex_pingpong"))
        futex_pingpong();
    if (!only || !strcmp(only, "getppid_4threads"))
        getppid_4threads();
    if (!only || !strcmp(only, "small_files_2000"))
        small_files();
    return 0;
}
