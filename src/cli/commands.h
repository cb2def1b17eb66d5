#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace umk::cli {

struct RunOptions {
    std::string root { "/" };
    std::string upper; // empty: in memory
    bool strace { false };
    std::string strace_file;
    std::string hostname { "umk" };
    std::string kernel_release { "6.18.0-umk" };
    std::string cwd;
    std::vector<std::string> volumes; // HOST:GUEST[:ro|:rw]
    bool debuggable { false };
    bool unsafe_no_sandbox { false };
    int pids_max { 4096 };
    int threads_max { 1024 };
    std::vector<std::string> command;
};

struct SyscallsOptions {
    bool json { false };
    bool markdown { false };
};

void add_run_options(CLI::App&, RunOptions&);
int run(RunOptions&);
int syscalls(const SyscallsOptions&);

} // namespace umk::cli
