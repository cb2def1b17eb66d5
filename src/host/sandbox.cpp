#include "host/sandbox.h"

#include "host/result.h"

#include <fmt/format.h>
#include <seccomp.h>

#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <thread>
#include <set>
#include <sstream>

namespace umk::host {

namespace {

bool is_real_fs(const std::string& type)
{
    static const std::set<std::string> kTypes = { "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay",
                                                  "vfat", "exfat", "squashfs", "zfs", "f2fs", "9p", "virtiofs",
                                                  "fuseblk", "iso9660", "erofs", "nfs", "nfs4", "ramfs" };
    return kTypes.contains(type);
}

bool under(const std::string& path, const std::string& dir)
{
    if (dir == "/")
        return true;
    return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

// mountinfo escapes spaces and the like as \040.
std::string unescape(const std::string& s)
{
    std::string out;
    for (usize i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool write_file(const char* path, const std::string& text)
{
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

} // namespace

KResult<std::vector<HostMount>> guest_visible_mounts(const std::string& root)
{
    std::ifstream in("/proc/self/mountinfo");
    if (!in)
        return err(Errno::NOENT);
    std::vector<HostMount> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, mroot, point, opts, field;
        fields >> id >> parent >> devno >> mroot >> point >> opts;
        while (fields >> field && field != "-") {
        }
        std::string fstype;
        fields >> fstype;
        point = unescape(point);
        if (!under(point, root) || !is_real_fs(fstype))
            continue;
        if (under(point, "/proc") || under(point, "/sys") || under(point, "/dev"))
            continue;
        // A later mount on the same point hides the earlier one.
        std::erase_if(out, [&](const HostMount& m) { return under(m.path, point) && m.path != root; });
        out.push_back({ point, fstype });
    }
    return out;
}

KResult<void> enter_user_namespace(std::optional<std::pair<u32, u32>> inside)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (uid != 0) {
        // Unprivileged: the only mapping a process may write for itself,
        // its own ids, shown inside as `inside`.
        auto [inside_uid, inside_gid] = inside.value_or(std::pair<u32, u32>(uid, gid));
        TRY(check_void(unshare(CLONE_NEWUSER | CLONE_NEWNS)));
        write_file("/proc/self/setgroups", "deny");
        if (!write_file("/proc/self/uid_map", fmt::format("{} {} 1\n", inside_uid, uid))
            || !write_file("/proc/self/gid_map", fmt::format("{} {} 1\n", inside_gid, gid)))
            return err(Errno::PERM);
    } else {
        // Root on the host maps every id to itself. A full map needs
        // CAP_SETUID in the parent namespace, which the process that
        // unshared no longer has there: a helper left behind writes it.
        int ready[2], done[2];
        TRY(check_void(pipe2(ready, O_CLOEXEC)));
        TRY(check_void(pipe2(done, O_CLOEXEC)));
        pid_t self = getpid();
        pid_t helper = fork();
        if (helper < 0)
            return err(errno_from_host(errno));
        if (helper == 0) {
            char c;
            bool ok = ::read(ready[0], &c, 1) == 1;
            std::string dir = fmt::format("/proc/{}/", self);
            ok = ok && write_file((dir + "uid_map").c_str(), "0 0 4294967295\n")
                && write_file((dir + "gid_map").c_str(), "0 0 4294967295\n");
            c = ok ? 1 : 0;
            [[maybe_unused]] auto n = ::write(done[1], &c, 1);
            _exit(0);
        }
        ::close(ready[0]);
        ::close(done[1]);
        auto unshared = check_void(unshare(CLONE_NEWUSER | CLONE_NEWNS));
        char c = 0;
        if (unshared)
            [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
        ::close(ready[1]);
        bool mapped = unshared && ::read(done[0], &c, 1) == 1 && c == 1;
        ::close(done[0]);
        waitpid(helper, nullptr, 0);
        if (!unshared)
            return unshared;
        if (!mapped)
            return err(Errno::PERM);
    }
    TRY(check_void(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr)));
    return {};
}

namespace {

pid_t g_kernel_pid = 0;

// The user's interrupt or termination: the kernel shuts the guest down
// (and writes back its disk images); if it has not within 5 seconds, or at
// a second signal, it is killed.
void kill_kernel(int sig)
{
    static volatile sig_atomic_t asked = 0;
    if (sig == SIGALRM || asked) {
        kill(g_kernel_pid, SIGKILL);
        return;
    }
    asked = 1;
    kill(g_kernel_pid, SIGTERM);
    alarm(5);
}

// The waiting process lets go of the umk binary's read-only pages (its
// code and constants): the kernel, its child, keeps those it uses, which
// then count for it alone, and those only the start-up used (option
// parsing) count for nobody. An idle guest's host processes come to
// ~0.5 MiB less (docs/design.md, "The waiting process").
void drop_read_only_pages()
{
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void*) {
            for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
                    continue;
                u64 end = info->dlpi_addr + ph.p_vaddr + ph.p_memsz;
                u64 start = page_round_down(info->dlpi_addr + ph.p_vaddr);
                madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
            }
            return 1; // the program itself comes first; libraries are shared widely anyway
        },
        nullptr);
    malloc_trim(0);
}

int g_termination_pipe[2] = { -1, -1 };

void request_termination(int)
{
    char byte = 1;
    [[maybe_unused]] auto n = ::write(g_termination_pipe[1], &byte, 1);
}

} // namespace

KResult<void> enter_pid_namespace()
{
    TRY(check_void(unshare(CLONE_NEWPID)));
    // The parent holds `alive[1]` open for as long as it lives.
    int alive[2];
    TRY(check_void(pipe2(alive, O_CLOEXEC)));
    pid_t child = fork();
    if (child < 0)
        return err(errno_from_host(errno));
    if (child == 0) {
        // The kernel, as pid 1 of the stubs' namespace: when it dies, the
        // host kills every stub. It dies with the process that started it
        // (whose pid it cannot see from inside the namespace).
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(alive[1]);
        pollfd p { alive[0], POLLIN, 0 };
        if (poll(&p, 1, 0) != 0)
            _exit(137);
        ::close(alive[0]);
        return {};
    }
    ::close(alive[0]);
    // The process the user started: waits for the kernel, passes on its
    // exit status, and takes it down on a terminal or termination signal
    // (pid 1 ignores signals it does not handle).
    g_kernel_pid = child;
    struct sigaction sa {};
    sa.sa_handler = kill_kernel;
    for (int sig : { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGALRM })
        sigaction(sig, &sa, nullptr);
    drop_read_only_pages();
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        _exit(128 + WTERMSIG(status));
    _exit(WEXITSTATUS(status));
}

KResult<void> pivot_to_empty_root()
{
    const char* dir = "/tmp";
    TRY(check_void(mount("umk-root", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")));
    TRY(check_void(chdir(dir)));
    TRY(check_void(static_cast<int>(syscall(SYS_pivot_root, ".", "."))));
    TRY(check_void(umount2(".", MNT_DETACH)));
    TRY(check_void(chdir("/")));
    TRY(check_void(mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr)));
    return {};
}

void set_non_dumpable() { prctl(PR_SET_DUMPABLE, 0); }

void on_termination_request(std::function<void()> action)
{
    static std::mutex lock;
    static std::function<void()> current;
    std::lock_guard guard(lock);
    current = std::move(action);
    if (g_termination_pipe[0] >= 0)
        return;
    if (pipe2(g_termination_pipe, O_CLOEXEC) != 0)
        return;
    std::thread([] {
        char byte;
        while (::read(g_termination_pipe[0], &byte, 1) == 1 || errno == EINTR) {
            std::lock_guard g(lock);
            if (current)
                current();
        }
    }).detach();
    struct sigaction sa {};
    sa.sa_handler = request_termination;
    sa.sa_flags = SA_RESTART;
    for (int sig : { SIGINT, SIGQUIT, SIGTERM, SIGHUP })
        sigaction(sig, &sa, nullptr);
}

KResult<void> install_kernel_denylist()
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return err(Errno::NOMEM);
    // Stubs inherit this filter. libseccomp's default for other ABIs
    // (int $0x80, x32 numbers) is to kill the thread, which would beat the
    // stub's SECCOMP_RET_TRAP and kill a guest thread behind the kernel's
    // back; EPERM ranks below TRAP, so guests still trap (and get ENOSYS)
    // while the kernel itself can reach no denied call through another ABI.
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
    static const char* const kDenied[] = {
        "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "userfaultfd",
        "keyctl", "add_key", "request_key", "init_module", "finit_module", "delete_module", "kexec_load",
        "kexec_file_load", "mount", "umount2", "pivot_root", "setns", "unshare", "open_tree", "move_mount",
        "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "swapon", "swapoff", "reboot", "ptrace",
        "process_madvise", "lookup_dcookie", "acct", "quotactl", "chroot",
    };
    for (const char* name : kDenied) {
        if (rc)
            break;
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
            continue;
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    // perf_event_open only as a guest debugger's hardware breakpoint is
    // opened (platform add_breakpoint): on one thread (pid > 0), any CPU,
    // no group, close-on-exec. The attr cannot be checked here.
    int perf = seccomp_syscall_resolve_name("perf_event_open");
    const scmp_arg_cmp kPerfDenied[] = {
        SCMP_A1(SCMP_CMP_EQ, 0),
        SCMP_A1(SCMP_CMP_GE, 0x80000000ULL),
        SCMP_A2(SCMP_CMP_NE, ~0ULL),
        SCMP_A3(SCMP_CMP_NE, ~0ULL),
        SCMP_A4(SCMP_CMP_NE, PERF_FLAG_FD_CLOEXEC),
    };
    for (const auto& cmp : kPerfDenied)
        if (!rc)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), perf, 1, cmp);
    if (!rc)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc ? err(Errno::PERM) : KResult<void>();
}

} // namespace umk::host
