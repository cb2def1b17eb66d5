/* The FPU state the kernel has set for a thread's next resume is its
 * state already: a signal delivered at rt_sigreturn (blocked in the
 * handler, pending when it returns) must save the interrupted code's
 * xmm0, not the handler's; two signals delivered back to back nest with
 * the first handler's starting state; and a debugger reads back what it
 * set with PTRACE_SETFPREGS. Compared with Linux. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* tgkill to ourselves from inline assembly: nothing touches xmm0 between
 * the test's own moves and the call. */
static long raw_tgkill(int sig)
{
    long r, pid = getpid(), tid = gettid();
    __asm__ volatile("syscall" : "=a"(r) : "a"(234L), "D"(pid), "S"(tid), "d"((long)sig) : "rcx", "r11", "memory");
    return r;
}

static volatile unsigned long inner_saw;

static void on_usr1(int s)
{
    (void)s;
    unsigned long x;
    __asm__ volatile("movq %%xmm0, %0" : "=r"(x));
    inner_saw = x;
}

static void on_usr2(int s)
{
    (void)s;
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0" ::: "xmm0");
    raw_tgkill(SIGUSR1); /* blocked here (sa_mask): delivered at our rt_sigreturn */
}

static unsigned long xmm0_across_tgkill(int sig, unsigned long v)
{
    unsigned long out;
    long pid = getpid(), tid = gettid(), r;
    __asm__ volatile("movq %[v], %%xmm0\n"
                     "syscall\n"
                     "movq %%xmm0, %[out]\n"
                     : [out] "=r"(out), "=a"(r)
                     : [v] "r"(v), "a"(234L), "D"(pid), "S"(tid), "d"((long)sig)
                     : "rcx", "r11", "memory", "xmm0");
    return out;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGUSR2, &sa, NULL);

    unsigned long v = 0x1122334455667788UL;
    unsigned long out = xmm0_across_tgkill(SIGUSR2, v);
    printf("signal pending at rt_sigreturn: xmm0 %s\n", out == v ? "kept" : "WRONG");
    printf("  the second handler started with xmm0 %s\n", inner_saw == 0 ? "zero" : "not zero");

    /* Two signals at once: SIGUSR1 and SIGUSR2 both pending, delivered
     * before either handler runs. */
    sigset_t both, old;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigprocmask(SIG_BLOCK, &both, &old);
    inner_saw = 1;
    raw_tgkill(SIGUSR1);
    raw_tgkill(SIGUSR2);
    unsigned long w = 0x0badc0ffee0ddf00UL, got;
    register long setsize __asm__("r10") = 8;
    long ret = 14; /* rt_sigprocmask(SIG_SETMASK, &old, NULL, 8): both come */
    __asm__ volatile("movq %[w], %%xmm0\n"
                     "syscall\n"
                     "movq %%xmm0, %[got]\n"
                     : [got] "=r"(got), "+a"(ret)
                     : [w] "r"(w), "D"((long)SIG_SETMASK), "S"(&old), "d"(0L), "r"(setsize)
                     : "rcx", "r11", "memory", "xmm0");
    printf("two signals at once: xmm0 %s\n", got == w ? "kept" : "WRONG");
    printf("  the SIGUSR1 handler started with xmm0 %s\n", inner_saw == 0 ? "zero" : "not zero");

    pid_t c = fork();
    if (c == 0)
        for (;;)
            pause();
    ptrace(PTRACE_ATTACH, c, 0, 0);
    int st;
    waitpid(c, &st, 0);
    struct user_fpregs_struct fp, back;
    ptrace(PTRACE_GETFPREGS, c, 0, &fp);
    memset(fp.xmm_space, 0x5a, 16);
    long r = ptrace(PTRACE_SETFPREGS, c, 0, &fp);
    ptrace(PTRACE_GETFPREGS, c, 0, &back);
    printf("PTRACE_SETFPREGS %ld, read back %s\n", r, back.xmm_space[0] == 0x5a5a5a5aU ? "the new xmm0" : "STALE");
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    return 0;
}
