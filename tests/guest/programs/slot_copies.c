/* Arguments through the slot (docs/design.md): once a call site is
 * patched, umk's stub copies the call's paths and small input buffers for
 * the kernel as the call comes in, and writes small outputs of calls that
 * write them last as it returns. Every edge of those copies must look as
 * on Linux: paths at page ends and in unreadable pages, long paths,
 * outputs into read-only, unmapped, file-backed and shared memory,
 * buffers that overlap, a signal at the call's exit (a handler, a stop,
 * death), a thread unmapping the output meanwhile, and a thread reusing
 * the slot of one that left an output behind. Each wrapper is warmed first, so that
 * under umk its site is patched before the case runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "guest_test.h"

enum { kWarm = 40 };

static long page;

static void* map(int prot)
{
    void* p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    mprotect((char*)p + page, page, prot); /* the second page: how the case wants it */
    return p;
}

#define SHOW(what, call)                                       \
    do {                                                       \
        errno = 0;                                             \
        long r_ = (long)(call);                                \
        printf("%-34s %s\n", what, res(r_, errno));            \
    } while (0)

static void warm(void)
{
    struct stat st;
    char buf[64];
    struct utsname u;
    int p[2];
    if (pipe(p))
        abort();
    for (int i = 0; i < kWarm; i++) {
        stat("/", &st);
        lstat("/", &st);
        fstatat(AT_FDCWD, "/", &st, 0);
        close(open("/", O_RDONLY));
        readlink("/nonexistent", buf, sizeof buf);
        access("/", F_OK);
        getcwd(buf, sizeof buf);
        uname(&u);
        if (write(p[1], "x", 1) != 1 || read(p[0], buf, 1) != 1)
            abort();
        sigprocmask(SIG_BLOCK, NULL, NULL);
    }
    close(p[0]);
    close(p[1]);
}

static void paths(void)
{
    struct stat st;
    char* m = map(PROT_NONE);
    /* "/" ending on the page's last byte, the next page unreadable */
    char* end = m + page - 2;
    strcpy(end, "/");
    SHOW("stat path at page end", stat(end, &st));
    /* no NUL before the unreadable page */
    memset(m, 'a', page);
    SHOW("stat path into PROT_NONE", stat(m + page - 8, &st));
    SHOW("stat path in PROT_NONE", stat(m + page, &st));
    SHOW("stat path NULL", stat(NULL, &st));
    SHOW("stat path kernel address", stat((char*)0xffff800000000000UL, &st));
    munmap(m, 2 * page);

    /* long paths: around the slot's copy area (2 KiB) and PATH_MAX */
    static const int lengths[] = { 1000, 2040, 2047, 2048, 2100, 4000, 4095, 4096, 5000 };
    for (unsigned i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        int n = lengths[i];
        char* path = malloc(n + 1);
        memset(path, '/', n);
        memcpy(path + n - 4, "etc", 4); /* n - 1 bytes, then the NUL */
        char what[64];
        snprintf(what, sizeof what, "stat path of %d bytes", n - 1);
        errno = 0;
        long r = stat(path, &st);
        printf("%-34s %s %s\n", what, res(r, errno), r == 0 && S_ISDIR(st.st_mode) ? "dir" : "");
        free(path);
    }
}

static void outputs(void)
{
    char* m = map(PROT_READ);
    /* a struct stat in the read-only page; across into it; whole below */
    SHOW("stat into read-only", stat("/", (struct stat*)(m + page)));
    SHOW("stat across into read-only", stat("/", (struct stat*)(m + page - 64)));
    struct stat* below = (struct stat*)(m + page - sizeof(struct stat));
    SHOW("stat just below read-only", stat("/", below));
    printf("%-34s %s\n", "  is a directory", S_ISDIR(below->st_mode) ? "yes" : "no");
    mprotect(m + page, page, PROT_NONE);
    SHOW("stat into PROT_NONE", stat("/", (struct stat*)(m + page)));
    munmap(m + page, page);
    SHOW("stat across into unmapped", stat("/", (struct stat*)(m + page - 64)));
    SHOW("stat into NULL", stat("/", NULL));
    munmap(m, page);

    /* file-backed private and shared anonymous memory */
    int fd = open("/etc/passwd", O_RDONLY);
    struct stat* fst = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    SHOW("stat into a private file map", stat("/", fst));
    printf("%-34s %s\n", "  is a directory", S_ISDIR(fst->st_mode) ? "yes" : "no");
    munmap(fst, page);
    close(fd);
    struct stat* shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t child = fork();
    if (child == 0) {
        stat("/", shared);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("%-34s %s\n", "stat by a child into shared", S_ISDIR(shared->st_mode) ? "seen" : "not seen");
    munmap(shared, page);

    /* readlink's output over its own path */
    unlink("/tmp/umk-slot-copies-link");
    if (symlink("a-target-of-the-link", "/tmp/umk-slot-copies-link"))
        abort();
    char buf[64] = "/tmp/umk-slot-copies-link";
    long n = readlink(buf, buf, sizeof buf);
    printf("%-34s %ld %.*s\n", "readlink over its path", n, n > 0 ? (int)n : 0, buf);
    unlink("/tmp/umk-slot-copies-link");

    /* getcwd, uname: small outputs */
    char cwd[8];
    SHOW("getcwd too small", getcwd(cwd, 2) ? 0 : -1);
    struct utsname* u = (struct utsname*)malloc(sizeof *u);
    SHOW("uname", uname(u));
    printf("%-34s %s\n", "  sysname", u->sysname);
    free(u);

    /* sigprocmask's old set into read-only memory: the new mask is set
     * all the same */
    char* ro = map(PROT_READ);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    SHOW("sigprocmask old into read-only", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &usr1, ro + page, 8));
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("%-34s %s\n", "  SIGUSR1 blocked", sigismember(&now, SIGUSR1) ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    munmap(ro, 2 * page);
}

static void inputs(void)
{
    int p[2];
    if (pipe(p))
        abort();
    char* m = map(PROT_NONE);
    SHOW("write from PROT_NONE", write(p[1], m + page, 8));
    memcpy(m + page - 5, "hello", 5);
    SHOW("write at page end", write(p[1], m + page - 5, 5));
    char got[16] = "";
    SHOW("read it back", read(p[0], got, sizeof got));
    printf("%-34s %s\n", "  bytes", got);
    SHOW("write 0 bytes from NULL", write(p[1], NULL, 0));
    munmap(m, 2 * page);
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t alarms;
static ino_t root_ino;

static void on_alarm(int s)
{
    (void)s;
    struct stat st;
    if (stat("/", &st) == 0 && st.st_ino == root_ino)
        alarms++;
}

/* A signal at the calls' exit: the handler runs after the call's output
 * is in place, and its own calls have theirs. */
static void signal_storm(void)
{
    struct stat st;
    stat("/", &st);
    root_ino = st.st_ino;
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = { { 0, 200 }, { 0, 200 } };
    setitimer(ITIMER_REAL, &t, NULL);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        memset(&st, 0, sizeof st);
        if (stat("/", &st) != 0 || st.st_ino != root_ino)
            bad++;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    printf("%-34s %s\n", "stat under a 200 us timer", bad ? "WRONG" : "ok");
    printf("%-34s %s\n", "  handlers saw their stat", alarms > 0 ? "yes" : "no");
}

static char* volatile racing;
static volatile int race_done;

static void* remapper(void* arg)
{
    (void)arg;
    for (int i = 0; i < 3000; i++) {
        munmap(racing, page);
        mmap(racing, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        mprotect(racing, page, PROT_READ);
        mprotect(racing, page, PROT_READ | PROT_WRITE);
    }
    race_done = 1;
    return NULL;
}

/* Another thread unmaps and protects the output meanwhile: each call
 * succeeds or fails with EFAULT, and nothing else happens. */
static void unmap_race(void)
{
    racing = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t;
    pthread_create(&t, NULL, remapper, NULL);
    int other = 0;
    while (!race_done) {
        long r = stat("/", (struct stat*)racing);
        if (r != 0 && errno != EFAULT)
            other++;
    }
    pthread_join(t, NULL);
    printf("%-34s %s\n", "stat racing an unmap", other ? "WRONG" : "ok");
    munmap(racing, page);
}

/* The call's exit is not a return: the thread stops there (SIGTSTP), and
 * its parent reads and then writes the output meanwhile. */
static void stop_at_exit(void)
{
    sigset_t old[2], tstp, empty;
    memset(old, 0xee, sizeof old);
    sigemptyset(&empty);
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0); /* not orphaned: the stop happens */
        sigprocmask(SIG_BLOCK, &tstp, NULL);
        raise(SIGTSTP);
        sigprocmask(SIG_SETMASK, &empty, old); /* stops on its way out */
        printf("%-34s %s\n", "  the child sees the parent's write", *(unsigned long*)old == 0x1234 ? "yes" : "no");
        _exit(0);
    }
    int st;
    waitpid(child, &st, WUNTRACED);
    unsigned long seen = 0, mine = 0x1234;
    struct iovec local = { &seen, 8 }, remote = { old, 8 };
    process_vm_readv(child, &local, 1, &remote, 1, 0);
    printf("%-34s %s\n", "sigprocmask output at a stop", WIFSTOPPED(st) && seen == 1UL << (SIGTSTP - 1) ? "there" : "missing");
    local.iov_base = &mine;
    process_vm_writev(child, &local, 1, &remote, 1, 0);
    kill(child, SIGCONT);
    waitpid(child, &st, 0);
}

/* A fatal signal at the call's exit: its output (in shared memory) is
 * there all the same. */
static void die_at_exit(void)
{
    unsigned long* shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(shared, 0xee, 64);
    sigset_t usr1, empty;
    sigemptyset(&empty);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pid_t child = fork();
    if (child == 0) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        raise(SIGUSR1);
        sigprocmask(SIG_SETMASK, &empty, (sigset_t*)shared);
        _exit(0);
    }
    int st;
    waitpid(child, &st, 0);
    printf("%-34s %s %s\n", "output of a call that dies", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited",
           shared[0] == 1UL << (SIGUSR1 - 1) ? "there" : "missing");
    munmap(shared, page);
}

/* A thread whose last call left an output ends; the next thread gets its
 * slot and must not write that output again. */
static char* left_behind;

static void* stat_and_exit(void* arg)
{
    (void)arg;
    stat("/", (struct stat*)left_behind);
    syscall(SYS_exit, 0);
    return NULL;
}

static void* after_it(void* arg)
{
    (void)arg;
    memset(left_behind, 'N', 200);
    for (int i = 0; i < 3; i++)
        access("/", F_OK);
    printf("%-34s %s\n", "a new thread in an old slot", memcmp(left_behind, "NNNNNNNN", 8) ? "WRONG" : "ok");
    return NULL;
}

static void slot_reuse(void)
{
    left_behind = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pthread_t t;
    pthread_create(&t, NULL, stat_and_exit, NULL);
    pthread_join(t, NULL);
    usleep(100000); /* its host thread gone */
    pthread_create(&t, NULL, after_it, NULL);
    pthread_join(t, NULL);
    munmap(left_behind, page);
}

static void directory(void)
{
    mkdir("/tmp/umk-slot-copies-dir", 0755);
    close(open("/tmp/umk-slot-copies-dir/a", O_CREAT | O_WRONLY, 0644));
    int count = 0;
    for (int round = 0; round < kWarm; round++) {
        DIR* d = opendir("/tmp/umk-slot-copies-dir");
        count = 0;
        while (readdir(d))
            count++;
        closedir(d);
    }
    printf("%-34s %d\n", "entries", count);
    unlink("/tmp/umk-slot-copies-dir/a");
    rmdir("/tmp/umk-slot-copies-dir");
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IONBF, 0);
    page = sysconf(_SC_PAGESIZE);
    warm();
    paths();
    outputs();
    inputs();
    signal_storm();
    unmap_race();
    stop_at_exit();
    die_at_exit();
    slot_reuse();
    directory();
    return 0;
}
