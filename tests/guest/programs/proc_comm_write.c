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
    static const struct {
        const char* label;
        const char* text;
        size_t len;
    } writes[] = {
        { "renamed", "renamed", 7 },
        { "truncated", "0123456789abcdefXYZ", 19 },
        { "newline", "nl\n", 3 },
        { "with a NUL", "ab\0cd", 5 },
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        CALL(write_comm("/proc/self/comm", writes[i].text, writes[i].len));
        printf("write %s: %s\n", writes[i].label, res(r, e));
        show(writes[i].label);
    }
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
