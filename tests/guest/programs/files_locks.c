/* File locks between processes: flock (per open file description),
 * POSIX record locks (per process; split ranges; F_GETLK; released by the
 * close of any fd of the file; F_SETLKW waits; EDEADLK), OFD locks.
 * Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH "/tmp/umk-locks-test"

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
  return fcntl(fd, cmd, &fl) == 0 ? 0 : -errno;
}

static void getlk(const char *what, int fd, int cmd, short type, off_t start, off_t len, pid_t owner) {
  struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
  if (fcntl(fd, cmd, &fl) != 0) { printf("%s: error %d\n", what, errno); return; }
  if (fl.l_type == F_UNLCK) printf("%s: unlocked\n", what);
  else printf("%s: %s lock at %ld len %ld, pid %s\n", what, fl.l_type == F_WRLCK ? "write" : "read", (long)fl.l_start,
              (long)fl.l_len, fl.l_pid == owner ? "the holder" : fl.l_pid == -1 ? "-1" : "other");
}

/* Runs `fn` in a child and waits for it. */
static void in_child(void (*fn)(void)) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) { fn(); fflush(stdout); _exit(0); }
  waitpid(p, NULL, 0);
}

static pid_t parent;
static int shared_fd;

static void child_flock(void) {
  int own = open(PATH, O_RDWR);
  printf("child, own open, LOCK_EX|LOCK_NB: %d\n", flock(own, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno);
  printf("child, inherited fd, LOCK_EX|LOCK_NB: %d\n", flock(shared_fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno);
  printf("child, own open, LOCK_SH|LOCK_NB: %d\n", flock(own, LOCK_SH | LOCK_NB) == 0 ? 0 : -errno);
}

static void child_posix(void) {
  int fd = open(PATH, O_RDWR);
  getlk("child GETLK at 5", fd, F_GETLK, F_WRLCK, 5, 1, parent);
  getlk("child GETLK at 50 (inside the unlocked hole)", fd, F_GETLK, F_WRLCK, 50, 1, parent);
  getlk("child GETLK at 70", fd, F_GETLK, F_RDLCK, 70, 1, parent);
  printf("child SETLK write at 5: %d\n", setlk(fd, F_SETLK, F_WRLCK, 5, 1));
  printf("child SETLK write at 50: %d\n", setlk(fd, F_SETLK, F_WRLCK, 50, 1));
  printf("child SETLK read at 200 (past the end): %d\n", setlk(fd, F_SETLK, F_RDLCK, 200, 0));
}

static void child_after_close(void) {
  int fd = open(PATH, O_RDWR);
  printf("child after the parent closed another fd: %d\n", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
}

int main(void) {
  parent = getpid();
  int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "0123456789", 10) != 10) return 1;
  shared_fd = fd;

  printf("parent LOCK_EX: %d\n", flock(fd, LOCK_EX));
  in_child(child_flock);
  printf("parent LOCK_UN: %d\n", flock(fd, LOCK_UN));
  printf("LOCK_SH|LOCK_EX: %d\n", flock(fd, LOCK_SH | LOCK_EX) == 0 ? 0 : -errno);
  printf("LOCK_MAND (ignored by Linux): %d\n", flock(fd, 32 | LOCK_SH) == 0 ? 0 : -errno);

  printf("parent SETLK write 0..99: %d\n", setlk(fd, F_SETLK, F_WRLCK, 0, 100));
  printf("parent unlocks 40..59: %d\n", setlk(fd, F_SETLK, F_UNLCK, 40, 20));
  printf("parent read lock 60..79 (downgrade): %d\n", setlk(fd, F_SETLK, F_RDLCK, 60, 20));
  getlk("parent's own GETLK", fd, F_GETLK, F_WRLCK, 0, 1, parent);
  in_child(child_posix);
  int other = open(PATH, O_RDONLY);
  close(other); /* releases every POSIX lock of ours on the file */
  in_child(child_after_close);

  /* F_SETLKW waits; a lock cycle is EDEADLK. */
  int sync[2];
  if (pipe(sync)) return 1;
  printf("parent SETLK write at 0: %d\n", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    int cfd = open(PATH, O_RDWR);
    setlk(cfd, F_SETLK, F_WRLCK, 1, 1);
    (void)!write(sync[1], "r", 1);
    int r = setlk(cfd, F_SETLKW, F_WRLCK, 0, 1); /* waits for the parent */
    printf("child SETLKW at 0 after the wait: %d\n", r);
    fflush(stdout);
    _exit(0);
  }
  char b;
  (void)!read(sync[0], &b, 1);
  usleep(100000); /* the child is waiting by now */
  printf("parent SETLKW at 1 (the child waits for us): %d\n", setlk(fd, F_SETLKW, F_WRLCK, 1, 1));
  printf("parent unlocks 0: %d\n", setlk(fd, F_SETLK, F_UNLCK, 0, 1));
  waitpid(c, NULL, 0);

  /* OFD locks conflict with POSIX locks of others, and report pid -1. */
  int ofd1 = open(PATH, O_RDWR), ofd2 = open(PATH, O_RDWR);
  printf("OFD write 0..9 on one open: %d\n", setlk(ofd1, F_OFD_SETLK, F_WRLCK, 0, 10));
  printf("OFD write at 5 on another open: %d\n", setlk(ofd2, F_OFD_SETLK, F_WRLCK, 5, 1));
  getlk("OFD GETLK from the other open", ofd2, F_OFD_GETLK, F_WRLCK, 5, 1, parent);
  printf("POSIX write at 5 (ours, other owner): %d\n", setlk(fd, F_SETLK, F_WRLCK, 5, 1));
  close(ofd1);
  printf("after the OFD's file is closed: %d\n", setlk(ofd2, F_OFD_SETLK, F_WRLCK, 5, 1));
  int ro = open(PATH, O_RDONLY);
  printf("write lock on a read-only fd: %d\n", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
  struct flock bad = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 5 };
  printf("OFD with a pid: %d\n", fcntl(ofd2, F_OFD_SETLK, &bad) == 0 ? 0 : -errno);
  unlink(PATH);
  return 0;
}
