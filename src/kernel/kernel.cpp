#include "kernel/kernel.h"

#include "host/files.h"
#include "kernel/exec/exec.h"
#include "kernel/tty/console.h"
#include "kernel/vfs/path.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

namespace umk::kernel {

Kernel::Kernel(KernelOptions options, std::unique_ptr<platform::Platform> platform, RefPtr<Dentry> root)
    : m_options(std::move(options)), m_platform(std::move(platform)), m_root(std::move(root))
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m_boot_time = { ts.tv_sec, ts.tv_nsec };
}

void Kernel::log_once(const std::string& key, const std::string& message)
{
    {
        std::lock_guard lock(m_lock);
        if (!m_logged.insert(key).second)
            return;
    }
    std::string line = fmt::format("umk: {}\n", message);
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

void Kernel::strace(const std::string& line)
{
    std::string out = line + "\n";
    [[maybe_unused]] auto n = ::write(m_options.strace_fd, out.data(), out.size());
}

RefPtr<Process> Kernel::find_process(int pid)
{
    std::lock_guard lock(m_lock);
    auto it = m_processes.find(pid);
    return it == m_processes.end() ? nullptr : it->second;
}

std::vector<int> Kernel::pids()
{
    std::lock_guard lock(m_lock);
    std::vector<int> out;
    for (auto& [pid, p] : m_processes)
        out.push_back(pid);
    return out;
}

namespace {

// execvp's search: argv[0] without a slash is looked up in PATH.
std::string find_program(const PathContext& ctx, const std::string& name, const std::vector<std::string>& envp)
{
    if (name.find('/') != std::string::npos)
        return name;
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto& e : envp)
        if (e.starts_with("PATH="))
            path = e.substr(5);
    usize start = 0;
    while (start <= path.size()) {
        usize end = path.find(':', start);
        if (end == std::string::npos)
            end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (auto d = resolve_path(ctx, candidate, Follow::Yes)) {
            auto a = (*d)->inode().attr();
            if (a && S_ISREG(a->mode) && check_access(*a, ctx.creds, kMayExec))
                return candidate;
        }
        start = end + 1;
    }
    return name;
}

} // namespace

KResult<int> Kernel::run_init(const std::vector<std::string>& argv, const std::vector<std::string>& envp)
{
    auto process = make_ref<Process>(*this, 1, 0);
    process->set_creds(Credentials::for_user(m_options.uid, m_options.gid));
    {
        PathContext ctx { m_root, m_root, process->creds() };
        auto cwd = resolve_path(ctx, m_options.cwd, Follow::Yes);
        std::lock_guard lock(process->lock());
        process->fs_locked().root = m_root;
        process->fs_locked().cwd = cwd && (*cwd)->inode().is_dir() ? *cwd : m_root;
        process->fs_locked().umask = 022;
    }
    for (int fd = 0; fd < 3; fd++) {
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
            continue; // umk's own fd is closed: so is the guest's
        auto inode = make_ref<ConsoleInode>(host::Fd(copy));
        int flags = fcntl(fd, F_GETFL);
        auto file = TRY(inode->open(flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)));
        TRY(process->fds().install(fd, file, false, 3));
    }
    {
        std::lock_guard lock(m_lock);
        m_processes.emplace(1, process);
    }

    // No context yet: execve gives the thread its address space.
    Thread thread(process, 1);
    auto creds = process->creds();
    PathContext ctx { m_root, m_root, creds };
    TRY(do_execve(thread, find_program(ctx, argv.at(0), envp), argv, envp));

    std::thread task([&] { thread.run(); });
    task.join();
    process->wait_threads_gone();
    {
        std::lock_guard lock(process->lock());
        process->real_timer.generation++;
        m_timers.cancel(process->real_timer.id);
    }
    int status = process->exit_status().value_or(0);
    {
        std::lock_guard lock(m_lock);
        m_processes.erase(1);
    }
    return status;
}

} // namespace umk::kernel
