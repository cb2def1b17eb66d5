/* upper_ops modify|check: file-tree changes over a lower layer, for
 * upper.sh, which runs them under Linux overlayfs (chroot into a mount
 * with a fresh upperdir) and under umk (--root LOWER --upper DIR), then
 * compares what each prints and the two upper directories. Static: the
 * lower tree has no libc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static void put(const char* path, const char* text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0)
        printf("write %s: %s\n", path, strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void check(const char* what, int r)
{
    if (r != 0)
        printf("%s: %s\n", what, strerror(errno));
}

static void show(const char* path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        printf("%s: %s\n", path, strerror(errno));
        return;
    }
    printf("%s: mode %o links %ld size %ld", path, st.st_mode, (long)st.st_nlink, S_ISDIR(st.st_mode) ? 0L : (long)st.st_size);
    if (S_ISREG(st.st_mode)) {
        char buf[64] = { 0 };
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        printf(" \"%.*s\"", n > 0 ? (int)strcspn(buf, "\n") : 0, buf);
        if (fd >= 0)
            close(fd);
    } else if (S_ISLNK(st.st_mode)) {
        char buf[256];
        ssize_t n = readlink(path, buf, sizeof buf);
        printf(" -> %.*s", (int)(n > 0 ? n : 0), buf);
    } else if (S_ISDIR(st.st_mode)) {
        DIR* d = opendir(path);
        printf(" [");
        struct dirent* e;
        char* names[64];
        int count = 0;
        while (d && (e = readdir(d)) && count < 64)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                names[count++] = strdup(e->d_name);
        for (int i = 0; i < count; i++) /* sorted */
            for (int j = i + 1; j < count; j++)
                if (strcmp(names[i], names[j]) > 0) {
                    char* t = names[i];
                    names[i] = names[j];
                    names[j] = t;
                }
        for (int i = 0; i < count; i++) {
            printf("%s%s", i ? " " : "", names[i]);
            free(names[i]);
        }
        printf("]");
        if (d)
            closedir(d);
    }
    char value[64];
    ssize_t n = lgetxattr(path, "user.note", value, sizeof value);
    if (n >= 0)
        printf(" user.note=%.*s", (int)n, value);
    printf("\n");
}

int main(int argc, char** argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "modify") == 0) {
        put("/etc/motd", "changed\n");                       /* copy-up of a file */
        check("unlink hostname", unlink("/etc/hostname"));    /* whiteout */
        check("mkdir new", mkdir("/new", 0750));
        put("/new/file", "new file\n");
        check("chmod lower", chmod("/etc/passwd", 0600));     /* metadata copy-up */
        check("rename lower file", rename("/etc/group", "/etc/group.moved"));
        check("link", link("/etc/motd", "/etc/motd.link"));
        check("symlink", symlink("../etc/motd", "/new/sym"));
        /* a lower directory removed whole, then made again: opaque */
        const char* doc[] = { "/doc/a", "/doc/b", "/doc/sub/c" };
        for (int i = 0; i < 3; i++)
            check("unlink doc", unlink(doc[i]));
        check("rmdir sub", rmdir("/doc/sub"));
        check("rmdir doc", rmdir("/doc"));
        check("mkdir doc", mkdir("/doc", 0755));
        put("/doc/fresh", "fresh\n");
        /* a lower directory emptied but kept */
        check("unlink keep/x", unlink("/keep/x"));
        check("setxattr", setxattr("/keep", "user.note", "kept", 4, 0));
        check("setxattr lower file", setxattr("/etc/services", "user.note", "svc", 3, 0));
        /* a name deleted and made again as another type */
        check("unlink again", unlink("/etc/again"));
        check("mkdir again", mkdir("/etc/again", 0700));
        check("truncate", truncate("/etc/services", 3));
        printf("modified\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        const char* paths[] = { "/", "/etc", "/etc/motd", "/etc/motd.link", "/etc/hostname", "/etc/passwd",
                                "/etc/group", "/etc/group.moved", "/etc/services", "/etc/again", "/new",
                                "/new/file", "/new/sym", "/doc", "/doc/fresh", "/doc/sub", "/keep" };
        for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++)
            show(paths[i]);
        return 0;
    }
    fprintf(stderr, "usage: upper_ops modify|check\n");
    return 2;
}
