/* HOSTILE (run only under umk): a uid-1000 process shares its fd table
 * with a child (clone(CLONE_FILES)) and the child execs a set-user-ID root
 * program that opens a root-only file. Linux's execve unshares the fd table
 * (unshare_files in begin_new_exec), so the new program's descriptors are
 * its own. umk kept the table shared: the unprivileged parent read the
 * root-only file through the set-user-ID program's descriptor (it could
 * as well dup2 its own files over the program's). Needs guest root to make
 * the set-user-ID file and the secret; prints SKIP otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_test.h"

static const char *suid = "/tmp/red2_suid_files";
static const char *secret = "/tmp/red2_suid_files_secret";

static int child_exec(void *arg) {
  (void)arg;
  execl(suid, suid, "opener", (char *)NULL);
  _exit(127);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "opener")) {
    /* the set-user-ID root program: opens a root-only file, works a while */
    int fd = open(secret, O_RDONLY);
    (void)fd;
    sleep(2);
    return 0;
  }
  if (getuid() != 0) {
    printf("SKIP: needs guest root\n");
    return 0;
  }
  int s = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (s < 0 || write(s, "TOPSECRET", 9) != 9) {
    perror("secret");
    return 1;
  }
  close(s);
  if (install_setuid_copy(suid)) {
    perror("setup");
    return 1;
  }
  pid_t attacker = fork();
  if (attacker == 0) {
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(2);
    if (open(secret, O_RDONLY) >= 0) _exit(2);
    static char stack[1 << 16];
    pid_t c = clone(child_exec, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
    if (c < 0) _exit(2);
    int leaked = 0;
    for (int round = 0; round < 150 && !leaked; round++) {
      for (int fd = 3; fd < 64; fd++) {
        char buf[16] = { 0 };
        if (pread(fd, buf, 9, 0) == 9 && !memcmp(buf, "TOPSECRET", 9)) {
          printf("uid 1000 read the root-only file through fd %d of the shared table\n", fd);
          leaked = 1;
          break;
        }
      }
      usleep(10000);
    }
    waitpid(c, NULL, 0);
    _exit(leaked ? 1 : 0);
  }
  int st;
  waitpid(attacker, &st, 0);
  unlink(suid);
  unlink(secret);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("PASS\n");
    return 0;
  }
  printf("FAIL: execve kept a shared fd table (status %x)\n", st);
  return 1;
}
