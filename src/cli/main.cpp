// umk: the command line. `umk run` starts a guest; `umk image` makes disk
// images; `umk syscalls` prints the syscall table.

#include "cli/commands.h"

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv)
{
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
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*run_cmd)
        return umk::cli::run(run);
    if (*image_cmd)
        return umk::cli::image(*image_cmd, image);
    return umk::cli::syscalls(syscalls);
}
