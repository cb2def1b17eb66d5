// umk run: a guest from the command line.

#include "cli/commands.h"

#include "host/files.h"
#include "host/sandbox.h"
#include "host/socket_connector.h"
#include "kernel/fs/ext4/ext4.h"
#include "kernel/fs/overlay/overlay.h"
#include "kernel/fs/procfs/procfs.h"
#include "kernel/kernel.h"
#include "kernel/rootfs.h"
#include "platform/seccomp_trap/seccomp_trap.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

extern char** environ;

namespace umk::cli {

namespace {

int fail(const std::string& message, int code = 1)
{
    fmt::print(stderr, "umk: {}\n", message);
    return code;
}

std::string errno_text(Errno e) { return std::strerror(static_cast<int>(e)); }

// The guest's starting directory: the user's own, where the guest root
// has it.
std::string guest_cwd(const std::string& root)
{
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec).string();
    if (ec)
        return "/";
    if (root == "/")
        return cwd;
    if (cwd == root)
        return "/";
    if (cwd.starts_with(root + "/"))
        return cwd.substr(root.size());
    return "/";
}

// The kernel holds a host fd per open guest file and per cached host
// inode, for every guest process at once: it takes the most fds it may
// (fs.nr_open when it can raise its hard limit). Returns the limit umk
// was started with, which the guest gets.
rlimit raise_fd_limit()
{
    rlimit original {};
    getrlimit(RLIMIT_NOFILE, &original);
    rlimit r = original;
    r.rlim_cur = r.rlim_max;
    unsigned long nr_open = 0;
    if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "re")) {
        if (std::fscanf(f, "%lu", &nr_open) != 1)
            nr_open = 0;
        std::fclose(f);
    }
    rlimit raised { nr_open, nr_open };
    if (nr_open <= r.rlim_max || setrlimit(RLIMIT_NOFILE, &raised) != 0)
        setrlimit(RLIMIT_NOFILE, &r);
    return original;
}

// The kernel holds many host fds (a memfd per tmpfs file, an O_PATH fd
// per lower path looked up). Its fd table is sized once, in the kernel
// process while it has one thread (fork copies only the used part):
// growing the table of a threaded process waits for an RCU grace period,
// 7-20 ms on these VMs, at every doubling.
void reserve_fd_table()
{
    rlimit r {};
    getrlimit(RLIMIT_NOFILE, &r);
    int size = static_cast<int>(std::min<rlim_t>(r.rlim_cur, 65536));
    int base = open("/", O_PATH | O_CLOEXEC);
    int high = fcntl(base, F_DUPFD_CLOEXEC, size - 1);
    if (high >= 0)
        close(high);
    if (base >= 0)
        close(base);
}

// -v HOST:GUEST[:OPTIONS]: the host directory or disk image, checked, and
// where it goes. OPTIONS, comma-separated: ro or rw, and sockets (host
// sockets in the directory are connectable).
struct VolumeSpec {
    std::string host;
    std::string guest;
    bool writable { true };
    bool image { false };
    bool host_sockets { false };
};

std::expected<VolumeSpec, std::string> parse_volume(const std::string& text)
{
    auto bad = [&](const std::string& why) {
        return std::unexpected(fmt::format("-v {}: {} (expected HOST:GUEST[:ro|:rw][,sockets])", text, why));
    };
    std::vector<std::string> parts;
    for (usize start = 0;;) {
        usize colon = text.find(':', start);
        parts.push_back(text.substr(start, colon - start));
        if (colon == std::string::npos)
            break;
        start = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 3)
        return bad("wrong number of fields");
    VolumeSpec v;
    if (parts.size() == 3) {
        std::istringstream options(parts[2]);
        for (std::string option; std::getline(options, option, ',');) {
            if (option == "ro" || option == "rw")
                v.writable = option == "rw";
            else if (option == "sockets")
                v.host_sockets = true;
            else
                return bad(fmt::format("unknown option '{}'", option));
        }
    }
    std::error_code ec;
    auto host = std::filesystem::canonical(parts[0], ec);
    if (ec)
        return bad(fmt::format("{}: {}", parts[0], ec.message()));
    v.image = std::filesystem::is_regular_file(host, ec);
    if (!v.image && !std::filesystem::is_directory(host, ec))
        return bad(fmt::format("{} is neither a directory nor a disk image", parts[0]));
    if (v.image && v.host_sockets)
        return bad("'sockets' is for host directories, not disk images");
    v.host = host.string();
    std::filesystem::path guest(parts[1]);
    if (!guest.is_absolute())
        return bad("the guest path must be absolute");
    guest = guest.lexically_normal();
    v.guest = guest.string();
    if (v.guest.size() > 1 && v.guest.ends_with('/'))
        v.guest.pop_back();
    for (const char* reserved : { "/", "/proc", "/dev" })
        if (v.guest == reserved || (std::string_view(reserved) != "/" && v.guest.starts_with(std::string(reserved) + "/")))
            return bad(fmt::format("cannot mount over {}", reserved));
    return v;
}

// --upper DIR: made if missing; its file system must keep what overlayfs
// keeps there (user xattrs, 0/0 character devices as whiteouts).
std::expected<host::Fd, std::string> open_upper(const std::string& path)
{
    auto bad = [&](const std::string& why) { return std::unexpected(fmt::format("--upper {}: {}", path, why)); };
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec)
        return bad(ec.message());
    if (!std::filesystem::is_directory(path, ec))
        return bad("not a directory");
    auto fd = host::open_path(path.c_str());
    if (!fd)
        return bad(errno_text(fd.error()));
    auto dir = host::reopen(fd->get(), O_RDONLY | O_DIRECTORY);
    static constexpr u8 kProbe[] = { 'y' };
    if (!dir || !host::set_xattr(dir->get(), "user.umk.probe", kProbe, 0)
        || !host::remove_xattr(dir->get(), "user.umk.probe"))
        return bad("its file system does not keep user extended attributes; use another directory");
    if (!host::make_whiteout(fd->get(), ".umk-probe") || !host::remove(fd->get(), ".umk-probe", false))
        return bad("cannot make overlayfs whiteouts (0/0 character devices) there; use another directory");
    return std::move(*fd);
}

// --user UID[:GID]: numbers only (the guest's names are its own /etc's).
std::expected<std::pair<u32, u32>, std::string> parse_user(const std::string& text)
{
    if (text == "-")
        return std::pair(0u, 0u); // not given: unused
    auto number = [](const std::string& s) -> std::optional<u32> {
        if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        unsigned long v = std::stoul(s);
        if (v >= 0xffffffffUL)
            return std::nullopt;
        return static_cast<u32>(v);
    };
    usize colon = text.find(':');
    auto uid = number(text.substr(0, colon));
    auto gid = colon == std::string::npos ? uid : number(text.substr(colon + 1));
    if (!uid || !gid)
        return std::unexpected(fmt::format("--user {}: expected UID or UID:GID, numbers (e.g. 0 or 1000:1000)", text));
    return std::pair(*uid, *gid);
}

// An image file for the guest, locked against a second writer (another
// guest, or umk image merge): exclusively where written, shared where
// only read.
std::expected<host::Fd, std::string> open_locked(const std::string& what, const std::string& path, int flags)
{
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0)
        return std::unexpected(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
    host::Fd owned(fd);
    bool writes = (flags & O_ACCMODE) != O_RDONLY;
    if (flock(fd, (writes ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0)
        return std::unexpected(fmt::format("{} {}: in use by another guest or umk command", what, path));
    return owned;
}

std::expected<std::unique_ptr<kernel::Ext4Fs>, std::string> mount_disk(const std::string& what, const std::string& path,
                                                                       host::DiskImage disk)
{
    auto fs = kernel::Ext4Fs::mount(std::move(disk));
    if (!fs)
        return std::unexpected(fmt::format("{} {}: {}", what, path, fs.error()));
    return std::move(*fs);
}

// --disk IMG [--cow FILE], or -v IMG:GUEST[:ro].
std::expected<std::unique_ptr<kernel::Ext4Fs>, std::string> open_disk(const std::string& what, const std::string& path,
                                                                      bool writable, const std::string& cow_path)
{
    auto fail_with = [&](const std::string& why) { return std::unexpected(fmt::format("{} {}: {}", what, path, why)); };
    if (cow_path.empty()) {
        auto image = open_locked(what, path, writable ? O_RDWR : O_RDONLY);
        if (!image)
            return std::unexpected(image.error());
        auto disk = host::DiskImage::open(std::move(*image), writable);
        if (!disk)
            return fail_with("not a disk image file");
        return mount_disk(what, path, std::move(*disk));
    }
    std::error_code ec;
    auto absolute = std::filesystem::canonical(path, ec).string();
    if (ec)
        return fail_with(ec.message());
    auto image = open_locked(what, absolute, O_RDONLY);
    if (!image)
        return std::unexpected(image.error());
    bool made = !std::filesystem::exists(cow_path, ec);
    auto cow = open_locked("--cow", cow_path, O_RDWR | O_CREAT);
    if (!cow)
        return std::unexpected(cow.error());
    // A COW file this run made goes again if the run cannot start.
    struct Unmake {
        const std::string& path;
        bool armed;
        ~Unmake()
        {
            if (armed)
                ::unlink(path.c_str());
        }
    } unmake { cow_path, made };
    auto disk = host::DiskImage::open_cow(std::move(*image), absolute, std::move(*cow));
    if (!disk) {
        if (disk.error() == Errno::INVAL)
            return std::unexpected(fmt::format("--cow {}: not a COW file of {} (wrong format, or the image has changed "
                                               "since the COW file was made: its size or modification time differs)",
                                               cow_path, path));
        return std::unexpected(fmt::format("--cow {}: {}", cow_path, errno_text(disk.error())));
    }
    auto fs = mount_disk(what, path, std::move(*disk));
    if (fs)
        unmake.armed = false;
    return fs;
}

} // namespace

void add_run_options(CLI::App& app, RunOptions& o)
{
    auto* root = app.add_option("--root", o.root, "Lower (read-only) layer of the guest's root: a directory (default: the host's /)");
    auto* upper = app.add_option("--upper", o.upper,
                   "Keep the guest's changes to its root in host directory DIR (made if missing) and find them "
                   "there next time, in Linux overlayfs's format (default: in memory, gone at exit)")
        ->type_name("DIR");
    app.add_option("--disk", o.disk,
                   "Use ext4 disk image IMG as the guest's root instead of --root; the guest's writes change the "
                   "image unless --cow is given (make one with: umk image create)")
        ->type_name("IMG")
        ->excludes(root)
        ->excludes(upper);
    app.add_option("--cow", o.cow,
                   "Keep --disk's changes in copy-on-write file FILE (made if missing; User-mode Linux's COW "
                   "format) and leave the image untouched; umk image merge folds it in")
        ->type_name("FILE");
    app.add_flag("--strace", o.strace, "Print every guest syscall, decoded, on stderr");
    app.add_option("--strace-file", o.strace_file, "Write the --strace output to this file instead")->type_name("FILE");
    app.add_option("--hostname", o.hostname, "The guest's host name (uname nodename)")->capture_default_str();
    app.add_option("--user", o.user,
                   "The guest's first process runs as UID (and GID; default: UID's own number), e.g. 0 for root "
                   "inside the guest while umk runs unprivileged (default: the caller's ids)")
        ->type_name("UID[:GID]");
    app.add_option("--kernel-release", o.kernel_release, "The kernel release the guest sees (uname -r)")->capture_default_str();
    app.add_option("--cwd", o.cwd, "Guest working directory (default: the current directory, or /)");
    app.add_option("-v,--volume", o.volumes,
                   "Mount host directory HOST at GUEST in the guest, writable (the guest's changes reach the "
                   "host) or read-only with :ro; with :sockets (or :ro,sockets) the guest may connect to host "
                   "unix sockets there; HOST may also be an ext4 disk image file; repeatable")
        ->type_name("HOST:GUEST[:ro|:rw][,sockets]")
        ->allow_extra_args(false);
    app.add_option("--pids-max", o.pids_max,
                   "Most guest tasks (processes and threads) at once; fork and clone fail with EAGAIN beyond")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 22));
    app.add_option("--threads-max", o.threads_max,
                   "Most threads in one guest process; clone(CLONE_THREAD) fails with EAGAIN beyond")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_flag("--debuggable", o.debuggable, "Keep the kernel process dumpable so gdb and perf can attach");
    app.add_flag("--no-syscall-patching", o.no_syscall_patching,
                 "Keep guest code unchanged: every syscall traps (slower; --strace and guest debuggers imply it)");
    app.add_flag("--unsafe-no-sandbox", o.unsafe_no_sandbox,
                 "Run without the kernel's own namespaces (for hosts that refuse unprivileged user namespaces)");
    app.add_option("command", o.command, "The program and its arguments (after --)");
    app.footer("Example: umk run -- /bin/ls -la /usr\n"
               "The guest's writes go to a private in-memory layer (or --upper DIR); the host's files are\n"
               "never changed, except in writable volumes (-v).\n"
               "Exit status: the guest's, or 128+N when it was killed by signal N.");
}

int run(RunOptions& o)
{
    std::error_code ec;
    bool rootless = geteuid() != 0; // (before umk's own user namespace)
    auto user_ids = parse_user(o.user.value_or("-"));
    if (!user_ids)
        return fail(user_ids.error(), 2);
    if (!o.cow.empty() && o.disk.empty())
        return fail("--cow needs --disk IMG (the image whose changes it keeps)", 2);
    if (!o.disk.empty() && (o.root != "/" || !o.upper.empty()))
        return fail("--disk replaces --root and --upper: give one or the other", 2);
    auto root = std::filesystem::canonical(o.root, ec);
    if (ec || !std::filesystem::is_directory(root, ec))
        return fail(fmt::format("--root {}: not a directory", o.root), 2);
    std::string root_path = root.string();

    std::vector<VolumeSpec> volume_specs;
    for (auto& text : o.volumes) {
        auto v = parse_volume(text);
        if (!v)
            return fail(v.error(), 2);
        for (auto& other : volume_specs)
            if (other.guest == v->guest)
                return fail(fmt::format("-v {}: {} is already a volume", text, v->guest), 2);
        volume_specs.push_back(std::move(*v));
    }

    auto mounts = host::guest_visible_mounts(root_path);
    if (!mounts)
        return fail("cannot read /proc/self/mountinfo: is /proc mounted?", 2);
    kernel::capture_host_info();
    rlimit guest_nofile = raise_fd_limit();

    int strace_fd = -1;
    if (o.strace)
        strace_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (!o.strace_file.empty()) {
        strace_fd = ::open(o.strace_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (strace_fd < 0)
            return fail(fmt::format("--strace-file {}: {}", o.strace_file, std::strerror(errno)), 2);
    }

    if (!o.unsafe_no_sandbox) {
        std::optional<std::pair<u32, u32>> inside;
        if (o.user)
            inside = *user_ids;
        if (auto r = host::enter_user_namespace(inside); !r)
            return fail(fmt::format("this host refuses an unprivileged user namespace ({}); umk needs one to "
                                    "sandbox itself. Enable them (sysctl kernel.unprivileged_userns_clone=1 or "
                                    "user.max_user_namespaces) or run with --unsafe-no-sandbox",
                                    errno_text(r.error())), 2);
    }

    // The root directory itself, then the host mounts below it.
    std::vector<kernel::LowerMount> lowers;
    if (o.disk.empty()) {
        auto root_fd = host::open_path(root_path.c_str());
        if (!root_fd)
            return fail(fmt::format("--root {}: {}", o.root, errno_text(root_fd.error())), 2);
        lowers.push_back({ "", std::move(*root_fd) });
        for (auto& m : *mounts) {
            if (m.path == root_path)
                continue;
            auto fd = host::open_path(m.path.c_str());
            if (!fd)
                continue; // a mount we cannot reach stays an empty directory
            lowers.push_back({ m.path.substr(root_path == "/" ? 1 : root_path.size() + 1), std::move(*fd) });
        }
    }

    host::Fd upper;
    if (!o.upper.empty()) {
        auto opened = open_upper(o.upper);
        if (!opened)
            return fail(opened.error(), 2);
        upper = std::move(*opened);
    }
    std::unique_ptr<kernel::Ext4Fs> root_disk;
    if (!o.disk.empty()) {
        auto disk = open_disk("--disk", o.disk, true, o.cow);
        if (!disk)
            return fail(disk.error(), 2);
        root_disk = std::move(*disk);
    }
    std::vector<kernel::Volume> volumes;
    for (auto& v : volume_specs) {
        if (v.image) {
            auto disk = open_disk("-v", v.host, v.writable, {});
            if (!disk)
                return fail(disk.error(), 2);
            volumes.push_back({ v.guest, host::Fd(), v.writable, false, std::move(*disk) });
            continue;
        }
        auto fd = host::open_path(v.host.c_str());
        if (!fd)
            return fail(fmt::format("-v {}: {}", v.host, errno_text(fd.error())), 2);
        volumes.push_back({ v.guest, std::move(*fd), v.writable, v.host_sockets, nullptr });
    }

    std::string cwd = o.cwd.empty() ? (root_disk ? "/" : guest_cwd(root_path)) : o.cwd;

    if (!o.unsafe_no_sandbox) {
        if (auto r = host::enter_pid_namespace(); !r)
            return fail(fmt::format("cannot create the guest's pid namespace: {}", errno_text(r.error())), 2);
    }
    reserve_fd_table();
    if (auto r = host::open_proc(!o.unsafe_no_sandbox); !r)
        return fail(fmt::format("cannot open /proc: {}", errno_text(r.error())), 2);
    if (!o.unsafe_no_sandbox) {
        if (auto r = host::pivot_to_empty_root(); !r)
            return fail(fmt::format("cannot leave the host's mount tree: {}", errno_text(r.error())), 2);
    }
    if (!o.debuggable)
        host::set_non_dumpable();

    auto platform = platform::SeccompTrapPlatform::create();
    if (!platform)
        return fail(fmt::format("cannot start the seccomp-trap platform: {}", errno_text(platform.error())), 2);

    auto rootfs = kernel::build_root(std::move(lowers), std::move(upper), std::move(root_disk), std::move(volumes),
                                     isatty(STDIN_FILENO) ? STDIN_FILENO : -1, rootless);
    if (!rootfs)
        return fail(fmt::format("cannot build the guest's root: {}", errno_text(rootfs.error())), 2);

    if (std::any_of(volume_specs.begin(), volume_specs.end(), [](auto& v) { return v.host_sockets; })) {
        if (auto r = host::start_socket_connector(); !r)
            return fail(fmt::format("cannot start the host socket connector: {}", errno_text(r.error())), 2);
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (auto r = host::install_kernel_denylist(); !r)
        return fail("cannot install the kernel's seccomp denylist", 2);

    kernel::KernelOptions options;
    options.hostname = o.hostname;
    options.kernel_release = o.kernel_release;
    options.kernel_version = "#1 SMP PREEMPT_DYNAMIC umk";
    options.uid = getuid();
    options.gid = getgid();
    if (o.user) {
        options.uid = user_ids->first;
        options.gid = user_ids->second;
    }
    options.strace_fd = strace_fd;
    options.syscall_patching = !o.no_syscall_patching && strace_fd < 0;
    options.pids_max = o.pids_max;
    options.threads_max = o.threads_max;
    options.nofile_cur = guest_nofile.rlim_cur;
    options.nofile_max = guest_nofile.rlim_max;
    options.cwd = cwd;
    kernel::Kernel kernel(options, std::move(*platform), rootfs->root);
    for (auto& m : rootfs->mounts)
        kernel.add_mount(m);
    if (auto r = kernel::mount_procfs(kernel, rootfs->root); !r)
        return fail("cannot mount /proc", 2);

    // Interrupted or terminated: the guest stops and the kernel returns
    // normally, so that disk images are written back and left clean.
    host::on_termination_request([&kernel] { kernel.terminate(); });
    struct Unregister {
        ~Unregister() { host::on_termination_request({}); }
    } unregister;

    std::vector<std::string> env;
    for (char** e = environ; *e; e++)
        env.emplace_back(*e);
    auto status = kernel.run_init(o.command, env);
    if (!status) {
        int code = status.error() == Errno::NOENT ? 127 : 126;
        return fail(fmt::format("cannot run {}: {}", o.command[0], errno_text(status.error())), code);
    }
    if (WIFSIGNALED(*status))
        return 128 + WTERMSIG(*status);
    return WEXITSTATUS(*status);
}

} // namespace umk::cli
