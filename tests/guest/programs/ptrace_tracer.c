/* A small tracer: PTRACE_TRACEME + exec, syscall stops with
 * TRACESYSGOOD counting write(2) calls of the tracee, a changed syscall
 * result, PEEKDATA/POKEDATA, single steps, fork events. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
static long shared_word = 1234;
int main(int argc, char** argv) {
  if (argc > 1) { /* the tracee */
    for (int i = 0; i < 3; i++) { char b[32]; int n = snprintf(b, sizeof b, "tracee %d\n", i); write(1, b, n); }
    long r = syscall(SYS_getppid); printf("tracee getppid=%ld\n", r); fflush(stdout);
    if (fork() == 0) _exit(5);
    int st; wait(&st);
    return 7; }
  setvbuf(stdout, NULL, _IONBF, 0);
  alarm(20);
  pid_t c = fork();
  if (c == 0) { ptrace(PTRACE_TRACEME, 0, 0, 0); execl(argv[0], argv[0], "child", (char*)0); _exit(127); }
  int st; waitpid(c, &st, 0);
  printf("exec stop: %d %s\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGTRAP ? "SIGTRAP" : "other");
  printf("setoptions: %ld\n", ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL));
  errno = 0; long w = ptrace(PTRACE_PEEKDATA, c, &shared_word, 0); printf("peek: %ld errno=%d\n", w, errno);
  int writes = 0, entering = 1, steps = 0, forks = 0; pid_t grandchild = 0;
  /* single-step a few instructions first */
  for (int i = 0; i < 5; i++) { ptrace(PTRACE_SINGLESTEP, c, 0, 0); waitpid(c, &st, 0); if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP) steps++; }
  printf("single steps: %d\n", steps);
  for (;;) {
    ptrace(PTRACE_SYSCALL, c, 0, 0);
    pid_t p = waitpid(-1, &st, __WALL);
    if (p == grandchild && grandchild) { if (WIFSTOPPED(st)) { ptrace(PTRACE_CONT, p, 0, WSTOPSIG(st) == SIGSTOP ? 0 : WSTOPSIG(st)); } if (!WIFEXITED(st)) { p = waitpid(c, &st, __WALL); } else continue; }
    if (WIFEXITED(st)) { printf("tracee exit %d\n", WEXITSTATUS(st)); break; }
    if (!WIFSTOPPED(st)) { printf("odd status %#x\n", st); break; }
    if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
      struct user_regs_struct regs; ptrace(PTRACE_GETREGS, c, 0, &regs);
      if (entering && regs.orig_rax == SYS_write) writes++;
      if (!entering && regs.orig_rax == SYS_getppid) { regs.rax = 4242; ptrace(PTRACE_SETREGS, c, 0, &regs); }
      entering = !entering;
    } else if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
      unsigned long msg; ptrace(PTRACE_GETEVENTMSG, c, 0, &msg); grandchild = (pid_t)msg; forks++;
      /* the auto-attached child starts with a SIGSTOP; let it run */
      int gst; waitpid(grandchild, &gst, __WALL);
      printf("grandchild first stop: %s\n", WIFSTOPPED(gst) && WSTOPSIG(gst) == SIGSTOP ? "SIGSTOP" : "other");
      ptrace(PTRACE_CONT, grandchild, 0, 0);
    } else {
      int sig = WSTOPSIG(st); ptrace(PTRACE_SYSCALL, c, 0, sig == SIGCHLD ? sig : 0); waitpid(c, &st, __WALL);
      if (WIFEXITED(st)) { printf("tracee exit %d\n", WEXITSTATUS(st)); break; }
      entering = !entering;
    }
  }
  printf("writes seen: %d forks: %d\n", writes, forks);
  return 0; }
