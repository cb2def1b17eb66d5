/* For the hostile programs: a `syscall` instruction (0f 05) inside umk's
 * stub text, which is readable to the guest: the one in umk_clone_thread
 * (`syscall; test %rax,%rax; je ...; pop %r12; ret`), so that a call that
 * comes back returns to the caller. Its code after the 64 KiB of
 * patched-site thunks lies at [0x7fff00011000, 0x7fff00013000). Prints "no
 * syscall instruction found" (which the scripts look for) and exits 2 when
 * the layout has changed. */
#ifndef UMK_TEST_STUB_SYSCALL_H
#define UMK_TEST_STUB_SYSCALL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char *find_stub_syscall(void) {
  static const unsigned char gadget[] = { 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x74, 0x03, 0x41, 0x5c, 0xc3 };
  const unsigned char *lo = (const unsigned char *)0x7fff00011000UL;
  const unsigned char *hi = (const unsigned char *)0x7fff00013000UL;
  for (const unsigned char *p = lo; p + sizeof gadget <= hi; p++)
    if (memcmp(p, gadget, sizeof gadget) == 0)
      return p;
  printf("no syscall instruction found\n");
  exit(2);
}

#endif
