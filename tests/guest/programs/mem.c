/* mmap (anonymous + file), mprotect, munmap, brk. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }
#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s errno=%d\n", __LINE__, #x, errno); return 1; } } while (0)

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  printf("page=%ld\n", pg);

  /* anonymous: zero-filled, writable */
  size_t len = 16 * pg;
  unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  CHECK(((uintptr_t)p & (pg - 1)) == 0);
  int zero = 1;
  for (size_t i = 0; i < len; i++) if (p[i]) zero = 0;
  printf("anon zero=%d\n", zero);
  for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 7);
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++) sum += p[i];
  printf("anon sum=%u\n", sum);

  /* mprotect: read-only then back to RW; bad args */
  CHECK(mprotect(p, pg, PROT_READ) == 0);
  CHECK(mprotect(p, pg, PROT_READ | PROT_WRITE) == 0);
  p[0] = 42;
  show("mprotect unaligned", (long)(mprotect(p + 1, pg, PROT_READ)));

  /* munmap middle page, then mmap fixed-noreplace into the hole */
  CHECK(munmap(p + 4 * pg, pg) == 0);
  void *q = mmap(p + 4 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("noreplace into hole ok=%d\n", q == (void *)(p + 4 * pg));
  q = mmap(p + 5 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("noreplace over mapping: failed=%d errno=%d\n", q == MAP_FAILED, errno);
  printf("p[4*pg]=%d p[5*pg]=%d\n", p[4 * pg], p[5 * pg]);
  show("munmap unaligned", (long)(munmap(p + 1, pg)));
  show("munmap len0", (long)(munmap(p, 0)));
  CHECK(munmap(p, len) == 0);
  errno = 0;
  show("mmap len0", (long)(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0));

  /* file mapping, private write does not reach the file; shared does */
  char path[] = "/tmp/umk-mem-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  char data[8192];
  for (size_t i = 0; i < sizeof data; i++) data[i] = 'a' + i % 26;
  CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
  char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(m != MAP_FAILED);
  printf("file map: %.10s ... %.5s\n", m, m + 8187);
  m[0] = 'Z';
  char c;
  CHECK(pread(fd, &c, 1, 0) == 1);
  printf("private write visible in file: %d\n", c == 'Z');
  CHECK(munmap(m, 8192) == 0);
  m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
  CHECK(m != MAP_FAILED);
  printf("offset map first=%c\n", m[0]);
  m[1] = '!';
  show("msync", (long)msync(m, 4096, MS_SYNC));
  CHECK(pread(fd, &c, 1, 4097) == 1);
  printf("shared write visible in file: %c\n", c);
  CHECK(munmap(m, 4096) == 0);
  show("map unaligned offset", (long)(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED ? -1 : 0));
  close(fd);
  unlink(path);
  show("map bad fd", (long)(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED ? -1 : 0));

  /* brk */
  void *b0 = (void *)syscall(SYS_brk, 0);
  void *b1 = (void *)syscall(SYS_brk, (char *)b0 + 3 * pg + 5);
  printf("brk grew=%ld\n", (long)((char *)b1 - (char *)b0));
  memset(b0, 0x5a, 3 * pg + 5);
  void *b2 = (void *)syscall(SYS_brk, b0);
  printf("brk shrink back=%d\n", b2 == b0);
  char *s = malloc(100000);
  CHECK(s);
  memset(s, 1, 100000);
  free(s);
  return 0;
}
