/* ioprio_set/ioprio_get: classes and levels, the checks, another
 * process, a process group (the best effective priority, "none" from the
 * nice value). Compared with Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static long g(int which, int who) { return syscall(SYS_ioprio_get, which, who); }
static long s(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }
static void show(const char* what, long r) { if (r < 0) printf("%-30s %s\n", what, strerrorname_np(errno)); else printf("%-30s %ld\n", what, r); }
int main(void) {
    setpgid(0, 0);
    show("get self", g(1, 0));
    show("get pgrp alone", g(2, 0));
    show("set be/5", s(1, 0, (2 << 13) | 5));
    show("get self", g(1, getpid()));
    show("set idle", s(1, 0, 3 << 13));
    show("get", g(1, 0));
    show("set none with level", s(1, 0, 1));
    show("set class 4", s(1, 0, 4 << 13));
    show("set bad which", s(4, 0, 0));
    show("get bad which", g(0, 0));
    show("get no such pid", g(1, 999999));
    show("set rt/0", s(1, 0, 1 << 13));
    show("get", g(1, 0));
    show("set none", s(1, 0, 0));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { sleep(1); _exit(0); }
    show("set child be/7", s(1, c, (2 << 13) | 7));
    show("get pgrp of two", g(2, 0));
    show("get child", g(1, c));
    waitpid(c, NULL, 0);
    return 0;
}
