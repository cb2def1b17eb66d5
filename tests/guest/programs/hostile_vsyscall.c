/* HOSTILE (run only under umk): legacy vsyscall time() at the fixed address
 * 0xffffffffff600400 must work (emulated) and return a plausible time.
 * (Natively it depends on the host's vsyscall= setting.) */
#include <stdio.h>
#include <time.h>
int main(void) {
  time_t (*vtime)(time_t *) = (time_t (*)(time_t *))0xffffffffff600400UL;
  time_t t2 = 0;
  time_t t = vtime(&t2);
  time_t now = time(NULL);
  printf("vsyscall time=%ld stored=%ld libc=%ld\n", (long)t, (long)t2, (long)now);
  if (t < 1600000000L || t != t2 || now - t > 5 || t - now > 5) { printf("FAIL\n"); return 1; }
  printf("PASS\n");
  return 0;
}
