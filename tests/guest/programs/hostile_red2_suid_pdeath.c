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

static const char *suid = "/tmp/red2_suid_pdeath";

static int copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (in < 0 || out < 0) return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, n) != n) return -1;
  close(in);
  close(out);
  return 0;
}

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
  if (copy_file("/proc/self/exe", suid) || chown(suid, 0, 0) || chmod(suid, 04755)) {
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
