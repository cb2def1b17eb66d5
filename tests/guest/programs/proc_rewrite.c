/* Proc files read again and written: a read from offset 0 sees the
 * current value (seq_file starts over), a name with a newline cannot
 * forge a line of status, and oom_score_adj goes down to the lowest a
 * privileged writer set (0) without privilege. */
#define _GNU_SOURCE
#include <sys/prctl.h>

#include "guest_test.h"

static void read_at_0(int fd, const char* label)
{
    char buf[64] = { 0 };
    long n = pread(fd, buf, sizeof buf - 1, 0);
    buf[strcspn(buf, "\n")] = 0;
    printf("%s: %ld [%s]\n", label, n, buf);
}

int main(void)
{
    int fd = open("/proc/self/comm", O_RDWR);
    read_at_0(fd, "comm at open");
    if (write(fd, "first", 5) != 5)
        printf("write failed: %s\n", ename(errno));
    read_at_0(fd, "comm after writing it");
    prctl(PR_SET_NAME, "second");
    read_at_0(fd, "comm after PR_SET_NAME");
    close(fd);

    prctl(PR_SET_NAME, "a\nUid:\t0\t0");
    char status[256] = { 0 };
    fd = open("/proc/self/status", O_RDONLY);
    if (read(fd, status, sizeof status - 1) < 0)
        status[0] = 0;
    close(fd);
    status[strcspn(status, "\n")] = 0;
    printf("status's first line: [%s]\n", status);

    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (getuid() == 0 && (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0))
            _exit(1);
        prctl(PR_SET_DUMPABLE, 1);
        static const char* const values[] = { "500", "100", " 7\n", "+3", "0", "-1", "1001", "12abc" };
        for (unsigned i = 0; i < sizeof values / sizeof values[0]; i++) {
            int o = open("/proc/self/oom_score_adj", O_WRONLY);
            long n = o >= 0 ? write(o, values[i], strlen(values[i])) : -1;
            int e = errno;
            close(o);
            char now[16] = { 0 };
            o = open("/proc/self/oom_score_adj", O_RDONLY);
            if (read(o, now, sizeof now - 1) < 0)
                now[0] = '?';
            close(o);
            now[strcspn(now, "\n")] = 0;
            printf("oom_score_adj write [%.*s]: %s, now %s\n", (int)strcspn(values[i], "\n"), values[i],
                   n >= 0 ? "ok" : ename(e), now);
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
