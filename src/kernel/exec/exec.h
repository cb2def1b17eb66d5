#pragma once

// execve(2): replaces the calling process's image. Linux: fs/exec.c,
// fs/binfmt_elf.c, fs/binfmt_script.c.

#include "kernel/task/task.h"

namespace umk::kernel {

// Errors before the old image is dropped are returned to the caller (the
// old image goes on); once the new address space is in place the call
// cannot fail.
KResult<void> do_execve(Thread&, std::string path, std::vector<std::string> argv, std::vector<std::string> envp);

} // namespace umk::kernel
