/* pivot_root(2), run in a mount namespace of its own natively (unshare
 * -m) and under umk: a tmpfs becomes the root and the old root moves
 * below it, where it can be unmounted; cwd and root follow; the "." "."
 * idiom; the errors for a non-mount, put_old outside new_root, and the
 * current root. Prints what it sees, for the comparison. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pivot(const char* new_root, const char* put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static void show(const char* what, int r)
{
    printf("%-34s %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

static void list(const char* what, const char* dir)
{
    DIR* d = opendir(dir);
    printf("%-34s", what);
    if (!d) {
        printf(" %s\n", strerrorname_np(errno));
        return;
    }
    char names[32][256];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) && n < 32)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, n, 256, (int (*)(const void*, const void*))strcmp);
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
}

int main(void)
{
    char top[] = "/tmp/pivot.XXXXXX";
    if (!mkdtemp(top))
        return 1;
    char path[256];
    show("pivot to a non-mount", pivot(top, top));
    show("mount tmpfs", mount("tmpfs", top, "tmpfs", 0, "mode=0755"));
    snprintf(path, sizeof path, "%s/old", top);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/new", top);
    mkdir(path, 0755);
    show("put_old outside new_root", pivot(top, "/tmp"));
    show("new_root the current root", pivot("/", "/tmp"));
    snprintf(path, sizeof path, "%s/old", top);
    show("pivot_root", pivot(top, path));
    char cwd[256];
    printf("%-34s %s\n", "cwd", getcwd(cwd, sizeof cwd) ? cwd : strerrorname_np(errno));
    list("/", "/");
    struct stat st;
    show("the old root's /etc is at /old/etc", stat("/old/etc", &st));
    show("umount2 /old (detach)", umount2("/old", MNT_DETACH));
    list("/old after umount", "/old");
    show("chdir /", chdir("/"));
    // The "." "." idiom: a tmpfs on /new becomes the root over itself.
    show("mount tmpfs on /new", mount("tmpfs", "/new", "tmpfs", 0, NULL));
    int fd = open("/new/marker", O_CREAT | O_WRONLY, 0644);
    close(fd);
    show("chdir /new", chdir("/new"));
    show("pivot_root . .", pivot(".", "."));
    show("umount2 . (detach)", umount2(".", MNT_DETACH));
    show("chdir /", chdir("/"));
    list("/ at the end", "/");
    return 0;
}
