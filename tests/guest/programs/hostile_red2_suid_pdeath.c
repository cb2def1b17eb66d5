/* HOSTILE (run only under umk): a uid-1000 process sets a parent-death
 * signal (PR_SET_PDEATHSIG) and execs a set-user-ID root program. Linux
 * clears the parent-death signal on such an exec (begin_new_exec: "make
 * sure parent cannot signal privileged process") and whenever the
 * credentials change (commit_creds). umk kept it, so an unprivileged
 * parent could have a signal sent to a root process by dying. Needs
 * guest root to make the set-user-ID file; prints SKIP otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static const char *suid = "/tmp/red2_suid_pdeath";

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "report")) {
    int sig = -1;
    prctl(PR_GET_PDEATHSIG, &sig);
    printf("set-user-ID program: euid %d, parent-death signal %d\n", (int)geteuid(), sig);
    return geteuid() == 0 && sig != 0 ? 1 : 0;
  }
  if (getuid() != 0) {
    printf("SKIP: needs guest root\n");
    return 0;
  }
  if (install_setuid_copy(suid)) {
    perror("setup");
    return 1;
  }
  pid_t c = fork();
  if (c == 0) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    execl(suid, suid, "report", (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  unlink(suid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: a set-user-ID exec kept the caller's parent-death signal (status %x)\n", st);
  return 1;
}
