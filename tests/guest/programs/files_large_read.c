/* Large reads of regular files (umk copies them from a mapping of the
 * host file): offsets that are not page-aligned, reads that cross or start
 * past the end, read/readv/pread, sparse files, in /tmp and in /dev/shm. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum { kSize = (1 << 20) + 12345 };

static unsigned char pattern(long i) { return (unsigned char)(i * 7 + i / 4096); }

/* bytes read, and whether they are the file's bytes at `offset` */
static void check(const char *what, long n, const unsigned char *buf, long offset)
{
    long bad = -1;
    for (long i = 0; i < n && bad < 0; i++)
        if (buf[i] != pattern(offset + i))
            bad = i;
    printf("%s: %ld %s\n", what, n, bad < 0 ? "ok" : "WRONG");
}

static void run(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/umk-large-read-%d", dir, getpid());
    unsigned char *data = malloc(kSize), *buf = malloc(2 << 20);
    for (long i = 0; i < kSize; i++)
        data[i] = pattern(i);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, kSize) != kSize) {
        printf("setup failed\n");
        exit(1);
    }
    printf("%s\n", dir);
    static const long cases[][2] = {
        { 0, 1 << 20 }, { 4095, 600000 }, { 12345, 262144 }, { (1 << 20) - 100, 300000 },
        { kSize - 1, 262144 }, { kSize, 300000 }, { kSize + 5000, 300000 }, { 0, 2 << 20 },
    };
    for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++) {
        char what[64];
        snprintf(what, sizeof what, "pread %ld+%ld", cases[c][0], cases[c][1]);
        check(what, pread(fd, buf, cases[c][1], cases[c][0]), buf, cases[c][0]);
    }
    lseek(fd, 300001, SEEK_SET);
    long at = 300001;
    for (int i = 0; i < 3; i++) {
        long n = read(fd, buf, 512 * 1024);
        check("read 512k", n, buf, at);
        at += n > 0 ? n : 0;
    }
    struct iovec iov[2] = { { buf, 200000 }, { buf + 300000, 300000 } };
    long n = preadv(fd, iov, 2, 777);
    memmove(buf + 200000, buf + 300000, 300000);
    check("preadv 200000+300000", n, buf, 777);
    close(fd);
    unlink(path);
    free(data);
    free(buf);
}

/* data, a 2 MiB hole, data: read whole, the hole as zeros, and reading
 * it allocates nothing (st_blocks as before) */
static void sparse(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/umk-sparse-read-%d", dir, getpid());
    enum { kPart = 300000, kHoleEnd = 3 << 20, kTotal = kHoleEnd + kPart };
    unsigned char *buf = malloc(kTotal);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (long i = 0; i < kPart; i++)
        buf[i] = pattern(i);
    if (fd < 0 || pwrite(fd, buf, kPart, 0) != kPart || pwrite(fd, buf, kPart, kHoleEnd) != kPart) {
        printf("setup failed\n");
        exit(1);
    }
    struct stat before, after;
    fstat(fd, &before);
    memset(buf, 0xee, kTotal);
    long n = pread(fd, buf, kTotal, 0);
    int ok = n == kTotal;
    for (long i = 0; ok && i < kTotal; i++)
        ok = buf[i] == (i < kPart ? pattern(i) : i < kHoleEnd ? 0 : pattern(i - kHoleEnd));
    fstat(fd, &after);
    printf("%s sparse: %ld %s, blocks %s\n", dir, n, ok ? "ok" : "WRONG",
           after.st_blocks == before.st_blocks ? "unchanged" : "GREW");
    close(fd);
    unlink(path);
    free(buf);
}

int main(void)
{
    run("/tmp");
    run("/dev/shm");
    sparse("/tmp");
    sparse("/dev/shm");
    return 0;
}
