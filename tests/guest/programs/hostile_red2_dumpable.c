/* HOSTILE (run only under umk): a root process keeps a secret in memory
 * and drops to uid 1000 (setresuid). Linux makes it non-dumpable when its
 * credentials change (commit_creds -> suid_dumpable, 0), and
 * __ptrace_may_access then refuses other uid-1000 processes without
 * CAP_SYS_PTRACE: PTRACE_ATTACH, process_vm_readv and /proc/PID/mem fail.
 * umk has no dumpable flag (PR_SET_DUMPABLE is accepted and ignored), so
 * another uid-1000 process read the secret. Needs guest root; prints SKIP
 * otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[32];

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (getuid() != 0) {
    printf("SKIP: needs guest root\n");
    return 0;
  }
  int p[2];
  if (pipe(p)) return 1;
  pid_t daemon = fork();
  if (daemon == 0) {
    strcpy(secret, "ROOTSECRET"); /* read while privileged */
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    if (write(p[1], "x", 1) != 1) _exit(2);
    for (;;) pause();
  }
  char c;
  if (read(p[0], &c, 1) != 1) return 1;
  pid_t attacker = fork();
  if (attacker == 0) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    char buf[32] = { 0 };
    struct iovec l = { buf, sizeof buf }, r = { secret, sizeof secret };
    ssize_t n = process_vm_readv(daemon, &l, 1, &r, 1, 0);
    long at = ptrace(PTRACE_ATTACH, daemon, 0, 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", daemon);
    int mfd = open(path, O_RDONLY);
    printf("process_vm_readv %zd%s%s, PTRACE_ATTACH %ld, open(/proc/PID/mem) %d\n", n, n > 0 ? ": " : "",
           n > 0 ? buf : "", at, mfd);
    if (at == 0) ptrace(PTRACE_DETACH, daemon, 0, 0);
    _exit(n > 0 || at == 0 || mfd >= 0 ? 1 : 0);
  }
  int st;
  waitpid(attacker, &st, 0);
  kill(daemon, SIGKILL);
  waitpid(daemon, NULL, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: a process that dropped root stays open to uid 1000 (status %x)\n", st);
  return 1;
}
