/* preadv2 and pwritev2: the file position for offset -1, RWF_APPEND and
 * RWF_NOAPPEND, the flags that need nothing here (HIPRI, DSYNC, SYNC,
 * NOWAIT on a regular file's cached data), the ones refused (unknown,
 * both appends, ATOMIC without O_DIRECT), and the usual errors. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/uio.h>

#include "guest_test.h"

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x20
#endif
#ifndef RWF_ATOMIC
#define RWF_ATOMIC 0x40
#endif

static long r;
static int e;

/* raw syscalls: glibc's wrappers turn some cases into other calls */
static long rv2(int fd, struct iovec* iov, int n, long pos, int flags)
{
    return syscall(SYS_preadv2, fd, iov, n, pos, 0, flags);
}
static long wv2(int fd, struct iovec* iov, int n, long pos, int flags)
{
    return syscall(SYS_pwritev2, fd, iov, n, pos, 0, flags);
}

static void show_file(int fd, const char* label)
{
    char buf[64] = { 0 };
    long n = pread(fd, buf, sizeof buf - 1, 0);
    printf("%s: %ld \"%s\" pos %ld\n", label, n, buf, (long)lseek(fd, 0, SEEK_CUR));
}

int main(void)
{
    char tmpl[] = "/tmp/rwv2-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return 1;
    unlink(tmpl);
    if (write(fd, "0123456789", 10) != 10)
        return 1;

    char a[4] = { 0 }, b[4] = { 0 };
    struct iovec in[2] = { { a, 3 }, { b, 3 } };
    CALL(rv2(fd, in, 2, 2, 0));
    printf("preadv2 at 2: %s \"%s\" \"%s\" pos %ld\n", res(r, e), a, b, (long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 4, SEEK_SET);
    CALL(rv2(fd, in, 2, -1, 0));
    printf("preadv2 at -1: %s \"%s\" \"%s\" pos %ld\n", res(r, e), a, b, (long)lseek(fd, 0, SEEK_CUR));

    struct iovec out[2] = { { "ab", 2 }, { "cd", 2 } };
    lseek(fd, 1, SEEK_SET);
    CALL(wv2(fd, out, 2, -1, 0));
    printf("pwritev2 at -1: %s\n", res(r, e));
    show_file(fd, "after");
    CALL(wv2(fd, out, 1, 0, RWF_APPEND));
    printf("pwritev2 RWF_APPEND at 0: %s\n", res(r, e));
    show_file(fd, "after");
    CALL(wv2(fd, out + 1, 1, -1, RWF_APPEND));
    printf("pwritev2 RWF_APPEND at -1: %s\n", res(r, e));
    show_file(fd, "after");
    for (int flag = RWF_HIPRI; flag <= RWF_SYNC; flag <<= 1) {
        CALL(wv2(fd, out, 1, 0, flag));
        printf("pwritev2 flag %#x: %s\n", flag, res(r, e));
        CALL(rv2(fd, in, 1, 0, flag));
        printf("preadv2 flag %#x: %s \"%s\"\n", flag, res(r, e), a);
    }
    CALL(rv2(fd, in, 1, 0, RWF_NOWAIT));
    printf("preadv2 RWF_NOWAIT (cached): %s\n", res(r, e));
    CALL(wv2(fd, out, 1, 0, RWF_APPEND | RWF_NOAPPEND));
    printf("both appends: %s\n", res(r, e));
    CALL(wv2(fd, out, 1, 0, 0x100000));
    printf("unknown flag: %s\n", res(r, e));
    CALL(rv2(fd, in, 1, 0, 0x100000));
    printf("unknown flag, read: %s\n", res(r, e));
    CALL(wv2(fd, out, 1, 0, RWF_ATOMIC));
    printf("RWF_ATOMIC without O_DIRECT: %s\n", res(r, e));
    CALL(rv2(fd, in, 0, 0, 0x100000));
    printf("nothing to read, unknown flag: %s\n", res(r, e));
    CALL(rv2(fd, in, 1, -2, 0));
    printf("offset -2: %s\n", res(r, e));
    CALL(rv2(99, in, 1, 0, 0));
    printf("bad fd: %s\n", res(r, e));
    CALL(rv2(fd, (struct iovec*)8, 1, 0, 0));
    printf("bad iovec: %s\n", res(r, e));
    close(fd);

    /* O_APPEND: RWF_NOAPPEND writes at the offset */
    char tmpl2[] = "/tmp/rwv2-XXXXXX";
    fd = mkstemp(tmpl2);
    unlink(tmpl2);
    if (write(fd, "xxxxxx", 6) != 6)
        return 1;
    fcntl(fd, F_SETFL, O_APPEND);
    CALL(wv2(fd, out, 1, 1, 0));
    printf("O_APPEND, offset 1: %s\n", res(r, e));
    show_file(fd, "after");
    CALL(wv2(fd, out + 1, 1, 1, RWF_NOAPPEND));
    printf("O_APPEND, RWF_NOAPPEND at 1: %s\n", res(r, e));
    show_file(fd, "after");
    close(fd);

    /* a pipe: -1 reads it, an offset is ESPIPE */
    int p[2];
    if (pipe(p) != 0 || write(p[1], "pipe", 4) != 4)
        return 1;
    CALL(rv2(p[0], in, 1, 0, 0));
    printf("pipe at 0: %s\n", res(r, e));
    CALL(rv2(p[0], in, 2, -1, 0));
    printf("pipe at -1: %s \"%s\" \"%.1s\"\n", res(r, e), a, b);
    CALL(wv2(p[1], out, 2, -1, 0));
    printf("pipe write at -1: %s\n", res(r, e));
    return 0;
}
