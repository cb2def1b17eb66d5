#include "kernel/syscalls/signatures.h"

#include "lib/kresult.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string_view>
#include <utility>

namespace umk::strace {

namespace {

using enum Arg;

// --- The table ----------------------------------------------------------------

struct Entry {
    u64 nr;
    Signature signature;
};

constexpr Entry call(u64 nr, const char* name, std::initializer_list<Arg> args = {})
{
    Entry entry { nr, { name, static_cast<u8>(args.size()), {} } };
    std::ranges::copy(args, entry.signature.args);
    return entry;
}

// Linux 6.18, arch/x86/entry/syscalls/syscall_64.tbl, in number order.
constexpr Entry kEntries[] = {
    call(0, "read", { Fd, OutBuf, Size }),
    call(1, "write", { Fd, InBuf, Size }),
    call(2, "open", { Path, OpenFlags, Mode }),
    call(3, "close", { Fd }),
    call(4, "stat", { Path, Struct }),
    call(5, "fstat", { Fd, Struct }),
    call(6, "lstat", { Path, Struct }),
    call(7, "poll", { Struct, UInt, Int }),
    call(8, "lseek", { Fd, Int, Whence }),
    call(9, "mmap", { Ptr, Size, MmapProt, MmapFlags, Fd, Hex }),
    call(10, "mprotect", { Ptr, Size, MmapProt }),
    call(11, "munmap", { Ptr, Size }),
    call(12, "brk", { Ptr }),
    call(13, "rt_sigaction", { Signal, Struct, Struct, Size }),
    call(14, "rt_sigprocmask", { SigHow, Struct, Struct, Size }),
    call(15, "rt_sigreturn"),
    call(16, "ioctl", { Fd, IoctlReq, Hex }),
    call(17, "pread64", { Fd, OutBuf, Size, Int }),
    call(18, "pwrite64", { Fd, InBuf, Size, Int }),
    call(19, "readv", { Fd, Struct, Int }),
    call(20, "writev", { Fd, Struct, Int }),
    call(21, "access", { Path, AccessMode }),
    call(22, "pipe", { Struct }),
    call(23, "select", { Int, Struct, Struct, Struct, Struct }),
    call(24, "sched_yield"),
    call(25, "mremap", { Ptr, Size, Size, Hex, Ptr }),
    call(26, "msync", { Ptr, Size, Hex }),
    call(27, "mincore", { Ptr, Size, Struct }),
    call(28, "madvise", { Ptr, Size, Int }),
    call(29, "shmget", { Hex, Size, Hex }),
    call(30, "shmat", { Int, Ptr, Hex }),
    call(31, "shmctl", { Int, Int, Struct }),
    call(32, "dup", { Fd }),
    call(33, "dup2", { Fd, Fd }),
    call(34, "pause"),
    call(35, "nanosleep", { Struct, Struct }),
    call(36, "getitimer", { Int, Struct }),
    call(37, "alarm", { UInt }),
    call(38, "setitimer", { Int, Struct, Struct }),
    call(39, "getpid"),
    call(40, "sendfile", { Fd, Fd, Struct, Size }),
    call(41, "socket", { Int, Int, Int }),
    call(42, "connect", { Fd, Struct, UInt }),
    call(43, "accept", { Fd, Struct, Struct }),
    call(44, "sendto", { Fd, InBuf, Size, Hex, Struct, UInt }),
    call(45, "recvfrom", { Fd, OutBuf, Size, Hex, Struct, Struct }),
    call(46, "sendmsg", { Fd, Struct, Hex }),
    call(47, "recvmsg", { Fd, Struct, Hex }),
    call(48, "shutdown", { Fd, Int }),
    call(49, "bind", { Fd, Struct, UInt }),
    call(50, "listen", { Fd, Int }),
    call(51, "getsockname", { Fd, Struct, Struct }),
    call(52, "getpeername", { Fd, Struct, Struct }),
    call(53, "socketpair", { Int, Int, Int, Struct }),
    call(54, "setsockopt", { Fd, Int, Int, Struct, UInt }),
    call(55, "getsockopt", { Fd, Int, Int, Struct, Struct }),
    call(56, "clone", { CloneFlags, Ptr, Ptr, Ptr, Hex }), // x86-64 order: flags, stack, parent_tid, child_tid, tls
    call(57, "fork"),
    call(58, "vfork"),
    call(59, "execve", { Path, StrArray, StrArray }),
    call(60, "exit", { Int }),
    call(61, "wait4", { Int, Struct, Hex, Struct }),
    call(62, "kill", { Int, Signal }),
    call(63, "uname", { Struct }),
    call(64, "semget", { Hex, Int, Hex }),
    call(65, "semop", { Int, Struct, Size }),
    call(66, "semctl", { Int, Int, Int, Hex }),
    call(67, "shmdt", { Ptr }),
    call(68, "msgget", { Hex, Hex }),
    call(69, "msgsnd", { Int, Struct, Size, Hex }),
    call(70, "msgrcv", { Int, Struct, Size, Int, Hex }),
    call(71, "msgctl", { Int, Int, Struct }),
    call(72, "fcntl", { Fd, FcntlCmd, Hex }),
    call(73, "flock", { Fd, Int }),
    call(74, "fsync", { Fd }),
    call(75, "fdatasync", { Fd }),
    call(76, "truncate", { Path, Int }),
    call(77, "ftruncate", { Fd, Int }),
    call(78, "getdents", { Fd, Struct, Size }),
    call(79, "getcwd", { OutBuf, Size }),
    call(80, "chdir", { Path }),
    call(81, "fchdir", { Fd }),
    call(82, "rename", { Path, Path }),
    call(83, "mkdir", { Path, Mode }),
    call(84, "rmdir", { Path }),
    call(85, "creat", { Path, Mode }),
    call(86, "link", { Path, Path }),
    call(87, "unlink", { Path }),
    call(88, "symlink", { Path, Path }),
    call(89, "readlink", { Path, OutBuf, Size }),
    call(90, "chmod", { Path, Mode }),
    call(91, "fchmod", { Fd, Mode }),
    call(92, "chown", { Path, Int, Int }),
    call(93, "fchown", { Fd, Int, Int }),
    call(94, "lchown", { Path, Int, Int }),
    call(95, "umask", { Mode }),
    call(96, "gettimeofday", { Struct, Struct }),
    call(97, "getrlimit", { Int, Struct }),
    call(98, "getrusage", { Int, Struct }),
    call(99, "sysinfo", { Struct }),
    call(100, "times", { Struct }),
    call(101, "ptrace", { Int, Int, Ptr, Ptr }),
    call(102, "getuid"),
    call(103, "syslog", { Int, Ptr, Int }),
    call(104, "getgid"),
    call(105, "setuid", { Int }),
    call(106, "setgid", { Int }),
    call(107, "geteuid"),
    call(108, "getegid"),
    call(109, "setpgid", { Int, Int }),
    call(110, "getppid"),
    call(111, "getpgrp"),
    call(112, "setsid"),
    call(113, "setreuid", { Int, Int }),
    call(114, "setregid", { Int, Int }),
    call(115, "getgroups", { Int, Struct }),
    call(116, "setgroups", { Int, Struct }),
    call(117, "setresuid", { Int, Int, Int }),
    call(118, "getresuid", { Struct, Struct, Struct }),
    call(119, "setresgid", { Int, Int, Int }),
    call(120, "getresgid", { Struct, Struct, Struct }),
    call(121, "getpgid", { Int }),
    call(122, "setfsuid", { Int }),
    call(123, "setfsgid", { Int }),
    call(124, "getsid", { Int }),
    call(125, "capget", { Struct, Struct }),
    call(126, "capset", { Struct, Struct }),
    call(127, "rt_sigpending", { Struct, Size }),
    call(128, "rt_sigtimedwait", { Struct, Struct, Struct, Size }),
    call(129, "rt_sigqueueinfo", { Int, Signal, Struct }),
    call(130, "rt_sigsuspend", { Struct, Size }),
    call(131, "sigaltstack", { Struct, Struct }),
    call(132, "utime", { Path, Struct }),
    call(133, "mknod", { Path, Mode, Hex }),
    call(134, "uselib", { Path }),
    call(135, "personality", { Hex }),
    call(136, "ustat", { Hex, Struct }),
    call(137, "statfs", { Path, Struct }),
    call(138, "fstatfs", { Fd, Struct }),
    call(139, "sysfs", { Int, Hex, Hex }),
    call(140, "getpriority", { Int, Int }),
    call(141, "setpriority", { Int, Int, Int }),
    call(142, "sched_setparam", { Int, Struct }),
    call(143, "sched_getparam", { Int, Struct }),
    call(144, "sched_setscheduler", { Int, Int, Struct }),
    call(145, "sched_getscheduler", { Int }),
    call(146, "sched_get_priority_max", { Int }),
    call(147, "sched_get_priority_min", { Int }),
    call(148, "sched_rr_get_interval", { Int, Struct }),
    call(149, "mlock", { Ptr, Size }),
    call(150, "munlock", { Ptr, Size }),
    call(151, "mlockall", { Hex }),
    call(152, "munlockall"),
    call(153, "vhangup"),
    call(154, "modify_ldt", { Int, Ptr, Size }),
    call(155, "pivot_root", { Path, Path }),
    call(156, "_sysctl", { Struct }),
    call(157, "prctl", { PrctlOption, Hex, Hex, Hex, Hex }),
    call(158, "arch_prctl", { ArchPrctlCode, Hex }),
    call(159, "adjtimex", { Struct }),
    call(160, "setrlimit", { Int, Struct }),
    call(161, "chroot", { Path }),
    call(162, "sync"),
    call(163, "acct", { Path }),
    call(164, "settimeofday", { Struct, Struct }),
    call(165, "mount", { Path, Path, Path, Hex, Ptr }),
    call(166, "umount2", { Path, Hex }),
    call(167, "swapon", { Path, Hex }),
    call(168, "swapoff", { Path }),
    call(169, "reboot", { Hex, Hex, Hex, Ptr }),
    call(170, "sethostname", { InBuf, Size }),
    call(171, "setdomainname", { InBuf, Size }),
    call(172, "iopl", { Int }),
    call(173, "ioperm", { UInt, UInt, Int }),
    call(174, "create_module", { Path, Size }),
    call(175, "init_module", { InBuf, Size, Path }),
    call(176, "delete_module", { Path, Hex }),
    call(177, "get_kernel_syms", { Struct }),
    call(178, "query_module", { Path, Int, Ptr, Size, Struct }),
    call(179, "quotactl", { Hex, Path, Int, Ptr }),
    call(180, "nfsservctl", { Int, Struct, Struct }),
    call(181, "getpmsg", { Hex, Hex, Hex, Hex, Hex }),
    call(182, "putpmsg", { Hex, Hex, Hex, Hex, Hex }),
    call(183, "afs_syscall", { Hex, Hex, Hex, Hex, Hex }),
    call(184, "tuxcall", { Hex, Hex, Hex }),
    call(185, "security", { Hex, Hex, Hex }),
    call(186, "gettid"),
    call(187, "readahead", { Fd, Int, Size }),
    call(188, "setxattr", { Path, Path, InBuf, Size, Hex }),
    call(189, "lsetxattr", { Path, Path, InBuf, Size, Hex }),
    call(190, "fsetxattr", { Fd, Path, InBuf, Size, Hex }),
    call(191, "getxattr", { Path, Path, OutBuf, Size }),
    call(192, "lgetxattr", { Path, Path, OutBuf, Size }),
    call(193, "fgetxattr", { Fd, Path, OutBuf, Size }),
    call(194, "listxattr", { Path, OutBuf, Size }),
    call(195, "llistxattr", { Path, OutBuf, Size }),
    call(196, "flistxattr", { Fd, OutBuf, Size }),
    call(197, "removexattr", { Path, Path }),
    call(198, "lremovexattr", { Path, Path }),
    call(199, "fremovexattr", { Fd, Path }),
    call(200, "tkill", { Int, Signal }),
    call(201, "time", { Struct }),
    call(202, "futex", { Ptr, FutexOp, Int, Struct, Ptr, Hex }),
    call(203, "sched_setaffinity", { Int, Size, Struct }),
    call(204, "sched_getaffinity", { Int, Size, Struct }),
    call(205, "set_thread_area", { Struct }),
    call(206, "io_setup", { UInt, Struct }),
    call(207, "io_destroy", { Hex }),
    call(208, "io_getevents", { Hex, Int, Int, Struct, Struct }),
    call(209, "io_submit", { Hex, Int, Struct }),
    call(210, "io_cancel", { Hex, Struct, Struct }),
    call(211, "get_thread_area", { Struct }),
    call(212, "lookup_dcookie", { Hex, Ptr, Size }),
    call(213, "epoll_create", { Int }),
    call(214, "epoll_ctl_old", { Fd, Int, Fd, Struct }),
    call(215, "epoll_wait_old", { Fd, Struct, Int, Int }),
    call(216, "remap_file_pages", { Ptr, Size, MmapProt, Size, MmapFlags }),
    call(217, "getdents64", { Fd, Struct, Size }),
    call(218, "set_tid_address", { Ptr }),
    call(219, "restart_syscall"),
    call(220, "semtimedop", { Int, Struct, Size, Struct }),
    call(221, "fadvise64", { Fd, Int, Size, Int }),
    call(222, "timer_create", { ClockId, Struct, Struct }),
    call(223, "timer_settime", { Int, Hex, Struct, Struct }),
    call(224, "timer_gettime", { Int, Struct }),
    call(225, "timer_getoverrun", { Int }),
    call(226, "timer_delete", { Int }),
    call(227, "clock_settime", { ClockId, Struct }),
    call(228, "clock_gettime", { ClockId, Struct }),
    call(229, "clock_getres", { ClockId, Struct }),
    call(230, "clock_nanosleep", { ClockId, Hex, Struct, Struct }),
    call(231, "exit_group", { Int }),
    call(232, "epoll_wait", { Fd, Struct, Int, Int }),
    call(233, "epoll_ctl", { Fd, Int, Fd, Struct }),
    call(234, "tgkill", { Int, Int, Signal }),
    call(235, "utimes", { Path, Struct }),
    call(236, "vserver", { Hex, Hex, Hex, Hex, Hex }),
    call(237, "mbind", { Ptr, Size, Int, Struct, UInt, Hex }),
    call(238, "set_mempolicy", { Int, Struct, UInt }),
    call(239, "get_mempolicy", { Struct, Struct, UInt, Ptr, Hex }),
    call(240, "mq_open", { Path, OpenFlags, Mode, Struct }),
    call(241, "mq_unlink", { Path }),
    call(242, "mq_timedsend", { Fd, InBuf, Size, UInt, Struct }),
    call(243, "mq_timedreceive", { Fd, OutBuf, Size, Struct, Struct }),
    call(244, "mq_notify", { Fd, Struct }),
    call(245, "mq_getsetattr", { Fd, Struct, Struct }),
    call(246, "kexec_load", { Hex, UInt, Struct, Hex }),
    call(247, "waitid", { Int, Int, Struct, Hex, Struct }),
    call(248, "add_key", { Path, Path, InBuf, Size, Int }),
    call(249, "request_key", { Path, Path, Path, Int }),
    call(250, "keyctl", { Int, Hex, Hex, Hex, Hex }),
    call(251, "ioprio_set", { Int, Int, Int }),
    call(252, "ioprio_get", { Int, Int }),
    call(253, "inotify_init"),
    call(254, "inotify_add_watch", { Fd, Path, Hex }),
    call(255, "inotify_rm_watch", { Fd, Int }),
    call(256, "migrate_pages", { Int, UInt, Struct, Struct }),
    call(257, "openat", { DirFd, Path, OpenFlags, Mode }),
    call(258, "mkdirat", { DirFd, Path, Mode }),
    call(259, "mknodat", { DirFd, Path, Mode, Hex }),
    call(260, "fchownat", { DirFd, Path, Int, Int, AtFlags }),
    call(261, "futimesat", { DirFd, Path, Struct }),
    call(262, "newfstatat", { DirFd, Path, Struct, AtFlags }),
    call(263, "unlinkat", { DirFd, Path, AtFlags }),
    call(264, "renameat", { DirFd, Path, DirFd, Path }),
    call(265, "linkat", { DirFd, Path, DirFd, Path, AtFlags }),
    call(266, "symlinkat", { Path, DirFd, Path }),
    call(267, "readlinkat", { DirFd, Path, OutBuf, Size }),
    call(268, "fchmodat", { DirFd, Path, Mode }),
    call(269, "faccessat", { DirFd, Path, AccessMode }),
    call(270, "pselect6", { Int, Struct, Struct, Struct, Struct, Struct }),
    call(271, "ppoll", { Struct, UInt, Struct, Struct, Size }),
    call(272, "unshare", { CloneFlags }),
    call(273, "set_robust_list", { Ptr, Size }),
    call(274, "get_robust_list", { Int, Struct, Struct }),
    call(275, "splice", { Fd, Struct, Fd, Struct, Size, Hex }),
    call(276, "tee", { Fd, Fd, Size, Hex }),
    call(277, "sync_file_range", { Fd, Int, Int, Hex }),
    call(278, "vmsplice", { Fd, Struct, Size, Hex }),
    call(279, "move_pages", { Int, UInt, Struct, Struct, Struct, Hex }),
    call(280, "utimensat", { DirFd, Path, Struct, AtFlags }),
    call(281, "epoll_pwait", { Fd, Struct, Int, Int, Struct, Size }),
    call(282, "signalfd", { Fd, Struct, Size }),
    call(283, "timerfd_create", { ClockId, Hex }),
    call(284, "eventfd", { UInt }),
    call(285, "fallocate", { Fd, Hex, Int, Int }),
    call(286, "timerfd_settime", { Fd, Hex, Struct, Struct }),
    call(287, "timerfd_gettime", { Fd, Struct }),
    call(288, "accept4", { Fd, Struct, Struct, Hex }),
    call(289, "signalfd4", { Fd, Struct, Size, Hex }),
    call(290, "eventfd2", { UInt, Hex }),
    call(291, "epoll_create1", { Hex }),
    call(292, "dup3", { Fd, Fd, Hex }),
    call(293, "pipe2", { Struct, Hex }),
    call(294, "inotify_init1", { Hex }),
    call(295, "preadv", { Fd, Struct, Int, Int }),
    call(296, "pwritev", { Fd, Struct, Int, Int }),
    call(297, "rt_tgsigqueueinfo", { Int, Int, Signal, Struct }),
    call(298, "perf_event_open", { Struct, Int, Int, Fd, Hex }),
    call(299, "recvmmsg", { Fd, Struct, UInt, Hex, Struct }),
    call(300, "fanotify_init", { Hex, Hex }),
    call(301, "fanotify_mark", { Fd, Hex, Hex, DirFd, Path }),
    call(302, "prlimit64", { Int, Int, Struct, Struct }),
    call(303, "name_to_handle_at", { DirFd, Path, Struct, Struct, AtFlags }),
    call(304, "open_by_handle_at", { Fd, Struct, OpenFlags }),
    call(305, "clock_adjtime", { ClockId, Struct }),
    call(306, "syncfs", { Fd }),
    call(307, "sendmmsg", { Fd, Struct, UInt, Hex }),
    call(308, "setns", { Fd, CloneFlags }),
    call(309, "getcpu", { Struct, Struct, Struct }),
    call(310, "process_vm_readv", { Int, Struct, UInt, Struct, UInt, Hex }),
    call(311, "process_vm_writev", { Int, Struct, UInt, Struct, UInt, Hex }),
    call(312, "kcmp", { Int, Int, Int, Hex, Hex }),
    call(313, "finit_module", { Fd, Path, Hex }),
    call(314, "sched_setattr", { Int, Struct, Hex }),
    call(315, "sched_getattr", { Int, Struct, UInt, Hex }),
    call(316, "renameat2", { DirFd, Path, DirFd, Path, Hex }),
    call(317, "seccomp", { UInt, Hex, Struct }),
    call(318, "getrandom", { OutBuf, Size, Hex }),
    call(319, "memfd_create", { Path, Hex }),
    call(320, "kexec_file_load", { Fd, Fd, Size, Path, Hex }),
    call(321, "bpf", { Int, Struct, UInt }),
    call(322, "execveat", { DirFd, Path, StrArray, StrArray, AtFlags }),
    call(323, "userfaultfd", { Hex }),
    call(324, "membarrier", { Int, Hex, Int }),
    call(325, "mlock2", { Ptr, Size, Hex }),
    call(326, "copy_file_range", { Fd, Struct, Fd, Struct, Size, Hex }),
    call(327, "preadv2", { Fd, Struct, Int, Int, Int, Hex }), // pos_l, pos_h (unused on 64-bit), flags
    call(328, "pwritev2", { Fd, Struct, Int, Int, Int, Hex }),
    call(329, "pkey_mprotect", { Ptr, Size, MmapProt, Int }),
    call(330, "pkey_alloc", { Hex, Hex }),
    call(331, "pkey_free", { Int }),
    call(332, "statx", { DirFd, Path, AtFlags, Hex, Struct }),
    call(333, "io_pgetevents", { Hex, Int, Int, Struct, Struct, Struct }),
    call(334, "rseq", { Struct, UInt, Hex, Hex }),
    call(335, "uretprobe"),
    call(336, "uprobe"),
    // 337..423: never assigned on x86-64 (the table keeps them free to line up with other architectures).
    call(424, "pidfd_send_signal", { Fd, Signal, Struct, Hex }),
    call(425, "io_uring_setup", { UInt, Struct }),
    call(426, "io_uring_enter", { Fd, UInt, UInt, Hex, Struct, Size }),
    call(427, "io_uring_register", { Fd, UInt, Ptr, UInt }),
    call(428, "open_tree", { DirFd, Path, Hex }),
    call(429, "move_mount", { DirFd, Path, DirFd, Path, Hex }),
    call(430, "fsopen", { Path, Hex }),
    call(431, "fsconfig", { Fd, UInt, Path, Ptr, Int }),
    call(432, "fsmount", { Fd, Hex, Hex }),
    call(433, "fspick", { DirFd, Path, Hex }),
    call(434, "pidfd_open", { Int, Hex }),
    call(435, "clone3", { Struct, Size }),
    call(436, "close_range", { UInt, UInt, Hex }),
    call(437, "openat2", { DirFd, Path, Struct, Size }),
    call(438, "pidfd_getfd", { Fd, Fd, Hex }),
    call(439, "faccessat2", { DirFd, Path, AccessMode, AtFlags }),
    call(440, "process_madvise", { Fd, Struct, Size, Int, Hex }),
    call(441, "epoll_pwait2", { Fd, Struct, Int, Struct, Struct, Size }),
    call(442, "mount_setattr", { DirFd, Path, AtFlags, Struct, Size }),
    call(443, "quotactl_fd", { Fd, Hex, Int, Ptr }),
    call(444, "landlock_create_ruleset", { Struct, Size, Hex }),
    call(445, "landlock_add_rule", { Fd, Int, Struct, Hex }),
    call(446, "landlock_restrict_self", { Fd, Hex }),
    call(447, "memfd_secret", { Hex }),
    call(448, "process_mrelease", { Fd, Hex }),
    call(449, "futex_waitv", { Struct, UInt, Hex, Struct, ClockId }),
    call(450, "set_mempolicy_home_node", { Ptr, Size, UInt, Hex }),
    call(451, "cachestat", { Fd, Struct, Struct, Hex }),
    call(452, "fchmodat2", { DirFd, Path, Mode, AtFlags }),
    call(453, "map_shadow_stack", { Ptr, Size, Hex }),
    call(454, "futex_wake", { Ptr, Hex, Int, Hex }),
    call(455, "futex_wait", { Ptr, Hex, Hex, Hex, Struct, ClockId }),
    call(456, "futex_requeue", { Struct, Hex, Int, Int }),
    call(457, "statmount", { Struct, Struct, Size, Hex }),
    call(458, "listmount", { Struct, Struct, Size, Hex }),
    call(459, "lsm_get_self_attr", { UInt, Struct, Struct, Hex }),
    call(460, "lsm_set_self_attr", { UInt, Struct, Size, Hex }),
    call(461, "lsm_list_modules", { Struct, Struct, Hex }),
    call(462, "mseal", { Ptr, Size, Hex }),
    call(463, "setxattrat", { DirFd, Path, AtFlags, Path, Struct, Size }),
    call(464, "getxattrat", { DirFd, Path, AtFlags, Path, Struct, Size }),
    call(465, "listxattrat", { DirFd, Path, AtFlags, OutBuf, Size }),
    call(466, "removexattrat", { DirFd, Path, AtFlags, Path }),
    call(467, "open_tree_attr", { DirFd, Path, Hex, Struct, Size }),
    call(468, "file_getattr", { DirFd, Path, Struct, Size, AtFlags }),
    call(469, "file_setattr", { DirFd, Path, Struct, Size, AtFlags }),
};

// In number order, no number twice, all below kSyscallCount; an input buffer
// is never last, since its length is the argument after it.
constexpr bool well_formed()
{
    u64 next = 0;
    for (const Entry& entry : kEntries) {
        if (entry.nr < next || entry.nr >= kSyscallCount)
            return false;
        next = entry.nr + 1;
        const Signature& signature = entry.signature;
        if (signature.arg_count > 0 && signature.args[signature.arg_count - 1] == InBuf)
            return false;
    }
    return true;
}
static_assert(well_formed());

constexpr auto kTable = [] {
    std::array<Signature, kSyscallCount> table {};
    for (const Entry& entry : kEntries)
        table[entry.nr] = entry.signature;
    return table;
}();

// Numbers strace does not know print with six raw arguments.
constexpr Signature kUnknown { nullptr, 6, { Hex, Hex, Hex, Hex, Hex, Hex } };

// Calls whose result is an address, printed in hex.
constexpr std::string_view kAddressResults[] = { "mmap", "brk", "mremap", "shmat", "map_shadow_stack" };

// --- Constants by name -----------------------------------------------------------

struct Constant {
    u64 value;
    const char* name;
};

template <class Table>
auto find(const Table& table, u64 value) -> decltype(&*std::ranges::begin(table))
{
    auto it = std::ranges::find(table, value, &std::ranges::range_value_t<Table>::value);
    return it == std::ranges::end(table) ? nullptr : &*it;
}

std::string hex(u64 value) { return value == 0 ? "0" : fmt::format("{:#x}", value); }
std::string pointer(u64 value) { return value == 0 ? "NULL" : fmt::format("{:#x}", value); }

// int arguments: the kernel looks at the low 32 bits only.
i32 as_int(u64 value) { return static_cast<i32>(value); }

// A value that is one of a list of names (SEEK_SET, CLOCK_MONOTONIC); others in decimal.
template <class Table>
std::string name_or_decimal(const Table& table, u64 value)
{
    auto* found = find(table, static_cast<u32>(value));
    return found ? found->name : fmt::to_string(as_int(value));
}

template <class Table>
std::string name_or_hex(const Table& table, u64 value)
{
    auto* found = find(table, static_cast<u32>(value));
    return found ? found->name : hex(static_cast<u32>(value));
}

constexpr Constant kSignals[] = {
    { 1, "SIGHUP" }, { 2, "SIGINT" }, { 3, "SIGQUIT" }, { 4, "SIGILL" }, { 5, "SIGTRAP" },
    { 6, "SIGABRT" }, { 7, "SIGBUS" }, { 8, "SIGFPE" }, { 9, "SIGKILL" }, { 10, "SIGUSR1" },
    { 11, "SIGSEGV" }, { 12, "SIGUSR2" }, { 13, "SIGPIPE" }, { 14, "SIGALRM" }, { 15, "SIGTERM" },
    { 16, "SIGSTKFLT" }, { 17, "SIGCHLD" }, { 18, "SIGCONT" }, { 19, "SIGSTOP" }, { 20, "SIGTSTP" },
    { 21, "SIGTTIN" }, { 22, "SIGTTOU" }, { 23, "SIGURG" }, { 24, "SIGXCPU" }, { 25, "SIGXFSZ" },
    { 26, "SIGVTALRM" }, { 27, "SIGPROF" }, { 28, "SIGWINCH" }, { 29, "SIGIO" }, { 30, "SIGPWR" },
    { 31, "SIGSYS" },
};
constexpr u32 kSigRtMin = 32;
constexpr u32 kSigRtMax = 64;

constexpr Constant kSigHows[] = { { 0, "SIG_BLOCK" }, { 1, "SIG_UNBLOCK" }, { 2, "SIG_SETMASK" } };

constexpr Constant kClocks[] = {
    { 0, "CLOCK_REALTIME" }, { 1, "CLOCK_MONOTONIC" }, { 2, "CLOCK_PROCESS_CPUTIME_ID" },
    { 3, "CLOCK_THREAD_CPUTIME_ID" }, { 4, "CLOCK_MONOTONIC_RAW" }, { 5, "CLOCK_REALTIME_COARSE" },
    { 6, "CLOCK_MONOTONIC_COARSE" }, { 7, "CLOCK_BOOTTIME" }, { 8, "CLOCK_REALTIME_ALARM" },
    { 9, "CLOCK_BOOTTIME_ALARM" }, { 11, "CLOCK_TAI" },
};

constexpr Constant kWhences[] = {
    { 0, "SEEK_SET" }, { 1, "SEEK_CUR" }, { 2, "SEEK_END" }, { 3, "SEEK_DATA" }, { 4, "SEEK_HOLE" },
};

constexpr Constant kIoctls[] = {
    { 0x5401, "TCGETS" }, { 0x5402, "TCSETS" }, { 0x5403, "TCSETSW" }, { 0x5404, "TCSETSF" },
    { 0x5405, "TCGETA" }, { 0x5406, "TCSETA" }, { 0x5407, "TCSETAW" }, { 0x5408, "TCSETAF" },
    { 0x5409, "TCSBRK" }, { 0x540a, "TCXONC" }, { 0x540b, "TCFLSH" }, { 0x540c, "TIOCEXCL" },
    { 0x540d, "TIOCNXCL" }, { 0x540e, "TIOCSCTTY" }, { 0x540f, "TIOCGPGRP" }, { 0x5410, "TIOCSPGRP" },
    { 0x5411, "TIOCOUTQ" }, { 0x5412, "TIOCSTI" }, { 0x5413, "TIOCGWINSZ" }, { 0x5414, "TIOCSWINSZ" },
    { 0x5415, "TIOCMGET" }, { 0x5416, "TIOCMBIS" }, { 0x5417, "TIOCMBIC" }, { 0x5418, "TIOCMSET" },
    { 0x5419, "TIOCGSOFTCAR" }, { 0x541a, "TIOCSSOFTCAR" }, { 0x541b, "FIONREAD" },
    { 0x541c, "TIOCLINUX" }, { 0x541d, "TIOCCONS" }, { 0x541e, "TIOCGSERIAL" },
    { 0x541f, "TIOCSSERIAL" }, { 0x5420, "TIOCPKT" }, { 0x5421, "FIONBIO" }, { 0x5422, "TIOCNOTTY" },
    { 0x5423, "TIOCSETD" }, { 0x5424, "TIOCGETD" }, { 0x5425, "TCSBRKP" }, { 0x5427, "TIOCSBRK" },
    { 0x5428, "TIOCCBRK" }, { 0x5429, "TIOCGSID" }, { 0x802c542a, "TCGETS2" },
    { 0x402c542b, "TCSETS2" }, { 0x402c542c, "TCSETSW2" }, { 0x402c542d, "TCSETSF2" },
    { 0x80045430, "TIOCGPTN" }, { 0x40045431, "TIOCSPTLCK" }, { 0x80045432, "TIOCGDEV" },
    { 0x40045436, "TIOCSIG" }, { 0x5437, "TIOCVHANGUP" }, { 0x80045438, "TIOCGPKT" },
    { 0x80045439, "TIOCGPTLCK" }, { 0x80045440, "TIOCGEXCL" }, { 0x5441, "TIOCGPTPEER" },
    { 0x5450, "FIONCLEX" }, { 0x5451, "FIOCLEX" }, { 0x5452, "FIOASYNC" },
    { 0x5456, "TIOCGLCKTRMIOS" }, { 0x5457, "TIOCSLCKTRMIOS" }, { 0x545d, "TIOCGICOUNT" },
    { 0x5460, "FIOQSIZE" }, { 0x80086601, "FS_IOC_GETFLAGS" }, { 0x40086602, "FS_IOC_SETFLAGS" },
    { 0x40049409, "FICLONE" },
};

constexpr Constant kArchPrctlCodes[] = {
    { 0x1001, "ARCH_SET_GS" }, { 0x1002, "ARCH_SET_FS" }, { 0x1003, "ARCH_GET_FS" },
    { 0x1004, "ARCH_GET_GS" }, { 0x1011, "ARCH_GET_CPUID" }, { 0x1012, "ARCH_SET_CPUID" },
    { 0x1021, "ARCH_GET_XCOMP_SUPP" }, { 0x1022, "ARCH_GET_XCOMP_PERM" },
    { 0x1023, "ARCH_REQ_XCOMP_PERM" }, { 0x1024, "ARCH_GET_XCOMP_GUEST_PERM" },
    { 0x1025, "ARCH_REQ_XCOMP_GUEST_PERM" }, { 0x2001, "ARCH_MAP_VDSO_X32" },
    { 0x2002, "ARCH_MAP_VDSO_32" }, { 0x2003, "ARCH_MAP_VDSO_64" }, { 0x4001, "ARCH_GET_UNTAG_MASK" },
    { 0x4002, "ARCH_ENABLE_TAGGED_ADDR" }, { 0x4003, "ARCH_GET_MAX_TAG_BITS" },
    { 0x4004, "ARCH_FORCE_TAGGED_SVA" }, { 0x5001, "ARCH_SHSTK_ENABLE" },
    { 0x5002, "ARCH_SHSTK_DISABLE" }, { 0x5003, "ARCH_SHSTK_LOCK" }, { 0x5004, "ARCH_SHSTK_UNLOCK" },
    { 0x5005, "ARCH_SHSTK_STATUS" },
};

constexpr Constant kPrctlOptions[] = {
    { 1, "PR_SET_PDEATHSIG" }, { 2, "PR_GET_PDEATHSIG" }, { 3, "PR_GET_DUMPABLE" },
    { 4, "PR_SET_DUMPABLE" }, { 5, "PR_GET_UNALIGN" }, { 6, "PR_SET_UNALIGN" },
    { 7, "PR_GET_KEEPCAPS" }, { 8, "PR_SET_KEEPCAPS" }, { 9, "PR_GET_FPEMU" }, { 10, "PR_SET_FPEMU" },
    { 11, "PR_GET_FPEXC" }, { 12, "PR_SET_FPEXC" }, { 13, "PR_GET_TIMING" }, { 14, "PR_SET_TIMING" },
    { 15, "PR_SET_NAME" }, { 16, "PR_GET_NAME" }, { 19, "PR_GET_ENDIAN" }, { 20, "PR_SET_ENDIAN" },
    { 21, "PR_GET_SECCOMP" }, { 22, "PR_SET_SECCOMP" }, { 23, "PR_CAPBSET_READ" },
    { 24, "PR_CAPBSET_DROP" }, { 25, "PR_GET_TSC" }, { 26, "PR_SET_TSC" },
    { 27, "PR_GET_SECUREBITS" }, { 28, "PR_SET_SECUREBITS" }, { 29, "PR_SET_TIMERSLACK" },
    { 30, "PR_GET_TIMERSLACK" }, { 31, "PR_TASK_PERF_EVENTS_DISABLE" },
    { 32, "PR_TASK_PERF_EVENTS_ENABLE" }, { 33, "PR_MCE_KILL" }, { 34, "PR_MCE_KILL_GET" },
    { 35, "PR_SET_MM" }, { 36, "PR_SET_CHILD_SUBREAPER" }, { 37, "PR_GET_CHILD_SUBREAPER" },
    { 38, "PR_SET_NO_NEW_PRIVS" }, { 39, "PR_GET_NO_NEW_PRIVS" }, { 40, "PR_GET_TID_ADDRESS" },
    { 41, "PR_SET_THP_DISABLE" }, { 42, "PR_GET_THP_DISABLE" }, { 43, "PR_MPX_ENABLE_MANAGEMENT" },
    { 44, "PR_MPX_DISABLE_MANAGEMENT" }, { 45, "PR_SET_FP_MODE" }, { 46, "PR_GET_FP_MODE" },
    { 47, "PR_CAP_AMBIENT" }, { 50, "PR_SVE_SET_VL" }, { 51, "PR_SVE_GET_VL" },
    { 52, "PR_GET_SPECULATION_CTRL" }, { 53, "PR_SET_SPECULATION_CTRL" },
    { 54, "PR_PAC_RESET_KEYS" }, { 55, "PR_SET_TAGGED_ADDR_CTRL" },
    { 56, "PR_GET_TAGGED_ADDR_CTRL" }, { 57, "PR_SET_IO_FLUSHER" }, { 58, "PR_GET_IO_FLUSHER" },
    { 59, "PR_SET_SYSCALL_USER_DISPATCH" }, { 60, "PR_PAC_SET_ENABLED_KEYS" },
    { 61, "PR_PAC_GET_ENABLED_KEYS" }, { 62, "PR_SCHED_CORE" }, { 63, "PR_SME_SET_VL" },
    { 64, "PR_SME_GET_VL" }, { 65, "PR_SET_MDWE" }, { 66, "PR_GET_MDWE" },
    { 67, "PR_SET_MEMORY_MERGE" }, { 68, "PR_GET_MEMORY_MERGE" }, { 69, "PR_RISCV_V_SET_CONTROL" },
    { 70, "PR_RISCV_V_GET_CONTROL" }, { 71, "PR_RISCV_SET_ICACHE_FLUSH_CTX" },
    { 72, "PR_PPC_GET_DEXCR" }, { 73, "PR_PPC_SET_DEXCR" }, { 74, "PR_GET_SHADOW_STACK_STATUS" },
    { 75, "PR_SET_SHADOW_STACK_STATUS" }, { 76, "PR_LOCK_SHADOW_STACK_STATUS" },
    { 77, "PR_TIMER_CREATE_RESTORE_IDS" }, { 78, "PR_FUTEX_HASH" }, { 0x41555856, "PR_GET_AUXV" },
    { 0x53564d41, "PR_SET_VMA" }, { 0x59616d61, "PR_SET_PTRACER" },
};

constexpr Constant kFileTypes[] = {
    { 0140000, "S_IFSOCK" }, { 0120000, "S_IFLNK" }, { 0100000, "S_IFREG" }, { 060000, "S_IFBLK" },
    { 040000, "S_IFDIR" }, { 020000, "S_IFCHR" }, { 010000, "S_IFIFO" },
};
constexpr u64 kFileTypeMask = 0170000;

constexpr i32 kAtFdCwd = -100;

// --- Flags ---------------------------------------------------------------------

// Bits shown by name and joined with '|', in table order: a name covering
// several bits (O_SYNC) comes before the names of its parts. Some sets keep a
// small number in a field of their own, also shown by name: first for open's
// access mode and mmap's mapping type, last for clone's exit signal.
struct FlagSet {
    std::span<const Constant> bits;
    std::span<const Constant> field_values = {};
    u64 field_mask = 0;
    bool field_last = false;
    const char* zero = "0";
};

constexpr Constant kOpenAccessModes[] = { { 0, "O_RDONLY" }, { 1, "O_WRONLY" }, { 2, "O_RDWR" } };
constexpr Constant kOpenFlags[] = {
    { 0100, "O_CREAT" }, { 0200, "O_EXCL" }, { 0400, "O_NOCTTY" }, { 01000, "O_TRUNC" },
    { 02000, "O_APPEND" }, { 04000, "O_NONBLOCK" }, { 04010000, "O_SYNC" }, { 010000, "O_DSYNC" },
    { 020000, "O_ASYNC" }, { 040000, "O_DIRECT" }, { 0100000, "O_LARGEFILE" },
    { 020200000, "O_TMPFILE" }, { 0200000, "O_DIRECTORY" }, { 0400000, "O_NOFOLLOW" },
    { 01000000, "O_NOATIME" }, { 02000000, "O_CLOEXEC" }, { 010000000, "O_PATH" },
};
constexpr u64 kOpenFlagsTakingMode = 0100 | 020000000; // O_CREAT, __O_TMPFILE
constexpr FlagSet kOpenFlagSet { kOpenFlags, kOpenAccessModes, 03 };

constexpr Constant kMmapTypes[] = {
    { 1, "MAP_SHARED" }, { 2, "MAP_PRIVATE" }, { 3, "MAP_SHARED_VALIDATE" }, { 8, "MAP_DROPPABLE" },
};
constexpr Constant kMmapFlags[] = {
    { 0x10, "MAP_FIXED" }, { 0x20, "MAP_ANONYMOUS" }, { 0x40, "MAP_32BIT" },
    { 0x100, "MAP_GROWSDOWN" }, { 0x800, "MAP_DENYWRITE" }, { 0x1000, "MAP_EXECUTABLE" },
    { 0x2000, "MAP_LOCKED" }, { 0x4000, "MAP_NORESERVE" }, { 0x8000, "MAP_POPULATE" },
    { 0x10000, "MAP_NONBLOCK" }, { 0x20000, "MAP_STACK" }, { 0x40000, "MAP_HUGETLB" },
    { 0x80000, "MAP_SYNC" }, { 0x100000, "MAP_FIXED_NOREPLACE" }, { 0x4000000, "MAP_UNINITIALIZED" },
};
constexpr FlagSet kMmapFlagSet { kMmapFlags, kMmapTypes, 0x0f };

constexpr Constant kProtFlags[] = {
    { 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" }, { 0x8, "PROT_SEM" },
    { 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" },
};
constexpr FlagSet kProtFlagSet { kProtFlags, {}, 0, false, "PROT_NONE" };

constexpr Constant kAccessFlags[] = { { 4, "R_OK" }, { 2, "W_OK" }, { 1, "X_OK" } };
constexpr FlagSet kAccessFlagSet { kAccessFlags, {}, 0, false, "F_OK" };

// 0x200 is AT_REMOVEDIR for unlinkat and AT_EACCESS for faccessat2; the
// former is what traces show most.
constexpr Constant kAtFlags[] = {
    { 0x100, "AT_SYMLINK_NOFOLLOW" }, { 0x200, "AT_REMOVEDIR" }, { 0x400, "AT_SYMLINK_FOLLOW" },
    { 0x800, "AT_NO_AUTOMOUNT" }, { 0x1000, "AT_EMPTY_PATH" }, { 0x2000, "AT_STATX_FORCE_SYNC" },
    { 0x4000, "AT_STATX_DONT_SYNC" }, { 0x8000, "AT_RECURSIVE" },
};
constexpr FlagSet kAtFlagSet { kAtFlags };

constexpr Constant kCloneFlags[] = {
    { 0x100, "CLONE_VM" }, { 0x200, "CLONE_FS" }, { 0x400, "CLONE_FILES" },
    { 0x800, "CLONE_SIGHAND" }, { 0x1000, "CLONE_PIDFD" }, { 0x2000, "CLONE_PTRACE" },
    { 0x4000, "CLONE_VFORK" }, { 0x8000, "CLONE_PARENT" }, { 0x10000, "CLONE_THREAD" },
    { 0x20000, "CLONE_NEWNS" }, { 0x40000, "CLONE_SYSVSEM" }, { 0x80000, "CLONE_SETTLS" },
    { 0x100000, "CLONE_PARENT_SETTID" }, { 0x200000, "CLONE_CHILD_CLEARTID" },
    { 0x400000, "CLONE_DETACHED" }, { 0x800000, "CLONE_UNTRACED" },
    { 0x1000000, "CLONE_CHILD_SETTID" }, { 0x2000000, "CLONE_NEWCGROUP" },
    { 0x4000000, "CLONE_NEWUTS" }, { 0x8000000, "CLONE_NEWIPC" }, { 0x10000000, "CLONE_NEWUSER" },
    { 0x20000000, "CLONE_NEWPID" }, { 0x40000000, "CLONE_NEWNET" }, { 0x80000000, "CLONE_IO" },
};
constexpr FlagSet kCloneFlagSet { kCloneFlags, kSignals, 0xff, true }; // CSIGNAL: the exit signal

std::string format_flags(const FlagSet& set, u64 value)
{
    std::string out;
    auto add = [&out](std::string_view part) {
        if (!out.empty())
            out += '|';
        out += part;
    };
    auto add_field = [&] {
        u64 field = value & set.field_mask;
        if (const Constant* named = find(set.field_values, field))
            add(named->name);
        else if (field != 0)
            add(hex(field));
    };
    if (set.field_mask != 0 && !set.field_last)
        add_field();
    u64 rest = value & ~set.field_mask;
    for (const Constant& bit : set.bits) {
        if ((rest & bit.value) == bit.value) {
            add(bit.name);
            rest &= ~bit.value;
        }
    }
    if (rest != 0)
        add(hex(rest));
    if (set.field_mask != 0 && set.field_last)
        add_field();
    return out.empty() ? set.zero : out;
}

// --- Arguments that shape the ones after them ----------------------------------------

// How fcntl's third argument is shown for each command; nullopt: there is none.
struct FcntlCommand {
    u64 value;
    const char* name;
    std::optional<Arg> arg;
};
constexpr FcntlCommand kFcntlCommands[] = {
    { 0, "F_DUPFD", Int }, { 1, "F_GETFD", std::nullopt }, { 2, "F_SETFD", Int },
    { 3, "F_GETFL", std::nullopt }, { 4, "F_SETFL", OpenFlags }, { 5, "F_GETLK", Struct },
    { 6, "F_SETLK", Struct }, { 7, "F_SETLKW", Struct }, { 8, "F_SETOWN", Int },
    { 9, "F_GETOWN", std::nullopt }, { 10, "F_SETSIG", Signal }, { 11, "F_GETSIG", std::nullopt },
    { 15, "F_SETOWN_EX", Struct }, { 16, "F_GETOWN_EX", Struct }, { 17, "F_GETOWNER_UIDS", Struct },
    { 36, "F_OFD_GETLK", Struct }, { 37, "F_OFD_SETLK", Struct }, { 38, "F_OFD_SETLKW", Struct },
    { 1024, "F_SETLEASE", Int }, { 1025, "F_GETLEASE", std::nullopt }, { 1026, "F_NOTIFY", Hex },
    { 1027, "F_DUPFD_QUERY", Fd }, { 1028, "F_CREATED_QUERY", std::nullopt },
    { 1030, "F_DUPFD_CLOEXEC", Int }, { 1031, "F_SETPIPE_SZ", Int },
    { 1032, "F_GETPIPE_SZ", std::nullopt }, { 1033, "F_ADD_SEALS", Hex },
    { 1034, "F_GET_SEALS", std::nullopt }, { 1035, "F_GET_RW_HINT", Struct },
    { 1036, "F_SET_RW_HINT", Struct }, { 1037, "F_GET_FILE_RW_HINT", Struct },
    { 1038, "F_SET_FILE_RW_HINT", Struct },
};

// How many of futex's six arguments each operation uses.
struct FutexCommand {
    u64 value;
    const char* name;
    u8 shown_args;
};
constexpr FutexCommand kFutexCommands[] = {
    { 0, "FUTEX_WAIT", 4 }, { 1, "FUTEX_WAKE", 3 }, { 2, "FUTEX_FD", 3 },
    { 3, "FUTEX_REQUEUE", 5 }, { 4, "FUTEX_CMP_REQUEUE", 6 }, { 5, "FUTEX_WAKE_OP", 6 },
    { 6, "FUTEX_LOCK_PI", 4 }, { 7, "FUTEX_UNLOCK_PI", 2 }, { 8, "FUTEX_TRYLOCK_PI", 2 },
    { 9, "FUTEX_WAIT_BITSET", 6 }, { 10, "FUTEX_WAKE_BITSET", 6 }, { 11, "FUTEX_WAIT_REQUEUE_PI", 5 },
    { 12, "FUTEX_CMP_REQUEUE_PI", 6 }, { 13, "FUTEX_LOCK_PI2", 4 },
};
constexpr u32 kFutexPrivateFlag = 128;
constexpr u32 kFutexClockRealtime = 256;

const FutexCommand* futex_command(u64 op)
{
    return find(kFutexCommands, static_cast<u32>(op) & ~(kFutexPrivateFlag | kFutexClockRealtime));
}

std::string format_futex_op(u64 value)
{
    const FutexCommand* command = futex_command(value);
    if (!command)
        return hex(static_cast<u32>(value));
    std::string out = command->name;
    if (value & kFutexPrivateFlag)
        out += "_PRIVATE";
    if (value & kFutexClockRealtime)
        out += "|FUTEX_CLOCK_REALTIME";
    return out;
}

// The arguments a call shows. Like strace, leave out what the kernel ignores
// (open's mode without O_CREAT, fcntl's argument for F_GETFL, futex's tail
// for FUTEX_WAKE) and show fcntl's argument the way its command reads it.
struct Shown {
    u8 count;
    Arg args[6];
};

Shown shown_args(const Signature& signature, const u64 (&args)[6])
{
    Shown shown { signature.arg_count, {} };
    std::ranges::copy(signature.args, shown.args);
    for (u8 i = 0; i + 1 < shown.count; ++i) {
        switch (shown.args[i]) {
        case OpenFlags:
            if (shown.args[i + 1] == Mode && !(args[i] & kOpenFlagsTakingMode))
                shown.count = i + 1;
            break;
        case FcntlCmd:
            if (const FcntlCommand* command = find(kFcntlCommands, static_cast<u32>(args[i]))) {
                if (command->arg)
                    shown.args[i + 1] = *command->arg;
                else
                    shown.count = i + 1;
            }
            break;
        case FutexOp:
            if (const FutexCommand* command = futex_command(args[i]))
                shown.count = std::min(shown.count, command->shown_args);
            break;
        default:
            break;
        }
    }
    return shown;
}

u8 first_output(const Shown& shown)
{
    return static_cast<u8>(std::ranges::find(shown.args, shown.args + shown.count, OutBuf) - shown.args);
}

// --- Guest memory ----------------------------------------------------------------

constexpr usize kMaxStringLength = 32; // strace's default -s; also its cap on array elements
constexpr usize kPathMax = 4096;

constexpr std::pair<char, std::string_view> kEscapes[] = {
    { '"', "\\\"" }, { '\\', "\\\\" }, { '\f', "\\f" }, { '\n', "\\n" },
    { '\r', "\\r" }, { '\t', "\\t" }, { '\v', "\\v" },
};

// strace's default quoting: C escapes for the usual controls, octal for any
// other byte outside printable ASCII (three digits when an octal digit follows).
std::string quote(std::string_view bytes, bool truncated)
{
    std::string out = "\"";
    for (usize i = 0; i < bytes.size(); ++i) {
        char c = bytes[i];
        if (auto* escape = std::ranges::find(kEscapes, c, &std::pair<char, std::string_view>::first);
            escape != std::end(kEscapes)) {
            out += escape->second;
        } else if (c >= 0x20 && c < 0x7f) {
            out += c;
        } else {
            bool digit_follows = i + 1 < bytes.size() && bytes[i + 1] >= '0' && bytes[i + 1] <= '7';
            out += fmt::format("\\{:0{}o}", static_cast<u8>(c), digit_follows ? 3 : 1);
        }
    }
    out += '"';
    if (truncated)
        out += "...";
    return out;
}

// `len` bytes at `addr`, cut at kMaxStringLength.
std::string format_buffer(u64 addr, u64 len, MemoryReader& mem)
{
    if (addr == 0)
        return "NULL";
    usize shown = std::min<u64>(len, kMaxStringLength);
    auto bytes = mem.read_bytes(addr, shown);
    if (!bytes)
        return hex(addr);
    return quote(*bytes, len > shown);
}

// A NUL-terminated string of at most `max` bytes; a longer one ends in "...".
std::string format_string(u64 addr, usize max, MemoryReader& mem)
{
    if (addr == 0)
        return "NULL";
    auto text = mem.read_string(addr, max + 1);
    if (!text)
        return hex(addr);
    bool truncated = text->size() > max;
    if (truncated)
        text->resize(max);
    return quote(*text, truncated);
}

std::string format_string_array(u64 addr, MemoryReader& mem)
{
    if (addr == 0)
        return "NULL";
    std::string out = "[";
    for (usize i = 0;; ++i) {
        auto element = mem.read_u64(addr + i * sizeof(u64));
        if (!element)
            return i == 0 ? hex(addr) : out + ", ...]";
        if (*element == 0)
            break;
        if (i > 0)
            out += ", ";
        if (i == kMaxStringLength) {
            out += "...";
            break;
        }
        out += format_string(*element, kMaxStringLength, mem);
    }
    return out + "]";
}

// --- One argument ------------------------------------------------------------------

std::string format_signal(u64 value)
{
    u32 signal = static_cast<u32>(value);
    if (const Constant* named = find(kSignals, signal))
        return named->name;
    if (signal == kSigRtMin)
        return "SIGRTMIN";
    if (signal > kSigRtMin && signal <= kSigRtMax)
        return fmt::format("SIGRT_{}", signal - kSigRtMin);
    return fmt::to_string(as_int(value));
}

std::string format_mode(u64 value)
{
    std::string permissions = fmt::format("{:#03o}", value & ~kFileTypeMask);
    u64 type = value & kFileTypeMask;
    if (type == 0)
        return permissions;
    const Constant* named = find(kFileTypes, type);
    return fmt::format("{}|{}", named ? named->name : hex(type), permissions);
}

struct Call {
    const u64 (&args)[6];
    Shown shown;
    MemoryReader& mem;
    std::optional<i64> ret; // once the call has returned
};

bool is_error(i64 ret) { return ret >= -4095 && ret <= -1; }

std::string format_arg(const Call& call, u8 i)
{
    u64 value = call.args[i];
    switch (call.shown.args[i]) {
    case Int: return fmt::to_string(static_cast<i64>(value));
    case UInt:
    case Size: return fmt::to_string(value);
    case Hex: return hex(value);
    case Ptr:
    case Struct: return pointer(value);
    case Fd: return fmt::to_string(as_int(value));
    case DirFd: return as_int(value) == kAtFdCwd ? "AT_FDCWD" : fmt::to_string(as_int(value));
    case Path: return format_string(value, kPathMax, call.mem);
    case InBuf: return format_buffer(value, call.args[i + 1], call.mem);
    case OutBuf:
        // Before the return, or after a failed one, the buffer holds nothing to show.
        if (!call.ret || is_error(*call.ret))
            return pointer(value);
        return format_buffer(value, static_cast<u64>(*call.ret), call.mem);
    case OpenFlags: return format_flags(kOpenFlagSet, value);
    case Mode: return format_mode(value);
    case MmapProt: return format_flags(kProtFlagSet, value);
    case MmapFlags: return format_flags(kMmapFlagSet, value);
    case Signal: return format_signal(value);
    case SigHow: return name_or_decimal(kSigHows, value);
    case ClockId: return name_or_decimal(kClocks, value);
    case AtFlags: return format_flags(kAtFlagSet, value);
    case FcntlCmd: return name_or_decimal(kFcntlCommands, value);
    case Whence: return name_or_decimal(kWhences, value);
    case IoctlReq: return name_or_hex(kIoctls, value);
    case ArchPrctlCode: return name_or_hex(kArchPrctlCodes, value);
    case PrctlOption: return name_or_decimal(kPrctlOptions, value);
    case FutexOp: return format_futex_op(value);
    case AccessMode: return format_flags(kAccessFlagSet, value);
    case CloneFlags: return format_flags(kCloneFlagSet, value);
    case StrArray: return format_string_array(value, call.mem);
    }
    std::unreachable();
}

// --- The result ------------------------------------------------------------------

struct ErrorText {
    u64 value;
    const char* text;
};

// glibc's strerror() for Linux errnos; the ERESTART* texts are strace's.
constexpr ErrorText kErrorTexts[] = {
    { 1, "Operation not permitted" }, { 2, "No such file or directory" }, { 3, "No such process" },
    { 4, "Interrupted system call" }, { 5, "Input/output error" },
    { 6, "No such device or address" }, { 7, "Argument list too long" }, { 8, "Exec format error" },
    { 9, "Bad file descriptor" }, { 10, "No child processes" },
    { 11, "Resource temporarily unavailable" }, { 12, "Cannot allocate memory" },
    { 13, "Permission denied" }, { 14, "Bad address" }, { 15, "Block device required" },
    { 16, "Device or resource busy" }, { 17, "File exists" }, { 18, "Invalid cross-device link" },
    { 19, "No such device" }, { 20, "Not a directory" }, { 21, "Is a directory" },
    { 22, "Invalid argument" }, { 23, "Too many open files in system" },
    { 24, "Too many open files" }, { 25, "Inappropriate ioctl for device" },
    { 26, "Text file busy" }, { 27, "File too large" }, { 28, "No space left on device" },
    { 29, "Illegal seek" }, { 30, "Read-only file system" }, { 31, "Too many links" },
    { 32, "Broken pipe" }, { 33, "Numerical argument out of domain" },
    { 34, "Numerical result out of range" }, { 35, "Resource deadlock avoided" },
    { 36, "File name too long" }, { 37, "No locks available" }, { 38, "Function not implemented" },
    { 39, "Directory not empty" }, { 40, "Too many levels of symbolic links" },
    { 42, "No message of desired type" }, { 43, "Identifier removed" },
    { 44, "Channel number out of range" }, { 45, "Level 2 not synchronized" },
    { 46, "Level 3 halted" }, { 47, "Level 3 reset" }, { 48, "Link number out of range" },
    { 49, "Protocol driver not attached" }, { 50, "No CSI structure available" },
    { 51, "Level 2 halted" }, { 52, "Invalid exchange" }, { 53, "Invalid request descriptor" },
    { 54, "Exchange full" }, { 55, "No anode" }, { 56, "Invalid request code" },
    { 57, "Invalid slot" }, { 59, "Bad font file format" }, { 60, "Device not a stream" },
    { 61, "No data available" }, { 62, "Timer expired" }, { 63, "Out of streams resources" },
    { 64, "Machine is not on the network" }, { 65, "Package not installed" },
    { 66, "Object is remote" }, { 67, "Link has been severed" }, { 68, "Advertise error" },
    { 69, "Srmount error" }, { 70, "Communication error on send" }, { 71, "Protocol error" },
    { 72, "Multihop attempted" }, { 73, "RFS specific error" }, { 74, "Bad message" },
    { 75, "Value too large for defined data type" }, { 76, "Name not unique on network" },
    { 77, "File descriptor in bad state" }, { 78, "Remote address changed" },
    { 79, "Can not access a needed shared library" },
    { 80, "Accessing a corrupted shared library" }, { 81, ".lib section in a.out corrupted" },
    { 82, "Attempting to link in too many shared libraries" },
    { 83, "Cannot exec a shared library directly" },
    { 84, "Invalid or incomplete multibyte or wide character" },
    { 85, "Interrupted system call should be restarted" }, { 86, "Streams pipe error" },
    { 87, "Too many users" }, { 88, "Socket operation on non-socket" },
    { 89, "Destination address required" }, { 90, "Message too long" },
    { 91, "Protocol wrong type for socket" }, { 92, "Protocol not available" },
    { 93, "Protocol not supported" }, { 94, "Socket type not supported" },
    { 95, "Operation not supported" }, { 96, "Protocol family not supported" },
    { 97, "Address family not supported by protocol" }, { 98, "Address already in use" },
    { 99, "Cannot assign requested address" }, { 100, "Network is down" },
    { 101, "Network is unreachable" }, { 102, "Network dropped connection on reset" },
    { 103, "Software caused connection abort" }, { 104, "Connection reset by peer" },
    { 105, "No buffer space available" }, { 106, "Transport endpoint is already connected" },
    { 107, "Transport endpoint is not connected" },
    { 108, "Cannot send after transport endpoint shutdown" },
    { 109, "Too many references: cannot splice" }, { 110, "Connection timed out" },
    { 111, "Connection refused" }, { 112, "Host is down" }, { 113, "No route to host" },
    { 114, "Operation already in progress" }, { 115, "Operation now in progress" },
    { 116, "Stale file handle" }, { 117, "Structure needs cleaning" },
    { 118, "Not a XENIX named type file" }, { 119, "No XENIX semaphores available" },
    { 120, "Is a named type file" }, { 121, "Remote I/O error" }, { 122, "Disk quota exceeded" },
    { 123, "No medium found" }, { 124, "Wrong medium type" }, { 125, "Operation canceled" },
    { 126, "Required key not available" }, { 127, "Key has expired" },
    { 128, "Key has been revoked" }, { 129, "Key was rejected by service" }, { 130, "Owner died" },
    { 131, "State not recoverable" }, { 132, "Operation not possible due to RF-kill" },
    { 133, "Memory page has hardware error" },
    { 512, "To be restarted if SA_RESTART is set" }, { 513, "To be restarted" },
    { 514, "To be restarted if no handler" }, { 516, "Interrupted by signal" },
};
constexpr int kFirstRestartErrno = 512; // ERESTARTSYS

std::string format_error(int error)
{
    const ErrorText* text = find(kErrorTexts, static_cast<u64>(error));
    if (!text)
        return fmt::format("-1 (errno {})", error);
    // ERESTARTSYS & co. never reach the guest (it sees EINTR or a restart), so
    // like strace, do not claim the call returned -1.
    std::string_view returned = error >= kFirstRestartErrno ? "?" : "-1";
    return fmt::format("{} {} ({})", returned, errno_name(error), text->text);
}

std::string format_return(const Signature& signature, i64 ret)
{
    if (is_error(ret))
        return format_error(static_cast<int>(-ret));
    if (signature.name && std::ranges::find(kAddressResults, signature.name) != std::end(kAddressResults))
        return hex(static_cast<u64>(ret));
    return fmt::to_string(ret);
}

const Signature& signature_or_unknown(u64 nr)
{
    const Signature* known = signature(nr);
    return known ? *known : kUnknown;
}

std::string call_name(const Signature& signature, u64 nr)
{
    return signature.name ? signature.name : fmt::format("syscall_{:#x}", nr);
}

} // namespace

const Signature* signature(u64 nr)
{
    if (nr >= kSyscallCount || !kTable[nr].name)
        return nullptr;
    return &kTable[nr];
}

std::string format_call(u64 nr, const u64 (&args)[6], MemoryReader& mem)
{
    const Signature& signature = signature_or_unknown(nr);
    Call call { args, shown_args(signature, args), mem, std::nullopt };
    std::string out = call_name(signature, nr) + "(";
    for (u8 i = 0; i < call.shown.count; ++i) {
        if (i > 0)
            out += ", ";
        if (call.shown.args[i] == OutBuf)
            break; // format_result shows it filled
        out += format_arg(call, i);
    }
    return out;
}

std::string format_result(u64 nr, const u64 (&args)[6], i64 ret, MemoryReader& mem)
{
    const Signature& signature = signature_or_unknown(nr);
    Call call { args, shown_args(signature, args), mem, ret };
    std::string out;
    u8 first = first_output(call.shown);
    for (u8 i = first; i < call.shown.count; ++i) {
        if (i > first)
            out += ", ";
        out += format_arg(call, i);
    }
    return out + ") = " + format_return(signature, ret);
}

} // namespace umk::strace
