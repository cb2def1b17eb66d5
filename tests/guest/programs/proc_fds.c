/* File descriptors across fork and exec, compared with native: inherited
 * fds share the open file description (the file offset moves for both,
 * also through a dup and an O_APPEND fd; F_SETFL status flags are shared)
 * while fd flags (FD_CLOEXEC) and the fd table are per process (a close
 * or an open in the child does not touch the parent); after execve,
 * O_CLOEXEC / FD_CLOEXEC / dup3(O_CLOEXEC) fds are closed and the others
 * stay open with their offset shared (checked by a re-exec of this
 * program); and an exec'd /bin/sh writing through an inherited fd.
 * Files live in /tmp under mkstemp names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

static void print_file(const char* label, int fd)
{
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        n = 0;
    printf("%s: [", label);
    for (ssize_t i = 0; i < n; i++)
        putchar(buf[i] == '\n' ? '|' : buf[i]);
    printf("]\n");
}

static int tmpfile_fd(const char* tag, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/umk-proc-fds-%s-XXXXXX", tag);
    int fd = mkostemp(path, flags);
    unlink(path);
    return fd;
}

static long cur(int fd)
{
    return (long)lseek(fd, 0, SEEK_CUR);
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "check-fds") == 0) {
        /* after exec: report each fd given on the command line */
        for (int i = 2; i + 1 < argc; i += 2) {
            int fd = atoi(argv[i + 1]);
            errno = 0;
            int fl = fcntl(fd, F_GETFD);
            if (fl < 0) {
                printf("  exec'd: %s: %s\n", argv[i], ename(errno));
            } else {
                printf("  exec'd: %s: open cloexec=%d offset=%ld\n", argv[i], !!(fl & FD_CLOEXEC), cur(fd));
                if (write(fd, "E", 1) != 1)
                    printf("  exec'd: %s: write failed %s\n", argv[i], ename(errno));
            }
        }
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    pid_t p;

    /* --- a shared offset --- */
    int fd = tmpfile_fd("offset", 0);
    p = fork();
    if (p == 0) {
        write(fd, "child\n", 6);
        _exit(0);
    }
    wait_show("child-write", p);
    printf("parent-offset-after-child-write: %ld\n", cur(fd));
    write(fd, "parent\n", 7);
    print_file("contents", fd);
    p = fork();
    if (p == 0) {
        lseek(fd, 100, SEEK_SET);
        _exit(0);
    }
    wait_show("child-lseek", p);
    printf("parent-offset-after-child-lseek: %ld\n", cur(fd));
    lseek(fd, 2, SEEK_SET);
    p = fork();
    if (p == 0)
        _exit(cur(fd) == 2 ? 0 : 1);
    wait_show("child-sees-parent-lseek", p);

    /* a dup made before the fork, used by the child */
    int dfd = dup(fd);
    lseek(fd, 0, SEEK_END);
    p = fork();
    if (p == 0) {
        write(dfd, "via-dup\n", 8);
        _exit(0);
    }
    wait_show("child-write-dup", p);
    printf("offsets-after-dup-write: fd=%ld dup=%ld\n", cur(fd), cur(dfd));
    print_file("contents", fd);
    close(dfd);

    /* --- O_APPEND from both, in a known order --- */
    int afd = tmpfile_fd("append", O_APPEND);
    write(afd, "p1\n", 3);
    p = fork();
    if (p == 0) {
        write(afd, "c1\n", 3);
        _exit(0);
    }
    wait_show("append-child", p);
    write(afd, "p2\n", 3);
    print_file("append-contents", afd);
    printf("append-offset: %ld\n", cur(afd));

    /* --- status flags are shared, fd flags are not --- */
    int sfd = tmpfile_fd("flags", 0);
    p = fork();
    if (p == 0) {
        fcntl(sfd, F_SETFL, O_APPEND | O_NONBLOCK);
        fcntl(sfd, F_SETFD, FD_CLOEXEC);
        _exit(0);
    }
    wait_show("child-fcntl", p);
    int fl = fcntl(sfd, F_GETFL);
    printf("parent-status-flags: append=%d nonblock=%d\n", !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
    printf("parent-fd-flags: cloexec=%d\n", !!(fcntl(sfd, F_GETFD) & FD_CLOEXEC));

    /* --- the fd table is per process --- */
    p = fork();
    if (p == 0) {
        close(sfd);
        _exit(fcntl(sfd, F_GETFD) == -1 && errno == EBADF ? 0 : 1);
    }
    wait_show("child-close", p);
    errno = 0;
    printf("parent-fd-after-child-close: %s write=%ld\n", fcntl(sfd, F_GETFD) >= 0 ? "open" : ename(errno),
           (long)write(sfd, "x", 1));
    p = fork();
    if (p == 0) {
        int nfd = open("/dev/null", O_RDONLY);
        _exit(nfd >= 0 && nfd < 250 ? nfd : 255);
    }
    int st = 0;
    waitpid(p, &st, 0);
    int childfd = WEXITSTATUS(st);
    errno = 0;
    int gf = fcntl(childfd, F_GETFD);
    printf("child-opened-fd-in-parent: %s\n", gf >= 0 ? "open" : ename(errno));

    /* --- across execve --- */
    int keep = tmpfile_fd("keep", 0);
    int ocl = tmpfile_fd("ocloexec", O_CLOEXEC);
    int fcl = tmpfile_fd("fdcloexec", 0);
    fcntl(fcl, F_SETFD, FD_CLOEXEC);
    int d3 = dup3(keep, 100, O_CLOEXEC);
    int d2 = dup2(keep, 101); /* dup2 never sets FD_CLOEXEC */
    int uncl = tmpfile_fd("cleared", O_CLOEXEC);
    fcntl(uncl, F_SETFD, 0);
    write(keep, "0123", 4);
    printf("before-exec: keep-cloexec=%d ocloexec=%d fdcloexec=%d dup3=%d dup2=%d cleared=%d\n",
           !!(fcntl(keep, F_GETFD) & FD_CLOEXEC), !!(fcntl(ocl, F_GETFD) & FD_CLOEXEC),
           !!(fcntl(fcl, F_GETFD) & FD_CLOEXEC), !!(fcntl(d3, F_GETFD) & FD_CLOEXEC),
           !!(fcntl(d2, F_GETFD) & FD_CLOEXEC), !!(fcntl(uncl, F_GETFD) & FD_CLOEXEC));
    char a[6][16];
    int fds[6] = { keep, ocl, fcl, d3, d2, uncl };
    for (int i = 0; i < 6; i++)
        snprintf(a[i], sizeof a[i], "%d", fds[i]);
    p = fork();
    if (p == 0) {
        execl(self, self, "check-fds", "keep", a[0], "O_CLOEXEC", a[1], "FD_CLOEXEC", a[2], "dup3-cloexec", a[3],
              "dup2", a[4], "cloexec-cleared", a[5], (char*)NULL);
        _exit(127);
    }
    wait_show("exec-check", p);
    /* the exec'd program wrote "E" through keep, dup2 (same description)
     * and cleared: offsets moved here as well */
    printf("after-exec: keep-offset=%ld cleared-offset=%ld\n", cur(keep), cur(uncl));
    print_file("keep-contents", keep);

    /* an exec'd shell writes to an inherited fd by number */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "printf 'from sh' >&%d", keep);
    p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
        _exit(127);
    }
    wait_show("exec-sh-write", p);
    print_file("keep-contents", keep);
    snprintf(cmd, sizeof cmd, "printf 'nope' >&%d", ocl);
    p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
        _exit(127);
    }
    st = 0;
    waitpid(p, &st, 0);
    printf("exec-sh-cloexec-fd: failed=%d\n", WIFEXITED(st) && WEXITSTATUS(st) != 0);
    char b[8];
    printf("cloexec-file-untouched: %ld\n", (long)pread(ocl, b, sizeof b, 0));

    /* stdout redirected in the child, then /bin/echo */
    int ofd = tmpfile_fd("stdout", 0);
    p = fork();
    if (p == 0) {
        dup2(ofd, 1);
        execl("/bin/echo", "echo", "redirected", "echo", (char*)NULL);
        _exit(127);
    }
    wait_show("exec-echo-redirected", p);
    print_file("redirected-contents", ofd);
    printf("redirected-offset: %ld\n", cur(ofd));
    return 0;
}
