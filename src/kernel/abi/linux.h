#pragma once

// Linux x86-64 uapi structs the kernel copies to and from guests. Our own
// definitions (not the host's), each checked against the ABI's size.

#include "lib/types.h"

namespace umk::abi {

// O_LARGEFILE as the kernel has it (userspace headers make it 0 on x86-64);
// Linux sets it on every open(2) of a 64-bit process (force_o_largefile).
inline constexpr int kOLargefile = 0100000;

struct Timespec {
    i64 tv_sec;
    i64 tv_nsec;
};
static_assert(sizeof(Timespec) == 16);

struct Timeval {
    i64 tv_sec;
    i64 tv_usec;
};

struct Stat { // struct stat, arch/x86/include/uapi/asm/stat.h
    u64 st_dev;
    u64 st_ino;
    u64 st_nlink;
    u32 st_mode;
    u32 st_uid;
    u32 st_gid;
    u32 pad0;
    u64 st_rdev;
    i64 st_size;
    i64 st_blksize;
    i64 st_blocks;
    u64 st_atime_sec, st_atime_nsec;
    u64 st_mtime_sec, st_mtime_nsec;
    u64 st_ctime_sec, st_ctime_nsec;
    i64 reserved[3];
};
static_assert(sizeof(Stat) == 144);

struct StatxTimestamp {
    i64 tv_sec;
    u32 tv_nsec;
    i32 reserved;
};

struct Statx { // include/uapi/linux/stat.h
    u32 stx_mask;
    u32 stx_blksize;
    u64 stx_attributes;
    u32 stx_nlink;
    u32 stx_uid;
    u32 stx_gid;
    u16 stx_mode;
    u16 spare0;
    u64 stx_ino;
    u64 stx_size;
    u64 stx_blocks;
    u64 stx_attributes_mask;
    StatxTimestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
    u32 stx_rdev_major, stx_rdev_minor;
    u32 stx_dev_major, stx_dev_minor;
    u64 spare2[14];
};
static_assert(sizeof(Statx) == 256);

struct Iovec {
    u64 base;
    u64 len;
};
static_assert(sizeof(Iovec) == 16);

struct Utsname {
    char sysname[65];
    char nodename[65];
    char release[65];
    char version[65];
    char machine[65];
    char domainname[65];
};
static_assert(sizeof(Utsname) == 390);

struct Rlimit {
    u64 cur;
    u64 max;
};

struct Sysinfo {
    i64 uptime;
    u64 loads[3];
    u64 totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    u16 procs;
    u16 pad;
    u32 pad2;
    u64 totalhigh, freehigh;
    u32 mem_unit;
    char f[4];
};
static_assert(sizeof(Sysinfo) == 112);

struct Winsize {
    u16 ws_row, ws_col, ws_xpixel, ws_ypixel;
};

struct KernelTermios { // struct termios of the TCGETS ioctl (not glibc's)
    u32 c_iflag, c_oflag, c_cflag, c_lflag;
    u8 c_line;
    u8 c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

struct Sigaction { // struct sigaction of rt_sigaction(2)
    u64 handler;
    u64 flags;
    u64 restorer;
    u64 mask;
};

struct Stack { // stack_t
    u64 ss_sp;
    i32 ss_flags;
    i32 pad;
    u64 ss_size;
};

struct Tms {
    i64 tms_utime, tms_stime, tms_cutime, tms_cstime;
};

struct Rusage {
    Timeval ru_utime, ru_stime;
    i64 rest[14];
};
static_assert(sizeof(Rusage) == 144);

struct OpenHow {
    u64 flags, mode, resolve;
};

} // namespace umk::abi

namespace umk::abi {

struct Siginfo { // siginfo_t, 128 bytes
    i32 si_signo;
    i32 si_errno;
    i32 si_code;
    i32 pad0;
    union {
        struct {
            i32 pid;
            u32 uid;
            u64 value; // sigval (rt_sigqueueinfo, timers)
        } kill;
        struct {
            u64 addr;
        } fault;
        struct {
            i32 tid; // the timer's id
            i32 overrun;
            u64 value;
        } timer;
        struct {
            u64 call_addr;
            i32 syscall;
            u32 arch;
        } sys; // SIGSYS from seccomp
        struct {
            i32 pid;
            u32 uid;
            i32 status;
            i32 pad;
            i64 utime, stime; // clock ticks
        } chld;
        u8 bytes[112];
    };
};
static_assert(sizeof(Siginfo) == 128);

struct Sigcontext { // struct sigcontext, arch/x86/include/uapi/asm/sigcontext.h
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    u16 cs, gs, fs, ss;
    u64 err, trapno, oldmask, cr2;
    u64 fpstate;
    u64 reserved1[8];
};
static_assert(sizeof(Sigcontext) == 256);

struct Ucontext { // struct ucontext, arch/x86/include/asm/ucontext.h
    u64 uc_flags;
    u64 uc_link;
    Stack uc_stack;
    Sigcontext uc_mcontext;
    u64 uc_sigmask;
};
static_assert(sizeof(Ucontext) == 304);

struct RtSigframe { // arch/x86/include/asm/sigframe.h, x86-64
    u64 pretcode;
    Ucontext uc;
    Siginfo info;
};
static_assert(sizeof(RtSigframe) == 440);

struct Itimerval {
    Timeval it_interval;
    Timeval it_value;
};

} // namespace umk::abi
