#pragma once

// The kernel process's own confinement (ARCHITECTURE "Defence in depth"):
// a user + mount namespace, a pid namespace whose init is the kernel
// itself (when the kernel dies, every stub dies), an empty
// root holding only O_PATH fds to the guest's roots, non-dumpable, and a
// seccomp denylist of what the kernel never needs.

#include "host/fd.h"
#include "lib/kresult.h"
#include "lib/types.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace umk::host {

struct HostMount {
    std::string path;   // absolute mount point on the host
    std::string fstype;
};

// Host mounts at or below `root` (not /proc, /sys, /dev and no pseudo
// file system), parents before children. Read from /proc/self/mountinfo.
KResult<std::vector<HostMount>> guest_visible_mounts(const std::string& root);

// unshare(CLONE_NEWUSER | CLONE_NEWNS) with the caller's ids mapped (all
// ids when the caller is root on the host). An unprivileged caller's ids
// appear inside as `inside` (its own by default): with {0, 0}, what it
// owns on the host is root's inside, and what root inside makes is its.
// EPERM where the host refuses unprivileged user namespaces.
KResult<void> enter_user_namespace(std::optional<std::pair<u32, u32>> inside = std::nullopt);
// Forks the kernel into a new pid namespace as its pid 1, so that every
// stub dies with it; returns in the kernel. The calling process stays
// behind, waits, and exits with the kernel's status (never returns).
// Before any thread exists: a process whose children go to another pid
// namespace cannot create threads.
KResult<void> enter_pid_namespace();
// pivot_root into an empty, read-only tmpfs (O_PATH fds opened before
// stay usable).
KResult<void> pivot_to_empty_root();
void set_non_dumpable();
// In the kernel process: `action` runs on a thread of its own when the
// user interrupts or terminates umk (SIGINT, SIGQUIT, SIGTERM, SIGHUP,
// passed on by the process that started the kernel). An empty action
// unregisters the last one.
void on_termination_request(std::function<void()> action);
// After setup: io_uring, bpf, perf_event_open, userfaultfd, keyctl,
// modules, kexec, mount, umount, pivot_root, setns, unshare -> EPERM.
KResult<void> install_kernel_denylist();

} // namespace umk::host
