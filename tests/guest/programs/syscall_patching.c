/* Syscall-site patching (docs/design.md): code that makes the same call
 * from the same `mov $nr,%eax; syscall` again and again, as glibc does,
 * behaves as natively once umk has patched the site: registers, flags and
 * the red zone after the call, restarts after signal handlers, signals
 * while calls go through, threads racing on a site, JIT code that changes
 * under its sites, guests with their own %gs base, fork, and a debugger
 * that attaches and reads the code. Under umk (uname -r ends in "umk")
 * it also checks that the sites were patched; the output is the same. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/ucontext.h>
#include <sys/utsname.h>

#include "guest_test.h"

/* Sites: each `mov $nr,%eax; syscall` below is one site. */
extern long site_getppid(void);
extern long site_read(long fd, void* buf, long n);
extern char site_read_syscall_end[];
struct regs_out {
    uint64_t unused, flags_after, rcx, r11;
    uint64_t kept[11];
    uint64_t red_zone_intact;
};
extern void site_regs(struct regs_out* out);
extern char site_regs_syscall_end[];
__asm__(".text\n"
        ".globl site_getppid\n"
        "site_getppid:\n"
        "    mov $110, %eax\n"
        "    syscall\n"
        "    ret\n"
        ".globl site_read\n"
        "site_read:\n"
        "    mov $0, %eax\n"
        "    syscall\n"
        ".globl site_read_syscall_end\n"
        "site_read_syscall_end:\n"
        "    ret\n"
        /* site_regs(out): known values in every register the call keeps,
         * CF and DF set, a pattern in the red zone; what is left after (rcx
         * and r11: what `syscall` puts there, the return address and flags). */
        ".globl site_regs\n"
        "site_regs:\n"
        "    push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
        "    mov %rdi, %r15\n"
        "    mov $0x1111, %rbx\n mov $0x2222, %rbp\n mov $0x3333, %r12\n mov $0x4444, %r13\n"
        "    mov $0x5555, %r14\n mov $0x6666, %rsi\n mov $0x7777, %rdx\n mov $0x8888, %r10\n"
        "    mov $0x9999, %r8\n mov $0xaaaa, %r9\n"
        "    mov $15, %ecx\n" /* the red zone but its last word, which pushfq uses */
        "1:  lea 1(%rcx), %rax\n neg %rax\n movq $0x5a5a5a5a, (%rsp,%rax,8)\n loop 1b\n"
        "    mov %r15, %rdi\n"
        "    stc\n std\n"
        "    mov $110, %eax\n"
        "    syscall\n"
        ".globl site_regs_syscall_end\n"
        "site_regs_syscall_end:\n"
        "    pushfq\n pop %rax\n cld\n mov %rax, 8(%r15)\n"
        "    mov %rcx, 16(%r15)\n mov %r11, 24(%r15)\n"
        "    mov %rbx, 32(%r15)\n mov %rbp, 40(%r15)\n mov %r12, 48(%r15)\n mov %r13, 56(%r15)\n"
        "    mov %r14, 64(%r15)\n mov %rsi, 72(%r15)\n mov %rdx, 80(%r15)\n mov %r10, 88(%r15)\n"
        "    mov %r8, 96(%r15)\n mov %r9, 104(%r15)\n mov %rdi, 112(%r15)\n"
        "    movq $1, 120(%r15)\n"
        "    mov $15, %ecx\n"
        "2:  lea 1(%rcx), %rax\n neg %rax\n cmpq $0x5a5a5a5a, (%rsp,%rax,8)\n je 3f\n movq $0, 120(%r15)\n"
        "3:  loop 2b\n"
        "    pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
        "    ret\n");

static int under_umk;

/* Calls that make sure a site is patched: more than the traps umk waits
 * for (32). */
enum { kWarm = 40 };

static void check_site(const char* what, const void* site, int want_patched)
{
    const unsigned char* p = site;
    int patched = p[0] == 0xff && p[1] == 0x24 && p[2] == 0x25;
    int original = p[0] == 0xb8 && p[5] == 0x0f && p[6] == 0x05;
    int ok = under_umk && want_patched ? patched : original;
    printf("%s: site %s\n", what, ok ? "as expected" : "NOT as expected");
}

static void warm(long (*fn)(void))
{
    for (int i = 0; i < kWarm; i++)
        fn();
}

static void test_registers(void)
{
    struct regs_out out;
    for (int i = 0; i < kWarm; i++)
        site_regs(&out);
    check_site("registers", site_regs_syscall_end - 7, 1);
    memset(&out, 0, sizeof out);
    site_regs(&out);
    static const uint64_t want[11] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666,
                                       0x7777, 0x8888, 0x9999, 0xaaaa, 0 };
    int kept = 1;
    for (int i = 0; i < 10; i++)
        kept &= out.kept[i] == want[i];
    kept &= out.kept[10] == (uint64_t)&out;
    const uint64_t cf = 1, df = 0x400;
    printf("registers: kept %s, rcx %s, r11 %s, CF %s, DF %s, red zone %s\n", kept ? "yes" : "NO",
           out.rcx == (uint64_t)site_regs_syscall_end ? "= return address" : "WRONG",
           out.r11 == out.flags_after ? "= flags" : "WRONG", (out.flags_after & cf) ? "kept" : "LOST",
           (out.flags_after & df) ? "kept" : "LOST", out.red_zone_intact ? "intact" : "CHANGED");
}

static volatile sig_atomic_t g_alarms;

static void on_alarm(int sig)
{
    (void)sig;
    g_alarms++;
}

static long read_one(int fd, char* buf) { return site_read(fd, buf, 1); }

/* A read blocked in a patched site, a signal handler, then the call
 * again (SA_RESTART) or EINTR. */
static void test_restart(int restart)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    char buf[kWarm];
    memset(buf, 'w', sizeof buf);
    (void)!write(p[1], buf, sizeof buf);
    for (int i = 0; i < kWarm; i++)
        site_read(p[0], buf, 1);
    close(p[0]);
    close(p[1]);
    interrupted_read(read_one, restart, site_read);
}

/* Calls through a patched site while a 1 ms timer interrupts them. */
static void test_signal_storm(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    g_alarms = 0;
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &it, 0);
    long want = getppid(), wrong = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 1000; i++)
            wrong += site_getppid() != want;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (g_alarms < 50 && now.tv_sec - start.tv_sec < 20);
    struct itimerval off = { 0 };
    setitimer(ITIMER_REAL, &off, 0);
    signal(SIGALRM, SIG_DFL);
    printf("signal storm: %s calls wrong, handlers ran: %s\n", wrong ? "some" : "no", g_alarms >= 50 ? "yes" : "NO");
}

/* JIT code: a private anonymous page, written, then made executable. */
static const unsigned char kGetppid[] = { 0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xc3 };
static const unsigned char kGetpid[] = { 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3 };

static void test_jit(void)
{
    unsigned char* page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(page, kGetppid, sizeof kGetppid);
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    long (*fn)(void) = (long (*)(void))page;
    warm(fn);
    check_site("jit", page, 1);
    long before = fn();
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
    int same = memcmp(page, kGetppid, sizeof kGetppid) == 0;
    memcpy(page, kGetpid, sizeof kGetpid);
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    long after = fn();
    warm(fn);
    long again = fn();
    printf("jit: getppid %s, code after mprotect(RW) %s, rewritten code gives getpid %s\n",
           before == getppid() ? "right" : "WRONG", same ? "as written" : "CHANGED",
           after == getpid() && again == getpid() ? "yes" : "NO");
    munmap(page, 4096);
}

/* Threads racing on one site while it is patched, put back and patched
 * again (mprotect to RWX and back). */
static long (*g_racy)(void);
static long g_ppid;
static volatile int g_stop;

static void* racer(void* arg)
{
    long wrong = 0;
    for (int i = 0; i < 20000 && !g_stop; i++)
        wrong += g_racy() != g_ppid;
    *(long*)arg = wrong;
    return 0;
}

static void test_threads(void)
{
    unsigned char* page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(page, kGetppid, sizeof kGetppid);
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    g_racy = (long (*)(void))page;
    g_ppid = getppid();
    printf("threads: %s\n", race_with_mprotect(racer, page) ? "WRONG results" : "every call right");
    munmap(page, 4096);
}

/* A guest that sets its own %gs base: calls still work, and %gs reads
 * its memory. */
static void test_own_gs(void)
{
    static uint64_t gs_area[2] = { 0x1122334455667788ULL, 42 };
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, gs_area) != 0) {
        printf("gs: ARCH_SET_GS failed\n");
        return;
    }
    long want = getppid(), wrong = 0;
    uint64_t seen = 0, base = 0;
    for (int i = 0; i < 1000; i++) {
        wrong += site_getppid() != want;
        __asm__ volatile("mov %%gs:0, %0" : "=r"(seen));
    }
    syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
    syscall(SYS_arch_prctl, ARCH_SET_GS, 0);
    printf("gs: calls %s, %%gs:0 %s, ARCH_GET_GS %s\n", wrong ? "WRONG" : "right",
           seen == gs_area[0] ? "is ours" : "WRONG", base == (uint64_t)gs_area ? "is ours" : "WRONG");
}

static void test_fork(void)
{
    warm(site_getppid);
    pid_t me = getpid();
    pid_t child = fork();
    if (child == 0) {
        int ok = 1;
        for (int i = 0; i < 100; i++)
            ok &= site_getppid() == me;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("fork: child's calls %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "right" : "WRONG");
}

/* A debugger attaching to a process with patched sites reads the code as
 * the program has it. */
static void test_debugger(void)
{
    int ready[2];
    if (pipe(ready) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        warm(site_getppid);
        check_site("debugger (tracee)", site_getppid, 1);
        fflush(stdout);
        (void)!write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    char c;
    (void)!read(ready[0], &c, 1);
    int status = 0;
    if (ptrace(PTRACE_ATTACH, child, 0, 0) != 0 || waitpid(child, &status, 0) != child) {
        printf("debugger: attach failed\n");
        kill(child, SIGKILL);
        waitpid(child, 0, 0);
        return;
    }
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, child, (void*)site_getppid, 0);
    unsigned char bytes[8];
    memcpy(bytes, &word, 8);
    printf("debugger: code at the site %s\n",
           errno == 0 && memcmp(bytes, kGetppid, sizeof kGetppid) == 0 ? "as the program has it" : "CHANGED");
    kill(child, SIGKILL);
    waitpid(child, 0, 0);
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, 0, _IONBF, 0);
    under_umk = running_under_umk();

    warm(site_getppid);
    check_site("getppid", site_getppid, 1);
    printf("getppid: %s\n", site_getppid() == getppid() ? "right" : "WRONG");
    test_registers();
    test_restart(1);
    check_site("read", site_read_syscall_end - 7, 1);
    test_restart(0);
    test_signal_storm();
    test_jit();
    test_threads();
    test_own_gs();
    test_fork();
    test_debugger();
    return 0;
}
