/* HOSTILE (run only under umk): path tricks towards host objects that
 * the guest must never reach: the kernel's /proc/self/mem, the user's
 * terminals (/dev/pts), host sysfs. Natively several of these open, so
 * the test cannot run natively; under umk each must fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int bad = 0;

static void expect_absent(const char* path)
{
    errno = 0;
    int fd = open(path, O_RDONLY);
    int e = errno;
    struct stat st;
    int s = stat(path, &st);
    printf("%-45s open=%d errno=%d stat=%d\n", path, fd, fd < 0 ? e : 0, s);
    if (fd >= 0 || s == 0) {
        bad = 1;
        if (fd >= 0)
            close(fd);
    }
}

int main(void)
{
    const char* paths[] = {
        "/proc/self/mem", "//proc///self/./mem", "/usr/../proc/self/mem", "/proc/../proc/self/mem",
        "/proc/self/root/proc/self/mem", "/proc/1/root/../../proc/self/mem", "/proc/self/cwd/../../../proc/self/mem",
        "/proc/1/cwd/../../../../proc/1/mem", "/dev/pts/0", "/dev/../dev/pts/0", "/dev/pts/ptmx", "/dev/tty0",
        "/dev/mem", "/dev/kmsg", "/sys/kernel/mm", "/sys/../sys/kernel/mm", "/sys/class/net", "/proc/kcore",
        "/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger",
    };
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++)
        expect_absent(paths[i]);

    /* relative walks from deep directories */
    if (chdir("/usr/share") == 0)
        expect_absent("../../../../../../proc/self/mem");
    /* a symlink the guest makes itself */
    char link[64];
    snprintf(link, sizeof link, "/tmp/umk-trick-%d", (int)getpid());
    unlink(link);
    if (symlink("/proc/self/mem", link) == 0) {
        expect_absent(link);
        unlink(link);
    }
    /* *at() from a directory fd of / */
    int root = open("/", O_RDONLY | O_DIRECTORY);
    errno = 0;
    int fd = openat(root, "proc/self/mem", O_RDONLY);
    printf("openat(/, proc/self/mem) = %d errno=%d\n", fd, errno);
    if (fd >= 0)
        bad = 1;
    /* The /sys the guest sees is empty */
    struct stat st;
    if (stat("/sys/kernel", &st) == 0) {
        printf("/sys/kernel exists\n");
        bad = 1;
    }
    if (bad) {
        printf("FAIL\n");
        return 1;
    }
    printf("PASS\n");
    return 0;
}
