/* Built with -static: a fully static, non-PIE executable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  char *p = malloc(1 << 20); /* exercise brk/mmap in a static libc */
  memset(p, 'x', 1 << 20);
  printf("static hello argc=%d argv0_base=%s sum=%d\n", argc,
         strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0], p[12345] + p[(1 << 20) - 1]);
  free(p);
  return 3;
}
