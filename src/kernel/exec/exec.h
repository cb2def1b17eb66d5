#pragma once

// execve(2): replaces the calling process's image. Linux: fs/exec.c,
// fs/binfmt_elf.c, fs/binfmt_script.c.

#include "kernel/task/task.h"

namespace umk::kernel {

// What execve/execveat runs: the file `dentry` names, as `filename`
// (AT_EXECFN; its interpreter's argument for a script): the path, or for
// execveat relative to a descriptor "/dev/fd/N[/PATH]", which the new
// image cannot open when `filename_inaccessible` (N is closed on exec:
// a script then fails with ENOENT). `comm_from_dentry`: the process is
// named after the file, not after `filename` (execveat AT_EMPTY_PATH).
struct ExecFile {
    RefPtr<Dentry> dentry;
    std::string filename;
    bool filename_inaccessible { false };
    bool comm_from_dentry { false };
};

// execve's checks of a file: a regular file, on a mount without noexec,
// that the caller may execute (EACCES). Its attributes.
KResult<InodeAttr> check_executable(Thread&, Dentry&);

// Errors before the old image is dropped are returned to the caller (the
// old image goes on); once the new address space is in place the call
// cannot fail.
KResult<void> do_execve(Thread&, ExecFile, std::vector<std::string> argv, std::vector<std::string> envp);

} // namespace umk::kernel
