/* O_TMPFILE on tmpfs (/dev/shm): a nameless file (nlink 0, the mode with
 * the umask, "#INO (deleted)" in /proc), named by linkat through
 * /proc/self/fd or with AT_EMPTY_PATH, once; O_EXCL ones never; a deleted
 * file is not linked again; the flag errors. Compared with Linux. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>

#include "guest_test.h"

static int count_entries(const char* dir)
{
    DIR* d = opendir(dir);
    int n = 0;
    struct dirent* e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void link_result(const char* what, int fd, const char* to, int empty_path)
{
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", fd);
    int r = empty_path ? linkat(fd, "", AT_FDCWD, to, AT_EMPTY_PATH) : linkat(AT_FDCWD, magic, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
    printf("%s: %s\n", what, res(r, errno));
}

int main(void)
{
    char dir[] = "/dev/shm/umk-tmpfile-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    umask(022);
    char path[128];
    int fd = open(dir, O_TMPFILE | O_RDWR, 0666);
    printf("open: %s\n", fd < 0 ? res(fd, errno) : "fd");
    write(fd, "unnamed", 7);
    struct stat st;
    fstat(fd, &st);
    printf("nlink %ld mode %o entries %d\n", (long)st.st_nlink, st.st_mode & 07777, count_entries(dir));
    char link[256] = { 0 }, magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", fd);
    readlink(magic, link, sizeof link - 1);
    printf("shown as #INO (deleted): %s\n", strstr(link, "/#") && strstr(link, " (deleted)") ? "yes" : link);
    snprintf(path, sizeof path, "%s/named", dir);
    link_result("link through /proc/self/fd", fd, path, 0);
    fstat(fd, &st);
    printf("nlink %ld entries %d\n", (long)st.st_nlink, count_entries(dir));
    snprintf(path, sizeof path, "%s/second", dir);
    link_result("a second name", fd, path, 0);
    int fd2 = open(dir, O_TMPFILE | O_WRONLY, 0600);
    snprintf(path, sizeof path, "%s/empty", dir);
    link_result("link with AT_EMPTY_PATH", fd2, path, 1);
    int excl = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
    snprintf(path, sizeof path, "%s/excl", dir);
    link_result("O_EXCL one", excl, path, 0);
    int r = open(dir, O_TMPFILE | O_RDONLY);
    printf("O_RDONLY: %s\n", res(r, errno));
    snprintf(path, sizeof path, "%s/named", dir);
    r = open(path, O_TMPFILE | O_RDWR);
    printf("on a file: %s\n", res(r, errno));
    snprintf(path, sizeof path, "%s/gone", dir);
    int gone = open(path, O_CREAT | O_RDWR, 0600);
    unlink(path);
    snprintf(path, sizeof path, "%s/relinked", dir);
    link_result("a deleted file again", gone, path, 0);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    return system(path);
}
