/* HOSTILE (run only under umk): reads /proc/PID/maps of a child while the
 * child execs over and over. procfs used Process::mm(), a plain reference
 * to the MemoryManager that execve's set_mm() releases: maps_text() ran on
 * a freed address space and umk died with SIGSEGV (any unprivileged guest
 * process could do it). Passes when umk survives and the program ends. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 2 && !strcmp(argv[1], "exec")) {
    int n = atoi(argv[2]);
    if (n <= 0) return 0;
    char buf[16];
    snprintf(buf, sizeof buf, "%d", n - 1);
    execl("/proc/self/exe", argv[0], "exec", buf, (char *)NULL);
    return 1;
  }
  for (int round = 0; round < 3; round++) {
    pid_t c = fork();
    if (c == 0) {
      execl("/proc/self/exe", argv[0], "exec", "150", (char *)NULL);
      _exit(1);
    }
    char path[64], buf[65536];
    const char *files[] = { "maps", "status", "cmdline" };
    long reads = 0;
    for (;;) {
      snprintf(path, sizeof path, "/proc/%d/%s", c, files[reads % 3 == 0 ? 1 : reads % 7 == 0 ? 2 : 0]);
      int fd = open(path, O_RDONLY);
      if (fd >= 0) {
        if (read(fd, buf, sizeof buf) < 0) {}
        close(fd);
      }
      reads++;
      if (waitpid(c, NULL, WNOHANG) == c) break;
    }
    printf("round %d: %ld reads\n", round, reads);
  }
  printf("PASS\n");
  return 0;
}
