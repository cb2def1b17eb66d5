#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
static volatile int trapped_nr = -1, trapped_code = -1, trapped_errno = -1;
static void on_sys(int s, siginfo_t* si, void* u) { (void)s; (void)u; trapped_nr = si->si_syscall; trapped_code = si->si_code; trapped_errno = si->si_errno; }
/* A guest seccomp filter: ERRNO, TRAP (SIGSYS with si_code SYS_SECCOMP,
 * si_syscall, si_errno; rax keeps the syscall number), KILL_PROCESS in a
 * child (status SIGSYS), the no_new_privs rule, the checker. */
int main() {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_getppid, 0, 1),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO|42),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_uname, 0, 1),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_TRAP|7),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_getpriority, 0, 1),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof f[0], f };
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_sys; sa.sa_flags = SA_SIGINFO; sigaction(SIGSYS, &sa, 0);
  int nnp = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  printf("nnp: %d get=%d\n", nnp, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  long installed = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
  printf("install: %ld mode=%d\n", installed, prctl(PR_GET_SECCOMP));
  errno = 0; long r = syscall(SYS_getppid); printf("getppid: %ld errno=%d\n", r, errno);
  struct utsname u; errno = 0; r = syscall(SYS_uname, &u); printf("uname: %ld errno=%d trapped nr=%d code=%d errno=%d\n", r, errno, trapped_nr, trapped_code, trapped_errno);
  pid_t c = fork(); if (c == 0) { syscall(SYS_getpriority, 0, 0); _exit(0); }
  int st; waitpid(c, &st, 0); printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
  struct sock_filter bad[] = { BPF_STMT(BPF_LD|BPF_W|BPF_ABS, 65), BPF_STMT(BPF_RET|BPF_K, 0) };
  struct sock_fprog bp = { 2, bad }; errno = 0; r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bp);
  printf("bad: %ld %s\n", r, strerror(errno));
  unsigned act = SECCOMP_RET_LOG; printf("avail log: %ld\n", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act));
  return 0; }
