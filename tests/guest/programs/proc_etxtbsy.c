/* ETXTBSY: a file a process runs cannot be opened for writing, truncated
 * by path or opened with O_TRUNC, until the process exits (not when it is
 * reaped) and while another process runs it too; exec of a file a
 * writer has open fails the same way, by any name of the file; reading
 * and unlinking it are fine. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "guest_test.h"

static long r;
static int e;

/* A copy of /bin/sleep at `path`; the fd left open if `keep`, else -1. */
static int copy_sleep(const char* path, int keep)
{
    int in = open("/bin/sleep", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0)
        exit(2);
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            exit(2);
    close(in);
    fchmod(out, 0755);
    if (keep)
        return out;
    close(out);
    return -1;
}

/* Waits until process `p` runs `path`; exits if it ended first. */
static void wait_running(pid_t p, const char* path)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", p);
    for (;;) {
        if (waitpid(p, NULL, WNOHANG) == p) {
            printf("the child could not run it\n");
            exit(1);
        }
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            if (!strcmp(target, path))
                return;
        }
        usleep(1000);
    }
}

/* Runs `path` (sleep 30) and returns once the child runs it. */
static pid_t run(const char* path)
{
    pid_t p = fork();
    if (p == 0) {
        execl(path, "sleep", "30", (char*)NULL);
        _exit(127);
    }
    wait_running(p, path);
    return p;
}

static void try_open(const char* path, int flags, const char* label)
{
    CALL(open(path, flags));
    printf("%s: %s\n", label, r >= 0 ? "opened" : res(r, e));
    if (r >= 0)
        close(r);
}

int main(void)
{
    char path[] = "/tmp/etxtbsy-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    copy_sleep(path, 0);
    struct stat before, after;
    stat(path, &before);

    pid_t p = run(path);
    try_open(path, O_WRONLY, "running, O_WRONLY");
    try_open(path, O_RDWR, "running, O_RDWR");
    try_open(path, O_RDONLY | O_TRUNC, "running, O_RDONLY|O_TRUNC");
    CALL(truncate(path, 0));
    printf("running, truncate: %s\n", res(r, e));
    stat(path, &after);
    printf("size kept: %s\n", before.st_size == after.st_size ? "yes" : "no");
    try_open(path, O_RDONLY, "running, O_RDONLY");
    /* the same file by another name */
    char other[sizeof path + 8];
    snprintf(other, sizeof other, "%s.link", path);
    CALL(link(path, other));
    printf("hard link: %s\n", res(r, e));
    try_open(other, O_WRONLY, "running, through the hard link");
    unlink(other);
    snprintf(other, sizeof other, "%s.moved", path);
    CALL(rename(path, other));
    printf("rename: %s\n", res(r, e));
    try_open(other, O_WRONLY, "running, renamed");
    CALL(truncate(other, 0));
    printf("running, renamed, truncate: %s\n", res(r, e));
    rename(other, path);

    /* exited but not reaped: writable again */
    kill(p, SIGKILL);
    siginfo_t info;
    waitid(P_PID, p, &info, WEXITED | WNOWAIT);
    try_open(path, O_WRONLY, "zombie, O_WRONLY");
    waitpid(p, NULL, 0);

    /* exec of a file a writer has open: ETXTBSY */
    int w = copy_sleep(path, 1);
    p = fork();
    if (p == 0) {
        execl(path, "sleep", "0", (char*)NULL);
        _exit(errno);
    }
    int status;
    waitpid(p, &status, 0);
    printf("exec with a writer: %s\n", WIFEXITED(status) && WEXITSTATUS(status) == ETXTBSY ? "ETXTBSY" : "ran");
    close(w);

    /* two processes run it: one gone, the other still denies writers */
    p = run(path);
    pid_t q = run(path);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    try_open(path, O_WRONLY, "one of two gone, O_WRONLY");
    CALL(unlink(path));
    printf("running, unlink: %s\n", res(r, e));
    kill(q, SIGKILL);
    waitpid(q, NULL, 0);
    return 0;
}
