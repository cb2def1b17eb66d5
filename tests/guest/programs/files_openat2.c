/* openat2(2): struct sizes (EINVAL, E2BIG), strict flags, and every
 * RESOLVE_* flag against symlinks, "..", absolute paths, magic links and
 * mount crossings; an absolute path with a dirfd that is not a directory,
 * or not open (ignored, but by RESOLVE_IN_ROOT and RESOLVE_BENEATH).
 * Compared with Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
static int dfd;
static void t(const char* what, const char* path, unsigned long long flags, unsigned long long resolve, size_t size)
{
    struct { struct open_how h; unsigned long long extra; } how = { { flags, 0, resolve }, 0 };
    if (size > sizeof how.h) how.extra = (size == 40) ? 1 : 0;
    long fd = syscall(SYS_openat2, dfd, path, &how, size);
    if (fd < 0) printf("%-28s %s\n", what, strerrorname_np(errno));
    else {
        char buf[256] = {0}, link[64]; snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
        ssize_t n = readlink(link, buf, sizeof buf - 1);
        char* base = strrchr(buf, '/');
        printf("%-28s ok %s\n", what, n > 0 && base ? base : "?");
        close(fd);
    }
}
int main(void)
{
    char tmpl[] = "/tmp/o2-XXXXXX"; char* d = mkdtemp(tmpl);
    chdir(d); mkdir("sub", 0755); mkdir("sub/inner", 0755); close(creat("sub/file", 0644)); close(creat("top", 0644));
    symlink("file", "sub/rel"); symlink("/etc/passwd", "sub/abs"); symlink("../top", "sub/up"); symlink("inner/../file", "sub/dots");
    symlink("/proc/self/exe", "sub/magic");
    dfd = open("sub", O_RDONLY | O_DIRECTORY);
    t("plain", "file", O_RDONLY, 0, 24);
    t("size small", "file", O_RDONLY, 0, 16);
    t("size bigger zero", "file", O_RDONLY, 0, 32);
    t("size bigger nonzero", "file", O_RDONLY, 0, 40);
    t("bad resolve", "file", O_RDONLY, 0x40, 24);
    t("beneath+in_root", "file", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT, 24);
    t("bad flag", "file", O_RDONLY | (1ULL << 40), 0, 24);
    t("beneath rel", "rel", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath abs", "abs", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath abs path", "/etc/passwd", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath ..", "../top", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath up link", "up", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath dots", "dots", O_RDONLY, RESOLVE_BENEATH, 24);
    t("beneath inner/..", "inner/../file", O_RDONLY, RESOLVE_BENEATH, 24);
    t("in_root abs", "abs", O_RDONLY, RESOLVE_IN_ROOT, 24);
    t("in_root /file", "/file", O_RDONLY, RESOLVE_IN_ROOT, 24);
    t("in_root ../../file", "../../file", O_RDONLY, RESOLVE_IN_ROOT, 24);
    t("in_root up", "up", O_RDONLY, RESOLVE_IN_ROOT, 24);
    t("no_symlinks rel", "rel", O_RDONLY, RESOLVE_NO_SYMLINKS, 24);
    t("no_symlinks nofollow path", "rel", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS, 24);
    t("no_magic", "magic", O_RDONLY, RESOLVE_NO_MAGICLINKS, 24);
    t("no_magic proc", "/proc/self/exe", O_RDONLY, RESOLVE_NO_MAGICLINKS, 24);
    t("magic", "/proc/self/exe", O_RDONLY, 0, 24);
    t("beneath magic", "magic", O_RDONLY, RESOLVE_BENEATH, 24);
    t("no_xdev proc", "/proc/self/status", O_RDONLY, RESOLVE_NO_XDEV, 24);
    t("no_xdev same", "inner/../file", O_RDONLY, RESOLVE_NO_XDEV, 24);
    t("cached", "file", O_RDONLY, RESOLVE_CACHED, 24);
    t("cached creat", "new", O_RDONLY | O_CREAT, RESOLVE_CACHED, 24);
    t("mode without creat", "file", O_RDONLY, 0, 24);
    t("path with rdwr", "file", O_PATH | O_RDWR, 0, 24);
    t("creat beneath", "newfile", O_RDWR | O_CREAT, RESOLVE_BENEATH, 24);
    int dir = dfd;
    dfd = open("sub/file", O_RDONLY);
    t("abs, dirfd a file", "/etc/passwd", O_RDONLY, 0, 24);
    t("rel, dirfd a file", "file", O_RDONLY, 0, 24);
    t("abs, dirfd a file, in_root", "/file", O_RDONLY, RESOLVE_IN_ROOT, 24);
    t("abs, dirfd a file, beneath", "/etc/passwd", O_RDONLY, RESOLVE_BENEATH, 24);
    close(dfd);
    dfd = 999;
    t("abs, dirfd closed", "/etc/passwd", O_RDONLY, 0, 24);
    t("rel, dirfd closed", "file", O_RDONLY, 0, 24);
    t("abs, dirfd closed, in_root", "/file", O_RDONLY, RESOLVE_IN_ROOT, 24);
    struct stat st;
    long r = syscall(SYS_newfstatat, 999, "/tmp", &st, 0);
    printf("%-28s %ld %s\n", "fstatat abs, dirfd 999", r, r < 0 ? strerrorname_np(errno) : "");
    r = syscall(SYS_mkdirat, 999, "/tmp", 0755);
    printf("%-28s %ld %s\n", "mkdirat abs, dirfd 999", r, r < 0 ? strerrorname_np(errno) : "");
    r = syscall(SYS_unlinkat, 999, "x", 0);
    printf("%-28s %ld %s\n", "unlinkat rel, dirfd 999", r, r < 0 ? strerrorname_np(errno) : "");
    dfd = open("/proc", O_RDONLY | O_DIRECTORY);
    t("no_xdev abs, dirfd /proc", "/etc/passwd", O_RDONLY, RESOLVE_NO_XDEV, 24);
    close(dfd);
    dfd = AT_FDCWD;
    char here[256];
    if (!getcwd(here, sizeof here)) return 1;
    chdir("/proc");
    t("no_xdev abs, cwd /proc", "/etc/passwd", O_RDONLY, RESOLVE_NO_XDEV, 24);
    t("no_xdev /, cwd /proc", "/", O_RDONLY, RESOLVE_NO_XDEV, 24);
    t("no_xdev /proc/self", "/proc/self/status", O_RDONLY, RESOLVE_NO_XDEV, 24);
    chdir(here);
    dfd = dir;
    char cmd[128]; snprintf(cmd, sizeof cmd, "rm -rf %s", d); system(cmd);
    return 0;
}
