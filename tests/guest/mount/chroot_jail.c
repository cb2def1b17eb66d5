/* chroot_jail DIR: chroot(2) into DIR (errors first), then what the process
 * sees: getcwd, "/" and ".." staying inside, files of DIR, nothing outside.
 * Run natively and under umk by mount.sh. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
static void ls(const char* p) { DIR* d = opendir(p); if (!d) { printf("%s: %s\n", p, strerror(errno)); return; } struct dirent* e; char* n[32]; int c = 0; while ((e = readdir(d)) && c < 32) n[c++] = strdup(e->d_name); for (int i = 0; i < c; i++) for (int j = i + 1; j < c; j++) if (strcmp(n[i], n[j]) > 0) { char* t = n[i]; n[i] = n[j]; n[j] = t; } printf("%s:", p); for (int i = 0; i < c; i++) printf(" %s", n[i]); printf("\n"); closedir(d); }
int main(int argc, char** argv) {
    char buf[256];
    const char* jail = argv[1];
    if (chdir(jail)) return 1;
    int r = chroot("/nonexistent-x"); printf("chroot missing: %d %s\n", r, strerrorname_np(errno));
    r = chroot("/etc/passwd"); printf("chroot file: %d %s\n", r, strerrorname_np(errno));
    printf("chroot: %d\n", chroot("."));
    printf("getcwd: %s\n", getcwd(buf, sizeof buf));
    ls("/"); ls("/.."); ls("../..");
    mkdir("/sub", 0755); chdir("/sub");
    printf("getcwd sub: %s\n", getcwd(buf, sizeof buf));
    char link[256] = {0}; readlink("/proc/self/cwd", link, sizeof link - 1);
    printf("open /marker: %d\n", open("/marker", O_RDONLY) >= 0);
    int out = open("/tmp", O_RDONLY);
    printf("outside /tmp visible: %d\n", out >= 0);
    rmdir("/sub");
    return 0;
}
