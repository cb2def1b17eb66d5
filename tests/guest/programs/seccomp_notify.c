/* SECCOMP_RET_USER_NOTIF: a filter with a listener fd sends mkdir and
 * getppid to the supervisor (the parent, which installed the filter before
 * forking and never makes those calls). The supervisor answers with an
 * error, a value, "continue", an fd added to the caller (ADDFD with SEND);
 * checks ID_VALID, poll, a caller interrupted by a signal (its call starts
 * again as a new notification), and what callers get once the listener is
 * closed. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int install(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof f[0], f };
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static int listener;

static int recv_one(struct seccomp_notif *n) {
  memset(n, 0, sizeof *n);
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n);
}

static int answer(__u64 id, __s64 val, __s32 error, __u32 flags) {
  struct seccomp_notif_resp r = { id, val, error, flags };
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r) == 0 ? 0 : -errno;
}

static int id_valid(__u64 id) { return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 ? 0 : -errno; }

static void on_usr1(int sig) { (void)sig; }

static void child(void) {
  struct sigaction sa = { 0 };
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  errno = 0;
  int r = mkdir("/tmp/umk-notify-dir", 0700);
  printf("child: mkdir answered with an error: %d errno %d\n", r, errno);
  printf("child: getppid answered with a value: %ld\n", (long)getppid());
  r = mkdir("/tmp/umk-notify-dir", 0700);
  struct stat st;
  printf("child: mkdir continued: %d, exists %d\n", r, stat("/tmp/umk-notify-dir", &st) == 0);
  rmdir("/tmp/umk-notify-dir");
  long fd = syscall(SYS_getppid);
  printf("child: getppid answered with an added fd: %s\n", fd > 2 ? "yes" : "no");
  if (fd > 2 && write((int)fd, "hello", 5) != 5) printf("child: write failed\n");
  printf("child: interrupted call, restarted, answered: %ld\n", (long)getppid());
  errno = 0;
  r = mkdir("/tmp/umk-notify-dir", 0700);
  printf("child: after the listener closed: %d errno %d\n", r, errno);
  fflush(stdout);
  _exit(0);
}

int main(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("no_new_privs"); return 1; }
  listener = install();
  if (listener < 0) { perror("seccomp"); return 1; }
  printf("listener is cloexec: %d\n", (fcntl(listener, F_GETFD) & FD_CLOEXEC) != 0);
  struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_fprog p2 = { 1, allow };
  errno = 0;
  long second = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p2);
  printf("second listener: %ld errno %d\n", second, errno);
  struct pollfd pfd = { listener, POLLIN | POLLOUT, 0 };
  printf("poll before any call: %d\n", poll(&pfd, 1, 0));
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    close(listener);
    child();
  }
  close(pipefd[1]);

  struct seccomp_notif n;
  pfd.events = POLLIN;
  int ready = poll(&pfd, 1, -1);
  printf("poll sees a call: %d revents %#x\n", ready, pfd.revents);
  struct seccomp_notif dirty;
  memset(&dirty, 0, sizeof dirty);
  dirty.flags = 1;
  errno = 0;
  int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &dirty);
  printf("RECV into a dirty buffer: %d errno %d\n", r, errno);
  recv_one(&n);
  printf("1: nr is mkdir %d, pid is the child %d, arg mode %#llx\n", n.data.nr == __NR_mkdir, n.pid == (__u32)pid,
         (unsigned long long)n.data.args[1]);
  int valid = id_valid(n.id);
  int bad_continue = answer(n.id, 1, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  int bad_flags = answer(n.id, 0, 0, 8);
  printf("   id valid %d, continue with a value %d, unknown flag %d\n", valid, bad_continue, bad_flags);
  int sent = answer(n.id, 0, -EPERM, 0);
  int again = answer(n.id, 0, -EPERM, 0);
  /* A second answer fails: EINPROGRESS while the caller has not woken
   * yet, ENOENT once it has (timing, on Linux too). */
  printf("   send %d, again fails %d, id valid now %d\n", sent, again == -EINPROGRESS || again == -ENOENT, id_valid(n.id));

  recv_one(&n);
  sent = answer(n.id, 4242, 0, 0);
  printf("2: nr is getppid %d, send %d\n", n.data.nr == __NR_getppid, sent);

  recv_one(&n);
  printf("3: continue %d\n", answer(n.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE));

  recv_one(&n);
  struct seccomp_notif_addfd add = { n.id, SECCOMP_ADDFD_FLAG_SEND, (__u32)pipefd[1], 0, 0 };
  int w = pipe(pipefd + 0) == 0 ? 0 : -1; /* a fresh pipe: the child writes to its write end */
  add.srcfd = (__u32)pipefd[1];
  int added = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  close(pipefd[1]);
  char buf[8] = { 0 };
  ssize_t got = read(pipefd[0], buf, 5);
  printf("4: addfd+send %s (%d), the child wrote: %s\n", added > 2 ? "gave an fd" : "failed", w, got == 5 ? buf : "?");

  recv_one(&n);
  __u64 first = n.id;
  kill(pid, SIGUSR1);
  recv_one(&n);
  valid = id_valid(first);
  int old_send = answer(first, 1, 0, 0);
  sent = answer(n.id, 77, 0, 0);
  printf("5: restarted as a new notification %d, old id valid %d, old send %d, send %d\n", n.id != first, valid,
         old_send, sent);

  close(listener);
  int status;
  waitpid(pid, &status, 0);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
