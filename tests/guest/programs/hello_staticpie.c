/* Built with -static-pie: self-relocating static executable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *table[] = {"alpha", "beta", "gamma"}; /* needs relocation */
int main(int argc, char **argv) {
  (void)argv;
  char *p = strdup("static-pie");
  printf("%s argc=%d %s %s %s\n", p, argc, table[0], table[1], table[2]);
  free(p);
  return 4;
}
