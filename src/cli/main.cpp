// umk: the command line. `umk run` starts a guest; `umk image` makes disk
// images; `umk syscalls` prints the syscall table.

#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    // What follows the first "--" is the guest's command line, word for
    // word, never parsed as options (CLI11 would read "[a, b]" as a list).
    std::vector<std::string> guest_command;
    int own_argc = argc;
    for (int i = 1; i < argc; i++) {
        if (std::string_view(argv[i]) == "--") {
            guest_command.assign(argv + i + 1, argv + argc);
            own_argc = i;
            break;
        }
    }

    CLI::App app { "umk: a user-mode Linux kernel. Runs unmodified x86-64 Linux programs in isolated guests." };
    app.require_subcommand(1);
    app.set_version_flag("--version", UMK_VERSION);

    umk::cli::RunOptions run;
    auto* run_cmd = app.add_subcommand("run", "Run a program in a new guest (the host's / as a copy-on-write root)");
    umk::cli::add_run_options(*run_cmd, run);

    umk::cli::ImageOptions image;
    auto* image_cmd = app.add_subcommand("image", "Make ext4 disk images for umk run --disk, and merge COW files into them");
    umk::cli::add_image_commands(*image_cmd, image);

    umk::cli::SyscallsOptions syscalls;
    auto* syscalls_cmd = app.add_subcommand("syscalls", "Print the syscall table: what umk supports, partly supports, or not");
    syscalls_cmd->add_flag("--json", syscalls.json, "Machine-readable output");
    syscalls_cmd->add_flag("--markdown", syscalls.markdown, "The table as Markdown (docs/syscalls.md)");

    try {
        app.parse(own_argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*run_cmd) {
        run.command.insert(run.command.end(), guest_command.begin(), guest_command.end());
        if (run.command.empty()) {
            std::fprintf(stderr, "umk run: no program to run: give it after --, e.g. umk run -- /bin/sh\n");
            return 2;
        }
        return umk::cli::run(run);
    }
    if (*image_cmd)
        return umk::cli::image(*image_cmd, image);
    return umk::cli::syscalls(syscalls);
}
