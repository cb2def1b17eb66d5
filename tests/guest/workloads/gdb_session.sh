#!/bin/bash
# gdb workload: builds a small program with -g and debugs it in batch mode:
# breakpoints, backtrace, finish, stepi, registers, hardware breakpoint,
# write/read/access watchpoints (debug registers), and the vDSO read from
# the inferior's memory. Prints gdb's output without process ids.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cat > prog.c <<'END'
#include <stdio.h>
int sq(int x) { return x * x; }
int main(void) {
  int s = 0;
  for (int i = 0; i < 5; i++)
    s += sq(i);
  printf("s=%d\n", s);
  return 0;
}
END
gcc -g -O0 -o prog prog.c
cat > session.gdb <<'END'
set pagination off
set startup-with-shell off
break sq
run
bt
print x
finish
stepi
info registers rip
delete
hbreak sq
continue
finish
delete
watch s
continue
delete
awatch s
continue
continue
delete
rwatch s
continue
delete
continue
END
gdb -q -batch -x session.gdb ./prog 2>&1 | sed -E 's/process [0-9]+/process N/; s/LWP [0-9]+/LWP N/'
