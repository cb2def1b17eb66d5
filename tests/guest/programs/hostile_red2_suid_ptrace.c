/* HOSTILE (run only under umk): a uid-1000 process traces its child
 * (PTRACE_TRACEME) and the child execs a set-user-ID root program. Linux
 * ignores the set-user-ID bit when the tracer could not have attached to
 * the result (LSM_UNSAFE_PTRACE in check_unsafe_exec / cap_bprm_creds_from_file):
 * the program runs with euid 1000. umk gave it euid 0 and left it traced,
 * so the unprivileged tracer could rewrite a root process's registers (here
 * it would turn a syscall into setresuid(0, 0, 0)). Needs guest root to
 * make the set-user-ID file; prints SKIP otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static const char *suid = "/tmp/red2_suid_ptrace";

static int status_ids(pid_t pid, const char *key, unsigned ids[4]) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  int n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strstr(buf, key);
  if (!p) return -1;
  return sscanf(p + strlen(key), " %u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4 ? 0 : -1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "victim")) {
    for (;;) {
      syscall(SYS_getppid);
      usleep(1000);
    }
  }
  if (getuid() != 0) {
    printf("SKIP: needs guest root\n");
    return 0;
  }
  if (install_setuid_copy(suid)) {
    perror("setup");
    return 1;
  }
  pid_t attacker = fork();
  if (attacker == 0) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    pid_t c = fork();
    if (c == 0) {
      ptrace(PTRACE_TRACEME, 0, 0, 0);
      execl(suid, suid, "victim", (char *)NULL);
      _exit(127);
    }
    int st;
    waitpid(c, &st, 0); /* the SIGTRAP after exec */
    if (!WIFSTOPPED(st)) {
      printf("no stop after exec (status %x)\n", st);
      _exit(3);
    }
    unsigned ids[4];
    if (status_ids(c, "Uid:", ids)) _exit(3);
    printf("after exec under a uid-1000 tracer: Uid %u %u %u %u\n", ids[0], ids[1], ids[2], ids[3]);
    int bad = ids[1] == 0;
    if (bad) {
      /* Show what that gives: the root tracee runs setresuid(0, 0, 0). */
      ptrace(PTRACE_SYSCALL, c, 0, 0);
      waitpid(c, &st, 0);
      struct user_regs_struct r;
      ptrace(PTRACE_GETREGS, c, 0, &r);
      r.orig_rax = SYS_setresuid;
      r.rdi = r.rsi = r.rdx = 0;
      ptrace(PTRACE_SETREGS, c, 0, &r);
      ptrace(PTRACE_SYSCALL, c, 0, 0);
      waitpid(c, &st, 0);
      if (!status_ids(c, "Uid:", ids))
        printf("the tracer made it call setresuid(0,0,0): Uid %u %u %u %u\n", ids[0], ids[1], ids[2], ids[3]);
    }
    ptrace(PTRACE_KILL, c, 0, 0);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    _exit(bad ? 1 : 0);
  }
  int st;
  waitpid(attacker, &st, 0);
  unlink(suid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: an unprivileged tracer kept control of a set-user-ID root program (status %x)\n", st);
  return 1;
}
