/* Edge cases found by review of locks, timerfd and sendfile, compared
 * with Linux: flock waiters while the holder unlocks and closes (the
 * lock entry must outlive its waiters), a fd closed under its own
 * F_SETLKW, lock ranges at the ends of off_t, copy_file_range near the
 * offset limit, SIGKILL of lock waiters and of a reader queued behind a
 * blocked sendfile, and a timerfd interval that runs past the end of time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/timerfd.h>

#include "guest_test.h"

#define PATH "/tmp/umk-lock-edges"

static int reaped_within(pid_t p, int centis)
{
    for (int i = 0; i < centis; i++) {
        if (waitpid(p, NULL, WNOHANG) == p)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void flock_waiters(void)
{
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        int fd = open(PATH, O_RDWR | O_CREAT, 0644);
        flock(fd, LOCK_EX);
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            int fd2 = open(PATH, O_RDWR);
            _exit(flock(fd2, LOCK_EX) == 0 && flock(fd2, LOCK_UN) == 0 ? 0 : 1);
        }
        usleep(10000);
        flock(fd, LOCK_UN);
        close(fd);
        int st;
        waitpid(c, &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    printf("flock waiter got the lock after unlock+close: %d of 10\n", ok);
}

static int g_fd;
static void* setlkw_waiter(void* arg)
{
    (void)arg;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int r = fcntl(g_fd, F_SETLKW, &fl);
    printf("F_SETLKW on a fd closed while waiting: %s\n", res(r, errno));
    return NULL;
}

static void close_under_setlkw(void)
{
    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t holder = fork();
    if (holder == 0) {
        int f = open(PATH, O_RDWR);
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        fcntl(f, F_SETLK, &fl);
        write(go[1], "x", 1);
        usleep(500000);
        _exit(0);
    }
    char c;
    read(go[0], &c, 1);
    pid_t v = fork();
    if (v == 0) {
        g_fd = open(PATH, O_RDWR);
        pthread_t th;
        pthread_create(&th, NULL, setlkw_waiter, NULL);
        usleep(200000);
        close(g_fd);
        pthread_join(th, NULL);
        fflush(stdout);
        _exit(0);
    }
    waitpid(holder, NULL, 0);
    waitpid(v, NULL, 0);
    int f = open(PATH, O_RDWR);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int r = fcntl(f, F_SETLK, &fl);
    printf("F_SETLK after both exited: %s\n", res(r, errno));
    close(f);
}

static void getlk_in_child(const char* what)
{
    fflush(stdout);
    if (fork() == 0) {
        int f = open(PATH, O_RDWR);
        struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        fcntl(f, F_GETLK, &q);
        printf("  %s, other's F_GETLK: type %d start %lld len %lld\n", what, q.l_type, (long long)q.l_start,
               (long long)q.l_len);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
}

static void lock_ranges(void)
{
    int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello", 5);
    static const struct {
        const char* what;
        int64_t start, len;
    } cases[] = {
        { "start -5 len INT64_MIN", -5, INT64_MIN },
        { "start -1 len 2", -1, 2 },
        { "start 3 len -4", 3, -4 },
        { "start 3 len -3", 3, -3 },
        { "start INT64_MAX len 1", INT64_MAX, 1 },
        { "start INT64_MAX len 0", INT64_MAX, 0 },
        { "start INT64_MAX-1 len 2", INT64_MAX - 1, 2 },
        { "start 10 len INT64_MAX", 10, INT64_MAX },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = cases[i].start, .l_len = cases[i].len };
        int r = fcntl(fd, F_SETLK, &fl);
        printf("F_SETLK %s: %s\n", cases[i].what, res(r, errno));
        if (r == 0)
            getlk_in_child(cases[i].what);
        struct flock un = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
        fcntl(fd, F_SETLK, &un);
    }
    struct flock end = { .l_type = F_WRLCK, .l_whence = SEEK_END, .l_start = -6, .l_len = 1 };
    printf("F_SETLK SEEK_END-6: %s\n", res(fcntl(fd, F_SETLK, &end), errno));
    close(fd);
}

static void copy_limits(void)
{
    int in = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(in, "hello", 5);
    int out = open(PATH "-out", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off64_t oi = 0, oo = INT64_MAX - 2;
    ssize_t n = copy_file_range(in, &oi, out, &oo, 5, 0);
    printf("copy_file_range to INT64_MAX-2: %s, out offset %s\n", res(n, errno),
           oo == INT64_MAX - 2 ? "unchanged" : "moved");
    oi = INT64_MAX - 1;
    oo = 0;
    n = copy_file_range(in, &oi, out, &oo, 5, 0);
    printf("copy_file_range from INT64_MAX-1: %s\n", res(n, errno));
    off_t so = INT64_MAX - 1;
    n = sendfile(out, in, &so, 5);
    printf("sendfile from INT64_MAX-1: %s\n", res(n, errno));
    close(in);
    close(out);
    unlink(PATH "-out");
}

static void kill_waiters(void)
{
    int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    flock(fd, LOCK_SH);
    struct flock w = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    fcntl(fd, F_SETLK, &w);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int f = open(PATH, O_RDWR);
        struct flock x = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        fcntl(f, F_SETLKW, &x);
        _exit(0);
    }
    pid_t d = fork();
    if (d == 0) {
        int f = open(PATH, O_RDWR);
        flock(f, LOCK_EX);
        _exit(0);
    }
    usleep(200000);
    kill(c, SIGKILL);
    kill(d, SIGKILL);
    int a = reaped_within(c, 300), b = reaped_within(d, 300);
    printf("SIGKILL ends an F_SETLKW waiter: %s, a flock waiter: %s\n", a ? "yes" : "no", b ? "yes" : "no");
    close(fd);

    /* a reader of the same open file queued behind a sendfile that blocks
     * on a full pipe */
    fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char block[4096] = { 0 };
    for (int i = 0; i < 64; i++)
        write(fd, block, sizeof block);
    lseek(fd, 0, SEEK_SET);
    int p[2];
    pipe(p);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    pid_t sender = fork();
    if (sender == 0) {
        sendfile(p[1], fd, NULL, 1 << 20);
        _exit(0);
    }
    usleep(200000);
    pid_t reader = fork();
    if (reader == 0) {
        char ch;
        read(fd, &ch, 1);
        _exit(0);
    }
    usleep(200000);
    kill(reader, SIGKILL);
    printf("SIGKILL ends a reader behind a blocked sendfile: %s\n", reaped_within(reader, 300) ? "yes" : "no");
    kill(sender, SIGKILL);
    printf("SIGKILL ends the blocked sendfile: %s\n", reaped_within(sender, 300) ? "yes" : "no");
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void timerfd_end_of_time(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = { .it_interval = { .tv_sec = 9223372037L }, .it_value = { .tv_nsec = 1 } };
    timerfd_settime(fd, 0, &its, NULL);
    usleep(10000);
    uint64_t n = 0;
    read(fd, &n, 8);
    struct itimerspec g;
    timerfd_gettime(fd, &g);
    printf("timerfd huge interval: %llu expiration, interval %lld.%09ld, next in over 100 years: %s\n",
           (unsigned long long)n, (long long)g.it_interval.tv_sec, g.it_interval.tv_nsec,
           g.it_value.tv_sec > 3153600000LL ? "yes" : "no");
    struct itimerspec far = { .it_value = { .tv_sec = INT64_MAX } };
    printf("timerfd value INT64_MAX s: %s\n", res(timerfd_settime(fd, 0, &far, NULL), errno));
    timerfd_gettime(fd, &g);
    printf("  armed: %s\n", g.it_value.tv_sec > 3153600000LL ? "yes" : "no");
    close(fd);
}

int main(void)
{
    reset_signals();
    setvbuf(stdout, NULL, _IOLBF, 0);
    flock_waiters();
    close_under_setlkw();
    lock_ranges();
    copy_limits();
    kill_waiters();
    timerfd_end_of_time();
    unlink(PATH);
    return 0;
}
