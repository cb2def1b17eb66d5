#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace umk::cli {

struct RunOptions {
    std::string root { "/" };
    std::string upper; // empty: in memory
    std::string disk;  // --disk IMG: the root is this ext4 image
    std::string cow;   // --cow FILE: --disk's writes go here
    bool strace { false };
    std::string strace_file;
    std::string hostname { "umk" };
    std::optional<std::string> user; // --user UID[:GID]; none: the caller's
    std::string kernel_release { "6.18.0-umk" };
    std::string cwd;
    std::vector<std::string> volumes; // HOST:GUEST[:ro|:rw][,sockets]
    bool debuggable { false };
    bool no_syscall_patching { false };
    bool unsafe_no_sandbox { false };
    int pids_max { 4096 };
    int threads_max { 1024 };
    std::vector<std::string> command;
};

struct ImageOptions {
    std::string from_dir;
    std::string image;
    std::string size;
    std::string cow;
    bool force { false };
};

struct SyscallsOptions {
    bool json { false };
    bool markdown { false };
};

void add_run_options(CLI::App&, RunOptions&);
int run(RunOptions&);
int syscalls(const SyscallsOptions&);
void add_image_commands(CLI::App&, ImageOptions&);
int image(CLI::App&, const ImageOptions&);

} // namespace umk::cli
