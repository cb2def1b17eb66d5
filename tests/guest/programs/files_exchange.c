/* renameat2(RENAME_EXCHANGE) on tmpfs (/dev/shm): files, a file and a
 * directory (link counts follow), across directories, with a missing
 * name (ENOENT), into its own subtree (EINVAL), bad flag mixes (EINVAL).
 * Compared with Linux. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "guest_test.h"

static char base[] = "/dev/shm/umk-exchange-XXXXXX";

static const char* in(const char* name)
{
    static char buf[4][128];
    static int i;
    char* b = buf[i++ & 3];
    snprintf(b, 128, "%s/%s", base, name);
    return b;
}

static void show(const char* name)
{
    struct stat st;
    if (lstat(in(name), &st) != 0) {
        printf("  %s: missing\n", name);
        return;
    }
    char text[32] = { 0 };
    if (S_ISREG(st.st_mode)) {
        int fd = open(in(name), O_RDONLY);
        read(fd, text, sizeof text - 1);
        close(fd);
    }
    printf("  %s: %s links %ld %s\n", name, S_ISDIR(st.st_mode) ? "dir" : "file", (long)st.st_nlink, text);
}

static void swap(const char* a, const char* b, unsigned flags)
{
    int r = renameat2(AT_FDCWD, in(a), AT_FDCWD, in(b), flags);
    printf("exchange %s %s: %s\n", a, b, res(r, errno));
}

static void put(const char* name, const char* text)
{
    int fd = open(in(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    put("a", "A");
    put("b", "B");
    mkdir(in("d1"), 0755);
    mkdir(in("d2"), 0755);
    mkdir(in("d1/sub"), 0755);
    put("d2/f", "F");
    swap("a", "b", RENAME_EXCHANGE);
    show("a");
    show("b");
    swap("a", "d1", RENAME_EXCHANGE);
    show("a");
    show("d1");
    show(".");
    swap("d2/f", "b", RENAME_EXCHANGE);
    show("d2/f");
    show("b");
    swap("b", "nothere", RENAME_EXCHANGE);
    swap("a", "a/sub", RENAME_EXCHANGE);
    swap("b", "d2", RENAME_EXCHANGE | RENAME_NOREPLACE);
    swap("b", "d2", RENAME_EXCHANGE | RENAME_WHITEOUT);
    swap("b", "b", RENAME_EXCHANGE);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    return system(cmd);
}
