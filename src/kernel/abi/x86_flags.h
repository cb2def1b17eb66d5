#pragma once

#include "lib/types.h"

namespace umk::abi {

// RFLAGS bits: the arithmetic flags, and trap (TF), direction (DF) and
// resume (RF).
constexpr u64 kFlagCarry = 1 << 0, kFlagParity = 1 << 2, kFlagAdjust = 1 << 4, kFlagZero = 1 << 6,
              kFlagSign = 1 << 7, kFlagOverflow = 1 << 11;
constexpr u64 kFlagTrap = 1 << 8, kFlagDirection = 1 << 10, kFlagResume = 1 << 16;
constexpr u64 kArithmeticFlags = kFlagCarry | kFlagParity | kFlagAdjust | kFlagZero | kFlagSign | kFlagOverflow;

// RFLAGS after `cmp $b, a` (64-bit): the arithmetic flags of a - b, the
// others as they were. (A read site's `cmp $-4096,%rax` the kernel runs
// for a thread that faulted there; docs/design.md, "Syscall-site
// patching".)
constexpr u64 compare_flags(u64 rflags, u64 a, u64 b)
{
    u64 r = a - b;
    u64 flags = rflags & ~kArithmeticFlags;
    if (a < b)
        flags |= kFlagCarry;
    if (__builtin_parity(static_cast<unsigned>(r & 0xff)) == 0)
        flags |= kFlagParity;
    if ((a ^ b ^ r) & 0x10)
        flags |= kFlagAdjust;
    if (r == 0)
        flags |= kFlagZero;
    if (r >> 63)
        flags |= kFlagSign;
    if (((a ^ b) & (a ^ r)) >> 63)
        flags |= kFlagOverflow;
    return flags;
}

} // namespace umk::abi
