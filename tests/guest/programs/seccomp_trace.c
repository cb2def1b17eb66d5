/* SECCOMP_RET_TRACE: without a tracer the call fails with ENOSYS; with
 * one that set PTRACE_O_TRACESECCOMP it stops with PTRACE_EVENT_SECCOMP
 * (the filter's data as the event message and in GET_SYSCALL_INFO), and
 * the tracer may let the call run, skip it with its own result, or turn
 * it into another call. Compared with Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void install(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x42),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x43),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getuid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x44),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof f[0], f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
    perror("seccomp");
    _exit(1);
  }
}

int main(void) {
  /* No tracer: ENOSYS. */
  pid_t pid = fork();
  if (pid == 0) {
    install();
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("untraced: %ld errno %d\n", r, errno);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);

  pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    install();
    pid_t parent = (pid_t)syscall(SYS_getppid);
    long skipped = syscall(SYS_getpid);
    long changed = syscall(SYS_getuid);
    printf("traced: getppid is the parent %d, getpid skipped with %ld, getuid became getppid %d\n",
           parent == getppid(), skipped, changed == getppid());
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP);
  ptrace(PTRACE_CONT, pid, 0, 0);
  for (int i = 0; i < 6; i++) {
    waitpid(pid, &status, 0);
    if (!WIFSTOPPED(status)) break;
    if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
      ptrace(PTRACE_CONT, pid, 0, 0);
      continue;
    }
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
    struct __ptrace_syscall_info info = { 0 };
    long size = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
    printf("stop: msg %#lx, info size %ld op %d ret_data %#x nr-matches %d\n", msg, size, info.op,
           info.seccomp.ret_data, (long)info.seccomp.nr == (msg == 0x42 ? __NR_getppid : msg == 0x43 ? __NR_getpid : __NR_getuid));
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, 0, &regs);
    printf("      rax at the stop: %lld\n", (long long)regs.rax);
    if (msg == 0x43) {
      regs.orig_rax = -1;
      regs.rax = 1234;
      ptrace(PTRACE_SETREGS, pid, 0, &regs);
    } else if (msg == 0x44) {
      regs.orig_rax = __NR_getppid;
      ptrace(PTRACE_SETREGS, pid, 0, &regs);
    }
    ptrace(PTRACE_CONT, pid, 0, 0);
  }
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
