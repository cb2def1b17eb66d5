/* tee(2) and vmsplice(2) on pipes: copies that leave the source, partial
 * lengths, EOF, EAGAIN, EPIPE, and the EINVAL/EBADF cases. Compared with
 * Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/uio.h>
static void show(const char* w, long r) { if (r < 0) printf("%-32s %s\n", w, strerrorname_np(errno)); else printf("%-32s %ld\n", w, r); }
int main(void) {
    signal(SIGPIPE, SIG_IGN);
    int a[2], b[2], c[2]; pipe(a); pipe(b); pipe(c);
    write(a[1], "hello tee", 9);
    show("tee a->b 5", tee(a[0], b[1], 5, 0));
    char buf[32] = {0};
    show("read b", read(b[0], buf, sizeof buf)); printf("  b: %s\n", buf);
    memset(buf, 0, sizeof buf);
    show("tee a->b all", tee(a[0], b[1], 100, 0));
    show("read a (still there)", read(a[0], buf, sizeof buf)); printf("  a: %s\n", buf);
    show("tee empty nonblock", tee(a[0], b[1], 10, SPLICE_F_NONBLOCK));
    show("tee same pipe", tee(a[0], a[1], 10, 0));
    int f = open("/etc/hostname", O_RDONLY);
    show("tee from a file", tee(f, b[1], 10, 0));
    show("tee bad flags", tee(a[0], b[1], 10, 0x40));
    show("tee zero", tee(a[0], b[1], 0, 0));
    close(a[1]);
    show("tee at EOF", tee(a[0], b[1], 10, 0));
    struct iovec iov[2] = { { "vm", 2 }, { "splice", 6 } };
    show("vmsplice write", vmsplice(c[1], iov, 2, 0));
    char x[4] = {0}, y[8] = {0};
    struct iovec in[2] = { { x, 3 }, { y, 7 } };
    show("vmsplice read", vmsplice(c[0], in, 2, 0)); printf("  %s|%s\n", x, y);
    show("vmsplice read empty nonblock", vmsplice(c[0], in, 2, SPLICE_F_NONBLOCK));
    show("vmsplice on a file", vmsplice(f, iov, 1, 0));
    close(b[0]);
    int d[2]; pipe(d); write(d[1], "z", 1);
    show("tee to no reader", tee(d[0], b[1], 1, 0));
    return 0;
}
