#!/bin/bash
# gcc + make workload: build and run a multi-file pthread C program with gcc,
# then a 4-object Makefile project with make -j2. Prints only the programs'
# output and one line per step.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# --- multi-file program: parallel sum with 4 threads and a mutex ---
cat > psum.h <<'END'
#ifndef PSUM_H
#define PSUM_H
#include <stdint.h>
#define NTHREADS 4
uint64_t range_sum(uint64_t lo, uint64_t hi);
uint64_t parallel_sum(uint64_t n);
#endif
END
cat > range.c <<'END'
#include "psum.h"
uint64_t range_sum(uint64_t lo, uint64_t hi) {
  uint64_t s = 0;
  for (uint64_t i = lo; i < hi; i++) s += i;
  return s;
}
END
cat > parallel.c <<'END'
#include <pthread.h>
#include "psum.h"
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;
static int finished;
struct job { uint64_t lo, hi; };
static void *worker(void *arg) {
  struct job *j = arg;
  uint64_t s = range_sum(j->lo, j->hi);
  pthread_mutex_lock(&mu);
  total += s;
  finished++;
  pthread_mutex_unlock(&mu);
  return 0;
}
uint64_t parallel_sum(uint64_t n) {
  pthread_t t[NTHREADS];
  struct job jobs[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    jobs[i].lo = n * i / NTHREADS;
    jobs[i].hi = n * (i + 1) / NTHREADS;
    if (pthread_create(&t[i], 0, worker, &jobs[i])) return 0;
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], 0);
  return finished == NTHREADS ? total : 0;
}
END
cat > main.c <<'END'
#include <inttypes.h>
#include <stdio.h>
#include "psum.h"
int main(void) {
  uint64_t n = 10000000;
  uint64_t p = parallel_sum(n), s = range_sum(0, n);
  printf("threads=%d parallel=%" PRIu64 " serial=%" PRIu64 " %s\n",
         NTHREADS, p, s, p == s ? "match" : "MISMATCH");
  return p == s ? 0 : 1;
}
END
gcc -O2 -Wall -c range.c
gcc -O2 -Wall -pthread -c parallel.c
gcc -O2 -Wall -c main.c
gcc -pthread -o psum main.o parallel.o range.o
echo "gcc: ok"
./psum
echo "psum: exit $?"

# --- Makefile project: 4 objects, built with make -j2 ---
mkdir proj && cd proj
cat > util.h <<'END'
int add(int a, int b);
int mul(int a, int b);
const char *greet(void);
END
printf '#include "util.h"\nint add(int a, int b) { return a + b; }\n' > add.c
printf '#include "util.h"\nint mul(int a, int b) { return a * b; }\n' > mul.c
printf '#include "util.h"\nconst char *greet(void) { return "hello from make"; }\n' > greet.c
cat > app.c <<'END'
#include <stdio.h>
#include "util.h"
int main(void) {
  printf("%s: add(2,3)=%d mul(6,7)=%d\n", greet(), add(2, 3), mul(6, 7));
  return 0;
}
END
cat > Makefile <<'END'
CC = gcc
CFLAGS = -O2 -Wall
OBJS = app.o add.o mul.o greet.o
app: $(OBJS)
	$(CC) -o $@ $(OBJS)
%.o: %.c util.h
	$(CC) $(CFLAGS) -c $<
clean:
	rm -f app $(OBJS)
.PHONY: clean
END
make -j2 >make.log 2>&1
echo "make: ok"
./app
echo "app: exit $?"
touch mul.c
make -j2 >make.log 2>&1
echo "rebuild after touch mul.c: $(grep -c '^gcc' make.log) commands, $(make -q app && echo up-to-date)"
make clean >/dev/null
echo "clean: $(ls *.o app 2>/dev/null | wc -l) outputs left"
