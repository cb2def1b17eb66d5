/* prlimit(2) on other processes: setting a child's limit (the old one
 * comes back, the child sees the new one), a pid that does not exist,
 * and another user's process without CAP_SYS_RESOURCE. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/resource.h>

#include "guest_test.h"

static void show(const char* who, int r, const struct rlimit* l)
{
    if (r == 0)
        printf("%s: %llu/%llu\n", who, (unsigned long long)l->rlim_cur, (unsigned long long)l->rlim_max);
    else
        printf("%s: %s\n", who, ename(errno));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit mine = { 64, 128 }, old, now;
    setrlimit(RLIMIT_NOFILE, &mine);
    int go[2];
    if (pipe(go) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        int r = getrlimit(RLIMIT_NOFILE, &now);
        show("the child sees", r, &now);
        _exit(0);
    }
    struct rlimit theirs = { 33, 44 };
    int r = prlimit(child, RLIMIT_NOFILE, &theirs, &old);
    show("set the child's, old", r, &old);
    r = prlimit(child, RLIMIT_NOFILE, NULL, &now);
    show("the child's now", r, &now);
    if (write(go[1], "x", 1) != 1)
        return 1;
    waitpid(child, NULL, 0);
    r = prlimit(child, RLIMIT_NOFILE, NULL, &now);
    show("a reaped child", r, &now);
    r = prlimit(getpid(), RLIMIT_NOFILE, NULL, &now);
    show("ours by pid", r, &now);
    if (geteuid() == 0) {
        pid_t other = fork();
        if (other == 0) {
            if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0)
                _exit(1);
            r = prlimit(getppid(), RLIMIT_NOFILE, NULL, &now);
            show("user 1000 reads root's", r, &now);
            r = prlimit(getppid(), RLIMIT_NOFILE, &theirs, NULL);
            show("user 1000 sets root's", r, &now);
            _exit(0);
        }
        waitpid(other, NULL, 0);
    } else {
        printf("user 1000 reads root's: EPERM\nuser 1000 sets root's: EPERM\n");
    }
    return 0;
}
