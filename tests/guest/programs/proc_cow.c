/* Memory after fork, compared with native: globals, heap, stack, a
 * MAP_PRIVATE anonymous mapping and a MAP_PRIVATE file mapping are copied
 * (writes by the child are invisible to the parent and writes by the
 * parent after the fork are invisible to the child), while MAP_SHARED
 * anonymous and MAP_SHARED file mappings are shared both ways; a 16 MiB
 * region written page by page in the child is untouched in the parent;
 * read-only memory stays readable and can be made writable privately;
 * a grandchild sees the child's copy; MADV_DONTFORK leaves a hole in the
 * child (SIGSEGV) and MADV_WIPEONFORK gives it zeros. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, pid_t p, pid_t r, int st)
{
    show_waited(label, p, r, st, "%s: waitpid %s\n", "other");
}

static volatile int global_var = 1;
static volatile sig_atomic_t go;
static void on_usr1(int s)
{
    (void)s;
    go = 1;
}

#define BIG (16 << 20)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    long pg = sysconf(_SC_PAGESIZE);
    int st;
    pid_t p, r;

    volatile int stack_var = 1;
    volatile int* heap = malloc(64 * sizeof(int));
    heap[0] = 1;
    volatile int* priv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile int* shar = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    priv[0] = 1;
    shar[0] = 1;

    char path[] = "/tmp/umk-proc-cow-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    ftruncate(fd, 2 * pg);
    volatile int* fpriv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    volatile int* fshar = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pg);
    fpriv[0] = 1; /* private copy of file page 0 */
    fshar[0] = 1; /* file page 1 */

    /* --- child writes, parent looks --- */
    p = fork();
    if (p == 0) {
        /* the child sees the values from before the fork */
        int saw = global_var == 1 && stack_var == 1 && heap[0] == 1 && priv[0] == 1 && shar[0] == 1 &&
                  fpriv[0] == 1 && fshar[0] == 1;
        global_var = 2;
        stack_var = 2;
        heap[0] = 2;
        priv[0] = 2;
        shar[0] = 2;
        fpriv[0] = 2;
        fshar[0] = 2;
        _exit(saw ? 0 : 1);
    }
    r = waitpid(p, &st, 0);
    show("child-saw-prefork-values", p, r, st);
    printf("after-child-write: global=%d stack=%d heap=%d private-anon=%d shared-anon=%d private-file=%d "
           "shared-file=%d\n",
           global_var, stack_var, heap[0], priv[0], shar[0], fpriv[0], fshar[0]);
    int fromfile = 0;
    pread(fd, &fromfile, sizeof fromfile, pg);
    int page0 = -1;
    pread(fd, &page0, sizeof page0, 0);
    printf("file-contents: shared-page=%d private-page=%d\n", fromfile, page0);

    /* --- parent writes after the fork, child looks --- */
    global_var = stack_var = heap[0] = priv[0] = shar[0] = fpriv[0] = fshar[0] = 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    volatile int* results = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    p = fork();
    if (p == 0) {
        while (!go)
            sigsuspend(&old);
        results[0] = global_var;
        results[1] = stack_var;
        results[2] = heap[0];
        results[3] = priv[0];
        results[4] = shar[0];
        results[5] = fpriv[0];
        results[6] = fshar[0];
        _exit(0);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    global_var = stack_var = heap[0] = priv[0] = shar[0] = fpriv[0] = fshar[0] = 4;
    kill(p, SIGUSR1);
    r = waitpid(p, &st, 0);
    show("child-after-parent-write", p, r, st);
    printf("child-saw: global=%d stack=%d heap=%d private-anon=%d shared-anon=%d private-file=%d shared-file=%d\n",
           results[0], results[1], results[2], results[3], results[4], results[5], results[6]);

    /* --- a big region, every page written in the child --- */
    unsigned char* big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < BIG; i += pg)
        big[i] = (unsigned char)(i / pg);
    p = fork();
    if (p == 0) {
        int good = 1;
        for (long i = 0; i < BIG; i += pg) {
            good &= big[i] == (unsigned char)(i / pg);
            big[i] = 0xee;
        }
        _exit(good ? 0 : 1);
    }
    r = waitpid(p, &st, 0);
    show("big-child", p, r, st);
    int intact = 1;
    for (long i = 0; i < BIG; i += pg)
        intact &= big[i] == (unsigned char)(i / pg);
    printf("big-parent-intact: %d\n", intact);
    /* the parent writes it afterwards, too */
    for (long i = 0; i < BIG; i += pg)
        big[i] ^= 0xff;
    intact = 1;
    for (long i = 0; i < BIG; i += pg)
        intact &= big[i] == (unsigned char)~(unsigned char)(i / pg);
    printf("big-parent-writes-after: %d\n", intact);
    munmap(big, BIG);

    /* --- read-only memory --- */
    volatile int* ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 55;
    mprotect((void*)ro, pg, PROT_READ);
    p = fork();
    if (p == 0) {
        int readable = ro[0] == 55;
        int mp = mprotect((void*)ro, pg, PROT_READ | PROT_WRITE);
        ro[0] = 66;
        _exit(readable && mp == 0 && ro[0] == 66 ? 0 : 1);
    }
    r = waitpid(p, &st, 0);
    show("readonly-child", p, r, st);
    printf("readonly-parent: %d\n", ro[0]);
    p = fork();
    if (p == 0) {
        struct rlimit rl = { 0, 0 };
        setrlimit(RLIMIT_CORE, &rl);
        ro[0] = 1; /* still read-only in the child */
        _exit(0);
    }
    r = waitpid(p, &st, 0);
    show("readonly-write-in-child", p, r, st);

    /* --- grandchild sees the child's copy --- */
    global_var = 10;
    p = fork();
    if (p == 0) {
        global_var = 20;
        shar[0] = 20;
        pid_t g = fork();
        if (g == 0) {
            int ok = global_var == 20 && shar[0] == 20;
            global_var = 30;
            shar[0] = 30;
            _exit(ok ? 0 : 1);
        }
        int s2;
        waitpid(g, &s2, 0);
        _exit(WIFEXITED(s2) && WEXITSTATUS(s2) == 0 && global_var == 20 && shar[0] == 30 ? 0 : 1);
    }
    r = waitpid(p, &st, 0);
    show("grandchild-copies", p, r, st);
    printf("after-grandchild: global=%d shared=%d\n", global_var, shar[0]);

    /* --- MADV_DONTFORK and MADV_WIPEONFORK --- */
    volatile int* dontfork = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    dontfork[0] = 7;
    errno = 0;
    int mr = madvise((void*)dontfork, pg, MADV_DONTFORK);
    printf("madv-dontfork: %s\n", mr == 0 ? "ok" : ename(errno));
    p = fork();
    if (p == 0) {
        struct rlimit rl = { 0, 0 };
        setrlimit(RLIMIT_CORE, &rl);
        int v = dontfork[0];
        _exit(v == 7 ? 50 : 51);
    }
    r = waitpid(p, &st, 0);
    show("dontfork-child-access", p, r, st);
    printf("dontfork-parent: %d\n", dontfork[0]);

    volatile int* wipe = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    wipe[0] = 8;
    errno = 0;
    mr = madvise((void*)wipe, pg, MADV_WIPEONFORK);
    printf("madv-wipeonfork: %s\n", mr == 0 ? "ok" : ename(errno));
    p = fork();
    if (p == 0)
        _exit(wipe[0] == 0 ? 0 : (wipe[0] == 8 ? 1 : 2));
    r = waitpid(p, &st, 0);
    show("wipeonfork-child (0 = zeroed)", p, r, st);
    printf("wipeonfork-parent: %d\n", wipe[0]);
    errno = 0;
    mr = madvise((void*)shar, pg, MADV_WIPEONFORK); /* only private anonymous memory */
    printf("wipeonfork-on-shared: %s\n", mr == 0 ? "ok" : ename(errno));

    close(fd);
    return 0;
}
