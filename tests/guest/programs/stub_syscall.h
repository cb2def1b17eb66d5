/* For the hostile programs: a `syscall` instruction (0f 05) inside umk's
 * stub text, which is readable to the guest; its code after the 64 KiB
 * of patched-site thunks lies at [0x7fff00011000, 0x7fff00013000). Prints "no syscall instruction found" (which the
 * scripts look for) and exits 2 when the layout has changed. */
#ifndef UMK_TEST_STUB_SYSCALL_H
#define UMK_TEST_STUB_SYSCALL_H

#include <stdio.h>
#include <stdlib.h>

static const unsigned char *find_stub_syscall(void) {
  const unsigned char *lo = (const unsigned char *)0x7fff00011000UL;
  const unsigned char *hi = (const unsigned char *)0x7fff00013000UL;
  for (const unsigned char *p = lo; p + 1 < hi; p++)
    if (p[0] == 0x0f && p[1] == 0x05)
      return p;
  printf("no syscall instruction found\n");
  exit(2);
}

#endif
