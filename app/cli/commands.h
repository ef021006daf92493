// The subcommands of `hourglass` (app/hourglass_cli.cpp): each file in app/cli/ adds one to the
// CLI11 App with its options and runs it once the command line is parsed. Not the parsing, the
// dispatch or the one-line error report: main() does those. Errors a user can cause are thrown.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace hg::cli {

// One subcommand and the values of its options (CLI11 writes them while parsing).
class Command {
 public:
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // Whether the command line named this subcommand.
  bool chosen() const { return static_cast<bool>(*subcommand_); }
  // Runs it; returns the exit status. `argv` is the whole command line, for starting workers.
  virtual int run(char** argv) = 0;

 protected:
  explicit Command(CLI::App* subcommand) : subcommand_(subcommand) {}
  CLI::App* subcommand_;
};

// Each adds its subcommand to `app` (in this order, as `hourglass --help` lists them).
std::unique_ptr<Command> add_train(CLI::App& app);    // train_command.cpp
std::unique_ptr<Command> add_resume(CLI::App& app);   // resume_command.cpp
std::unique_ptr<Command> add_compare(CLI::App& app);  // compare_command.cpp
std::unique_ptr<Command> add_eval(CLI::App& app);     // eval_command.cpp
std::unique_ptr<Command> add_sample(CLI::App& app);   // sample_command.cpp
std::unique_ptr<Command> add_inspect(CLI::App& app);  // inspect_command.cpp
std::unique_ptr<Command> add_bench(CLI::App& app);    // bench_command.cpp

}  // namespace hg::cli
