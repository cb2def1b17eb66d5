// One benchmark binary, run natively and under umk: each probe prints
// "name ns_per_op". Every probe makes a real kernel round trip.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define PROBE(name, iters, body)                                    \
    do {                                                            \
        double start = now_ns();                                    \
        for (long i = 0; i < (iters); i++) { body; }                \
        printf("%s %.1f\n", name, (now_ns() - start) / (iters));    \
    } while (0)

int main(int argc, char** argv)
{
    const char* only = argc > 1 ? argv[1] : NULL;
    struct stat st;
    if (!only || !strcmp(only, "getppid"))
        PROBE("getppid", 200000, syscall(SYS_getppid));
    if (!only || !strcmp(only, "open_close"))
        PROBE("open_close", 50000, close(open("/etc/passwd", O_RDONLY)));
    if (!only || !strcmp(only, "stat"))
        PROBE("stat", 50000, stat("/usr/bin/ls", &st));
    return 0;
}
