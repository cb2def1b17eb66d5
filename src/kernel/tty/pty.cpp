#include "kernel/tty/pty.h"

#include "kernel/kernel.h"
#include "kernel/signals/signals.h"
#include "kernel/syscalls/helpers.h"
#include "kernel/task/poll_hub.h"

#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

namespace umk::kernel {

namespace {

constexpr u64 kDevptsDev = 0x19;          // devpts's own device number
constexpr int kPtyMax = 4096;             // /proc/sys/kernel/pty/max
constexpr usize kInputMax = 4095;         // N_TTY_BUF_SIZE - 1
constexpr usize kOutputMax = 65536;       // the master's read side
constexpr u32 kPtsMajor = 136;            // UNIX98_PTY_SLAVE_MAJOR
constexpr u32 kTtyGroup = 5;              // devpts's gid=5 (tty)
constexpr u64 kSigHandlerIgnore = 1;      // SIG_IGN

std::mutex g_pairs_lock;
std::map<int, PtyPair*> g_pairs; // weak: each removes itself

// Linux's tty_std_termios, as the pty slave driver starts it.
KernelTermios slave_defaults()
{
    KernelTermios t {};
    t.iflag = ICRNL | IXON;
    t.oflag = OPOST | ONLCR;
    t.cflag = B38400 | CS8 | CREAD;
    t.lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    const u8 cc[] = { 3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0 };
    std::memcpy(t.cc, cc, sizeof cc);
    return t;
}

bool special(const KernelTermios& t, u8 c, int index) { return t.cc[index] != 0 && c == t.cc[index]; }

// A control character echoes as ^X under ECHOCTL (tab and newline as
// themselves).
bool echoes_as_caret(const KernelTermios& t, u8 c)
{
    return (t.lflag & ECHOCTL) && (c < 0x20 || c == 0x7f) && c != '\t' && c != '\n';
}

// The slave's inode: /dev/pts/N.
class PtsInode final : public Inode {
public:
    PtsInode(int index, u32 uid, u32 gid) : m_index(index), m_uid(uid), m_gid(gid), m_time(now_realtime()) {}
    KResult<InodeAttr> attr() override
    {
        std::lock_guard lock(m_lock);
        InodeAttr a;
        a.dev = kDevptsDev;
        a.ino = static_cast<u64>(m_index) + 3;
        a.mode = S_IFCHR | m_mode;
        a.uid = m_uid;
        a.gid = m_gid;
        a.rdev = makedev(kPtsMajor, static_cast<u32>(m_index));
        a.atime = a.mtime = a.ctime = m_time;
        a.blksize = 1024;
        return a;
    }
    KResult<void> chmod(u32 mode) override
    {
        std::lock_guard lock(m_lock);
        m_mode = mode & 07777;
        m_time = now_realtime();
        return {};
    }
    KResult<void> chown(u32 uid, u32 gid) override
    {
        std::lock_guard lock(m_lock);
        if (uid != ~0U)
            m_uid = uid;
        if (gid != ~0U)
            m_gid = gid;
        return {};
    }
    KResult<void> set_times(std::optional<Timespec>, std::optional<Timespec> mtime) override
    {
        std::lock_guard lock(m_lock);
        if (mtime)
            m_time = *mtime;
        return {};
    }
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return &kDevptsDev; }

private:
    // Its pair's index: the pair may be gone (and the index reused) while
    // this inode is still held (O_PATH, /proc/PID/fd).
    const int m_index;
    std::mutex m_lock;
    u32 m_mode { 0620 };
    u32 m_uid, m_gid;
    Timespec m_time;
};

// An open side of a pair: its master or its slave.
class PtyFile final : public File {
public:
    PtyFile(RefPtr<Inode> inode, int flags, RefPtr<PtyPair> pair, bool master)
        : File(std::move(inode), flags), m_pair(std::move(pair)), m_master(master) {}
    ~PtyFile() override
    {
        if (m_master)
            m_pair->close_master();
        else
            m_pair->close_slave();
    }
    KResult<usize> read(std::span<u8> out, u64) override
    {
        bool nonblock = flags() & O_NONBLOCK;
        return m_master ? m_pair->master_read(out, nonblock) : m_pair->slave_read(out, nonblock);
    }
    KResult<usize> write(std::span<const u8> data, u64) override
    {
        bool nonblock = flags() & O_NONBLOCK;
        return m_master ? m_pair->master_write(data, nonblock) : m_pair->slave_write(data, nonblock);
    }
    bool seekable() const override { return false; }
    KResult<u64> ioctl(Thread& t, u64 request, u64 argument) override { return m_pair->ioctl(t, m_master, request, argument); }
    u32 poll_events() override { return m_pair->poll(m_master); }
    bool pollable() const override { return true; }
    u64 poll_changes() override { return m_pair->changes(); }

private:
    RefPtr<PtyPair> m_pair;
    const bool m_master;
};

KResult<RefPtr<File>> open_slave_file(RefPtr<Inode> inode, RefPtr<PtyPair> pair, int flags)
{
    TRY(pair->open_slave(current_thread(), flags));
    return RefPtr<File>(new PtyFile(std::move(inode), flags, std::move(pair), false));
}

KResult<RefPtr<File>> PtsInode::open(int flags)
{
    auto pair = PtyPair::find(m_index);
    if (!pair || pair->slave_inode().get() != this)
        return err(Errno::IO); // its master is gone
    return open_slave_file(RefPtr<Inode>(this), pair, flags);
}

class PtmxInode final : public Inode {
public:
    PtmxInode(u64 dev, u64 ino, u32 mode) : m_dev(dev), m_ino(ino), m_mode(mode), m_time(now_realtime()) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = m_dev;
        a.ino = m_ino;
        a.mode = S_IFCHR | m_mode;
        a.gid = m_dev == kDevptsDev ? 0 : kTtyGroup;
        a.rdev = makedev(5, 2);
        a.atime = a.mtime = a.ctime = m_time;
        return a;
    }
    KResult<RefPtr<File>> open(int flags) override
    {
        Thread* t = current_thread();
        auto creds = t ? t->process().creds() : Credentials {};
        auto pair = TRY(PtyPair::create(creds.euid, kTtyGroup));
        return RefPtr<File>(new PtyFile(RefPtr<Inode>(this), flags, pair, true));
    }
    const void* fs_id() const override { return &m_dev; }

private:
    u64 m_dev, m_ino;
    u32 m_mode;
    Timespec m_time;
};

// /dev/pts: the live slaves by index, and ptmx.
class DevptsDir final : public Inode {
public:
    DevptsDir() : m_ptmx(make_ref<PtmxInode>(kDevptsDev, 2, 0)), m_time(now_realtime()) {}
    KResult<InodeAttr> attr() override
    {
        InodeAttr a;
        a.dev = kDevptsDev;
        a.ino = 1;
        a.mode = S_IFDIR | 0755;
        a.nlink = 2;
        a.atime = a.mtime = a.ctime = m_time;
        return a;
    }
    KResult<RefPtr<Inode>> lookup(std::string_view name) override
    {
        if (name == "ptmx")
            return m_ptmx;
        int index = 0;
        if (name.empty() || name.size() > 4 || (name.size() > 1 && name[0] == '0'))
            return err(Errno::NOENT);
        for (char c : name) {
            if (c < '0' || c > '9')
                return err(Errno::NOENT);
            index = index * 10 + (c - '0');
        }
        auto pair = PtyPair::find(index);
        if (!pair)
            return err(Errno::NOENT);
        return pair->slave_inode();
    }
    KResult<std::vector<DirEntry>> list() override
    {
        std::vector<DirEntry> out { { "ptmx", 2, DT_CHR } };
        for (int i : PtyPair::indices())
            out.push_back({ std::to_string(i), static_cast<u64>(i) + 3, DT_CHR });
        return out;
    }
    KResult<RefPtr<File>> open(int flags) override;
    std::optional<FsStats> statfs() override
    {
        FsStats s;
        s.type = 0x1cd1; // DEVPTS_SUPER_MAGIC
        s.bsize = 4096;
        return s;
    }
    const void* fs_id() const override { return &kDevptsDev; }
    bool names_change_behind_cache() const override { return true; }

private:
    RefPtr<Inode> m_ptmx;
    Timespec m_time;
};

class DevptsDirFile final : public File {
public:
    using File::File;
    KResult<std::vector<DirEntry>> list() override { return inode().list(); }
};

KResult<RefPtr<File>> DevptsDir::open(int flags) { return RefPtr<File>(new DevptsDirFile(RefPtr<Inode>(this), flags)); }

// Signals to every process of a group.
void signal_group(Kernel& kernel, int pgid, int signo)
{
    std::vector<RefPtr<Process>> targets;
    {
        std::lock_guard tree(kernel.tree_lock());
        for (auto& p : kernel.processes())
            if (p->pgid_locked() == pgid && !p->zombie_locked())
                targets.push_back(p);
    }
    for (auto& p : targets)
        p->send_signal(make_siginfo(signo, kSiKernel));
}

RefPtr<PtyPair> controlling_pty_of(Process& p)
{
    std::lock_guard tree(p.kernel().tree_lock());
    return p.ctty;
}

} // namespace

// --- pairs ---

PtyPair::PtyPair(int index, u32 uid, u32 gid)
    : m_index(index), m_termios(slave_defaults())
{
    m_slave_inode = make_ref<PtsInode>(index, uid, gid);
}

PtyPair::~PtyPair()
{
    std::lock_guard lock(g_pairs_lock);
    auto it = g_pairs.find(m_index);
    if (it != g_pairs.end() && it->second == this)
        g_pairs.erase(it);
}

KResult<RefPtr<PtyPair>> PtyPair::create(u32 uid, u32 gid)
{
    std::lock_guard lock(g_pairs_lock);
    int index = 0;
    for (auto& [i, pair] : g_pairs) {
        if (i != index)
            break;
        index++;
    }
    if (index >= kPtyMax)
        return err(Errno::NOSPC);
    RefPtr<PtyPair> pair(new PtyPair(index, uid, gid));
    g_pairs[index] = pair.get();
    return pair;
}

RefPtr<PtyPair> PtyPair::find(int index)
{
    RefPtr<PtyPair> pair;
    {
        std::lock_guard lock(g_pairs_lock);
        auto it = g_pairs.find(index);
        if (it == g_pairs.end() || !it->second->try_ref())
            return nullptr;
        pair = RefPtr<PtyPair>::adopt(it->second);
    }
    {
        std::lock_guard pair_lock(pair->m_lock);
        if (pair->m_master_open)
            return pair;
    }
    return nullptr; // the last reference may go here: after both locks
}

std::vector<int> PtyPair::indices()
{
    std::lock_guard lock(g_pairs_lock);
    std::vector<int> out;
    for (auto& [i, pair] : g_pairs) {
        std::lock_guard pair_lock(pair->m_lock);
        if (pair->m_master_open)
            out.push_back(i);
    }
    return out;
}

void PtyPair::changed()
{
    m_changes++;
    m_waiters.wake_all();
    PollHub::the().notify();
}

KResult<void> PtyPair::open_slave(Thread* t, int flags)
{
    {
        std::lock_guard lock(m_lock);
        if (m_locked || !m_master_open)
            return err(Errno::IO);
        m_slave_opens++;
        m_slave_closed = false;
        changed();
    }
    // A session leader with no controlling terminal gets this one
    // (tty_open_proc_set_tty) unless O_NOCTTY.
    if (!t || (flags & O_NOCTTY) || (flags & O_ACCMODE) == O_WRONLY)
        return {}; // a terminal opened only for writing is nobody's controlling one
    Process& p = t->process();
    std::lock_guard tree(p.kernel().tree_lock());
    std::lock_guard lock(m_lock);
    if (!m_session && p.sid_locked() == p.pid() && !p.ctty && !p.console_ctty) {
        p.ctty = RefPtr<PtyPair>(this);
        m_session = p.sid_locked();
        m_foreground = p.pgid_locked();
    }
    return {};
}

void PtyPair::close_slave()
{
    std::lock_guard lock(m_lock);
    if (--m_slave_opens == 0)
        m_slave_closed = true;
    changed();
}

void PtyPair::close_master()
{
    int session;
    {
        std::lock_guard lock(m_lock);
        m_master_open = false;
        session = m_session;
        changed();
    }
    // The slave hangs up: its session leader gets SIGHUP and SIGCONT and
    // the session loses its controlling terminal.
    if (!session)
        return;
    Thread* t = current_thread();
    if (!t)
        return;
    Kernel& kernel = t->kernel();
    std::vector<RefPtr<Process>> targets;
    {
        std::lock_guard tree(kernel.tree_lock());
        for (auto& p : kernel.processes()) {
            if (p->ctty.get() != this)
                continue;
            p->ctty = nullptr;
            if (p->pid() == session && !p->zombie_locked())
                targets.push_back(p);
        }
        std::lock_guard lock(m_lock);
        m_session = m_foreground = 0;
    }
    for (auto& p : targets) {
        p->send_signal(make_siginfo(kSigHup, kSiKernel));
        p->send_signal(make_siginfo(kSigCont, kSiKernel));
    }
}

std::vector<RefPtr<Process>> PtyPair::disassociate_locked(Kernel& kernel)
{
    int foreground;
    {
        std::lock_guard lock(m_lock);
        foreground = m_foreground;
        m_session = m_foreground = 0;
    }
    std::vector<RefPtr<Process>> hangup;
    for (auto& p : kernel.processes()) {
        if (p->ctty.get() == this)
            p->ctty = nullptr;
        if (foreground && p->pgid_locked() == foreground && !p->zombie_locked())
            hangup.push_back(p);
    }
    return hangup;
}

// --- the line discipline ---

usize PtyPair::input_size_locked() const
{
    usize n = m_raw.size() + m_line.size();
    for (auto& l : m_lines)
        n += l.size();
    return n;
}

bool PtyPair::readable_locked() const
{
    if (m_termios.lflag & ICANON)
        return !m_lines.empty();
    usize wanted = m_termios.cc[VTIME] ? 1 : std::max<usize>(m_termios.cc[VMIN], 1);
    return m_raw.size() >= wanted;
}

void PtyPair::flush_input_locked()
{
    m_lines.clear();
    m_line.clear();
    m_raw.clear();
}

void PtyPair::output_locked(std::span<const u8> data)
{
    for (u8 c : data) {
        if (m_termios.oflag & OPOST) {
            if (c == '\n' && (m_termios.oflag & ONLCR)) {
                m_output.push_back('\r');
            } else if (c == '\r' && (m_termios.oflag & OCRNL)) {
                c = '\n';
            }
        }
        m_output.push_back(c);
    }
}

void PtyPair::echo_locked(u8 c)
{
    if (m_output.size() >= kOutputMax)
        return; // echoes nobody reads are dropped, as Linux's full echo buffer
    if (echoes_as_caret(m_termios, c)) {
        const u8 caret[] = { '^', static_cast<u8>(c ^ 0x40) };
        output_locked(caret);
    } else {
        output_locked(std::span(&c, 1));
    }
}

// VERASE, VWERASE, VKILL on the line being edited.
void PtyPair::erase_locked(bool word, bool line)
{
    const KernelTermios& t = m_termios;
    bool echo = t.lflag & ECHO;
    if (line && echo && !((t.lflag & ECHOK) && (t.lflag & ECHOKE) && (t.lflag & ECHOE))) {
        // Not erased on the screen: the kill character, then a newline.
        m_line.clear();
        echo_locked(t.cc[VKILL]);
        if (t.lflag & ECHOK)
            echo_locked('\n');
        return;
    }
    bool visual = (t.lflag & ECHOE) || line;
    bool seen_word = false, erased = false;
    while (!m_line.empty()) {
        u8 c = static_cast<u8>(m_line.back());
        if (word) {
            // A word is letters, digits and underscores (Linux's n_tty).
            bool in_word = std::isalnum(c) || c == '_';
            if (!in_word && seen_word)
                break;
            if (in_word)
                seen_word = true;
        }
        m_line.pop_back();
        erased = true;
        if (echo && visual && m_output.size() < kOutputMax) {
            int columns = echoes_as_caret(t, c) ? 2 : 1;
            for (int i = 0; i < columns; i++)
                output_locked(std::span(reinterpret_cast<const u8*>("\b \b"), 3));
        }
        if (!word && !line)
            break;
    }
    if (echo && !visual && erased)
        echo_locked(word ? t.cc[VWERASE] : t.cc[VERASE]); // without ECHOE: the character itself
}

bool PtyPair::receive_locked(u8 c, std::vector<int>& signals)
{
    const KernelTermios& t = m_termios;
    bool canonical = t.lflag & ICANON;
    // Full: the reader must take some first (a line being edited past the
    // most takes nothing but its end, below).
    if (canonical ? input_size_locked() - m_line.size() >= kInputMax : m_raw.size() >= kInputMax)
        return false;
    if (t.iflag & ISTRIP)
        c &= 0x7f;
    if ((t.iflag & IXON) && !m_literal_next && (special(t, c, VSTART) || special(t, c, VSTOP))) {
        m_output_stopped = special(t, c, VSTOP); // ^S holds the slave's output, ^Q lets it go
        return true;
    }
    if ((t.iflag & IXON) && (t.iflag & IXANY))
        m_output_stopped = false;
    if (m_literal_next) {
        m_literal_next = false; // taken as it is (its "^\b" echo is overwritten by its own)
    } else {
        if (c == '\r') {
            if (t.iflag & IGNCR)
                return true;
            if (t.iflag & ICRNL)
                c = '\n';
        } else if (c == '\n' && (t.iflag & INLCR)) {
            c = '\r';
        }
        if (t.lflag & ISIG) {
            int signo = special(t, c, VINTR) ? kSigInt : special(t, c, VQUIT) ? kSigQuit : special(t, c, VSUSP) ? kSigTstp : 0;
            if (signo) {
                if (!(t.lflag & NOFLSH)) {
                    flush_input_locked();
                    m_output.clear();
                }
                if (t.lflag & ECHO)
                    echo_locked(c);
                signals.push_back(signo);
                return true;
            }
        }
        if (canonical) {
            if (special(t, c, VERASE) || special(t, c, VKILL) || ((t.lflag & IEXTEN) && special(t, c, VWERASE))) {
                erase_locked(special(t, c, VWERASE) && !special(t, c, VERASE), special(t, c, VKILL));
                return true;
            }
            if ((t.lflag & IEXTEN) && special(t, c, VLNEXT)) {
                m_literal_next = true;
                if ((t.lflag & ECHO) && (t.lflag & ECHOCTL) && m_output.size() < kOutputMax)
                    output_locked(std::span(reinterpret_cast<const u8*>("^\b"), 2));
                return true;
            }
            if ((t.lflag & IEXTEN) && special(t, c, VREPRINT)) {
                if (t.lflag & ECHO) {
                    echo_locked(c);
                    echo_locked('\n');
                    for (u8 ch : m_line)
                        echo_locked(ch);
                }
                return true;
            }
            if (special(t, c, VEOF)) {
                m_lines.push_back(std::move(m_line)); // without the EOF character
                m_line.clear();
                return true;
            }
            bool ends_line = c == '\n' || special(t, c, VEOL) || ((t.lflag & IEXTEN) && special(t, c, VEOL2));
            if (ends_line) {
                if ((t.lflag & ECHO) || (c == '\n' && (t.lflag & ECHONL)))
                    echo_locked(c);
                m_line.push_back(static_cast<char>(c));
                m_lines.push_back(std::move(m_line));
                m_line.clear();
                return true;
            }
        }
    }
    if (canonical) {
        if (m_line.size() >= kInputMax)
            return true; // a full line takes nothing but its end
        m_line.push_back(static_cast<char>(c));
    } else {
        m_raw.push_back(c);
    }
    if (t.lflag & ECHO)
        echo_locked(c);
    return true;
}

// --- reads and writes ---

KResult<void> PtyPair::check_job_control(Thread& t, int signo)
{
    Process& p = t.process();
    Kernel& kernel = p.kernel();
    int pgid;
    {
        std::lock_guard tree(kernel.tree_lock());
        if (p.ctty.get() != this)
            return {}; // not its controlling terminal: no job control
        std::lock_guard lock(m_lock);
        pgid = p.pgid_locked();
        if (!m_foreground || pgid == m_foreground)
            return {};
    }
    bool blocked = t.signal_mask & (1ull << (signo - 1));
    bool ignored = p.sigaction(signo).handler == kSigHandlerIgnore;
    if (signo == kSigTtou && (blocked || ignored))
        return {}; // the write (or change) goes ahead
    if (blocked || ignored)
        return err(Errno::IO);
    {
        std::lock_guard tree(kernel.tree_lock());
        if (kernel.pgrp_orphaned_locked(pgid))
            return err(Errno::IO);
    }
    signal_group(kernel, pgid, signo);
    return err(Errno::RESTARTSYS);
}

KResult<usize> PtyPair::slave_read(std::span<u8> out, bool nonblock)
{
    Thread* t = current_thread();
    if (t)
        TRY(check_job_control(*t, kSigTtin));
    std::unique_lock lock(m_lock);
    if (out.empty())
        return 0;
    for (;;) {
        if (!m_master_open)
            return 0; // hung up
        if (m_termios.lflag & ICANON) {
            if (!m_lines.empty()) {
                std::string& line = m_lines.front();
                usize n = std::min(out.size(), line.size());
                std::memcpy(out.data(), line.data(), n);
                if (n == line.size())
                    m_lines.pop_front();
                else
                    line.erase(0, n);
                changed();
                return n;
            }
        } else {
            u8 vmin = m_termios.cc[VMIN], vtime = m_termios.cc[VTIME];
            usize want = std::min<usize>(out.size(), std::max<usize>(vmin, 1));
            if (!m_raw.empty() && m_raw.size() < want && vtime > 0 && !nonblock && t) {
                // MIN and TIME: more bytes until none comes for TIME.
                usize had = m_raw.size();
                auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100 * vtime);
                auto r = m_waiters.wait(*t, lock, [&] { return m_raw.size() != had || !m_master_open; }, deadline);
                if (r || r.error() != Errno::TIMEDOUT) {
                    TRY(r);
                    continue;
                }
                want = m_raw.size();
            }
            if (m_raw.size() >= want || (!m_raw.empty() && (vmin == 0 || nonblock))) {
                usize n = std::min(out.size(), m_raw.size());
                std::copy_n(m_raw.begin(), n, out.begin());
                m_raw.erase(m_raw.begin(), m_raw.begin() + static_cast<long>(n));
                changed();
                return n;
            }
            if (vmin == 0 && vtime == 0)
                return nonblock ? KResult<usize>(err(Errno::AGAIN)) : 0;
            if (vmin == 0 && !nonblock) {
                // VTIME tenths of a second for the first byte, then 0.
                auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100 * vtime);
                auto r = m_waiters.wait(*t, lock, [&] { return !m_raw.empty() || !m_master_open; }, deadline);
                if (!r && r.error() == Errno::TIMEDOUT)
                    return 0;
                TRY(r);
                continue;
            }
        }
        if (nonblock || !t)
            return err(Errno::AGAIN);
        u64 seen = m_changes.load();
        TRY(m_waiters.wait(*t, lock, [&] { return m_changes.load() != seen; }));
    }
}

KResult<usize> PtyPair::slave_write(std::span<const u8> data, bool nonblock)
{
    Thread* t = current_thread();
    if (t && (m_termios.lflag & TOSTOP))
        TRY(check_job_control(*t, kSigTtou));
    std::unique_lock lock(m_lock);
    usize done = 0;
    while (done < data.size()) {
        if (!m_master_open)
            return done ? KResult<usize>(done) : err(Errno::IO);
        usize room = m_output.size() < kOutputMax && !m_output_stopped ? kOutputMax - m_output.size() : 0;
        if (room == 0) {
            if (done || nonblock || !t)
                return done ? KResult<usize>(done) : err(Errno::AGAIN);
            u64 seen = m_changes.load();
            TRY(m_waiters.wait(*t, lock, [&] { return m_changes.load() != seen; }));
            continue;
        }
        // Room for the worst case (every byte a newline made \r\n).
        usize n = std::min(data.size() - done, std::max<usize>(room / 2, 1));
        output_locked(data.subspan(done, n));
        done += n;
        changed();
    }
    return done;
}

KResult<usize> PtyPair::master_read(std::span<u8> out, bool nonblock)
{
    Thread* t = current_thread();
    std::unique_lock lock(m_lock);
    if (out.empty())
        return 0;
    for (;;) {
        // Output stopped (^S, tcflow): nothing reaches the master, echo
        // included, until it is started again.
        if (!m_output.empty() && !m_output_stopped) {
            usize n = std::min(out.size(), m_output.size());
            std::copy_n(m_output.begin(), n, out.begin());
            m_output.erase(m_output.begin(), m_output.begin() + static_cast<long>(n));
            changed();
            return n;
        }
        if (m_slave_closed)
            return err(Errno::IO); // the slave side closed
        if (nonblock || !t)
            return err(Errno::AGAIN);
        u64 seen = m_changes.load();
        TRY(m_waiters.wait(*t, lock, [&] { return m_changes.load() != seen; }));
    }
}

KResult<usize> PtyPair::master_write(std::span<const u8> data, bool nonblock)
{
    Thread* t = current_thread();
    std::vector<int> signals;
    usize done = 0;
    {
        std::unique_lock lock(m_lock);
        while (done < data.size()) {
            if (receive_locked(data[done], signals)) {
                done++;
                continue;
            }
            changed();
            if (done || nonblock || !t)
                break;
            u64 seen = m_changes.load();
            TRY(m_waiters.wait(*t, lock, [&] { return m_changes.load() != seen; }));
        }
        changed();
    }
    if (!signals.empty() && t) {
        int foreground;
        {
            std::lock_guard lock(m_lock);
            foreground = m_foreground;
        }
        for (int signo : signals)
            if (foreground)
                signal_group(t->kernel(), foreground, signo);
    }
    if (done == 0 && !data.empty())
        return err(Errno::AGAIN);
    return done;
}

u32 PtyPair::poll(bool master)
{
    std::lock_guard lock(m_lock);
    u32 events = 0;
    if (master) {
        if (!m_output.empty() && !m_output_stopped)
            events |= POLLIN | POLLRDNORM;
        if (m_slave_closed)
            events |= POLLHUP;
        else if (input_size_locked() < kInputMax)
            events |= POLLOUT | POLLWRNORM;
        return events;
    }
    if (!m_master_open)
        return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLHUP | POLLERR;
    if (readable_locked())
        events |= POLLIN | POLLRDNORM;
    if (m_output.size() < kOutputMax && !m_output_stopped)
        events |= POLLOUT | POLLWRNORM;
    return events;
}

// --- ioctls ---

KResult<void> PtyPair::set_termios(Thread& t, bool master, u64 argument, u64 request)
{
    if (!master)
        TRY(check_job_control(t, kSigTtou));
    KernelTermios next;
    TRY(t.mm().copy_in(argument, std::span(reinterpret_cast<u8*>(&next), sizeof next)));
    std::lock_guard lock(m_lock);
    bool was_canonical = m_termios.lflag & ICANON;
    if (request == TCSETSF)
        flush_input_locked();
    m_termios = next;
    if (!(next.iflag & IXON))
        m_output_stopped = false; // start_tty
    bool canonical = next.lflag & ICANON;
    if (was_canonical && !canonical) {
        // What was typed becomes readable as it is.
        for (auto& line : m_lines)
            m_raw.insert(m_raw.end(), line.begin(), line.end());
        m_raw.insert(m_raw.end(), m_line.begin(), m_line.end());
        m_lines.clear();
        m_line.clear();
    } else if (!was_canonical && canonical && !m_raw.empty()) {
        // What was typed is readable at once, as a line of its own.
        m_lines.emplace_back(m_raw.begin(), m_raw.end());
        m_raw.clear();
    }
    changed();
    return {};
}

KResult<u64> PtyPair::ioctl(Thread& t, bool master, u64 request, u64 argument)
{
    auto put_int = [&](int value) -> KResult<u64> {
        TRY(t.mm().copy_out(argument, std::span(reinterpret_cast<const u8*>(&value), sizeof value)));
        return 0;
    };
    auto get_int = [&]() -> KResult<int> {
        int value = 0;
        TRY(t.mm().copy_in(argument, std::span(reinterpret_cast<u8*>(&value), sizeof value)));
        return value;
    };
    Process& p = t.process();
    Kernel& kernel = p.kernel();
    switch (request) {
    case TCGETS: {
        KernelTermios copy;
        {
            std::lock_guard lock(m_lock);
            copy = m_termios; // the master's termios calls act on the slave's
        }
        TRY(t.mm().copy_out(argument, std::span(reinterpret_cast<const u8*>(&copy), sizeof copy)));
        return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
        TRY(set_termios(t, master, argument, request));
        return 0;
    case TIOCGWINSZ: {
        Winsize w;
        {
            std::lock_guard lock(m_lock);
            w = m_winsize;
        }
        TRY(t.mm().copy_out(argument, std::span(reinterpret_cast<const u8*>(&w), sizeof w)));
        return 0;
    }
    case TIOCSWINSZ: {
        Winsize w;
        TRY(t.mm().copy_in(argument, std::span(reinterpret_cast<u8*>(&w), sizeof w)));
        int foreground = 0;
        {
            std::lock_guard lock(m_lock);
            if (std::memcmp(&w, &m_winsize, sizeof w) != 0) {
                m_winsize = w;
                foreground = m_foreground;
            }
        }
        if (foreground)
            signal_group(kernel, foreground, kSigWinch);
        return 0;
    }
    case FIONREAD: {
        std::lock_guard lock(m_lock);
        usize n = master ? m_output.size() : (m_termios.lflag & ICANON) ? (m_lines.empty() ? 0 : m_lines.front().size()) : m_raw.size();
        if (!master && (m_termios.lflag & ICANON))
            for (usize i = 1; i < m_lines.size(); i++)
                n += m_lines[i].size();
        return put_int(static_cast<int>(n));
    }
    case TIOCOUTQ:
        return put_int(0); // what a side wrote is at once the other's to read
    case TCFLSH: {
        if (!master)
            TRY(check_job_control(t, kSigTtou));
        std::lock_guard lock(m_lock);
        int which = static_cast<int>(argument);
        if (which != TCIFLUSH && which != TCOFLUSH && which != TCIOFLUSH)
            return err(Errno::INVAL);
        // Each side flushes what it has to read (TCOFLUSH: nothing is in
        // flight on a pty).
        if (which != TCOFLUSH) {
            if (master)
                m_output.clear();
            else
                flush_input_locked();
        }
        changed();
        return 0;
    }
    case TCSBRK:
    case TCSBRKP:
        return 0; // nothing is in flight to drain
    case TCXONC: {
        if (!master)
            TRY(check_job_control(t, kSigTtou));
        std::lock_guard lock(m_lock);
        switch (argument) {
        case TCOOFF: // this side's output held, as by ^S
        case TCOON:
            if (!master)
                m_output_stopped = argument == TCOOFF;
            break;
        case TCIOFF: // the STOP or START character sent to the other side
        case TCION:
            if (!master) {
                if (u8 c = m_termios.cc[argument == TCIOFF ? VSTOP : VSTART])
                    m_output.push_back(c);
            }
            break;
        default:
            return err(Errno::INVAL);
        }
        changed();
        return 0;
    }
    case TIOCGETD:
        return put_int(0); // N_TTY
    case TIOCEXCL:
    case TIOCNXCL:
        return 0;
    case TIOCSTI:
        return err(Errno::IO); // as with dev.tty.legacy_tiocsti=0
    case TIOCGPTN:
        if (!master)
            return err(Errno::NOTTY);
        return put_int(m_index);
    case TIOCSPTLCK: {
        if (!master)
            return err(Errno::NOTTY);
        int lock_it = TRY(get_int());
        std::lock_guard lock(m_lock);
        m_locked = lock_it != 0;
        changed();
        return 0;
    }
    case TIOCGPTLCK: {
        if (!master)
            return err(Errno::NOTTY);
        std::lock_guard lock(m_lock);
        return put_int(m_locked ? 1 : 0);
    }
    case TIOCGPTPEER: {
        if (!master)
            return err(Errno::NOTTY);
        int flags = static_cast<int>(argument);
        if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC))
            return err(Errno::INVAL);
        auto file = TRY(open_slave_file(m_slave_inode, RefPtr<PtyPair>(this), flags));
        return install_fd(t, file, flags & O_CLOEXEC);
    }
    case TIOCPKT: {
        if (!master)
            return err(Errno::NOTTY);
        if (TRY(get_int()))
            return err(Errno::INVAL); // packet mode is not supported
        return 0;
    }
    case TIOCSIG: {
        if (!master)
            return err(Errno::NOTTY);
        int signo = static_cast<int>(argument);
        if (signo != kSigInt && signo != kSigQuit && signo != kSigTstp)
            return err(Errno::INVAL); // only what the keyboard can send (pty_signal)
        int foreground;
        {
            std::lock_guard lock(m_lock);
            foreground = m_foreground;
        }
        if (foreground)
            signal_group(kernel, foreground, signo);
        return 0;
    }
    case TIOCSCTTY: {
        if (master)
            return err(Errno::NOTTY);
        std::lock_guard tree(kernel.tree_lock());
        if (p.sid_locked() != p.pid() || (p.ctty && p.ctty.get() != this))
            return err(Errno::PERM);
        if (p.ctty.get() == this)
            return 0;
        std::unique_lock lock(m_lock);
        if (m_session && m_session != p.sid_locked()) {
            // Another session's: stolen only by root asking with 1.
            if (argument != 1 || !p.creds().has(kCapSysAdmin))
                return err(Errno::PERM);
            int old = m_session;
            lock.unlock();
            for (auto& q : kernel.processes())
                if (q->ctty.get() == this && q->sid_locked() == old)
                    q->ctty = nullptr;
            lock.lock();
        }
        m_session = p.sid_locked();
        m_foreground = p.pgid_locked();
        p.ctty = RefPtr<PtyPair>(this);
        p.console_ctty = false;
        return 0;
    }
    case TIOCNOTTY: {
        std::vector<RefPtr<Process>> hangup;
        {
            std::lock_guard tree(kernel.tree_lock());
            if (p.ctty.get() != this)
                return err(Errno::NOTTY);
            if (p.sid_locked() == p.pid())
                hangup = disassociate_locked(kernel);
            else
                p.ctty = nullptr;
        }
        for (auto& q : hangup) {
            q->send_signal(make_siginfo(kSigHup, kSiKernel));
            q->send_signal(make_siginfo(kSigCont, kSiKernel));
        }
        return 0;
    }
    case TIOCGPGRP:
    case TIOCGSID: {
        std::lock_guard tree(kernel.tree_lock());
        std::lock_guard lock(m_lock);
        // The master answers for its slave; the slave only to its session.
        if (!master && p.ctty.get() != this)
            return err(Errno::NOTTY);
        if (request == TIOCGSID && !m_session)
            return err(Errno::NOTTY);
        return put_int(request == TIOCGSID ? m_session : m_foreground);
    }
    case TIOCSPGRP: {
        if (!master)
            if (auto r = check_job_control(t, kSigTtou); !r)
                return err(r.error() == Errno::IO ? Errno::NOTTY : r.error()); // as tiocspgrp does
        int pgid = TRY(get_int());
        if (pgid < 0)
            return err(Errno::INVAL);
        std::lock_guard tree(kernel.tree_lock());
        std::lock_guard lock(m_lock);
        if (master || p.ctty.get() != this || m_session != p.sid_locked())
            return err(Errno::NOTTY);
        // A group, or (as Linux's session_of_pgrp finds it) any process
        // by that pid, in this session.
        bool exists = false;
        for (auto& q : kernel.processes())
            if ((q->pgid_locked() == pgid || q->pid() == pgid) && !q->zombie_locked()) {
                if (q->sid_locked() != m_session)
                    return err(Errno::PERM);
                exists = true;
            }
        if (!exists)
            return err(Errno::SRCH);
        m_foreground = pgid;
        return 0;
    }
    default:
        kernel.log_once(fmt::format("pty ioctl {:#x}", request), fmt::format("pty: ioctl {:#x} not supported: ENOTTY", request));
        return err(Errno::NOTTY);
    }
}

// --- devices ---

RefPtr<Inode> make_ptmx_inode(u64 dev, u64 ino) { return make_ref<PtmxInode>(dev, ino, 0666); }

RefPtr<Inode> make_devpts() { return make_ref<DevptsDir>(); }

bool is_devpts(const Inode& inode) { return inode.fs_id() == &kDevptsDev; }

KResult<RefPtr<File>> open_pts_device(u32 index, int flags)
{
    auto pair = PtyPair::find(static_cast<int>(index));
    if (!pair)
        return err(Errno::NXIO);
    return open_slave_file(pair->slave_inode(), pair, flags);
}

KResult<RefPtr<File>> open_controlling_pty(RefPtr<Inode> tty_inode, int flags)
{
    Thread* t = current_thread();
    if (!t)
        return RefPtr<File>();
    auto pair = controlling_pty_of(t->process());
    if (!pair)
        return RefPtr<File>();
    return open_slave_file(std::move(tty_inode), pair, flags | O_NOCTTY);
}

} // namespace umk::kernel
