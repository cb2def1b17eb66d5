/* sigaltstack, compared with native: the old stack reported back, SS_ONSTACK
 * seen from inside an SA_ONSTACK handler that runs on the alternate stack
 * (a local's address is inside it), a nested SA_ONSTACK signal continuing
 * below the outer frame, a nested handler without SA_ONSTACK staying on the
 * alternate stack, changing the stack while on it (EPERM) while a query
 * still works, SS_AUTODISARM (disarmed inside the handler, rearmed after),
 * SS_DISABLE (handler back on the normal stack), a stack smaller than
 * MINSIGSTKSZ (ENOMEM) and bad flags (EINVAL), the stack inherited over
 * fork, and overflow: a handler recursing on a small alternate stack into a
 * guard page kills the process with SIGSEGV (in a child; SIGSEGV default,
 * or caught without SA_ONSTACK: no room for that frame either), and a
 * signal raised with sp near the bottom of the alternate stack (no room for
 * the frame: SIGSEGV forced, and no room for that one: killed; or, with sp
 * minus the red zone below the stack, a fresh frame at its top). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: %s\n", "other");
}

enum { ALT_SIZE = 1 << 16 };
static char altstack[ALT_SIZE] __attribute__((aligned(64)));

static int on_alt(const void* p)
{
    return (const char*)p >= altstack && (const char*)p < altstack + ALT_SIZE;
}

static void install(int signo, void (*fn)(int, siginfo_t*, void*), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
}

/* results recorded by handlers, printed afterwards */
static volatile int h_alt, h_flags_onstack, h_sp_same, h_size_same;
static volatile int h_eperm_set, h_eperm_disable, h_query_ok;
static volatile uintptr_t outer_local, inner_local;
static volatile int inner_alt, inner_below, plain_alt;
static volatile int autodisarm_flags;

static void inner(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    char probe;
    inner_local = (uintptr_t)&probe;
    inner_alt = on_alt(&probe);
    inner_below = inner_local < outer_local;
}

static void plain(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    char probe;
    plain_alt = on_alt(&probe);
}

static void outer(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    char probe;
    outer_local = (uintptr_t)&probe;
    h_alt = on_alt(&probe);
    stack_t cur;
    memset(&cur, 0, sizeof cur);
    h_query_ok = sigaltstack(NULL, &cur) == 0;
    h_flags_onstack = cur.ss_flags == SS_ONSTACK;
    h_sp_same = cur.ss_sp == altstack;
    h_size_same = cur.ss_size == ALT_SIZE;

    stack_t other = { .ss_sp = altstack, .ss_size = ALT_SIZE / 2, .ss_flags = 0 };
    errno = 0;
    h_eperm_set = sigaltstack(&other, NULL) == -1 ? errno : 0;
    stack_t dis = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    errno = 0;
    h_eperm_disable = sigaltstack(&dis, NULL) == -1 ? errno : 0;

    raise(SIGUSR2); /* SA_ONSTACK: nests below us */
    raise(SIGURG); /* no SA_ONSTACK: still on the alternate stack */
}

static void autodisarm_handler(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    char probe;
    h_alt = on_alt(&probe);
    stack_t cur;
    memset(&cur, 0, sizeof cur);
    sigaltstack(NULL, &cur);
    autodisarm_flags = cur.ss_flags;
}

static void check_handler(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    char probe;
    h_alt = on_alt(&probe);
}

/* --- overflow --- */
static char* small_base; /* the usable stack, above one guard page */
enum { SMALL_SIZE = 4 * 4096 };
static volatile unsigned long depth;

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static __attribute__((noinline)) void recurse(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    pad[sizeof pad - 1] = (char)n;
    depth++;
    recurse(n + 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    (void)pad[0];
}

static void overflow_handler(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    recurse(0);
}

static void never(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    _exit(50 + s); /* no room for this frame: not reached */
}

/* sp close to the bottom of the alternate stack, then an illegal
 * instruction. x86-64 Linux first skips the 128-byte red zone: 192 bytes
 * up, sp stays on the stack and no frame fits (SIGSEGV forced, and no room
 * for that either: killed); 64 bytes up, the red zone takes sp below the
 * stack, which counts as not on it, so the frame starts again at the top */
static long squeeze_offset;
static void squeeze_handler(int s, siginfo_t* si, void* uc)
{
    (void)s, (void)si, (void)uc;
    __asm__ volatile("mov %0, %%rsp\n\tud2" ::"r"(small_base + squeeze_offset) : "memory");
}

/* how 1: recurse, SIGSEGV default; 2: recurse, SIGSEGV handler without
 * SA_ONSTACK; 3, 4: squeeze (192, 64), SIGILL and SIGSEGV handlers with
 * SA_ONSTACK */
static void overflow_child(int how)
{
    char* m = mmap(NULL, 4096 + SMALL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        _exit(90);
    if (mprotect(m, 4096, PROT_NONE) != 0)
        _exit(91);
    small_base = m + 4096;
    stack_t ss = { .ss_sp = small_base, .ss_size = SMALL_SIZE, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0)
        _exit(92);
    if (how >= 3) {
        squeeze_offset = how == 3 ? 192 : 64;
        install(SIGUSR1, squeeze_handler, SA_ONSTACK);
        install(SIGILL, never, SA_ONSTACK);
        install(SIGSEGV, never, SA_ONSTACK);
    } else {
        install(SIGUSR1, overflow_handler, SA_ONSTACK);
        if (how == 2)
            install(SIGSEGV, never, 0);
    }
    raise(SIGUSR1);
    _exit(93); /* not reached */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);

    /* --- no stack at first --- */
    stack_t old;
    memset(&old, 0, sizeof old);
    int r = sigaltstack(NULL, &old);
    printf("initial: r=%d disabled=%d\n", r, old.ss_flags == SS_DISABLE);

    /* --- too small, bad flags --- */
    stack_t ss = { .ss_sp = altstack, .ss_size = 1024, .ss_flags = 0 };
    errno = 0;
    r = sigaltstack(&ss, NULL);
    printf("size 1024 (< MINSIGSTKSZ %d): r=%d %s\n", (int)(1024 < MINSIGSTKSZ), r, ename(errno));
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = 0x1234;
    errno = 0;
    r = sigaltstack(&ss, NULL);
    printf("bad flags: r=%d %s\n", r, ename(errno));
    ss.ss_flags = SS_ONSTACK; /* accepted as 0 for old programs */
    errno = 0;
    r = sigaltstack(&ss, NULL);
    printf("flags SS_ONSTACK: r=%d\n", r);
    sigaltstack(NULL, &old);
    printf("after SS_ONSTACK set: flags=%d sp_ok=%d size_ok=%d\n", old.ss_flags, old.ss_sp == altstack, old.ss_size == ALT_SIZE);

    /* --- set, and read back the old one --- */
    ss.ss_flags = 0;
    memset(&old, 0xff, sizeof old);
    r = sigaltstack(&ss, &old);
    printf("set: r=%d old_flags=%d old_sp_ok=%d\n", r, old.ss_flags, old.ss_sp == altstack);
    sigaltstack(NULL, &old);
    printf("query outside handler: flags=%d\n", old.ss_flags);

    /* --- SA_ONSTACK handler, nested ones --- */
    install(SIGUSR1, outer, SA_ONSTACK);
    install(SIGUSR2, inner, SA_ONSTACK);
    install(SIGURG, plain, 0);
    raise(SIGUSR1);
    printf("handler on alt: %d\n", h_alt);
    printf("handler query: ok=%d SS_ONSTACK=%d sp_same=%d size_same=%d\n", h_query_ok, h_flags_onstack, h_sp_same, h_size_same);
    printf("change while on it: %s; disable while on it: %s\n", ename(h_eperm_set), ename(h_eperm_disable));
    printf("nested SA_ONSTACK: on alt=%d below outer=%d\n", inner_alt, inner_below);
    printf("nested without SA_ONSTACK: on alt=%d\n", plain_alt);
    sigaltstack(NULL, &old);
    printf("after handlers: flags=%d size_same=%d\n", old.ss_flags, old.ss_size == ALT_SIZE);

    /* a handler without SA_ONSTACK called from normal code */
    plain_alt = -1;
    raise(SIGURG);
    printf("no SA_ONSTACK from main: on alt=%d\n", plain_alt);

    /* --- inherited over fork --- */
    pid_t p = fork();
    if (p == 0) {
        stack_t c;
        sigaltstack(NULL, &c);
        h_alt = 0;
        install(SIGUSR2, check_handler, SA_ONSTACK);
        raise(SIGUSR2);
        _exit((c.ss_sp == altstack && c.ss_flags == 0 ? 10 : 20) + h_alt);
    }
    int st;
    r = waitpid(p, &st, 0);
    show("fork child (11: inherited and used)", p, r, st);

    /* --- SS_AUTODISARM --- */
    ss.ss_flags = SS_AUTODISARM;
    r = sigaltstack(&ss, NULL);
    printf("autodisarm set: r=%d\n", r);
    sigaltstack(NULL, &old);
    printf("autodisarm query: flags_has_autodisarm=%d onstack=%d\n", (old.ss_flags & SS_AUTODISARM) != 0, (old.ss_flags & SS_ONSTACK) != 0);
    h_alt = 0;
    autodisarm_flags = -1;
    install(SIGUSR1, autodisarm_handler, SA_ONSTACK);
    raise(SIGUSR1);
    printf("autodisarm handler: on alt=%d flags_inside_disabled=%d\n", h_alt, autodisarm_flags == SS_DISABLE);
    sigaltstack(NULL, &old);
    printf("autodisarm after: sp_ok=%d has_autodisarm=%d\n", old.ss_sp == altstack, (old.ss_flags & SS_AUTODISARM) != 0);

    /* --- SS_DISABLE --- */
    stack_t dis = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    memset(&old, 0, sizeof old);
    r = sigaltstack(&dis, &old);
    printf("disable: r=%d old_sp_ok=%d\n", r, old.ss_sp == altstack);
    sigaltstack(NULL, &old);
    printf("disabled query: flags=%d is_SS_DISABLE=%d\n", old.ss_flags, old.ss_flags == SS_DISABLE);
    h_alt = -1;
    install(SIGUSR1, check_handler, SA_ONSTACK);
    raise(SIGUSR1);
    printf("SA_ONSTACK with stack disabled: on alt=%d\n", h_alt);

    /* --- overflow --- */
    static const char* const what[] = { "", "recursion into the guard page, SIGSEGV default",
        "recursion into the guard page, SIGSEGV handler without SA_ONSTACK",
        "sp 192 bytes above the bottom, no room for a frame (SA_ONSTACK SIGILL, SIGSEGV handlers)",
        "sp 64 bytes above the bottom, red zone below it: frame at the top (54: SIGILL handler)" };
    for (int how = 1; how <= 4; how++) {
        p = fork();
        if (p == 0)
            overflow_child(how);
        r = waitpid(p, &st, 0);
        show(what[how], p, r, st);
    }
    return 0;
}
