/* Many processes, compared with native: fork's two return values (the
 * child's getpid is what the parent got, its getppid the parent's getpid),
 * a chain of 30 nested forks each waiting for its child and passing the
 * exit code up, 50 sequential fork+exit+wait, 20 children at once reaped
 * in any order, a binary tree of 31 processes, fork+execve of /bin/sh -c
 * 'exit 7' (with argv and envp passed), and a chain of 10 fork+exec'd
 * copies of this program. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static void show(const char* label, pid_t p, pid_t r, int st)
{
    if (r != p)
        printf("%s: waitpid %s\n", label, r == -1 ? ename(errno) : "other");
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", label, WTERMSIG(st));
    else
        printf("%s: status 0x%x\n", label, st);
}

/* exit code of the subtree: depth 0 leaves exit 1 */
static int chain(int depth)
{
    if (depth == 0)
        return 1;
    pid_t me = getpid();
    pid_t p = fork();
    if (p < 0)
        return 200;
    if (p == 0) {
        if (getppid() != me)
            _exit(201);
        _exit(chain(depth - 1));
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
        return 202;
    int c = WEXITSTATUS(st);
    return c >= 200 ? c : c + 1;
}

/* a binary tree: each node forks two children and exits 1 + their codes */
static int tree(int depth)
{
    if (depth == 0)
        return 1;
    pid_t a = fork();
    if (a == 0)
        _exit(tree(depth - 1));
    pid_t b = fork();
    if (b == 0)
        _exit(tree(depth - 1));
    int sa, sb;
    if (waitpid(a, &sa, 0) != a || waitpid(b, &sb, 0) != b || !WIFEXITED(sa) || !WIFEXITED(sb))
        return 250;
    return 1 + WEXITSTATUS(sa) + WEXITSTATUS(sb);
}

int main(int argc, char** argv)
{
    const char* self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
    if (argc > 2 && strcmp(argv[1], "exec-chain") == 0) {
        int n = atoi(argv[2]);
        if (n == 0)
            return 1;
        char next[16];
        snprintf(next, sizeof next, "%d", n - 1);
        pid_t p = fork();
        if (p == 0) {
            execl(self, self, "exec-chain", next, (char*)NULL);
            _exit(127);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
            return 200;
        return WEXITSTATUS(st) + 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    int st;
    pid_t r;

    /* --- fork's return values --- */
    volatile pid_t* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t me = getpid();
    pid_t p = fork();
    if (p == 0) {
        shared[0] = getpid();
        shared[1] = getppid();
        _exit(0);
    }
    r = waitpid(p, &st, 0);
    printf("fork-returns: parent-got-positive=%d child-getpid-matches=%d child-getppid-is-parent=%d "
           "differs-from-parent=%d\n",
           p > 0, shared[0] == p, shared[1] == me, p != me);
    show("fork-child", p, r, st);

    /* --- chain of 30 --- */
    p = fork();
    if (p == 0)
        _exit(chain(30));
    r = waitpid(p, &st, 0);
    show("chain-30 (31 = every level added one)", p, r, st);

    /* --- 50 sequential --- */
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        p = fork();
        if (p == 0)
            _exit(i + 100);
        r = waitpid(p, &st, 0);
        ok += r == p && WIFEXITED(st) && WEXITSTATUS(st) == i + 100;
    }
    printf("sequential-50: ok=%d\n", ok);

    /* --- 20 at once --- */
    pid_t kids[20];
    for (int i = 0; i < 20; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(i);
    }
    int n = 0, sum = 0, matched = 0;
    while ((r = wait(&st)) > 0) {
        n++;
        sum += WEXITSTATUS(st);
        for (int i = 0; i < 20; i++)
            matched += kids[i] == r && WEXITSTATUS(st) == i;
    }
    printf("fan-out-20: reaped=%d sum=%d matched=%d end=%s\n", n, sum, matched, ename(errno));

    /* --- binary tree, 31 processes --- */
    p = fork();
    if (p == 0)
        _exit(tree(4));
    r = waitpid(p, &st, 0);
    show("tree-31", p, r, st);

    /* --- fork + execve /bin/sh --- */
    p = fork();
    if (p == 0) {
        char* av[] = { "sh", "-c", "exit 7", NULL };
        char* ev[] = { "PATH=/usr/bin:/bin", NULL };
        execve("/bin/sh", av, ev);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("exec-sh-exit7", p, r, st);

    p = fork();
    if (p == 0) {
        char* av[] = { "sh", "-c", "echo \"$0|$1|$2|$X\"; exit $X", "zero", "one", "two words", NULL };
        char* ev[] = { "X=9", NULL };
        execve("/bin/sh", av, ev);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("exec-sh-args-env", p, r, st);

    p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "exit 300", (char*)NULL); /* shells mask to 8 bits */
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("exec-sh-exit300", p, r, st);

    /* a shell that forks its own children */
    p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", "/bin/true && /bin/false; echo \"false gave $?\"; (exit 4); exit $(($? + 1))",
              (char*)NULL);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("exec-sh-subprocesses", p, r, st);

    /* --- chain of 10 fork+exec'd copies --- */
    p = fork();
    if (p == 0) {
        execl(self, self, "exec-chain", "10", (char*)NULL);
        _exit(127);
    }
    r = waitpid(p, &st, 0);
    show("exec-chain-10 (11)", p, r, st);

    errno = 0;
    r = wait(&st);
    printf("end: %s %s\n", r > 0 ? "pid" : (r == 0 ? "0" : "-1"), ename(errno));
    return 0;
}
