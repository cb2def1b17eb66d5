/* execveat(2): relative to a directory fd, the fd's own file
 * (AT_EMPTY_PATH, an O_PATH fd and a memfd too), AT_SYMLINK_NOFOLLOW,
 * what AT_EXECFN and comm become, a script through a close-on-exec fd
 * (ENOENT) and through one that stays open, and the errors. */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/sendfile.h>

#include "guest_test.h"

static char dir[4096], self[4096];

static void child_report(char** argv)
{
    char comm[32] = { 0 };
    int fd = open("/proc/self/comm", O_RDONLY);
    if (read(fd, comm, sizeof comm - 1) < 0)
        comm[0] = 0;
    comm[strcspn(comm, "\n")] = 0;
    const char* execfn = (const char*)getauxval(AT_EXECFN);
    /* a path into our directory is shown relative to it */
    if (!strncmp(execfn, dir, strlen(dir)))
        execfn += strlen(dir);
    printf("  ran: argv0=%s execfn=%s comm=%s\n", argv[0], execfn, comm);
}

static void run(const char* label, int dirfd, const char* path, int flags)
{
    char* argv[] = { "av0", "child", NULL };
    char* envp[] = { NULL };
    printf("%s\n", label);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        long r = syscall(SYS_execveat, dirfd, path, argv, envp, flags);
        printf("  execveat: %s\n", res(r, errno));
        fflush(stdout);
        _exit(1);
    }
    waitpid(p, NULL, 0);
}

int main(int argc, char** argv)
{
    if (argc > 1 && !strcmp(argv[1], "child")) {
        if (readlink("/proc/self/exe", self, sizeof self - 1) > 0)
            snprintf(dir, sizeof dir, "%s", dirname(self));
        child_report(argv);
        return 0;
    }
    if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0)
        return 1;
    syscall(SYS_close_range, 3, ~0U, 0); /* the fd numbers show: whatever the runner left open goes */
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", self);
    snprintf(dir, sizeof dir, "%s", dirname(copy));
    const char* name = strrchr(self, '/') + 1;

    char tmpl[] = "/tmp/execveat-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    char link[4200], script[4200];
    snprintf(link, sizeof link, "%s/link", tmpl);
    snprintf(script, sizeof script, "%s/script", tmpl);
    if (symlink(self, link) != 0)
        return 1;
    int s = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (s < 0 || write(s, "#!/bin/sh\necho \"  script: $0\"\n", 30) != 30)
        return 1;
    close(s);

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int tfd = open(tmpl, O_RDONLY | O_DIRECTORY);
    int ffd = open(self, O_RDONLY);
    int pfd = open(self, O_PATH | O_CLOEXEC);
    int scloexec = open(script, O_RDONLY | O_CLOEXEC);
    int sopen = open(script, O_RDONLY);
    int mfd = memfd_create("payload", MFD_CLOEXEC);
    struct stat st;
    if (dfd < 0 || tfd < 0 || ffd < 0 || pfd < 0 || scloexec < 0 || sopen < 0 || mfd < 0 || fstat(ffd, &st) != 0)
        return 1;
    off_t off = 0;
    if (sendfile(mfd, ffd, &off, st.st_size) != st.st_size)
        return 1;
    printf("fds: dir %d tmp %d file %d path %d script %d %d memfd %d\n", dfd, tfd, ffd, pfd, scloexec, sopen, mfd);

    run("relative to a directory fd", dfd, name, 0);
    run("AT_EMPTY_PATH, a file fd", ffd, "", AT_EMPTY_PATH);
    run("AT_EMPTY_PATH, an O_PATH fd", pfd, "", AT_EMPTY_PATH);
    run("AT_EMPTY_PATH, a memfd", mfd, "", AT_EMPTY_PATH);
    run("an empty path without AT_EMPTY_PATH", ffd, "", 0);
    run("an absolute path ignores the fd", ffd, self, 0);
    run("AT_SYMLINK_NOFOLLOW on a symlink", tfd, "link", AT_SYMLINK_NOFOLLOW);
    run("a symlink, followed", tfd, "link", 0);
    run("an unknown flag", dfd, name, 0x8000);
    run("a script relative to a directory fd", tfd, "script", 0);
    run("a script through a close-on-exec fd", scloexec, "", AT_EMPTY_PATH);
    run("a script through an fd that stays open", sopen, "", AT_EMPTY_PATH);
    run("a path relative to a file fd", ffd, "x", 0);
    run("a bad fd", 99, name, 0);
    run("a missing file", dfd, "no-such-file", 0);
    int pipes[2];
    if (pipe(pipes) == 0)
        run("AT_EMPTY_PATH, a pipe", pipes[0], "", AT_EMPTY_PATH);
    int lfd = open(link, O_PATH | O_NOFOLLOW);
    run("AT_EMPTY_PATH, the O_PATH fd of a symlink", lfd, "", AT_EMPTY_PATH);
    /* the file is checked before the arguments are copied */
    char plain[4200];
    snprintf(plain, sizeof plain, "%s/plain", tmpl);
    close(open(plain, O_WRONLY | O_CREAT, 0644));
    long r;
    int e;
    CALL(syscall(SYS_execveat, tfd, "plain", (char**)8, NULL, 0));
    printf("not executable, bad argv: %s\n", res(r, e));
    CALL(syscall(SYS_execveat, dfd, ".", (char**)8, NULL, 0));
    printf("a directory, bad argv: %s\n", res(r, e));
    unlink(plain);

    unlink(link);
    unlink(script);
    rmdir(tmpl);
    return 0;
}
