#include "platform/seccomp_trap/seccomp_trap.h"

#include "host/files.h"
#include "host/result.h"
#include "platform/seccomp_trap/layout.h"

#include <fmt/format.h>

#include <cpuid.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <thread>

extern "C" const char umk_stub_image_start[];
extern "C" const char umk_stub_image_end[];

namespace umk::platform {

u64 Registers::syscall_arg(int i) const
{
    static constexpr Index kArgs[6] = { RDI, RSI, RDX, R10, R8, R9 };
    return r[kArgs[i]];
}

namespace {

static_assert(static_cast<int>(Registers::Count) == static_cast<int>(UMK_NREGS));
static_assert(static_cast<int>(Registers::RIP) == static_cast<int>(UMK_RIP)
              && static_cast<int>(Registers::FS_BASE) == static_cast<int>(UMK_FS_BASE));

u32 load(const u32& word) { return __atomic_load_n(&word, __ATOMIC_SEQ_CST); }
void store(u32& word, u32 value) { __atomic_store_n(&word, value, __ATOMIC_SEQ_CST); }

void futex_wait(u32& word, u32 expected)
{
    syscall(SYS_futex, &word, FUTEX_WAIT, expected, nullptr, nullptr, 0);
}
void futex_wake(u32& word) { syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

u64 monotonic_ns()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<u64>(ts.tv_sec) * 1'000'000'000 + static_cast<u64>(ts.tv_nsec);
}

u64 total_ns(const CpuUsage& usage) { return usage.user_ns + usage.system_ns; }

// The CPU time of an exited stub, which `flags` (WNOWAIT) may leave
// unreaped; nullopt while it runs (WNOHANG).
std::optional<CpuUsage> exited_cpu_usage(int pidfd, int flags)
{
    siginfo_t info {};
    rusage ru {};
    long r;
    do
        r = syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED | flags, &ru);
    while (r != 0 && errno == EINTR);
    if (r != 0 || info.si_pid == 0)
        return std::nullopt;
    auto ns = [](const timeval& tv) { return static_cast<u64>(tv.tv_sec) * 1'000'000'000 + static_cast<u64>(tv.tv_usec) * 1000; };
    return CpuUsage { ns(ru.ru_utime), ns(ru.ru_stime) };
}

// The CPU time of stub `pid` (our child until reaped); its rusage once
// it `may_have_exited` and has.
CpuUsage stub_cpu_usage(int pidfd, int pid, bool may_have_exited)
{
    if (may_have_exited)
        if (auto usage = exited_cpu_usage(pidfd, WNOWAIT | WNOHANG))
            return *usage;
    clockid_t clock;
    timespec ts {};
    if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return {};
    return { static_cast<u64>(ts.tv_sec) * 1'000'000'000 + static_cast<u64>(ts.tv_nsec), 0 };
}

// Other work keeps the host's CPUs busy (HostLoad): no kernel thread
// yields in a spin, and every stub is told so (umk_op_page::host_busy).
std::atomic<bool> g_host_busy { false };

// Whether the host CPU has RDPID (umk_cpu), for the kernel's threads and
// every stub (umk_op_page::rdpid).
u32 host_has_rdpid()
{
    static const u32 rdpid = [] {
        unsigned a, b, c, d;
        return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & bit_RDPID) ? 1U : 0U;
    }();
    return rdpid;
}

// The host CPU this thread runs on.
u32 current_cpu() { return umk_cpu(host_has_rdpid()); }

// At most cores - 1 kernel threads spin at once: a spinning thread that
// keeps the guest thread from running costs milliseconds (MEASUREMENTS.md).
std::atomic<int> g_spinners { 0 };
int spinner_budget()
{
    static const int budget = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
    return budget;
}

// At most 4 per core yield at once (docs/design.md, "Yielding beyond the
// spinner budget"): a yield gives the CPU to whoever is runnable there,
// most often the guest thread being waited for, but hundreds of threads
// yielding in turn keep that thread waiting for each of them.
std::atomic<int> g_yielders { 0 };
int yielder_budget()
{
    static const int budget = 4 * static_cast<int>(std::thread::hardware_concurrency());
    return budget;
}

// The spinning part of a hybrid wait: `pauses` PAUSEs (1 µs for 100)
// within the spinner budget, then sched_yield (unless the host is busy)
// within the yielder budget. The state last seen.
template <class Done>
u32 spin_wait(u32& state, Done done, int pauses = 100)
{
    u32 seen = load(state);
    if (done(seen))
        return seen;
    if (g_spinners.fetch_add(1, std::memory_order_relaxed) < spinner_budget()) {
        for (int i = 0; i < pauses && !done(seen = load(state)); i++)
            __builtin_ia32_pause();
    }
    g_spinners.fetch_sub(1, std::memory_order_relaxed);
    if (g_yielders.fetch_add(1, std::memory_order_relaxed) < yielder_budget()) {
        int yields = g_host_busy.load(std::memory_order_relaxed) ? 0 : 200;
        for (int i = 0; i < yields && !done(seen); i++) {
            sched_yield();
            seen = load(state);
        }
    }
    g_yielders.fetch_sub(1, std::memory_order_relaxed);
    return seen;
}

// Hybrid wait until `done(state)`: spin_wait, then FUTEX_WAIT with the
// `sleeping` flag raised so the other side wakes us (`before_sleep` first).
template <class Done, class BeforeSleep>
u32 hybrid_wait(u32& state, u32& sleeping, Done done, int pauses, BeforeSleep before_sleep)
{
    u32 seen = spin_wait(state, done, pauses);
    while (!done(seen)) {
        before_sleep();
        store(sleeping, 1);
        if (load(state) == seen)
            futex_wait(state, seen);
        store(sleeping, 0);
        seen = load(state);
    }
    return seen;
}

bool is_stop(u32 state)
{
    return state == UMK_STOP_SYSCALL || state == UMK_STOP_FAULT || state == UMK_STOP_INTERRUPT || state == UMK_DEAD
        || state == UMK_GONE;
}

struct SpawnArgs {
    int ctl;
    int memfd;
    int image;
};

// Runs in the CLONE_VM|CLONE_VFORK child: raw syscalls only.
int spawn_child(void* raw)
{
    auto* a = static_cast<SpawnArgs*>(raw);
    // The guest's layout needs the host's vdso/vvar and the stub's own
    // stack at the very top (seccomp_trap/layout.h); umk randomizes the
    // guest's own layout itself.
    syscall(SYS_personality, ADDR_NO_RANDOMIZE);
    int ctl = static_cast<int>(syscall(SYS_fcntl, a->ctl, F_DUPFD, 100));
    int mem = static_cast<int>(syscall(SYS_fcntl, a->memfd, F_DUPFD, 100));
    int image = static_cast<int>(syscall(SYS_fcntl, a->image, F_DUPFD, 100));
    if (ctl < 0 || mem < 0 || image < 0)
        syscall(SYS_exit, 126);
    syscall(SYS_dup2, ctl, UMK_STUB_CTL_FD);
    syscall(SYS_dup2, mem, UMK_STUB_MEMFD);
    syscall(SYS_dup2, image, 5);
    syscall(SYS_fcntl, 5, F_SETFD, FD_CLOEXEC);
    syscall(SYS_close_range, 6, ~0U, 0);
    syscall(SYS_close_range, 0, 2, 0);
    static const char* const argv[] = { "umk-stub", nullptr };
    static const char* const envp[] = { nullptr };
    syscall(SYS_execveat, 5, "", argv, envp, AT_EMPTY_PATH);
    syscall(SYS_exit, 127);
    return 127;
}

} // namespace

thread_local Context* CallerScope::s_current = nullptr;
thread_local bool CallerScope::s_outputs_last = false;

namespace {

// The guest thread whose outputs this kernel thread left in its slot
// (SeccompContext::stage): a kernel thread runs one guest thread at a
// time (task_thread_done between two).
thread_local SeccompContext* t_staged = nullptr;

// An entry of the slot's prefetch[], read once (the guest can write it).
umk_copy read_entry(const umk_copy& c)
{
    const volatile umk_copy& v = c;
    return { v.address, v.offset, v.length };
}

} // namespace

void task_thread_done() { t_staged = nullptr; }

// ---- the platform ----

KResult<std::unique_ptr<SeccompTrapPlatform>> SeccompTrapPlatform::create()
{
    std::unique_ptr<SeccompTrapPlatform> platform(new SeccompTrapPlatform);
    int fd = memfd_create("umk-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0010U /* MFD_EXEC, Linux 6.3 */);
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("umk-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    platform->m_stub_image = host::Fd(TRY(host::check(fd)));
    std::span image(umk_stub_image_start, static_cast<usize>(umk_stub_image_end - umk_stub_image_start));
    while (!image.empty()) {
        ssize_t n = ::write(fd, image.data(), image.size());
        if (n <= 0)
            return err(Errno::IO);
        image = image.subspan(static_cast<usize>(n));
    }
    TRY(host::check_void(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)));

    platform->m_epoll = host::Fd(TRY(host::check(epoll_create1(EPOLL_CLOEXEC))));
    platform->m_monitor_wakeup = host::Fd(TRY(host::check(eventfd(0, EFD_CLOEXEC))));
    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.fd = platform->m_monitor_wakeup.get();
    TRY(host::check_void(epoll_ctl(platform->m_epoll.get(), EPOLL_CTL_ADD, ev.data.fd, &ev)));
    platform->m_monitor = std::thread([p = platform.get()] { p->monitor_loop(); });
    platform->m_pool_filler = std::thread([p = platform.get()] { p->pool_loop(); });
    return platform;
}

SeccompTrapPlatform::~SeccompTrapPlatform()
{
    {
        std::lock_guard lock(m_pool_lock);
        m_stopping = true;
    }
    m_pool_cv.notify_all();
    if (m_pool_filler.joinable())
        m_pool_filler.join();
    m_pool.clear();
    u64 one = 1;
    [[maybe_unused]] auto n = ::write(m_monitor_wakeup.get(), &one, sizeof one);
    if (m_monitor.joinable())
        m_monitor.join();
    for (auto& [fd, stub] : m_retired)
        reap(stub);
}

void SeccompTrapPlatform::monitor_loop()
{
    sample_host_load(monotonic_ns());
    u64 next_sample = monotonic_ns() + HostLoad::kIntervalNs;
    for (;;) {
        epoll_event events[16];
        int n = epoll_wait(m_epoll.get(), events, 16, static_cast<int>(HostLoad::kIntervalNs / 1'000'000));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::runtime_error("umk: stub monitor: epoll_wait failed");
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == m_monitor_wakeup.get())
                return;
            std::lock_guard lock(m_stubs_lock);
            if (auto it = m_stubs.find(fd); it != m_stubs.end()) {
                epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
                it->second->mark_dead();
                // Its time goes with the exited stubs' now (retire knows
                // it from its absence in m_stubs).
                m_exited_stubs_cpu_ns += total_ns(exited_cpu_usage(fd, WNOWAIT).value_or(CpuUsage {}));
                m_stubs.erase(it);
            } else if (auto r = m_retired.find(fd); r != m_retired.end()) {
                epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
                reap(r->second);
                m_retired.erase(r);
            }
        }
        if (u64 now = monotonic_ns(); now >= next_sample) {
            next_sample = now + HostLoad::kIntervalNs;
            sample_host_load(now);
        }
    }
}

void SeccompTrapPlatform::sample_host_load(u64 now)
{
    auto host = m_host_load.host_busy_ns();
    if (!host)
        return;
    timespec self {};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self);
    std::lock_guard lock(m_stubs_lock);
    u64 ours = static_cast<u64>(self.tv_sec) * 1'000'000'000 + static_cast<u64>(self.tv_nsec) + m_exited_stubs_cpu_ns;
    for (auto& [fd, stub] : m_stubs)
        ours += total_ns(stub->cpu_usage());
    for (auto& [fd, stub] : m_retired)
        if (!stub.counted)
            ours += total_ns(stub_cpu_usage(fd, stub.pid, true)); // killed
    auto busy = m_host_load.sample(now, *host, ours);
    if (!busy || *busy == g_host_busy.load())
        return;
    g_host_busy = *busy;
    for (auto& [fd, stub] : m_stubs)
        stub->set_host_busy(*busy);
}

void SeccompTrapPlatform::reap(Retired& stub)
{
    auto usage = exited_cpu_usage(stub.pidfd.get(), 0);
    if (usage && !stub.counted)
        m_exited_stubs_cpu_ns += total_ns(*usage);
    munmap(stub.region, UMK_CTL_SIZE);
}

void SeccompTrapPlatform::note_patch_thunks(u64 thunks)
{
    // Reported before any guest code ran; the same for every stub.
    if (thunks < UMK_STUB_BASE || thunks >= UMK_CTL_BASE)
        return;
    std::call_once(m_patch_table_once, [&] {
        int fd = memfd_create("umk-patch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
            return;
        host::Fd table(fd);
        std::vector<u8> image(UMK_PATCH_TABLE_SIZE, 0xcc);
        for (u64 k = 0; k < UMK_MAX_SITES; k++) {
            // Cell k: thunk k's address.
            u64 thunk = thunks + k * UMK_THUNK_SIZE;
            std::memcpy(image.data() + k * 8, &thunk, 8);
            // Site k's trap path: `syscall`, then ud2s (the kernel returns
            // to the site, switch_to_guest).
            u8* code = image.data() + (UMK_PATCH_FALLBACK - UMK_PATCH_CELLS) + 16 * k;
            for (int i = 0; i < 16; i += 2) {
                code[i] = 0x0f;
                code[i + 1] = i == 0 ? 0x05 : 0x0b;
            }
        }
        if (::pwrite(fd, image.data(), image.size(), 0) != static_cast<ssize_t>(image.size())
            || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
            return;
        m_patch_table = std::move(table);
    });
}

void SeccompTrapPlatform::watch(StubProcess& stub)
{
    std::lock_guard lock(m_stubs_lock);
    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.fd = stub.pidfd();
    if (epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, stub.pidfd(), &ev) != 0)
        throw std::runtime_error("umk: cannot watch a stub process");
    m_stubs.emplace(stub.pidfd(), &stub);
    stub.set_host_busy(g_host_busy);
}

void SeccompTrapPlatform::retire(host::Fd&& pidfd, int pid, void* region)
{
    std::lock_guard lock(m_stubs_lock);
    int fd = pidfd.get();
    // Still watched: its exit comes to the monitor as before. Else (its
    // exit came already) watched again: a pidfd of an exited process is
    // readable at once.
    bool counted = !m_stubs.erase(fd); // the monitor saw it exit
    if (counted) {
        epoll_event ev {};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            Retired now { std::move(pidfd), pid, region, counted };
            reap(now);
            return;
        }
    }
    m_retired.emplace(fd, Retired { std::move(pidfd), pid, region, counted });
}

KResult<SeccompTrapPlatform::NewStub> SeccompTrapPlatform::prepare_stub()
{
    NewStub stub;
    stub.memfd = host::Fd(TRY(host::check(memfd_create("umk-ctl", MFD_CLOEXEC))));
    TRY(host::check_void(ftruncate(stub.memfd.get(), UMK_CTL_SIZE)));
    int pair[2];
    TRY(host::check_void(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair)));
    stub.kernel_end = host::Fd(pair[0]);
    stub.stub_end = host::Fd(pair[1]);
    void* region = mmap(nullptr, UMK_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, stub.memfd.get(), 0);
    if (region == MAP_FAILED)
        return err(Errno::NOMEM);
    stub.region = region;
    static_cast<umk_op_page*>(region)->rdpid = host_has_rdpid();
    // The main thread's slot: running until its first stop (GONE, 0,
    // would mean its host thread exited).
    reinterpret_cast<umk_thread_slot*>(static_cast<char*>(region) + UMK_SLOT_OFFSET)->state = UMK_RUNNING;
    // The op thread's "batch done" message, at the stub's addresses.
    auto* page = static_cast<umk_op_page*>(region);
    page->done_msg[2] = UMK_CTL_BASE + offsetof(umk_op_page, done_iov); // msg_iov
    page->done_msg[3] = 1;                                             // msg_iovlen
    page->done_iov[0] = UMK_CTL_BASE + offsetof(umk_op_page, done_byte);
    page->done_iov[1] = 1;
    return stub;
}

void SeccompTrapPlatform::pool_loop()
{
    std::unique_lock lock(m_pool_lock);
    for (;;) {
        m_pool_cv.wait(lock, [&] { return m_stopping || (m_address_spaces_made > 1 && m_pool.size() < kPoolSize); });
        if (m_stopping)
            return;
        lock.unlock();
        auto stub = spawn_stub();
        lock.lock();
        if (!stub) {
            // Try again when the next one is taken (the error shows there).
            m_pool_cv.wait(lock, [&] { return m_stopping || m_pool.empty(); });
            continue;
        }
        m_pool.push_back(std::move(*stub));
    }
}

KResult<std::unique_ptr<AddressSpace>> SeccompTrapPlatform::create_address_space()
{
    {
        std::lock_guard lock(m_pool_lock);
        m_address_spaces_made++;
        if (!m_pool.empty()) {
            auto stub = std::move(m_pool.back());
            m_pool.pop_back();
            m_pool_cv.notify_all();
            return std::unique_ptr<AddressSpace>(std::move(stub));
        }
    }
    m_pool_cv.notify_all();
    return std::unique_ptr<AddressSpace>(TRY(spawn_stub()));
}

KResult<std::unique_ptr<StubProcess>> SeccompTrapPlatform::spawn_stub()
{
    auto fresh = TRY(prepare_stub());
    SpawnArgs args { fresh.stub_end.get(), fresh.memfd.get(), m_stub_image.get() };
    constexpr usize kSpawnStack = 64 * 1024;
    alignas(16) static thread_local char spawn_stack[kSpawnStack];
    int pidfd = -1;
    int pid = clone(spawn_child, spawn_stack + kSpawnStack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &args,
                    &pidfd);
    if (pid < 0) {
        munmap(fresh.region, UMK_CTL_SIZE);
        return err(host::errno_from_host(errno));
    }
    auto stub = std::make_unique<StubProcess>(*this, host::Fd(pidfd), pid, std::move(fresh.kernel_end), fresh.region);
    // Wait for the stub's first stop: its main thread asks for guest registers.
    if (!static_cast<SeccompContext&>(stub->main_context()).wait_until_started())
        return err(Errno::AGAIN);
    stub->read_startup_info();
    return stub;
}

// ---- a stub process ----

StubProcess::StubProcess(SeccompTrapPlatform& platform, host::Fd pidfd, int pid, host::Fd ctl, void* region)
    : m_platform(platform)
    , m_pidfd(std::move(pidfd))
    , m_pid(pid)
    , m_access_tid(pid)
    , m_ctl(std::move(ctl))
    , m_region(region)
{
    m_threads.push_back(std::make_unique<SeccompContext>(*this, slot(0), 0, pid, pid));
    m_platform.watch(*this);
}

StubProcess::~StubProcess()
{
    kill();
    // Reaped only now (by the monitor): no kernel path can use m_pid any
    // more.
    m_platform.retire(std::move(m_pidfd), m_pid, m_region);
}

umk_thread_slot& StubProcess::slot(unsigned index)
{
    auto* base = static_cast<char*>(m_region) + UMK_SLOT_OFFSET + index * UMK_SLOT_SIZE;
    return *reinterpret_cast<umk_thread_slot*>(base);
}

void StubProcess::read_startup_info()
{
    u64 vdso = slot(0).vdso_base;
    m_vdso_base = vdso >= UMK_GUEST_TASK_SIZE ? vdso : 0;
    m_platform.note_patch_thunks(slot(0).patch_thunks);
}

void StubProcess::kill()
{
    syscall(SYS_pidfd_send_signal, m_pidfd.get(), SIGKILL, nullptr, 0);
}

KResult<Context*> StubProcess::create_thread(Context& caller_context)
{
    auto& caller = static_cast<SeccompContext&>(caller_context);
    unsigned index;
    {
        std::lock_guard lock(m_threads_lock);
        index = static_cast<unsigned>(m_threads.size());
        for (unsigned i = 1; i < m_threads.size(); i++) {
            if (!m_threads[i] && !m_starting.contains(i)) {
                index = i;
                break;
            }
        }
        if (index >= UMK_MAX_THREADS)
            return err(Errno::AGAIN);
        if (index == m_threads.size())
            m_threads.emplace_back();
        // Ours while its host thread starts (the lock is not held then):
        // another thread's clone must not take the same slot.
        m_starting.insert(index);
        store(slot(index).state, UMK_RUNNING);
    }
    auto tid = caller.clone_thread(index);
    std::lock_guard lock(m_threads_lock);
    m_starting.erase(index);
    if (!tid) {
        store(slot(index).state, UMK_GONE);
        return err(tid.error());
    }
    // The tid came through a guest-writable slot: it must name a thread of
    // this stub (not the kernel, not another stub) that no context has.
    // A forged one breaks the protocol: the process goes.
    bool known = false;
    for (auto& t : m_threads)
        known |= t && t->host_tid() == *tid;
    if (*tid <= 0 || known || syscall(SYS_tgkill, m_pid, *tid, 0) != 0) {
        kill();
        return err(Errno::AGAIN);
    }
    m_threads[index] = std::make_unique<SeccompContext>(*this, slot(index), index, m_pid, *tid);
    return m_threads[index].get();
}

void StubProcess::retire_thread(int tid)
{
    std::lock_guard lock(m_threads_lock);
    for (auto& t : m_threads)
        if (t && t->host_tid() == tid)
            t->mark_exited();
    if (m_access_tid != tid)
        return;
    // Another live thread: not an exited one (the leader's context stays
    // after its thread is gone).
    for (auto& t : m_threads) {
        if (t && !t->exited()) {
            m_access_tid = t->host_tid();
            return;
        }
    }
}

void StubProcess::release_thread(Context& context)
{
    std::lock_guard lock(m_threads_lock);
    auto index = static_cast<SeccompContext&>(context).index();
    if (index != 0) // the main thread's context stays: the address space is its
        m_threads[index].reset();
}

void StubProcess::mark_dead()
{
    m_dead = true;
    std::lock_guard lock(m_threads_lock);
    for (auto& t : m_threads) {
        if (!t)
            continue;
        auto& s = slot(t->index());
        store(s.state, UMK_DEAD);
        futex_wake(s.state);
    }
    auto* results = reinterpret_cast<umk_op_result_page*>(static_cast<char*>(m_region) + 4096);
    futex_wake(results->done_seq);
}

KResult<void> StubProcess::run_ops(std::span<const umk_op> ops)
{
    if (ops.size() > UMK_MAX_OPS)
        return err(Errno::INVAL);
    auto* page = static_cast<umk_op_page*>(m_region);
    auto* results = reinterpret_cast<umk_op_result_page*>(static_cast<char*>(m_region) + 4096);
    u32 seq = ++m_op_seq;
    if (seq == 0)
        seq = ++m_op_seq;
    std::memcpy(page->ops, ops.data(), ops.size_bytes());
    page->count = static_cast<u32>(ops.size());
    store(page->req_seq, seq);
    futex_wake(page->req_seq);
    u32 ignored_sleeping = 0;
    // The op thread always wakes us: `sleeping` is only our own flag here.
    // done_seq is guest-writable, so it only says when to look: the batch
    // is over when the op thread's message arrives (or the stub is gone).
    hybrid_wait(results->done_seq, ignored_sleeping, [&](u32 s) { return s == seq || m_dead.load(); }, 100, [] {});
    char byte;
    ssize_t got;
    do
        got = recv(m_ctl.get(), &byte, 1, 0);
    while (got < 0 && errno == EINTR);
    if (got != 1 || m_dead)
        return err(Errno::FAULT);
    u32 done = std::min<u32>(load(results->done_count), static_cast<u32>(ops.size()));
    for (u32 i = 0; i < done; i++) {
        i64 r = results->results[i];
        if (r < 0 && r >= -4095)
            return err(host::errno_from_host(static_cast<int>(-r)));
    }
    if (done != ops.size())
        return err(Errno::FAULT);
    return {};
}

KResult<void> StubProcess::run_memory_op(const umk_op& op)
{
    // Only quick ones: the handler must answer within memory_op's deadline.
    constexpr u64 kQuickLength = 64 << 20;
    bool quick = op.args[1] <= kQuickLength && !(op.nr == SYS_mmap && (op.args[3] & MAP_POPULATE));
    auto* caller = static_cast<SeccompContext*>(CallerScope::current());
    if (quick && caller && caller->belongs_to(*this) && op.args[0] < UMK_GUEST_TASK_SIZE)
        return caller->memory_op(op);
    return run_ops({ &op, 1 });
}

static umk_op make_op(long nr, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0, u64 a4 = 0, u64 a5 = 0)
{
    return umk_op { static_cast<u64>(nr), { a0, a1, a2, a3, a4, a5 } };
}

KResult<void> StubProcess::defer_maps(bool on)
{
    std::lock_guard lock(m_op_lock);
    m_defer_maps = on;
    return on ? KResult<void>() : flush_maps_locked();
}

KResult<void> StubProcess::flush_maps_locked()
{
    auto queue = std::exchange(m_deferred, {});
    usize i = 0;
    while (i < queue.size()) {
        // One batch: the fds of its file maps first (each distinct host fd
        // once, received as the next lowest free fd: 0, 1, 2), the maps,
        // then their closes.
        std::vector<umk_op> ops;
        std::vector<umk_op> maps;
        std::vector<int> sent; // host fd of stub fd 0, 1, ...
        while (i < queue.size()) {
            const MapRequest& r = queue[i];
            auto known = std::find(sent.begin(), sent.end(), r.host_fd);
            bool new_fd = r.host_fd >= 0 && known == sent.end();
            usize fds = sent.size() + (new_fd ? 1 : 0);
            // Received fds land on 0, 1, 2: the control socket is fd 3.
            if (maps.size() + 1 + 2 * fds > UMK_MAX_OPS || fds > UMK_STUB_CTL_FD)
                break;
            u64 flags = static_cast<u64>(r.flags) | MAP_FIXED;
            u64 stub_fd = static_cast<u64>(-1);
            if (new_fd) {
                TRY(send_fds({ &r.host_fd, 1 }));
                ops.push_back(receive_fds_op(1));
                stub_fd = sent.size();
                sent.push_back(r.host_fd);
            } else if (r.host_fd >= 0) {
                stub_fd = static_cast<u64>(known - sent.begin());
            }
            maps.push_back(make_op(SYS_mmap, r.address, r.length, static_cast<u64>(r.prot), flags, stub_fd,
                                   r.host_fd >= 0 ? r.offset : 0));
            i++;
        }
        ops.insert(ops.end(), maps.begin(), maps.end());
        for (usize fd = 0; fd < sent.size(); fd++)
            ops.push_back(make_op(SYS_close, fd));
        // A failed op stops the batch, but its closes still run.
        TRY(run_ops(ops));
    }
    return {};
}

KResult<void> StubProcess::map(const MapRequest& r)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    if (m_defer_maps) {
        m_deferred.push_back(r);
        return {};
    }
    u64 flags = static_cast<u64>(r.flags) | MAP_FIXED;
    if (r.host_fd < 0) {
        umk_op op = make_op(SYS_mmap, r.address, r.length, static_cast<u64>(r.prot), flags, static_cast<u64>(-1), 0);
        return run_memory_op(op);
    }

    // Hand the fd over the control socket; the op thread receives it as
    // its lowest free fd (0: the stub keeps no other low fds), maps it and
    // closes it again.
    TRY(send_fds({ &r.host_fd, 1 }));
    constexpr int kStubFd = 0;
    umk_op ops[] = {
        receive_fds_op(1),
        make_op(SYS_mmap, r.address, r.length, static_cast<u64>(r.prot), flags, kStubFd, r.offset),
        make_op(SYS_close, kStubFd),
    };
    auto result = run_ops(ops);
    if (!result) {
        // Never leave a received fd behind in the stub.
        umk_op close_op = make_op(SYS_close, kStubFd);
        (void)run_ops({ &close_op, 1 });
    }
    return result;
}

KResult<void> StubProcess::send_fds(std::span<const int> fds)
{
    char byte = 0;
    iovec iov { &byte, 1 };
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] {};
    if (fds.size() > 2)
        return err(Errno::INVAL);
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(fds.size_bytes());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(fds.size_bytes());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), fds.size_bytes());
    if (sendmsg(m_ctl.get(), &msg, MSG_NOSIGNAL) != 1)
        return err(Errno::NOMEM);
    return {};
}

umk_op StubProcess::receive_fds_op(usize count)
{
    // The stub's recvmsg arguments live in the result page's scratch area,
    // at the stub's addresses of it.
    auto* results = reinterpret_cast<umk_op_result_page*>(static_cast<char*>(m_region) + 4096);
    const u64 stub_area = UMK_CTL_BASE + 4096 + offsetof(umk_op_result_page, msg_area);
    struct Scratch {
        msghdr msg;
        iovec iov;
        char byte;
        alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    };
    static_assert(sizeof(Scratch) <= sizeof(results->msg_area));
    auto* scratch = reinterpret_cast<Scratch*>(results->msg_area);
    std::memset(scratch, 0, sizeof *scratch);
    scratch->iov.iov_base = reinterpret_cast<void*>(stub_area + offsetof(Scratch, byte));
    scratch->iov.iov_len = 1;
    scratch->msg.msg_iov = reinterpret_cast<iovec*>(stub_area + offsetof(Scratch, iov));
    scratch->msg.msg_iovlen = 1;
    scratch->msg.msg_control = reinterpret_cast<void*>(stub_area + offsetof(Scratch, control));
    scratch->msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
    return make_op(SYS_recvmsg, UMK_STUB_CTL_FD, stub_area + offsetof(Scratch, msg), MSG_CMSG_CLOEXEC);
}

KResult<std::unique_ptr<AddressSpace>> StubProcess::fork()
{
    before_access(true);
    auto fresh = TRY(m_platform.prepare_stub());
    auto give_up = [&](Errno e) {
        munmap(fresh.region, UMK_CTL_SIZE);
        return err(e);
    };
    int on = 1;
    if (setsockopt(fresh.kernel_end.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        return give_up(Errno::NOMEM);
    {
        std::lock_guard lock(m_op_lock);
        static_assert(UMK_FORK_CTL_FD == 0 && UMK_FORK_MEMFD == 1);
        int fds[] = { fresh.stub_end.get(), fresh.memfd.get() };
        if (auto sent = send_fds(fds); !sent)
            return give_up(sent.error());
        umk_op ops[] = {
            receive_fds_op(2),
            make_op(SYS_clone, UMK_FORK_CLONE_FLAGS),
            make_op(SYS_close, UMK_FORK_CTL_FD),
            make_op(SYS_close, UMK_FORK_MEMFD),
        };
        auto forked = run_ops(ops);
        if (!forked) {
            umk_op close_ops[] = { make_op(SYS_close, UMK_FORK_CTL_FD), make_op(SYS_close, UMK_FORK_MEMFD) };
            (void)run_ops(close_ops);
            return give_up(forked.error());
        }
    }
    // Only the child holds the other end now: its hello, or EOF if it died.
    fresh.stub_end.reset();
    fresh.memfd.reset();
    pollfd pfd { fresh.kernel_end.get(), POLLIN, 0 };
    if (poll(&pfd, 1, 10000) != 1)
        return give_up(Errno::AGAIN);
    char byte = 0;
    iovec iov { &byte, 1 };
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] {};
    msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fresh.kernel_end.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
        return give_up(Errno::AGAIN);
    if (msg.msg_flags & MSG_CTRUNC)
        return give_up(Errno::AGAIN); // anything but our credentials: not the child's hello
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_CREDENTIALS)
        return give_up(Errno::AGAIN);
    ucred cred {};
    std::memcpy(&cred, CMSG_DATA(cmsg), sizeof cred);
    if (cred.pid <= 0 || cred.pid == m_pid)
        return give_up(Errno::AGAIN);
    // The child's host parent is the kernel (CLONE_PARENT): its pid stays
    // ours, even as a zombie, until we reap it through this pidfd.
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, cred.pid, 0));
    if (pidfd < 0)
        return give_up(Errno::AGAIN);
    auto child = std::make_unique<StubProcess>(m_platform, host::Fd(pidfd), cred.pid, std::move(fresh.kernel_end),
                                               fresh.region);
    child->m_vdso_base = m_vdso_base;
    // The child has the parent's patched code and jump table: its own
    // (fresh) control region gets the site table.
    {
        std::lock_guard lock(m_sites_lock);
        child->m_sites = m_sites;
        child->m_next_site = m_next_site;
        child->m_next_read_site = m_next_read_site;
    }
    child->m_patch_table_mapped = m_patch_table_mapped;
    static_cast<umk_op_page*>(child->m_region)->gs_is_slot = m_patch_table_mapped;
    std::copy(child->m_sites.begin(), child->m_sites.end(), child->site_table());
    if (!static_cast<SeccompContext&>(child->main_context()).wait_until_started())
        return err(Errno::AGAIN);
    return std::unique_ptr<AddressSpace>(std::move(child));
}

void StubProcess::set_host_busy(bool busy)
{
    store(static_cast<umk_op_page*>(m_region)->host_busy, busy ? 1U : 0U);
}

CpuUsage StubProcess::cpu_usage() { return stub_cpu_usage(m_pidfd.get(), m_pid, m_dead); }

std::optional<AddressSpace::Resident> StubProcess::resident()
{
    if (m_dead)
        return std::nullopt;
    // statm: size resident shared ... (pages); the stub's own few pages
    // are in it too.
    auto text = host::read_proc_file(fmt::format("{}/statm", m_pid));
    unsigned long size = 0, pages = 0, shared = 0;
    if (!text || std::sscanf(text->c_str(), "%lu %lu %lu", &size, &pages, &shared) != 3)
        return std::nullopt;
    return Resident { pages, shared };
}

std::optional<std::string> StubProcess::memory_rollup()
{
    if (m_dead)
        return std::nullopt;
    auto text = host::read_proc_file(fmt::format("{}/smaps_rollup", m_pid));
    if (!text)
        return std::nullopt;
    usize first = text->find('\n');
    return first == std::string::npos ? std::string() : text->substr(first + 1);
}

umk_site* StubProcess::site_table()
{
    return reinterpret_cast<umk_site*>(static_cast<char*>(m_region) + UMK_SITE_TABLE_OFFSET);
}

std::optional<std::array<u8, 7>> StubProcess::patch_syscall_site(u64 return_address, u32 nr, CallInputs inputs,
                                                                  bool read_site)
{
    if (m_platform.patch_table_fd() < 0)
        return std::nullopt;
    std::lock_guard lock(m_sites_lock);
    // Cells are never reused; read sites take theirs from the runs
    // umk_read_site_k names, other sites from the rest.
    u64& next = read_site ? m_next_read_site : m_next_site;
    while (next < UMK_MAX_SITES && umk_read_site_k(next) != read_site)
        next++;
    if (next >= UMK_MAX_SITES)
        return std::nullopt;
    if (!m_patch_table_mapped) {
        MapRequest table { UMK_PATCH_CELLS, UMK_PATCH_TABLE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED,
                           m_platform.patch_table_fd(), 0 };
        if (!map(table))
            return std::nullopt;
        m_patch_table_mapped = true;
        static_cast<umk_op_page*>(m_region)->gs_is_slot = 1;
    }
    u64 k = next++;
    if (m_sites.size() <= k)
        m_sites.resize(k + 1);
    m_sites[k] = { return_address, nr, inputs.strings, inputs.buffers, static_cast<u8>(read_site), 0 };
    site_table()[k] = m_sites[k];
    // jmp *cell (ff 24 25 disp32); the disp32's third byte, the site's
    // sixth, is the invalid opcode a thread past the `mov` meets. A read
    // site's third byte (the SIB) and fifth are the faulting ones instead.
    u64 cell = UMK_PATCH_CELLS + 8 * k;
    std::array<u8, 7> jump { 0xff, 0x24, read_site ? u8 { UMK_PATCH_READ_SIB } : u8 { 0x25 }, static_cast<u8>(cell),
                             static_cast<u8>(cell >> 8), static_cast<u8>(cell >> 16), static_cast<u8>(cell >> 24) };
    static_assert(((UMK_PATCH_CELLS >> 16) & 0xff) == UMK_PATCH_SITE_FAULT_BYTE);
    return jump;
}

std::optional<u64> StubProcess::site_return_address(u64 k)
{
    std::lock_guard lock(m_sites_lock);
    if (k >= m_sites.size() || m_sites[k].return_address == 0)
        return std::nullopt;
    return m_sites[k].return_address;
}

AddressSpace::PatchTable StubProcess::patch_table() const
{
    return { UMK_PATCH_CELLS, UMK_PATCH_CELLS + UMK_PATCH_TABLE_SIZE, m_patch_table_mapped };
}

KResult<void> StubProcess::unmap(u64 address, u64 length)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    TRY(flush_maps_locked());
    umk_op op = make_op(SYS_munmap, address, length);
    return run_memory_op(op);
}

KResult<void> StubProcess::protect(u64 address, u64 length, int prot)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    TRY(flush_maps_locked());
    umk_op op = make_op(SYS_mprotect, address, length, static_cast<u64>(prot));
    return run_memory_op(op);
}

KResult<void> StubProcess::remap(u64 old_address, u64 old_length, u64 new_length, int flags, u64 new_address)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    TRY(flush_maps_locked());
    umk_op op = make_op(SYS_mremap, old_address, old_length, new_length, static_cast<u64>(flags), new_address);
    return run_ops({ &op, 1 });
}

KResult<void> StubProcess::advise(u64 address, u64 length, int advice)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    TRY(flush_maps_locked());
    umk_op op = make_op(SYS_madvise, address, length, static_cast<u64>(advice));
    static constexpr int kHandlerAdvice[] = { UMK_MEMORY_OP_ADVICE };
    if (std::find(std::begin(kHandlerAdvice), std::end(kHandlerAdvice), advice) != std::end(kHandlerAdvice))
        return run_memory_op(op);
    return run_ops({ &op, 1 });
}

KResult<void> StubProcess::set_thp_disable(u64 disable, u64 flags)
{
    before_access(true);
    std::lock_guard lock(m_op_lock);
    umk_op op = make_op(SYS_prctl, PR_SET_THP_DISABLE, disable, flags);
    return run_ops({ &op, 1 });
}

KResult<void> StubProcess::check_access(u64 address, usize size)
{
    // Queued maps first: the access may be to them.
    if (m_defer_maps) {
        std::lock_guard lock(m_op_lock);
        TRY(flush_maps_locked());
    }
    if (address >= UMK_GUEST_TASK_SIZE || size > UMK_GUEST_TASK_SIZE - address)
        return err(Errno::FAULT);
    return {};
}

SeccompContext* StubProcess::caller() const
{
    auto* c = static_cast<SeccompContext*>(CallerScope::current());
    return c && c->belongs_to(*this) ? c : nullptr;
}

void StubProcess::before_access(bool modifies)
{
    if (t_staged)
        t_staged->write_staged();
    if (SeccompContext* c = modifies ? caller() : nullptr)
        c->forget_prefetched();
}

KResult<void> StubProcess::read(u64 address, std::span<u8> out)
{
    if (out.empty())
        return {};
    before_access(false);
    TRY(check_access(address, out.size()));
    if (SeccompContext* c = caller(); c && c->prefetched(address, out))
        return {};
    iovec local { out.data(), out.size() };
    iovec remote { reinterpret_cast<void*>(address), out.size() };
    ssize_t n = process_vm_readv(m_access_tid, &local, 1, &remote, 1, 0);
    if (n != static_cast<ssize_t>(out.size()))
        return err(Errno::FAULT);
    return {};
}

KResult<std::string> StubProcess::read_string(u64 address, usize max)
{
    before_access(false);
    if (SeccompContext* c = caller()) {
        if (auto s = c->prefetched_string(address)) {
            if (s->size() >= max)
                return err(Errno::NAMETOOLONG);
            return std::move(*s);
        }
    }
    std::string out;
    char chunk[4096];
    while (out.size() < max) {
        usize in_page = 4096 - (address & 4095);
        usize n = std::min<usize>(in_page, max - out.size());
        TRY(read(address, std::span(reinterpret_cast<u8*>(chunk), n)));
        if (auto* nul = static_cast<char*>(std::memchr(chunk, 0, n))) {
            out.append(chunk, nul);
            return out;
        }
        out.append(chunk, n);
        address += n;
    }
    return err(Errno::NAMETOOLONG);
}

KResult<void> StubProcess::write(u64 address, std::span<const u8> data)
{
    if (data.empty())
        return {};
    before_access(true);
    TRY(check_access(address, data.size()));
    return write_checked(address, data);
}

KResult<void> StubProcess::write_on_return(u64 address, std::span<const u8> data)
{
    SeccompContext* c = caller();
    if (c && CallerScope::outputs_last() && !data.empty()) {
        TRY(check_access(address, data.size()));
        if (c->stage(address, data))
            return {};
    }
    return write(address, data);
}

KResult<void> StubProcess::write_checked(u64 address, std::span<const u8> data)
{
    iovec local { const_cast<u8*>(data.data()), data.size() };
    iovec remote { reinterpret_cast<void*>(address), data.size() };
    ssize_t n = process_vm_writev(m_access_tid, &local, 1, &remote, 1, 0);
    if (n != static_cast<ssize_t>(data.size()))
        return err(Errno::FAULT);
    return {};
}

KResult<void> StubProcess::force_write(u64 address, std::span<const u8> data)
{
    if (data.empty())
        return {};
    before_access(true);
    TRY(check_access(address, data.size()));
    std::call_once(m_mem_once, [&] {
        if (auto proc = host::proc_fd(); proc)
            m_mem = host::Fd(openat(*proc, fmt::format("{}/mem", m_pid).c_str(), O_RDWR | O_CLOEXEC));
    });
    if (!m_mem.valid())
        return err(Errno::PERM); // rootless: the stub's /proc/PID/mem is not ours to open
    ssize_t n = pwrite(m_mem.get(), data.data(), data.size(), static_cast<off_t>(address));
    if (n != static_cast<ssize_t>(data.size()))
        return err(Errno::FAULT);
    return {};
}

// ---- a guest thread ----

bool SeccompContext::wait_for_stop(u32 cpu)
{
    // No PAUSEs on the CPU where the thread last stopped (docs/design.md,
    // "Two threads on one CPU"): it most likely runs there again, and
    // needs the CPU to get to its next stop.
    int pauses = load(m_slot.stub_cpu) == cpu ? 0 : 100;
    // Asleep, it is no CPU's: the thread's stop wakes it, and it runs the
    // call wherever the host puts it.
    bool slept = false;
    u32 state = hybrid_wait(
        m_slot.state, m_slot.kernel_sleeping, [&](u32 s) { return is_stop(s) || m_owner.dead(); }, pauses,
        [&] {
            store(m_slot.kernel_cpu, UMK_CPU_NONE);
            slept = true;
        });
    if (u32 now = current_cpu(); slept || now != cpu)
        store(m_slot.kernel_cpu, now);
    return state != UMK_DEAD && state != UMK_GONE && !m_owner.dead();
}

void SeccompContext::blocking()
{
    store(m_slot.kernel_cpu, UMK_CPU_BLOCKED);
}

bool SeccompContext::wait_until_started()
{
    if (!m_started) {
        u32 cpu = current_cpu();
        store(m_slot.kernel_cpu, cpu);
        m_started = wait_for_stop(cpu);
    }
    return m_started;
}

bool SeccompContext::resume_and_wait(u32 command)
{
    if (m_owner.dead())
        return false; // RESUME must not overwrite the monitor's DEAD
    if (command != UMK_CMD_NONE) {
        write_staged(); // the thread follows it in its SIGSYS handler
        m_in_patched_wait = false;
    }
    m_slot.command = command;
    if (command == UMK_CMD_SET_XSAVE) {
        std::memcpy(m_slot.xsave, m_fpu_image.data(), m_fpu_image.size());
        m_slot.xsave_size = static_cast<u32>(m_fpu_image.size());
    }
    // Where this thread waits next: with the RESUME, in its cache line.
    u32 cpu = current_cpu();
    m_slot.kernel_cpu = cpu;
    store(m_slot.state, UMK_RESUME);
    if (load(m_slot.stub_sleeping))
        futex_wake(m_slot.state);
    return wait_for_stop(cpu);
}

StopReason SeccompContext::switch_to_guest(Registers& regs, FaultInfo& fault)
{
    // The slot is guest-writable: copy in once, validate what the stub
    // would act on (fs/gs bases), and never trust it afterwards.
    if (!m_started) {
        if (!wait_until_started())
            return StopReason::Exited;
        // An interrupt that came before the thread's start request took
        // its place: report it, or it would be lost and the thread never
        // stopped again (the kernel resumes it with its registers next).
        if (load(m_slot.state) == UMK_STOP_INTERRUPT)
            return StopReason::Interrupt;
    }
    // Only the registers that changed since the stop go back: each slot
    // line written is one the stub's CPU must fetch again. (The guest may
    // have written the slot meanwhile; it only harms itself.)
    volatile u64* slot_regs = m_slot.regs;
    bool same = true;
    for (int i = 0; i < Registers::Count; i++) {
        if (!m_stop_regs_valid || regs.r[i] != m_stop_regs.r[i]) {
            slot_regs[i] = regs.r[i];
            same &= i == Registers::RAX;
        }
    }
    u32 command = std::exchange(m_resume_command, UMK_CMD_NONE);
    // A patched stop returns without a signal frame when only rax changed;
    // the thread then writes the call's staged outputs itself.
    bool fast = m_patched_stop && m_stop_regs_valid && same && command == UMK_CMD_NONE;
    m_slot.fast_return = fast;
    // (In the line fast_return shares; never left as it was: a thread
    // that had the slot before may have left a count there.)
    bool by_thread = fast && m_in_patched_wait;
    if (!by_thread)
        write_staged();
    m_slot.stage_count = m_staged;
    drop_staged();
    if (!resume_and_wait(command))
        return StopReason::Exited;
    for (int i = 0; i < Registers::Count; i++)
        regs.r[i] = slot_regs[i];
    m_stop_regs = regs;
    m_stop_regs_valid = true;
    u32 state = load(m_slot.state);
    m_patched_stop = state == UMK_STOP_SYSCALL && load(m_slot.patched_stop);
    m_in_patched_wait = m_prefetched = m_patched_stop;
    // A patched site's call on the trap path (a guest with its own gs
    // base): site k's `syscall` in the cell mapping (umk_patched_entry).
    // The call is the site's, as a trap there would have shown it.
    u64 rip = regs.r[Registers::RIP];
    if (state == UMK_STOP_SYSCALL && rip >= UMK_PATCH_FALLBACK && rip < UMK_PATCH_FALLBACK + 16 * UMK_MAX_SITES
        && (rip - UMK_PATCH_FALLBACK) % 16 == 2) {
        if (auto ret = m_owner.site_return_address((rip - UMK_PATCH_FALLBACK) / 16))
            regs.r[Registers::RIP] = regs.r[Registers::RCX] = *ret;
    }
    switch (state) {
    case UMK_STOP_FAULT:
        fault.signo = m_slot.fault_signo;
        fault.code = m_slot.fault_code;
        fault.address = m_slot.fault_addr;
        fault.trapno = m_slot.fault_trapno;
        fault.error_code = m_slot.fault_err;
        fault.cr2 = m_slot.fault_cr2;
        return StopReason::Fault;
    case UMK_STOP_INTERRUPT:
        return StopReason::Interrupt;
    default:
        // Only a fresh stub thread asks to start, once. Asked again from
        // the stub, a raw host thread the guest made behind the kernel's
        // back shares this slot: the protocol is broken, end the process.
        if (regs.r[Registers::ORIG_RAX] == UMK_START_NR && regs.r[Registers::RIP] >= UMK_STUB_BASE
            && regs.r[Registers::RIP] < UMK_CTL_BASE) {
            m_owner.kill();
            return StopReason::Exited;
        }
        return StopReason::Syscall;
    }
}

std::span<const umk_copy> SeccompContext::prefetch_entries(std::array<umk_copy, UMK_PREFETCH_ENTRIES>& out)
{
    usize valid = 0;
    u32 n = m_prefetched ? std::min<u32>(load(m_slot.prefetch_count), UMK_PREFETCH_ENTRIES) : 0;
    for (u32 i = 0; i < n; i++) {
        umk_copy e = read_entry(m_slot.prefetch[i]);
        if (e.offset <= UMK_PREFETCH_MAX && e.length <= UMK_PREFETCH_MAX - e.offset)
            out[valid++] = e;
    }
    return std::span(out).first(valid);
}

bool SeccompContext::prefetched(u64 address, std::span<u8> out)
{
    std::array<umk_copy, UMK_PREFETCH_ENTRIES> entries;
    for (const umk_copy& e : prefetch_entries(entries)) {
        if (address < e.address || address - e.address > e.length || out.size() > e.length - (address - e.address))
            continue;
        std::memcpy(out.data(), m_slot.prefetch_data + e.offset + (address - e.address), out.size());
        return true;
    }
    return false;
}

std::optional<std::string> SeccompContext::prefetched_string(u64 address)
{
    if (address >= UMK_GUEST_TASK_SIZE)
        return std::nullopt;
    std::array<umk_copy, UMK_PREFETCH_ENTRIES> entries;
    for (const umk_copy& e : prefetch_entries(entries)) {
        if (e.address != address || e.length == 0)
            continue;
        std::string s(reinterpret_cast<const char*>(m_slot.prefetch_data + e.offset), e.length);
        if (s.back() != '\0')
            continue; // not a string the thread copied whole
        s.resize(std::strlen(s.c_str()));
        return s;
    }
    return std::nullopt;
}

bool SeccompContext::stage(u64 address, std::span<const u8> data)
{
    if (!m_in_patched_wait || m_staged == UMK_STAGE_ENTRIES || data.size() > UMK_STAGE_MAX - m_staged_bytes)
        return false;
    std::memcpy(m_slot.stage_data + m_staged_bytes, data.data(), data.size());
    m_stage_entries[m_staged] = { address, m_staged_bytes, static_cast<u32>(data.size()) };
    m_slot.stage[m_staged] = m_stage_entries[m_staged];
    m_staged++;
    m_staged_bytes += static_cast<u32>(data.size());
    m_prefetched = false;
    t_staged = this;
    return true;
}

void SeccompContext::write_staged()
{
    // A failure: the guest unmapped the memory meanwhile, as if after the
    // write (docs/design.md, "Arguments through the slot").
    for (u32 i = 0; i < m_staged; i++) {
        const umk_copy& e = m_stage_entries[i];
        (void)m_owner.write_checked(e.address, std::span(m_slot.stage_data + e.offset, e.length));
    }
    drop_staged();
}

void SeccompContext::drop_staged()
{
    m_staged = m_staged_bytes = 0;
    if (t_staged == this)
        t_staged = nullptr;
}

void SeccompContext::interrupt()
{
    if (__atomic_exchange_n(&m_slot.interrupt_requested, 1, __ATOMIC_SEQ_CST) == 0)
        syscall(SYS_tgkill, m_host_pid, m_host_tid, UMK_INTERRUPT_SIGNAL);
}

KResult<std::vector<u8>> SeccompContext::fpu_state()
{
    // A state set for the next resume (rt_sigreturn's, a debugger's) is
    // the thread's state already.
    if (m_resume_command == UMK_CMD_SET_XSAVE)
        return m_fpu_image;
    // The thread is stopped: let it copy the image out and stop again with
    // the same reason (its registers in the slot are untouched).
    if (!resume_and_wait(UMK_CMD_GET_XSAVE))
        return err(Errno::SRCH);
    u32 size = std::min<u32>(load(m_slot.xsave_size), UMK_XSAVE_MAX);
    std::vector<u8> image(size);
    std::memcpy(image.data(), m_slot.xsave, size);
    // A handler's start not resumed yet (a second signal comes first):
    // the state it starts with.
    if (m_resume_command == UMK_CMD_INIT_XSAVE)
        umk_init_xsave(image.data(), image.size());
    return image;
}

void SeccompContext::set_fpu_state(std::vector<u8> image)
{
    if (image.size() > UMK_XSAVE_MAX)
        image.resize(UMK_XSAVE_MAX);
    m_fpu_image = std::move(image);
    m_resume_command = UMK_CMD_SET_XSAVE;
}

void SeccompContext::reset_fpu_state() { m_resume_command = UMK_CMD_INIT_XSAVE; }

SeccompContext::~SeccompContext()
{
    if (t_staged == this) // its host thread was gone before it returned
        t_staged = nullptr;
}

void SeccompContext::exit_thread()
{
    m_owner.retire_thread(m_host_tid);
    // A thread that never ran guest code still has a host thread on its
    // way to its first stop: end that one too, or it keeps the slot.
    if (wait_until_started())
        resume_and_wait(UMK_CMD_EXIT_THREAD); // returns when the host wrote GONE
}

KResult<u32> SeccompContext::atomic_op(u64 addr, AtomicOp op, u32 operand, u32 expected)
{
    static_assert(static_cast<int>(AtomicOp::CompareExchange) == UMK_ATOMIC_CMPXCHG);
    if ((addr & 3) || addr >= UMK_GUEST_TASK_SIZE)
        return err(Errno::FAULT);
    m_slot.atomic_addr = addr;
    m_slot.atomic_op = static_cast<u32>(op);
    m_slot.atomic_operand = operand;
    m_slot.atomic_expected = expected;
    // Callers hold kernel-wide locks (the futex table).
    if (!resume_with_deadline(UMK_CMD_ATOMIC, std::chrono::milliseconds(200)))
        return err(Errno::SRCH);
    return load(m_slot.atomic_old);
}

bool SeccompContext::resume_with_deadline(u32 command, std::chrono::milliseconds limit)
{
    if (m_owner.dead())
        return false;
    // The caller holds locks others need: the answer must come in time. A
    // guest that keeps its own stub from answering (it can write the
    // slot) loses the process instead of stalling the kernel.
    write_staged();
    // The thread follows the command in its SIGSYS handler (memory ops:
    // where it waits, umk_patched_wait).
    if (command != UMK_CMD_MEMORY_OP)
        m_in_patched_wait = false;
    m_slot.command = command;
    store(m_slot.state, UMK_RESUME);
    if (load(m_slot.stub_sleeping))
        futex_wake(m_slot.state);
    if (u32 s = spin_wait(m_slot.state, is_stop); is_stop(s))
        return s != UMK_DEAD && s != UMK_GONE && !m_owner.dead();
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        u32 s = load(m_slot.state);
        if (is_stop(s) || m_owner.dead())
            break;
        if (std::chrono::steady_clock::now() > deadline) {
            m_owner.kill();
            return false;
        }
        timespec slice { 0, 1000000 };
        store(m_slot.kernel_sleeping, 1); // the stub wakes us at its stop
        if (load(m_slot.state) == s)
            syscall(SYS_futex, &m_slot.state, FUTEX_WAIT, s, &slice, nullptr, 0);
        store(m_slot.kernel_sleeping, 0);
    }
    u32 s = load(m_slot.state);
    return !m_owner.dead() && s != UMK_DEAD && s != UMK_GONE;
}

KResult<void> SeccompContext::memory_op(const umk_op& op)
{
    m_slot.memory_op_nr = op.nr;
    for (int i = 0; i < 6; i++)
        m_slot.memory_op_args[i] = op.args[i];
    // The address space's locks are held meanwhile (procfs readers of
    // other users wait for them): a second at most (run_memory_op keeps
    // slow ops for the op thread).
    if (!resume_with_deadline(UMK_CMD_MEMORY_OP, std::chrono::seconds(1)))
        return err(Errno::FAULT);
    i64 r = m_slot.memory_op_result; // guest-writable: only its errno is used
    if (r < 0 && r >= -4095)
        return err(host::errno_from_host(static_cast<int>(-r)));
    return {};
}

std::optional<u64> SeccompContext::cpu_time_ns() { return host::thread_cpu_ns(m_host_pid, m_host_tid); }

namespace {

// A perf breakpoint event; its count is its hits (sample_period 1).
class PerfBreakpoint final : public BreakpointHandle {
public:
    explicit PerfBreakpoint(host::Fd fd) : m_fd(std::move(fd)) {}
    u64 hits() override
    {
        u64 count = 0;
        return ::read(m_fd.get(), &count, sizeof count) == sizeof count ? count : 0;
    }

private:
    host::Fd m_fd;
};

} // namespace

KResult<std::unique_ptr<BreakpointHandle>> SeccompContext::add_breakpoint(const Breakpoint& bp)
{
    // A perf breakpoint event on the host thread, which signals it
    // (sigtrap): Linux's ptrace does the same with its in-kernel events.
    perf_event_attr attr {};
    attr.type = PERF_TYPE_BREAKPOINT;
    attr.size = sizeof attr;
    attr.bp_addr = bp.address;
    attr.bp_len = bp.length;
    attr.bp_type = bp.type == Breakpoint::Type::Execute ? HW_BREAKPOINT_X
        : bp.type == Breakpoint::Type::Write            ? HW_BREAKPOINT_W
                                                        : HW_BREAKPOINT_W | HW_BREAKPOINT_R;
    attr.sample_period = 1;
    attr.sigtrap = 1;
    attr.remove_on_exec = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    // The tid came back through the slot, which the guest can write: it
    // must name a thread of this stub before and after the open (a reused
    // tid in between fails the second check).
    if (!host::thread_of(m_host_pid, m_host_tid))
        return err(Errno::SRCH);
    // Whole registers, as the kernel's own seccomp filter checks them
    // (host/sandbox.cpp).
    host::Fd fd(static_cast<int>(syscall(SYS_perf_event_open, &attr, static_cast<long>(m_host_tid), -1L, -1L,
                                         static_cast<unsigned long>(PERF_FLAG_FD_CLOEXEC))));
    if (!fd.valid())
        return err(errno == ENOSPC ? Errno::NOSPC : errno == EINVAL ? Errno::INVAL : Errno::IO);
    if (!host::thread_of(m_host_pid, m_host_tid))
        return err(Errno::SRCH);
    return std::unique_ptr<BreakpointHandle>(new PerfBreakpoint(std::move(fd)));
}

KResult<void> SeccompContext::set_cpu_affinity(std::span<const u8> mask)
{
    // Our tid namespace is the stubs': the host tid names this thread.
    if (sched_setaffinity(m_host_tid, mask.size(), reinterpret_cast<const cpu_set_t*>(mask.data())) != 0)
        return err(host::errno_from_host(errno));
    return {};
}

KResult<std::vector<u8>> SeccompContext::cpu_affinity()
{
    std::vector<u8> mask(sizeof(cpu_set_t));
    if (sched_getaffinity(m_host_tid, mask.size(), reinterpret_cast<cpu_set_t*>(mask.data())) != 0)
        return err(host::errno_from_host(errno));
    return mask;
}

KResult<int> SeccompContext::clone_thread(unsigned index)
{
    m_slot.clone_index = index;
    if (!resume_and_wait(UMK_CMD_CLONE_THREAD))
        return err(Errno::SRCH);
    i32 result = m_slot.clone_result;
    if (result < 0)
        return err(result >= -4095 ? host::errno_from_host(-result) : Errno::AGAIN);
    return result;
}

} // namespace umk::platform
