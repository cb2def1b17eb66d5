/* HOSTILE (run only under umk): path tricks towards host objects that
 * the guest must never reach: the user's terminals (/dev/pts: the guest's
 * own devpts, with only the ptys it made), host sysfs,
 * /proc/kcore; and towards /proc/self/mem, which must be the guest's own
 * memory (umk's procfs), never a host process's: it reads our marker and
 * nothing of the stub above the guest's TASK_SIZE. Natively several of
 * these open, so the test cannot run natively. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int bad = 0;
static const unsigned long marker = 0x756d6b2d6d61726bUL;

/* Opens, reads our marker through it, and fails to read the stub's text. */
static void expect_guest_mem(const char* path)
{
    int fd = open(path, O_RDWR);
    unsigned long got = 0, stub = 0;
    ssize_t n = fd >= 0 ? pread(fd, &got, sizeof got, (off_t)(unsigned long)&marker) : -1;
    errno = 0;
    ssize_t s = fd >= 0 ? pread(fd, &stub, sizeof stub, (off_t)0x7fff00001000UL) : -1;
    int e = errno;
    printf("%-45s fd=%d marker=%d stub-read=%zd errno=%d\n", path, fd >= 0, n == 8 && got == marker, s, e);
    if (fd < 0 || n != 8 || got != marker || s != -1 || e != EIO)
        bad = 1;
    if (fd >= 0)
        close(fd);
}

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
    if (chdir("/") != 0)
        return 2;
    const char* mems[] = {
        "/proc/self/mem", "//proc///self/./mem", "/usr/../proc/self/mem", "/proc/../proc/self/mem",
        "/proc/self/root/proc/self/mem", "/proc/1/root/../../proc/self/mem", "/proc/self/cwd/../../../proc/self/mem",
        "/proc/1/cwd/../../../../proc/1/mem",
    };
    for (unsigned i = 0; i < sizeof mems / sizeof *mems; i++)
        expect_guest_mem(mems[i]);
    const char* paths[] = {
        "/dev/pts/0", "/dev/../dev/pts/0", "/dev/tty0",
        "/dev/mem", "/dev/kmsg", "/sys/kernel/mm", "/sys/../sys/kernel/mm", "/sys/class/net", "/proc/kcore",
        "/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger",
    };
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++)
        expect_absent(paths[i]);

    /* /dev/pts/ptmx makes a pty of the guest's own, the only one there */
    int ptmx = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    int index = -1;
    struct stat st;
    if (ptmx < 0 || ioctl(ptmx, TIOCGPTN, &index) != 0 || index != 0 || stat("/dev/pts/0", &st) != 0
        || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 136 || stat("/dev/pts/1", &st) == 0) {
        printf("FAIL: /dev/pts/ptmx is not the guest's own (index %d)\n", index);
        bad = 1;
    }
    close(ptmx);

    /* relative walks from deep directories */
    if (chdir("/usr/share") == 0)
        expect_guest_mem("../../../../../../proc/self/mem");
    /* a symlink the guest makes itself */
    char link[64];
    snprintf(link, sizeof link, "/tmp/umk-trick-%d", (int)getpid());
    unlink(link);
    if (symlink("/proc/self/mem", link) == 0) {
        expect_guest_mem(link);
        unlink(link);
    }
    /* *at() from a directory fd of / */
    int root = open("/", O_RDONLY | O_DIRECTORY);
    errno = 0;
    int fd = openat(root, "proc/kcore", O_RDONLY);
    printf("openat(/, proc/kcore) = %d errno=%d\n", fd, errno);
    if (fd >= 0)
        bad = 1;
    /* The /sys the guest sees is umk's: its /sys/kernel is empty, and the
     * CPU directory has the three ranges only */
    int entries = 0;
    DIR* d = opendir("/sys/kernel");
    for (struct dirent* e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    d = opendir("/sys/devices/system/cpu");
    for (struct dirent* e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    if (entries != 3) {
        printf("/sys shows %d entries in kernel/ and devices/system/cpu/, not umk's 3\n", entries);
        bad = 1;
    }
    if (bad) {
        printf("FAIL\n");
        return 1;
    }
    printf("PASS\n");
    return 0;
}
