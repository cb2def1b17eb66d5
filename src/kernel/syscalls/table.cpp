#include "kernel/syscalls/table.h"

#include "kernel/syscalls/handlers.h"
#include "kernel/syscalls/signatures.h"

#include <sys/syscall.h>

#include <array>

namespace umk::kernel {

namespace {

struct Row {
    u64 nr;
    SyscallEntry entry;
};

template <auto F>
constexpr Row supported(u64 nr)
{
    return { nr, { &Typed<F>::call, Support::Supported, "" } };
}

template <auto F>
constexpr Row partial(u64 nr, const char* missing)
{
    return { nr, { &Typed<F>::call, Support::Partial, missing } };
}

constexpr Row kRows[] = {
    // read_write.cpp
    supported<sys_read>(SYS_read),
    supported<sys_write>(SYS_write),
    supported<sys_pread64>(SYS_pread64),
    supported<sys_pwrite64>(SYS_pwrite64),
    supported<sys_sendfile>(SYS_sendfile),
    partial<sys_copy_file_range>(SYS_copy_file_range, "copies through the kernel (no reflinks)"),
    partial<sys_splice>(SYS_splice, "copies (no page moves)"),
    partial<sys_tee>(SYS_tee, "copies (no page references)"),
    partial<sys_vmsplice>(SYS_vmsplice, "copies (no page gifts)"),
    supported<sys_fadvise64>(SYS_fadvise64),
    supported<sys_readv>(SYS_readv),
    supported<sys_writev>(SYS_writev),
    supported<sys_preadv>(SYS_preadv),
    supported<sys_pwritev>(SYS_pwritev),
    partial<sys_preadv2>(SYS_preadv2, "RWF_NOWAIT on regular files, pipe(2) ends and unix sockets (EOPNOTSUPP elsewhere); RWF_ATOMIC and RWF_DONTCACHE EOPNOTSUPP"),
    partial<sys_pwritev2>(SYS_pwritev2, "RWF_NOWAIT on regular files, pipe(2) ends and unix sockets (EOPNOTSUPP elsewhere); RWF_ATOMIC and RWF_DONTCACHE EOPNOTSUPP"),
    supported<sys_lseek>(SYS_lseek),
    // open.cpp
    supported<sys_open>(SYS_open),
    supported<sys_openat>(SYS_openat),
    supported<sys_creat>(SYS_creat),
    supported<sys_close>(SYS_close),
    partial<sys_close_range>(SYS_close_range, "CLOSE_RANGE_UNSHARE does not unshare"),
    // stat.cpp
    supported<sys_fstat>(SYS_fstat),
    supported<sys_stat>(SYS_stat),
    supported<sys_lstat>(SYS_lstat),
    supported<sys_newfstatat>(SYS_newfstatat),
    supported<sys_statx>(SYS_statx),
    supported<sys_readlink>(SYS_readlink),
    supported<sys_readlinkat>(SYS_readlinkat),
    supported<sys_access>(SYS_access),
    supported<sys_faccessat>(SYS_faccessat),
    supported<sys_faccessat2>(SYS_faccessat2),
    partial<sys_statfs>(SYS_statfs, "sizes: volumes the host's, disk images their file system's, tmpfs its size= (else half the memory), the root overlay the memory"),
    partial<sys_fstatfs>(SYS_fstatfs, "sizes: volumes the host's, disk images their file system's, tmpfs its size= (else half the memory), the root overlay the memory"),
    // namei.cpp
    supported<sys_mkdir>(SYS_mkdir),
    supported<sys_mkdirat>(SYS_mkdirat),
    supported<sys_mknod>(SYS_mknod),
    supported<sys_chroot>(SYS_chroot),
    supported<sys_sethostname>(SYS_sethostname),
    partial<sys_unshare>(SYS_unshare, "no new namespaces; CLONE_FS/CLONE_FILES only in a process of one thread"),
    supported<sys_setdomainname>(SYS_setdomainname),
    partial<sys_ioprio_set>(SYS_ioprio_set, "kept per process, not per thread; no I/O is scheduled by it"),
    partial<sys_ioprio_get>(SYS_ioprio_get, "kept per process, not per thread"),
    partial<sys_set_mempolicy>(SYS_set_mempolicy, "one NUMA node; no mbind for per-mapping policies"),
    partial<sys_get_mempolicy>(SYS_get_mempolicy, "one NUMA node; no mbind for per-mapping policies"),
    supported<sys_openat2>(SYS_openat2),
    partial<sys_mount>(SYS_mount, "new tmpfs (size=, nr_inodes= enforced), proc, sysfs and devpts (the guest's one pty set) mounts; bind mounts, recursive with MS_REC; ro, nosuid, nodev, noexec and atime flags per mount (remount, remount of a bind); move; propagation changes are no-ops (one mount namespace, no peers); new data options of a remount are ignored"),
    partial<sys_umount2>(SYS_umount2, "files open under an unmounted mount keep working, as with MNT_DETACH"),
    supported<sys_pivot_root>(SYS_pivot_root),
    supported<sys_utime>(SYS_utime),
    supported<sys_utimes>(SYS_utimes),
    supported<sys_futimesat>(SYS_futimesat),
    supported<sys_memfd_create>(SYS_memfd_create),
    supported<sys_fallocate>(SYS_fallocate),
    supported<sys_mknodat>(SYS_mknodat),
    supported<sys_unlink>(SYS_unlink),
    supported<sys_unlinkat>(SYS_unlinkat),
    supported<sys_rmdir>(SYS_rmdir),
    supported<sys_rename>(SYS_rename),
    supported<sys_renameat>(SYS_renameat),
    partial<sys_renameat2>(SYS_renameat2, "RENAME_EXCHANGE, RENAME_WHITEOUT"),
    supported<sys_symlink>(SYS_symlink),
    supported<sys_symlinkat>(SYS_symlinkat),
    supported<sys_link>(SYS_link),
    supported<sys_linkat>(SYS_linkat),
    supported<sys_chmod>(SYS_chmod),
    supported<sys_fchmod>(SYS_fchmod),
    supported<sys_fchmodat>(SYS_fchmodat),
    supported<sys_fchmodat2>(452),
    supported<sys_chown>(SYS_chown),
    supported<sys_lchown>(SYS_lchown),
    supported<sys_fchown>(SYS_fchown),
    supported<sys_fchownat>(SYS_fchownat),
    supported<sys_truncate>(SYS_truncate),
    supported<sys_ftruncate>(SYS_ftruncate),
    supported<sys_utimensat>(SYS_utimensat),
    supported<sys_msync>(SYS_msync),
    supported<sys_fsync>(SYS_fsync),
    supported<sys_fdatasync>(SYS_fdatasync),
    supported<sys_sync>(SYS_sync),
    supported<sys_syncfs>(SYS_syncfs),
    // dir.cpp
    supported<sys_getdents64>(SYS_getdents64),
    supported<sys_getcwd>(SYS_getcwd),
    supported<sys_chdir>(SYS_chdir),
    supported<sys_fchdir>(SYS_fchdir),
    // fcntl.cpp
    supported<sys_dup>(SYS_dup),
    supported<sys_dup2>(SYS_dup2),
    supported<sys_dup3>(SYS_dup3),
    partial<sys_fcntl>(SYS_fcntl, "no leases, seals, F_NOTIFY, owner/signals"),
    supported<sys_flock>(SYS_flock),
    partial<sys_ioctl>(SYS_ioctl, "terminal allowlist (TCGETS/TCSETS*, TIOCGWINSZ/TIOCSWINSZ, FIONREAD), FIOCLEX/FIONCLEX/FIONBIO"),
    // mmap.cpp
    supported<sys_brk>(SYS_brk),
    partial<sys_mmap>(SYS_mmap, "MAP_HUGETLB; MAP_GROWSDOWN stacks do not grow"),
    supported<sys_munmap>(SYS_munmap),
    supported<sys_mprotect>(SYS_mprotect),
    partial<sys_mremap>(SYS_mremap, "MREMAP_DONTUNMAP"),
    supported<sys_madvise>(SYS_madvise),
    // process.cpp
    supported<sys_getpid>(SYS_getpid),
    supported<sys_gettid>(SYS_gettid),
    supported<sys_getppid>(SYS_getppid),
    supported<sys_getuid>(SYS_getuid),
    supported<sys_geteuid>(SYS_geteuid),
    supported<sys_getgid>(SYS_getgid),
    supported<sys_getegid>(SYS_getegid),
    supported<sys_getresuid>(SYS_getresuid),
    supported<sys_getresgid>(SYS_getresgid),
    supported<sys_getgroups>(SYS_getgroups),
    supported<sys_getpgrp>(SYS_getpgrp),
    supported<sys_getpgid>(SYS_getpgid),
    supported<sys_getsid>(SYS_getsid),
    supported<sys_uname>(SYS_uname),
    partial<sys_exit>(SYS_exit, "robust futex lists are not walked"),
    partial<sys_clone>(SYS_clone, "no namespaces; no CLONE_SIGHAND without CLONE_THREAD, no CLONE_FS without CLONE_THREAD or CLONE_VFORK"),
    partial<sys_clone3>(SYS_clone3, "as clone; no set_tid, no CLONE_INTO_CGROUP"),
    supported<sys_fork>(SYS_fork),
    partial<sys_vfork>(SYS_vfork, "the child runs in a copy of the parent's memory"),
    partial<sys_wait4>(SYS_wait4, "rusage has CPU times only"),
    partial<sys_waitid>(SYS_waitid, "rusage has CPU times only"),
    partial<sys_getrusage>(SYS_getrusage, "CPU times only (host time of the guest's processes; all user time while running)"),
    supported<sys_times>(SYS_times),
    supported<sys_setpgid>(SYS_setpgid),
    // cred.cpp
    supported<sys_setuid>(SYS_setuid),
    supported<sys_setgid>(SYS_setgid),
    supported<sys_setreuid>(SYS_setreuid),
    supported<sys_setregid>(SYS_setregid),
    supported<sys_setresuid>(SYS_setresuid),
    supported<sys_setresgid>(SYS_setresgid),
    supported<sys_setfsuid>(SYS_setfsuid),
    supported<sys_setfsgid>(SYS_setfsgid),
    supported<sys_setgroups>(SYS_setgroups),
    partial<sys_capget>(SYS_capget, "sets are per process, not per thread"),
    partial<sys_capset>(SYS_capset, "sets are per process, not per thread"),
    // pidfd.cpp
    supported<sys_pidfd_open>(SYS_pidfd_open),
    supported<sys_pidfd_send_signal>(SYS_pidfd_send_signal),
    supported<sys_pidfd_getfd>(SYS_pidfd_getfd),
    // seccomp.cpp
    partial<sys_seccomp>(SYS_seccomp, "no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
    // time.cpp: POSIX timers
    partial<sys_timer_create>(SYS_timer_create, "CPU-time clocks count the whole process and are checked every 10 ms; no SIGEV_THREAD (glibc uses SIGEV_THREAD_ID)"),
    supported<sys_timer_settime>(SYS_timer_settime),
    supported<sys_timer_gettime>(SYS_timer_gettime),
    supported<sys_timer_getoverrun>(SYS_timer_getoverrun),
    supported<sys_timer_delete>(SYS_timer_delete),
    // ptrace.cpp
    partial<sys_ptrace>(SYS_ptrace, "no PTRACE_SEIZE/INTERRUPT/LISTEN"),
    supported<sys_process_vm_readv>(SYS_process_vm_readv),
    supported<sys_process_vm_writev>(SYS_process_vm_writev),
    // poll.cpp
    supported<sys_poll>(SYS_poll),
    supported<sys_ppoll>(SYS_ppoll),
    supported<sys_epoll_create>(SYS_epoll_create),
    supported<sys_epoll_create1>(SYS_epoll_create1),
    supported<sys_epoll_ctl>(SYS_epoll_ctl),
    supported<sys_epoll_wait>(SYS_epoll_wait),
    supported<sys_epoll_pwait>(SYS_epoll_pwait),
    supported<sys_epoll_pwait2>(SYS_epoll_pwait2),
    supported<sys_eventfd>(SYS_eventfd),
    partial<sys_inotify_init>(SYS_inotify_init, "changes made inside the guest only"),
    partial<sys_inotify_init1>(SYS_inotify_init1, "changes made inside the guest only"),
    supported<sys_inotify_add_watch>(SYS_inotify_add_watch),
    supported<sys_inotify_rm_watch>(SYS_inotify_rm_watch),
    partial<sys_timerfd_create>(SYS_timerfd_create, "REALTIME, MONOTONIC, BOOTTIME clocks"),
    partial<sys_timerfd_settime>(SYS_timerfd_settime, "TFD_TIMER_CANCEL_ON_SET never cancels (guests cannot set the clock)"),
    supported<sys_timerfd_gettime>(SYS_timerfd_gettime),
    supported<sys_signalfd>(SYS_signalfd),
    supported<sys_signalfd4>(SYS_signalfd4),
    partial<sys_socket>(SYS_socket, "AF_UNIX only (other families: EAFNOSUPPORT)"),
    partial<sys_socketpair>(SYS_socketpair, "AF_UNIX only"),
    supported<sys_bind>(SYS_bind),
    supported<sys_listen>(SYS_listen),
    supported<sys_connect>(SYS_connect),
    supported<sys_accept>(SYS_accept),
    supported<sys_accept4>(SYS_accept4),
    supported<sys_getsockname>(SYS_getsockname),
    supported<sys_getpeername>(SYS_getpeername),
    supported<sys_shutdown>(SYS_shutdown),
    supported<sys_sendto>(SYS_sendto),
    supported<sys_recvfrom>(SYS_recvfrom),
    partial<sys_sendmsg>(SYS_sendmsg, "no MSG_OOB"),
    partial<sys_recvmsg>(SYS_recvmsg, "no MSG_OOB or MSG_ERRQUEUE"),
    partial<sys_setsockopt>(SYS_setsockopt, "SOL_SOCKET: SO_PASSCRED, SO_SNDBUF, SO_RCVBUF, SO_REUSEADDR, SO_KEEPALIVE"),
    partial<sys_getsockopt>(SYS_getsockopt, "SOL_SOCKET: type, error, buffers, SO_PASSCRED, SO_PEERCRED, SO_ACCEPTCONN, domain, protocol"),
    supported<sys_eventfd2>(SYS_eventfd2),
    supported<sys_select>(SYS_select),
    supported<sys_pselect6>(SYS_pselect6),
    // pipe.cpp
    supported<sys_pipe>(SYS_pipe),
    partial<sys_pipe2>(SYS_pipe2, "no O_DIRECT packet mode"),
    supported<sys_setsid>(SYS_setsid),
    supported<sys_exit_group>(SYS_exit_group),
    supported<sys_set_tid_address>(SYS_set_tid_address),
    supported<sys_set_robust_list>(SYS_set_robust_list),
    supported<sys_get_robust_list>(SYS_get_robust_list),
    supported<sys_rseq>(SYS_rseq), // ENOSYS by design: glibc falls back
    supported<sys_arch_prctl>(SYS_arch_prctl),
    supported<sys_prlimit64>(SYS_prlimit64),
    supported<sys_getrlimit>(SYS_getrlimit),
    supported<sys_setrlimit>(SYS_setrlimit),
    supported<sys_getrandom>(SYS_getrandom),
    partial<sys_sysinfo>(SYS_sysinfo, "load and memory figures are the host's"),
    // sched.cpp
    supported<sys_sched_getaffinity>(SYS_sched_getaffinity),
    supported<sys_sched_setaffinity>(SYS_sched_setaffinity),
    supported<sys_sched_yield>(SYS_sched_yield),
    supported<sys_getpriority>(SYS_getpriority),
    partial<sys_setpriority>(SYS_setpriority, "recorded; the host threads keep their host nice value"),
    partial<sys_sched_getscheduler>(SYS_sched_getscheduler, "SCHED_OTHER, BATCH or IDLE as set"),
    partial<sys_sched_setscheduler>(SYS_sched_setscheduler, "real-time policies give EPERM; others recorded"),
    supported<sys_sched_getparam>(SYS_sched_getparam),
    supported<sys_sched_setparam>(SYS_sched_setparam),
    supported<sys_sched_get_priority_max>(SYS_sched_get_priority_max),
    supported<sys_sched_get_priority_min>(SYS_sched_get_priority_min),
    supported<sys_sched_rr_get_interval>(SYS_sched_rr_get_interval),
    partial<sys_getcpu>(SYS_getcpu, "the CPU of umk's kernel thread for the caller (the vDSO's getcpu is exact)"),
    partial<sys_membarrier>(SYS_membarrier, "no SYNC_CORE or RSEQ commands"),
    partial<sys_personality>(SYS_personality, "PER_LINUX only"),
    supported<sys_umask>(SYS_umask),
    partial<sys_prctl>(SYS_prctl, "names, dumpable, no_new_privs, seccomp, pdeath signal, capabilities and securebits, child subreaper, THP disable only"),
    partial<sys_execve>(SYS_execve, "no file capabilities"),
    partial<sys_execveat>(SYS_execveat, "no file capabilities"),
    // time.cpp
    partial<sys_clock_gettime>(SYS_clock_gettime, "CPU-time clocks report the kernel process's"),
    supported<sys_clock_getres>(SYS_clock_getres),
    supported<sys_gettimeofday>(SYS_gettimeofday),
    supported<sys_time>(SYS_time),
    supported<sys_nanosleep>(SYS_nanosleep),
    supported<sys_clock_nanosleep>(SYS_clock_nanosleep),
    partial<sys_setitimer>(SYS_setitimer, "ITIMER_VIRTUAL and ITIMER_PROF count all CPU time of the process, checked every 10 ms"),
    supported<sys_getitimer>(SYS_getitimer),
    supported<sys_alarm>(SYS_alarm),
    // signal.cpp
    supported<sys_rt_sigaction>(SYS_rt_sigaction),
    supported<sys_rt_sigprocmask>(SYS_rt_sigprocmask),
    supported<sys_rt_sigpending>(SYS_rt_sigpending),
    supported<sys_rt_sigsuspend>(SYS_rt_sigsuspend),
    supported<sys_pause>(SYS_pause),
    supported<sys_rt_sigtimedwait>(SYS_rt_sigtimedwait),
    supported<sys_rt_sigreturn>(SYS_rt_sigreturn),
    supported<sys_sigaltstack>(SYS_sigaltstack),
    supported<sys_kill>(SYS_kill),
    supported<sys_tgkill>(SYS_tgkill),
    supported<sys_tkill>(SYS_tkill),
    supported<sys_rt_sigqueueinfo>(SYS_rt_sigqueueinfo),
    // xattr.cpp
    partial<sys_getxattr>(SYS_getxattr, "user, trusted, security namespaces; no POSIX ACLs"),
    partial<sys_lgetxattr>(SYS_lgetxattr, "as getxattr"),
    partial<sys_fgetxattr>(SYS_fgetxattr, "as getxattr"),
    partial<sys_setxattr>(SYS_setxattr, "user, trusted, security namespaces; no POSIX ACLs"),
    partial<sys_lsetxattr>(SYS_lsetxattr, "as setxattr"),
    partial<sys_fsetxattr>(SYS_fsetxattr, "as setxattr"),
    supported<sys_listxattr>(SYS_listxattr),
    supported<sys_llistxattr>(SYS_llistxattr),
    supported<sys_flistxattr>(SYS_flistxattr),
    supported<sys_removexattr>(SYS_removexattr),
    supported<sys_lremovexattr>(SYS_lremovexattr),
    supported<sys_fremovexattr>(SYS_fremovexattr),
    // futex.cpp
    partial<sys_futex>(SYS_futex, "no FUTEX_WAIT_REQUEUE_PI / CMP_REQUEUE_PI; PI futexes do not boost priorities"),
};

// Calls whose results go to guest memory at their end, after everything
// else they do: a failed copy there makes them EFAULT and undoes nothing,
// so the copy may come later (SyscallEntry::outputs_last).
constexpr u64 kOutputsLast[] = {
    SYS_read, SYS_pread64, SYS_stat, SYS_fstat, SYS_lstat, SYS_newfstatat, SYS_statx, SYS_statfs, SYS_fstatfs,
    SYS_getdents, SYS_getdents64, SYS_readlink, SYS_readlinkat, SYS_getcwd, SYS_uname, SYS_sysinfo, SYS_getrusage,
    SYS_times, SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday, SYS_getrlimit, SYS_prlimit64,
    SYS_getresuid, SYS_getresgid, SYS_getgroups, SYS_sched_getaffinity, SYS_getxattr, SYS_lgetxattr,
    SYS_fgetxattr, SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_sigaltstack, SYS_getsockname, SYS_getpeername,
    SYS_getsockopt, SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_epoll_wait, SYS_epoll_pwait,
    SYS_epoll_pwait2, SYS_wait4, SYS_waitid, SYS_getrandom,
};

struct Table {
    std::array<SyscallEntry, strace::kSyscallCount> entries {};
    Table()
    {
        for (const Row& r : kRows)
            entries[r.nr] = r.entry;
        for (u64 nr : kOutputsLast)
            entries[nr].outputs_last = true;
    }
};

const Table& table()
{
    static const Table t;
    return t;
}

} // namespace

const SyscallEntry& syscall_entry(u64 nr)
{
    static const SyscallEntry kNone {};
    if (nr >= strace::kSyscallCount)
        return kNone;
    return table().entries[nr];
}

std::string_view syscall_name(u64 nr)
{
    const strace::Signature* s = strace::signature(nr);
    return s ? s->name : "";
}

u64 syscall_count() { return strace::kSyscallCount; }

} // namespace umk::kernel
