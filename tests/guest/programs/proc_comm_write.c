/* Writing /proc/PID/comm: the writer's own process only (EINVAL for
 * another's), 15 bytes kept, a newline kept, a NUL ends the name. */
#define _GNU_SOURCE
#include <sys/prctl.h>

#include "guest_test.h"

static long r;
static int e;

static long write_comm(const char* path, const char* text, size_t len)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    long n = write(fd, text, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n;
}

static void show(const char* label)
{
    char buf[64] = { 0 }, name[17] = { 0 };
    int fd = open("/proc/self/comm", O_RDONLY);
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    prctl(PR_GET_NAME, name);
    printf("%s: /proc/self/comm %ld [", label, n);
    for (long i = 0; i < n; i++)
        printf(buf[i] == '\n' ? "\\n" : "%c", buf[i]);
    printf("] PR_GET_NAME [%s]\n", name);
}

int main(void)
{
    CALL(write_comm("/proc/self/comm", "renamed", 7));
    printf("write: %s\n", res(r, e));
    show("renamed");
    CALL(write_comm("/proc/self/comm", "0123456789abcdefXYZ", 19));
    printf("long write: %s\n", res(r, e));
    show("truncated");
    CALL(write_comm("/proc/self/comm", "nl\n", 3));
    printf("newline: %s\n", res(r, e));
    show("newline");
    CALL(write_comm("/proc/self/comm", "ab\0cd", 5));
    printf("with a NUL: %s\n", res(r, e));
    show("nul");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", getpid());
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        CALL(write_comm(path, "child", 5));
        printf("child writes the parent's: %s\n", res(r, e));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    show("after the child");
    return 0;
}
