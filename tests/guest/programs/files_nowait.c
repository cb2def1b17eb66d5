/* preadv2/pwritev2 with RWF_NOWAIT on pipes and unix sockets: the call
 * does not wait (EAGAIN where it would, a short count where part fits),
 * as O_NONBLOCK would, and leaves the file's own flags alone. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "guest_test.h"

static long r;
static int e;

static long rv2(int fd, void* buf, size_t n, int flags)
{
    struct iovec iov = { buf, n };
    return syscall(SYS_preadv2, fd, &iov, 1, -1L, 0, flags);
}
static long wv2(int fd, const void* buf, size_t n, int flags)
{
    struct iovec iov = { (void*)buf, n };
    return syscall(SYS_pwritev2, fd, &iov, 1, -1L, 0, flags);
}

/* Writes with RWF_NOWAIT until the pipe or socket is full: the bytes that
 * went in, and the errno of the call that found no room. */
static void fill(int fd, const char* what)
{
    static char chunk[4096];
    long total = 0;
    for (;;) {
        CALL(wv2(fd, chunk, sizeof chunk, RWF_NOWAIT));
        if (r <= 0)
            break;
        total += r;
    }
    printf("%s: filled with %s, %s\n", what, total > 0 ? "some bytes" : "nothing", res(r, e));
}

int main(void)
{
    char buf[16] = { 0 };
    int p[2];
    if (pipe(p) != 0)
        return 1;
    CALL(rv2(p[0], buf, sizeof buf, RWF_NOWAIT));
    printf("empty pipe, read: %s\n", res(r, e));
    CALL(wv2(p[1], "ab", 2, RWF_NOWAIT));
    printf("pipe, write: %s\n", res(r, e));
    CALL(rv2(p[0], buf, sizeof buf, RWF_NOWAIT));
    printf("pipe, read: %s \"%s\"\n", res(r, e), buf);
    fill(p[1], "pipe");
    printf("flags still blocking: %s\n", (fcntl(p[0], F_GETFL) | fcntl(p[1], F_GETFL)) & O_NONBLOCK ? "no" : "yes");
    /* a write that does not all fit goes in part */
    static char drain[4096];
    CALL(rv2(p[0], drain, sizeof drain, RWF_NOWAIT));
    printf("drained: %s\n", res(r, e));
    static char big[8192];
    CALL(wv2(p[1], big, sizeof big, RWF_NOWAIT));
    printf("write of 8192 into 4096 free: %s\n", res(r, e));
    close(p[0]);
    close(p[1]);

    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
        return 1;
    CALL(rv2(s[0], buf, sizeof buf, RWF_NOWAIT));
    printf("empty socket, read: %s\n", res(r, e));
    CALL(wv2(s[1], "cd", 2, RWF_NOWAIT));
    printf("socket, write: %s\n", res(r, e));
    memset(buf, 0, sizeof buf);
    CALL(rv2(s[0], buf, sizeof buf, RWF_NOWAIT));
    printf("socket, read: %s \"%s\"\n", res(r, e), buf);
    fill(s[1], "socket");
    printf("socket flags still blocking: %s\n", fcntl(s[1], F_GETFL) & O_NONBLOCK ? "no" : "yes");

    /* a FIFO opened by path, and a pipe reopened through /proc: refused
     * (only pipe(2)'s ends take RWF_NOWAIT on Linux) */
    char fifo[] = "/tmp/nowait-fifo-XXXXXX";
    int tmp = mkstemp(fifo);
    if (tmp < 0)
        return 1;
    close(tmp);
    unlink(fifo);
    if (mkfifo(fifo, 0600) != 0)
        return 1;
    int ff = open(fifo, O_RDWR);
    CALL(rv2(ff, buf, sizeof buf, RWF_NOWAIT));
    printf("FIFO, read: %s\n", res(r, e));
    close(ff);
    unlink(fifo);
    if (pipe(p) != 0)
        return 1;
    char again[64];
    snprintf(again, sizeof again, "/proc/self/fd/%d", p[0]);
    int re = open(again, O_RDONLY | O_NONBLOCK);
    CALL(rv2(re, buf, sizeof buf, RWF_NOWAIT));
    printf("reopened pipe, read: %s\n", res(r, e));

    int dg[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) != 0)
        return 1;
    CALL(rv2(dg[0], buf, sizeof buf, RWF_NOWAIT));
    printf("empty datagram socket, read: %s\n", res(r, e));
    return 0;
}
