/* Guest seccomp filters see ia32 calls (int $0x80) as Linux shows them:
 * arch AUDIT_ARCH_I386, the call number in eax, the arguments in ebx...
 * A filter that refuses other architectures refuses them, TRAP reports
 * them, KILL_PROCESS kills. Compared with Linux (the calls the filters let
 * through are not made: umk runs no ia32 calls). */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long int80(long nr, long a) {
  long r = nr;
  __asm__ volatile("int $0x80" : "+a"(r) : "b"(a) : "memory");
  return r;
}

static void install(struct sock_filter *f, unsigned short n) {
  struct sock_fprog prog = { n, f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
    perror("seccomp");
    _exit(1);
  }
}

static void on_sys(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  printf("SIGSYS: code %d arch %#x syscall %d errno %d\n", si->si_code, si->si_arch, si->si_syscall, si->si_errno);
}

static void run(const char *name, void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("%s: exited %d code %d, signaled %d sig %d\n", name, WIFEXITED(status), WIFEXITED(status) ? WEXITSTATUS(status) : 0,
         WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void errno_other_arch(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13),
  };
  install(f, 4);
  printf("int $0x80 getpid: %ld\n", int80(20, 0));
}

static void trap_ia32_getpid(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 4),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x1234, 0, 2),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 20, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 7),
  };
  install(f, 8);
  long r = int80(20, 0x1234);
  printf("after the trap: eax %ld\n", r);
}

static void kill_other_arch(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  install(f, 4);
  int80(20, 0);
  printf("still alive\n");
}

int main(void) {
  run("errno", errno_other_arch);
  run("trap", trap_ia32_getpid);
  run("kill", kill_other_arch);
  return 0;
}
