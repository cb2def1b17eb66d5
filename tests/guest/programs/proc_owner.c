/* Who owns /proc/PID's entries (Linux's task_dump_owner): a process that
 * dropped root to uid 1000 owns its own (and can list its fd directory,
 * read its environ, rename itself); once not dumpable, its entries are
 * root's again, but not its /proc/PID directory, which ps stats. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/prctl.h>

#include "guest_test.h"

static long r;
static int e;

static void owner(const char* path)
{
    struct stat st;
    CALL(stat(path, &st));
    if (r == 0)
        printf("%-22s %u:%u %o\n", path, st.st_uid, st.st_gid, st.st_mode & 07777);
    else
        printf("%-22s %s\n", path, res(r, e));
}

static void checks(void)
{
    owner("/proc/self/");
    owner("/proc/self/comm");
    owner("/proc/self/environ");
    owner("/proc/self/fd");
    owner("/proc/self/fd/0");
    owner("/proc/self/fdinfo");
    owner("/proc/self/ns");
    owner("/proc/self/task");
    owner("/proc/self/mem");
    DIR* d = opendir("/proc/self/fd");
    printf("opendir fd: %s\n", d ? "ok" : ename(errno));
    if (d)
        closedir(d);
    int fd = open("/proc/self/environ", O_RDONLY);
    printf("open environ: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd >= 0)
        close(fd);
    fd = open("/proc/self/comm", O_WRONLY);
    printf("open comm for writing: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd >= 0)
        close(fd);
    /* a thread's comm: always its own process's to write */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", gettid());
    fd = open(path, O_WRONLY);
    printf("open task/TID/comm for writing: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd >= 0)
        close(fd);
}

/* Another process of the same uid but another gid (dumpable again):
 * its entries are its own, but reading its memory or following its
 * links takes ptrace's read access, which the gid difference denies. */
static void other_process(void)
{
    int ready[2], done[2];
    if (pipe(ready) != 0 || pipe(done) != 0)
        return;
    fflush(stdout);
    pid_t target = fork();
    if (target == 0) {
        if (setresgid(2000, 2000, 2000) != 0 || setresuid(1000, 1000, 1000) != 0)
            _exit(1);
        prctl(PR_SET_DUMPABLE, 1);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return;
    pid_t reader = fork();
    if (reader == 0) {
        if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0)
            _exit(1);
        static const char* const entries[] = { "environ", "auxv", "maps", "smaps_rollup", "cmdline", "status" };
        char path[64], buf[256];
        for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
            snprintf(path, sizeof path, "/proc/%d/%s", target, entries[i]);
            int fd = open(path, O_RDONLY);
            printf("other's %-12s open: %s\n", entries[i], fd >= 0 ? "ok" : ename(errno));
            if (fd >= 0)
                close(fd);
        }
        static const char* const links[] = { "cwd", "root", "exe", "fd/0" };
        for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
            snprintf(path, sizeof path, "/proc/%d/%s", target, links[i]);
            long n = readlink(path, buf, sizeof buf);
            printf("other's %-12s readlink: %s\n", links[i], n >= 0 ? "ok" : ename(errno));
        }
        snprintf(path, sizeof path, "/proc/%d/fdinfo", target);
        DIR* d = opendir(path);
        printf("other's fdinfo opendir: %s\n", d ? "ok" : ename(errno));
        if (d)
            closedir(d);
        fflush(stdout);
        _exit(0);
    }
    waitpid(reader, NULL, 0);
    if (write(done[1], "d", 1) != 1)
        return;
    waitpid(target, NULL, 0);
}

int main(void)
{
    if (getuid() == 0)
        other_process();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        if (getuid() != 0 || setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) {
            printf("not root: skipped\n");
            return 0;
        }
        char path[32];
        snprintf(path, sizeof path, "/proc/%d/", getppid());
        struct stat st;
        if (stat(path, &st) == 0) /* the parent, still root */
            printf("parent's /proc/PID/ %u:%u\n", st.st_uid, st.st_gid);
        char sub[48];
        snprintf(sub, sizeof sub, "%sfd", path);
        DIR* d = opendir(sub);
        printf("opendir the parent's fd: %s\n", d ? "ok" : ename(errno));
        if (d)
            closedir(d);
        snprintf(sub, sizeof sub, "%sfdinfo/0", path);
        int fd = open(sub, O_RDONLY);
        printf("open the parent's fdinfo/0: %s\n", fd >= 0 ? "ok" : ename(errno));
        checks();
        prctl(PR_SET_DUMPABLE, 0);
        printf("-- not dumpable\n");
        checks();
        return 0;
    }
    waitpid(child, NULL, 0);
    return 0;
}
