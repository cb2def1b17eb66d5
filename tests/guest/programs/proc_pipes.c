/* Pipes between processes, compared with native: a message from child to
 * parent and back, a blocking read woken by the writer, EOF only once every
 * write end is closed (the parent's own copy included, two writer
 * children), SIGPIPE killing a writer with no readers and EPIPE when
 * SIGPIPE is ignored, pipe2 O_CLOEXEC (closed across exec, checked by a
 * re-exec of this program) and O_NONBLOCK (EAGAIN when empty, when full
 * after the default 64 KiB), 1 MiB streamed through, writes of PIPE_BUF
 * bytes or less from four children never interleaved, and /bin/echo and
 * /bin/cat with their stdio on pipes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void wait_show(const char* label, pid_t p)
{
    wait_and_show(label, p, "%s: waitpid %s\n", "other");
}

/* read until EOF (or error); returns bytes read */
static ssize_t read_all(int fd, char* buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 && got == 0 ? -1 : (ssize_t)got;
        got += n;
        if (got == cap)
            return got;
    }
}

static void print_buf(const char* label, const char* b, ssize_t n)
{
    printf("%s: %zd [", label, n);
    for (ssize_t i = 0; i < n; i++)
        putchar(b[i] == '\n' ? '|' : b[i]);
    printf("]\n");
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "check-fds") == 0) {
        for (int i = 2; i + 1 < argc; i += 2) {
            int fd = atoi(argv[i + 1]);
            errno = 0;
            int fl = fcntl(fd, F_GETFD);
            printf("  exec'd: %s: %s\n", argv[i], fl < 0 ? ename(errno) : "open");
            if (fl >= 0 && strncmp(argv[i], "write", 5) == 0)
                write(fd, "hello from exec", 15);
        }
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    int fds[2], back[2];
    char buf[4096];
    pid_t p;
    ssize_t n;

    /* --- child to parent and back --- */
    int rc = pipe(fds);
    printf("pipe: %s\n", rc == 0 ? "ok" : ename(errno));
    if (rc != 0)
        return 1;
    pipe(back);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        close(back[1]);
        write(fds[1], "ping", 4);
        char r[8] = { 0 };
        ssize_t k = read(back[0], r, sizeof r); /* blocks until the parent answers */
        _exit(k == 4 && memcmp(r, "pong", 4) == 0 ? 0 : 1);
    }
    close(back[0]);
    n = read(fds[0], buf, sizeof buf);
    print_buf("parent-read", buf, n);
    write(back[1], "pong", 4);
    wait_show("child-got-pong", p);
    close(back[1]);

    /* --- EOF needs every writer closed: the parent still holds fds[1] --- */
    n = read(fds[0], buf, 0);
    printf("zero-length-read: %zd\n", n);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    n = read(fds[0], buf, sizeof buf);
    printf("writer-alive-in-parent: %zd %s\n", n, ename(errno));
    fcntl(fds[0], F_SETFL, 0);
    close(fds[1]);
    n = read(fds[0], buf, sizeof buf);
    printf("after-last-writer-closed: %zd\n", n);
    close(fds[0]);

    /* two writer children: EOF after both exit */
    pipe(fds);
    pid_t w1 = fork();
    if (w1 == 0) {
        close(fds[0]);
        write(fds[1], "one\n", 4);
        _exit(0);
    }
    pid_t w2 = fork();
    if (w2 == 0) {
        close(fds[0]);
        write(fds[1], "two\n", 4);
        _exit(0);
    }
    close(fds[1]);
    n = read_all(fds[0], buf, sizeof buf);
    int has1 = memmem(buf, n, "one\n", 4) != NULL, has2 = memmem(buf, n, "two\n", 4) != NULL;
    printf("two-writers: bytes=%zd one=%d two=%d\n", n, has1, has2);
    wait_show("writer-1", w1);
    wait_show("writer-2", w2);
    close(fds[0]);

    /* --- no readers: SIGPIPE, or EPIPE when ignored --- */
    pipe(fds);
    close(fds[0]);
    p = fork();
    if (p == 0) {
        write(fds[1], "x", 1);
        _exit(0);
    }
    wait_show("write-no-reader", p);
    p = fork();
    if (p == 0) {
        signal(SIGPIPE, SIG_IGN);
        errno = 0;
        ssize_t k = write(fds[1], "x", 1);
        _exit(k == -1 && errno == EPIPE ? 32 : 1);
    }
    wait_show("write-no-reader-sigpipe-ignored (32 = EPIPE)", p);
    close(fds[1]);

    /* --- a reader that goes away while the writer waits for room --- */
    pipe(fds);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        static char chunk[65536];
        ssize_t total = 0, k;
        while ((k = write(fds[1], chunk, sizeof chunk)) > 0)
            total += k;
        _exit(k == -1 && errno == EPIPE && total >= 65536 ? 0 : 1);
    }
    close(fds[1]);
    n = read(fds[0], buf, 1); /* the writer has filled the pipe or is filling it */
    close(fds[0]);
    wait_show("writer-sees-epipe-when-reader-closes", p);

    /* --- pipe2 flags --- */
    int cl[2];
    rc = pipe2(cl, O_CLOEXEC);
    printf("pipe2-cloexec: %s read=%d write=%d\n", rc == 0 ? "ok" : ename(errno), !!(fcntl(cl[0], F_GETFD) & FD_CLOEXEC),
           !!(fcntl(cl[1], F_GETFD) & FD_CLOEXEC));
    pipe(fds);
    char a0[16], a1[16], a2[16], a3[16];
    snprintf(a0, sizeof a0, "%d", cl[0]);
    snprintf(a1, sizeof a1, "%d", cl[1]);
    snprintf(a2, sizeof a2, "%d", fds[0]);
    snprintf(a3, sizeof a3, "%d", fds[1]);
    p = fork();
    if (p == 0) {
        execl(self, self, "check-fds", "cloexec-read", a0, "cloexec-write", a1, "plain-read", a2, "write-plain", a3,
              (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    n = read_all(fds[0], buf, sizeof buf);
    print_buf("from-exec'd-child", buf, n);
    wait_show("exec-check", p);
    close(fds[0]);
    close(cl[0]);
    close(cl[1]);

    int nb[2];
    rc = pipe2(nb, O_NONBLOCK);
    printf("pipe2-nonblock: %s read-flag=%d write-flag=%d\n", rc == 0 ? "ok" : ename(errno),
           !!(fcntl(nb[0], F_GETFL) & O_NONBLOCK), !!(fcntl(nb[1], F_GETFL) & O_NONBLOCK));
    errno = 0;
    n = read(nb[0], buf, sizeof buf);
    printf("nonblock-empty-read: %zd %s\n", n, ename(errno));
    printf("pipe-size: %d\n", fcntl(nb[0], F_GETPIPE_SZ));
    long filled = 0;
    for (;;) {
        n = write(nb[1], buf, sizeof buf);
        if (n <= 0)
            break;
        filled += n;
    }
    printf("nonblock-fill: %ld %s\n", filled, ename(errno));
    /* a small write into a full pipe also gets EAGAIN */
    errno = 0;
    n = write(nb[1], "x", 1);
    printf("nonblock-full-small-write: %zd %s\n", n, ename(errno));
    close(nb[0]);
    close(nb[1]);

    /* --- 1 MiB streamed --- */
    pipe(fds);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        static unsigned char chunk[10000];
        long left = 1 << 20, off = 0;
        while (left > 0) {
            long k = left < (long)sizeof chunk ? left : (long)sizeof chunk;
            for (long i = 0; i < k; i++)
                chunk[i] = (unsigned char)((off + i) * 7 + 3);
            ssize_t w = write(fds[1], chunk, k);
            if (w <= 0)
                _exit(1);
            left -= w;
            off += w;
        }
        _exit(0);
    }
    close(fds[1]);
    long total = 0, bad = 0;
    unsigned char rb[3000];
    while ((n = read(fds[0], rb, sizeof rb)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            bad += rb[i] != (unsigned char)((total + i) * 7 + 3);
        total += n;
    }
    printf("stream: bytes=%ld bad=%ld\n", total, bad);
    wait_show("stream-writer", p);
    close(fds[0]);

    /* --- atomic writes from four children --- */
    pipe(fds);
    enum { MSG = 128, PER = 200 };
    pid_t kids[4];
    for (int c = 0; c < 4; c++) {
        kids[c] = fork();
        if (kids[c] == 0) {
            close(fds[0]);
            char m[MSG];
            for (int j = 0; j < PER; j++) {
                memset(m, 'a' + c, MSG);
                m[MSG - 1] = '\n';
                write(fds[1], m, MSG);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    int counts[4] = { 0 }, torn = 0;
    char m[MSG];
    for (;;) {
        n = read_all(fds[0], m, MSG);
        if (n <= 0)
            break;
        int c = m[0] - 'a';
        int whole = n == MSG && c >= 0 && c < 4 && m[MSG - 1] == '\n';
        for (int i = 0; whole && i < MSG - 1; i++)
            whole = m[i] == m[0];
        if (whole)
            counts[c]++;
        else
            torn++;
    }
    printf("atomic: %d %d %d %d torn=%d\n", counts[0], counts[1], counts[2], counts[3], torn);
    for (int c = 0; c < 4; c++)
        waitpid(kids[c], NULL, 0);
    close(fds[0]);

    /* --- programs on pipes --- */
    pipe(fds);
    p = fork();
    if (p == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/echo", "echo", "through", "a", "pipe", (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    n = read_all(fds[0], buf, sizeof buf);
    print_buf("echo-output", buf, n);
    wait_show("echo", p);
    close(fds[0]);

    int in[2], out[2];
    pipe(in);
    pipe(out);
    p = fork();
    if (p == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl("/bin/cat", "cat", (char*)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    write(in[1], "cat me\nand me\n", 14);
    close(in[1]); /* cat sees EOF */
    n = read_all(out[0], buf, sizeof buf);
    print_buf("cat-output", buf, n);
    wait_show("cat", p);
    close(out[0]);

    /* a shell pipeline */
    pipe(fds);
    p = fork();
    if (p == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", "printf 'b\\na\\nc\\n' | sort | tr a-z A-Z", (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    n = read_all(fds[0], buf, sizeof buf);
    print_buf("pipeline-output", buf, n);
    wait_show("pipeline", p);
    close(fds[0]);
    return 0;
}
