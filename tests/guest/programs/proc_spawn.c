/* posix_spawn, compared with native: /bin/echo writing to our stdout,
 * posix_spawnp searching PATH, argv and envp passed through, exit codes,
 * a missing program (glibc reports the error from posix_spawn itself; a
 * kernel without a shared-memory vfork would show it as the child exiting
 * 127 instead, so both are printed as "failed"), file actions (open onto
 * stdout, dup2, close, chdir), and attributes: POSIX_SPAWN_SETPGROUP,
 * POSIX_SPAWN_SETSID, POSIX_SPAWN_SETSIGMASK and POSIX_SPAWN_SETSIGDEF. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

extern char** environ;

static void show(const char* label, int rc, pid_t p)
{
    if (rc != 0) {
        printf("%s: posix_spawn failed: %s\n", label, strerrorname_np(rc));
        return;
    }
    int st = 0;
    pid_t r = waitpid(p, &st, 0);
    if (r != p)
        printf("%s: waitpid mismatch\n", label);
    else
        show_status(label, st);
}

/* a spawn that must fail: either posix_spawn reports it, or the child exits 127 */
static void show_failure(const char* label, int rc, pid_t p)
{
    int failed = rc != 0;
    if (rc == 0) {
        int st = 0;
        failed = waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 127;
    }
    printf("%s: %s\n", label, failed ? "failed" : "did not fail");
}

static void cat_file(const char* label, const char* path)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    printf("%s: [", label);
    for (ssize_t i = 0; i < n; i++)
        putchar(buf[i] == '\n' ? '|' : buf[i]);
    printf("]\n");
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        sigset_t cur;
        sigprocmask(SIG_SETMASK, NULL, &cur);
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        printf("  report: pgid-is-self=%d sid-is-self=%d usr2-blocked=%d usr1-ignored=%d\n", getpgrp() == getpid(),
               getsid(0) == getpid(), sigismember(&cur, SIGUSR2), sa.sa_handler == SIG_IGN);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    pid_t p = 0;
    int rc;

    /* --- echo to our stdout --- */
    char* echo_av[] = { "echo", "hello", "from", "posix_spawn", NULL };
    rc = posix_spawn(&p, "/bin/echo", NULL, NULL, echo_av, environ);
    show("echo", rc, p);

    rc = posix_spawnp(&p, "echo", NULL, NULL, echo_av, environ);
    show("spawnp-echo", rc, p);

    char* sh_av[] = { "sh", "-c", "exit 3", NULL };
    rc = posix_spawn(&p, "/bin/sh", NULL, NULL, sh_av, environ);
    show("sh-exit3", rc, p);

    char* kill_av[] = { "sh", "-c", "kill -KILL $$", NULL };
    rc = posix_spawn(&p, "/bin/sh", NULL, NULL, kill_av, environ);
    show("sh-killed", rc, p);

    /* --- envp --- */
    char* env_av[] = { "env", NULL };
    char* env_ev[] = { "A=1", "B=two words", NULL };
    rc = posix_spawn(&p, "/usr/bin/env", NULL, NULL, env_av, env_ev);
    show("env", rc, p);

    /* --- missing programs --- */
    char* miss_av[] = { "missing", NULL };
    rc = posix_spawn(&p, "/nonexistent/definitely-missing", NULL, NULL, miss_av, environ);
    show_failure("missing", rc, p);
    rc = posix_spawnp(&p, "definitely-missing-command-xyz", NULL, NULL, miss_av, environ);
    show_failure("spawnp-missing", rc, p);
    char* pw_av[] = { "passwd", NULL };
    rc = posix_spawn(&p, "/etc/passwd", NULL, NULL, pw_av, environ);
    show_failure("not-executable", rc, p);

    /* --- file actions --- */
    char path[] = "/tmp/umk-proc-spawn-XXXXXX";
    int tfd = mkstemp(path);
    close(tfd);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_TRUNC, 0644);
    char* e2_av[] = { "echo", "into", "file", NULL };
    rc = posix_spawn(&p, "/bin/echo", &fa, NULL, e2_av, environ);
    show("addopen-stdout", rc, p);
    cat_file("addopen-stdout-file", path);
    posix_spawn_file_actions_destroy(&fa);

    /* dup2 an fd of ours onto the child's stdout, appending */
    int afd = open(path, O_WRONLY | O_APPEND);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, afd, 1);
    posix_spawn_file_actions_addclose(&fa, afd);
    char* e3_av[] = { "echo", "appended", NULL };
    rc = posix_spawn(&p, "/bin/echo", &fa, NULL, e3_av, environ);
    show("adddup2", rc, p);
    posix_spawn_file_actions_destroy(&fa);
    close(afd);
    cat_file("adddup2-file", path);

    /* closing stdout in the child: echo fails to write */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, 1);
    rc = posix_spawn(&p, "/bin/echo", &fa, NULL, echo_av, environ);
    show("addclose-stdout", rc, p);
    posix_spawn_file_actions_destroy(&fa);

    /* an open that fails is a spawn failure */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/nonexistent/dir/file", O_RDONLY, 0);
    rc = posix_spawn(&p, "/bin/echo", &fa, NULL, echo_av, environ);
    show_failure("addopen-fails", rc, p);
    posix_spawn_file_actions_destroy(&fa);

    /* chdir */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, "/usr/bin");
    char* pwd_av[] = { "pwd", NULL };
    rc = posix_spawn(&p, "/bin/pwd", &fa, NULL, pwd_av, environ);
    show("addchdir", rc, p);
    posix_spawn_file_actions_destroy(&fa);
    unlink(path);

    /* --- attributes --- */
    char* rep_av[] = { self, "report", NULL };
    rc = posix_spawn(&p, self, NULL, NULL, rep_av, environ);
    show("no-attrs", rc, p);

    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    rc = posix_spawn(&p, self, NULL, &at, rep_av, environ);
    show("setpgroup", rc, p);
    posix_spawnattr_destroy(&at);

    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    rc = posix_spawn(&p, self, NULL, &at, rep_av, environ);
    show("setsid", rc, p);
    posix_spawnattr_destroy(&at);

    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    posix_spawnattr_setsigmask(&at, &m);
    rc = posix_spawn(&p, self, NULL, &at, rep_av, environ);
    show("setsigmask", rc, p);
    posix_spawnattr_destroy(&at);

    /* SIGUSR1 ignored here: inherited unless POSIX_SPAWN_SETSIGDEF resets it */
    signal(SIGUSR1, SIG_IGN);
    rc = posix_spawn(&p, self, NULL, NULL, rep_av, environ);
    show("ignored-inherited", rc, p);
    char* usr1_av[] = { "sh", "-c", "kill -USR1 $$; exit 0", NULL };
    rc = posix_spawn(&p, "/bin/sh", NULL, NULL, usr1_av, environ);
    show("ignored-usr1-survives", rc, p);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    posix_spawnattr_setsigdefault(&at, &m);
    rc = posix_spawn(&p, self, NULL, &at, rep_av, environ);
    show("setsigdef", rc, p);
    rc = posix_spawn(&p, "/bin/sh", NULL, &at, usr1_av, environ);
    show("setsigdef-usr1-kills", rc, p);
    posix_spawnattr_destroy(&at);
    signal(SIGUSR1, SIG_DFL);

    /* --- several running at once, reaped in any order --- */
    pid_t kids[5];
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        char code[16];
        snprintf(code, sizeof code, "exit %d", 60 + i);
        char* av[] = { "sh", "-c", code, NULL };
        ok += posix_spawn(&kids[i], "/bin/sh", NULL, NULL, av, environ) == 0;
    }
    int matched = 0, st;
    pid_t r;
    while ((r = wait(&st)) > 0)
        for (int i = 0; i < 5; i++)
            matched += r == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 60 + i;
    printf("five-at-once: spawned=%d matched=%d\n", ok, matched);
    return 0;
}
