/* Patching of glibc's read site (docs/design.md, "Syscall-site patching"):
 * `xor %eax,%eax; syscall; cmp $-4096,%rax` has no `mov` to replace, so
 * umk's jump covers the `cmp` too and the kernel runs it for a thread
 * that meets it. Code that reads through such a site again and again
 * behaves as natively once it is patched: results, the flags of the
 * `cmp`, rcx and r11, restarts after signal handlers, a thread that was
 * blocked in the call while the site was patched, entries at the
 * `syscall` and the `cmp`, threads racing on the site while it is patched
 * and put back (with a wild pointer where a half-written jump would
 * look), a site whose `cmp` ends on the next page while that page is
 * replaced, single-stepping through the site, and fork. Under umk
 * (uname -r ends in "umk") it also
 * checks that the site was patched; the output is the same. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <sys/utsname.h>

#include "guest_test.h"

/* The site, then: pushfq; pop %rdx (the flags after the `cmp`); mov
 * %rcx, %r8; mov %r11, %r9; ret. Entered at +0, at the `syscall` (+2)
 * with eax set, or at the `cmp` (+4) with rax set. */
static const unsigned char kCode[] = { 0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff,
                                       0x9c, 0x5a, 0x49, 0x89, 0xc8, 0x4d, 0x89, 0xd9, 0xc3 };
enum { kSyscallAt = 2, kCompareAt = 4, kWarm = 40 };

static unsigned char* g_code;
static int under_umk;

struct call {
    long ret;
    uint64_t flags, rcx, r11;
};

static struct call call_code(unsigned char* code, int offset, long rax, long fd, void* buf, long n)
{
    struct call c;
    register long r10 __asm__("r10") = 0;
    register uint64_t r8 __asm__("r8");
    register uint64_t r9 __asm__("r9");
    uint64_t flags;
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t" /* past the red zone */
                     "call *%[fn]\n\t"
                     "lea 128(%%rsp), %%rsp"
                     : "=a"(c.ret), "=d"(flags), "=r"(r8), "=r"(r9), "+r"(r10), "+D"(fd), "+S"(buf)
                     : [fn] "r"(code + offset), "a"(rax), "d"(n)
                     : "rcx", "r11", "memory", "cc");
    c.flags = flags;
    c.rcx = r8;
    c.r11 = r9;
    return c;
}

static struct call call_at(int offset, long rax, long fd, void* buf, long n)
{
    return call_code(g_code, offset, rax, fd, buf, n);
}

static long site_read(int fd, void* buf, long n) { return call_at(0, 0, fd, buf, n).ret; }

/* The arithmetic flags of `cmp $-4096, a` by this CPU. */
static uint64_t want_flags(long a)
{
    uint64_t out;
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\tcmp $-4096, %1\n\tpushfq\n\tpop %0\n\tlea 128(%%rsp), %%rsp"
                     : "=r"(out)
                     : "r"(a)
                     : "cc");
    return out & 0x8d5;
}

static void check_site(const char* what, int want_patched)
{
    int patched = g_code[0] == 0xff && g_code[1] == 0x24;
    int original = memcmp(g_code, kCode, 10) == 0;
    int ok = under_umk && want_patched ? patched : original;
    printf("%s: site %s\n", what, ok ? "as expected" : "NOT as expected");
}

/* A call through the `syscall`: rcx is the address after it, r11 the
 * flags (IF and the always-set bit among them). */
static void show(const char* what, struct call c, long want)
{
    printf("%s: %s, flags %s, rcx %s, r11 %s\n", what, c.ret == want ? "right" : "WRONG",
           (c.flags & 0x8d5) == want_flags(c.ret) ? "of the cmp" : "WRONG",
           c.rcx == (uint64_t)(g_code + kCompareAt) ? "= after the syscall" : "WRONG",
           (c.r11 & 0x202) == 0x202 ? "= flags" : "WRONG");
}

/* An entry at the `cmp`: only the result and the flags. */
static void show_compare(const char* what, struct call c, long want)
{
    printf("%s: %s, flags %s\n", what, c.ret == want ? "right" : "WRONG",
           (c.flags & 0x8d5) == want_flags(c.ret) ? "of the cmp" : "WRONG");
}

static void test_results(void)
{
    int zero = open("/dev/zero", O_RDONLY);
    char buf[64];
    memset(buf, 1, sizeof buf);
    for (int i = 0; i < kWarm; i++)
        site_read(zero, buf, 8);
    check_site("warm", 1);
    memset(buf, 1, sizeof buf);
    show("read 8", call_at(0, 0, zero, buf, 8), 8);
    printf("read 8: bytes %s\n", buf[0] == 0 && buf[7] == 0 && buf[8] == 1 ? "right" : "WRONG");
    show("read 0", call_at(0, 0, zero, buf, 0), 0);
    show("bad fd", call_at(0, 0, -1, buf, 8), -EBADF);
    show("bad buffer", call_at(0, 0, zero, (void*)8, 8), -EFAULT);
    int p[2];
    if (pipe2(p, O_NONBLOCK) == 0) {
        show("empty pipe", call_at(0, 0, p[0], buf, 8), -EAGAIN);
        close(p[0]);
        close(p[1]);
    }
    /* Entered at the `syscall` (a restart lands there) and at the `cmp`. */
    show("at the syscall", call_at(kSyscallAt, 0, zero, buf, 5), 5);
    show("at the syscall, getpid", call_at(kSyscallAt, SYS_getpid, 0, 0, 0), getpid());
    show_compare("at the cmp, 7", call_at(kCompareAt, 7, 0, 0, 0), 7);
    show_compare("at the cmp, -4", call_at(kCompareAt, -4, 0, 0, 0), -4);
    show_compare("at the cmp, -4096", call_at(kCompareAt, -4096, 0, 0, 0), -4096);
    show_compare("at the cmp, -4097", call_at(kCompareAt, -4097, 0, 0, 0), -4097);
    check_site("after", 1);
    close(zero);
}

static struct call g_interrupted;

static long read_one(int fd, char* buf)
{
    g_interrupted = call_at(0, 0, fd, buf, 1);
    return g_interrupted.ret;
}

/* A read blocked in the site, a signal handler, then the call again
 * (SA_RESTART: at the `syscall`) or EINTR. */
static void test_restart(int restart)
{
    interrupted_read(read_one, restart, g_code);
    show(restart ? "restart" : "no restart", g_interrupted, restart ? 1 : -EINTR);
}

/* A thread blocked in the site's call while the site is patched returns
 * to the `cmp`, which is no longer there. */
static int g_blocked_fd;
static struct call g_blocked;

static void* blocked_reader(void* arg)
{
    (void)arg;
    char c;
    g_blocked = call_at(0, 0, g_blocked_fd, &c, 1);
    return 0;
}

static void test_blocked_while_patched(void)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    g_blocked_fd = p[0];
    pthread_t t;
    pthread_create(&t, 0, blocked_reader, 0);
    usleep(100000);
    int zero = open("/dev/zero", O_RDONLY);
    char buf[8];
    for (int i = 0; i < kWarm; i++)
        site_read(zero, buf, 1);
    check_site("blocked", 1);
    (void)!write(p[1], "y", 1);
    pthread_join(t, 0);
    show("blocked while patched", g_blocked, 1);
    close(zero);
    close(p[0]);
    close(p[1]);
}

/* Threads racing on the site while it is put back and patched again
 * (mprotect to RWX and back). */
static volatile int g_stop;

static void* racer(void* arg)
{
    int zero = open("/dev/zero", O_RDONLY);
    char buf[4];
    long wrong = 0;
    for (int i = 0; i < 20000 && !g_stop; i++) {
        struct call c = call_at(i % 3 == 2 ? kSyscallAt : 0, 0, i % 7 == 6 ? -1 : zero, buf, 4);
        long want = i % 7 == 6 ? -EBADF : 4;
        wrong += c.ret != want || (c.flags & 0x8d5) != want_flags(want);
    }
    close(zero);
    *(long*)arg = wrong;
    return 0;
}

static void test_threads(void)
{
    printf("threads: %s\n", race_with_mprotect(racer, g_code) ? "WRONG results" : "every call right");
}

/* Readers enter fresh copies of the site while each is patched and put
 * back: read(fd, buf, 0) with a function's address in buf, where a jump
 * with an unfinished third byte (`ff 24 06`, jmp *(%rsi,%rax)) would go. */
static unsigned char* volatile g_racing;
static volatile long g_wild, g_race_bad;
static volatile int g_race_stop;

static long wild(void)
{
    __sync_fetch_and_add(&g_wild, 1);
    return 0;
}

static void* put_back_racer(void* arg)
{
    int zero = *(int*)arg;
    void* buf[2] = { (void*)wild, 0 };
    while (!g_race_stop)
        if (call_code(g_racing, 0, 0, zero, buf, 0).ret != 0)
            __sync_fetch_and_add(&g_race_bad, 1);
    return 0;
}

static void test_put_back_race(void)
{
    enum { kCycles = 100 };
    int zero = open("/dev/zero", O_RDONLY);
    unsigned char* pages = mmap(0, 4096L * kCycles, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int c = 0; c < kCycles; c++)
        memcpy(pages + 4096L * c, kCode, sizeof kCode);
    mprotect(pages, 4096L * kCycles, PROT_READ | PROT_EXEC);
    g_racing = pages;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], 0, put_back_racer, &zero);
    int patched = 0;
    for (int c = 0; c < kCycles; c++) {
        unsigned char* code = pages + 4096L * c;
        g_racing = code;
        for (int w = 0; under_umk && w < 500 && code[0] != 0xff; w++)
            usleep(100);
        patched += code[0] == 0xff;
        mprotect(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC); /* put back */
        usleep(100);
    }
    g_race_stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], 0);
    printf("put-back race: wild jumps %s, results %s, patched %s\n", g_wild ? "SOME" : "none",
           g_race_bad ? "WRONG" : "right", (under_umk ? patched > kCycles / 2 : patched == 0) ? "as expected" : "NOT");
    munmap(pages, 4096L * kCycles);
    close(zero);
}

/* A site whose `cmp` ends on the next page; that page is replaced (with
 * the same bytes) after the patch: the jump must not outlive it. */
static void test_straddle(void)
{
    int zero = open("/dev/zero", O_RDONLY);
    char buf[8];
    unsigned char* base = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char* site = base + 4096 - 7;
    memcpy(site, kCode, sizeof kCode);
    mprotect(base, 8192, PROT_READ | PROT_EXEC);
    for (int i = 0; i < kWarm; i++)
        call_code(site, 0, 0, zero, buf, 4);
    munmap(base + 4096, 4096);
    unsigned char* next = mmap(base + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    memcpy(next, kCode + 7, sizeof kCode - 7);
    mprotect(next, 4096, PROT_READ | PROT_EXEC);
    long r = call_code(site, 0, 0, zero, buf, 4).ret;
    long at_cmp = call_code(site, kCompareAt, 7, 0, 0, 0).ret;
    long at_syscall = call_code(site, kSyscallAt, 0, zero, buf, 3).ret;
    mprotect(base, 4096, PROT_READ | PROT_WRITE);
    printf("straddle: read %ld, at the cmp %ld, at the syscall %ld, code after mprotect(RW) %s\n", r, at_cmp,
           at_syscall, memcmp(site, kCode, 7) == 0 ? "as written" : "CHANGED");
    munmap(base, 8192);
    close(zero);
}

/* The guest sets TF itself and steps through the patched site: a trap
 * after each instruction (offsets in the site; "x" elsewhere). */
static long g_steps[16];
static volatile int g_nsteps, g_stepping;

static void on_step(int sig, siginfo_t* info, void* raw)
{
    (void)sig;
    (void)info;
    ucontext_t* uc = raw;
    long off = (long)uc->uc_mcontext.gregs[REG_RIP] - (long)g_code;
    if (g_nsteps < 16)
        g_steps[g_nsteps++] = off >= 0 && off < 64 ? off : -1;
    if (!g_stepping)
        uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
}

static void test_single_step(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_step;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, 0);
    int zero = open("/dev/zero", O_RDONLY);
    char buf[8];
    long fd = zero, n = 4, ret;
    void* p = buf;
    register long r10 __asm__("r10") = 0;
    g_stepping = 1;
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t"
                     "pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
                     "call *%[fn]\n\t"
                     "lea 128(%%rsp), %%rsp"
                     : "=a"(ret), "+D"(fd), "+S"(p), "+r"(r10), "+d"(n)
                     : [fn] "r"(g_code), "a"(0L)
                     : "rcx", "r11", "r8", "r9", "memory", "cc");
    g_stepping = 0;
    __asm__ volatile("pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq" ::: "cc", "memory");
    printf("single-step: read %ld, traps at", ret);
    for (int i = 0; i < g_nsteps && i < 4; i++)
        g_steps[i] < 0 ? printf(" x") : printf(" +%ld", g_steps[i]);
    printf("\n");
    signal(SIGTRAP, SIG_DFL);
    close(zero);
}

static void test_fork(void)
{
    int zero = open("/dev/zero", O_RDONLY);
    char buf[4];
    for (int i = 0; i < kWarm; i++)
        site_read(zero, buf, 4);
    pid_t child = fork();
    if (child == 0) {
        int ok = 1;
        for (int i = 0; i < 100; i++) {
            struct call c = call_at(0, 0, i % 2 ? zero : -1, buf, 4);
            ok &= c.ret == (i % 2 ? 4 : -EBADF) && (c.flags & 0x8d5) == want_flags(c.ret);
        }
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("fork: child's calls %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "right" : "WRONG");
    close(zero);
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, 0, _IONBF, 0);
    under_umk = running_under_umk();

    /* JIT code: a private anonymous page, written, then made executable. */
    g_code = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(g_code, kCode, sizeof kCode);
    mprotect(g_code, 4096, PROT_READ | PROT_EXEC);

    test_results();
    test_restart(1);
    test_restart(0);
    test_blocked_while_patched();
    test_threads();
    test_put_back_race();
    test_straddle();
    test_single_step();
    test_fork();
    mprotect(g_code, 4096, PROT_READ | PROT_WRITE);
    printf("code after mprotect(RW): %s\n", memcmp(g_code, kCode, sizeof kCode) == 0 ? "as written" : "CHANGED");
    return 0;
}
