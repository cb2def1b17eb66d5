#pragma once

// Pseudo-terminals: /dev/ptmx and /dev/pts (Unix 98 ptys, devpts). Linux:
// drivers/tty/pty.c, n_tty.c (the line discipline), tty_io.c and
// tty_jobctrl.c (controlling terminals and job control).
//
// A pair is a master (the terminal emulator's side: sshd, script, tmux,
// expect) and a slave (/dev/pts/N, the programs' terminal). Bytes written
// to the master go through the slave's line discipline (input flags,
// signal characters, canonical line editing, echo) into the slave's input
// queue; bytes the slave writes go through output processing (OPOST) to
// the master. The slave can be a session's controlling terminal, with a
// foreground process group that gets its signals and may read it.
//
// Lock order: the kernel's tree_lock(), then a pair's lock, then a
// process's signal lock. Signals a pair raises are sent after its lock is
// released.

#include "kernel/task/wait_queue.h"
#include "kernel/vfs/file.h"

#include <deque>
#include <string>

namespace umk::kernel {

// The kernel's struct termios (TCGETS/TCSETS), 36 bytes.
struct KernelTermios {
    u32 iflag, oflag, cflag, lflag;
    u8 line;
    u8 cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

struct Winsize {
    u16 row, col, xpixel, ypixel;
};

class PtyPair final : public RefCounted {
public:
    // A new pair with the lowest free index (ENOSPC past the most).
    static KResult<RefPtr<PtyPair>> create(u32 uid, u32 gid);
    // The pair /dev/pts/`index` names, while its master is open.
    static RefPtr<PtyPair> find(int index);
    static std::vector<int> indices();
    ~PtyPair() override;

    int index() const { return m_index; }
    RefPtr<Inode> slave_inode() { return m_slave_inode; }

    KResult<usize> master_read(std::span<u8>, bool nonblock);
    KResult<usize> master_write(std::span<const u8>, bool nonblock);
    KResult<usize> slave_read(std::span<u8>, bool nonblock);
    KResult<usize> slave_write(std::span<const u8>, bool nonblock);
    u32 poll(bool master);
    u64 changes() const { return m_changes.load(); }
    KResult<u64> ioctl(Thread&, bool master, u64 request, u64 argument);

    // Opens and closes of each side.
    KResult<void> open_slave(Thread*, int flags);
    void close_slave();
    void close_master();

    // Job control: a session leader's exit, TIOCNOTTY by a leader.
    // Under the kernel's tree_lock(): who gets SIGHUP and SIGCONT.
    std::vector<RefPtr<Process>> disassociate_locked(Kernel&);

private:
    PtyPair(int index, u32 uid, u32 gid);
    // Under m_lock: wakes readers, writers and pollers.
    void changed();
    // The line discipline's input side: one byte the master wrote. False
    // when there is no room for it (the master's write stops there).
    bool receive_locked(u8 c, std::vector<int>& signals);
    void echo_locked(u8 c);
    void erase_locked(bool word, bool line);
    void output_locked(std::span<const u8> data);
    void flush_input_locked();
    bool readable_locked() const;
    usize input_size_locked() const;
    // Job control for a read or write on the slave by `t` (Linux's
    // tty_check_change, __tty_check_change): EIO, ERESTARTSYS after
    // signalling the caller's group, or go ahead.
    KResult<void> check_job_control(Thread& t, int signo);
    KResult<void> set_termios(Thread& t, bool master, u64 argument, u64 request);

    const int m_index;
    RefPtr<Inode> m_slave_inode;
    std::mutex m_lock;
    WaitQueue m_waiters;
    std::atomic<u64> m_changes { 0 };
    KernelTermios m_termios; // the slave's (the master's calls act on it too)
    Winsize m_winsize {};
    // Slave input: canonical mode's finished lines (one ended by EOF has
    // no terminator), the line being edited, and non-canonical bytes.
    std::deque<std::string> m_lines;
    std::string m_line;
    std::deque<u8> m_raw;
    bool m_literal_next { false };
    std::deque<u8> m_output; // what the slave wrote, for the master
    bool m_locked { true };  // TIOCSPTLCK: the slave cannot be opened
    int m_slave_opens { 0 };
    bool m_slave_closed { false }; // its last open went (not: never opened)
    bool m_master_open { true };
    bool m_output_stopped { false }; // IXON's ^S
    int m_session { 0 };
    int m_foreground { 0 };
};

// /dev/ptmx: each open makes a pair and is its master.
RefPtr<Inode> make_ptmx_inode(u64 dev, u64 ino);
// /dev/pts: the slaves by index, and a ptmx node (mode 0, as devpts's).
RefPtr<Inode> make_devpts();
bool is_devpts(const Inode&);
// A pty slave by device number (a node made with mknod): ENXIO when
// there is no such pair.
KResult<RefPtr<File>> open_pts_device(u32 index, int flags);
// /dev/tty for the calling process: its controlling terminal's slave when
// that is a pty; null when it has none.
KResult<RefPtr<File>> open_controlling_pty(RefPtr<Inode> tty_inode, int flags);

} // namespace umk::kernel
