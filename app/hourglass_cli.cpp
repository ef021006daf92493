// `hourglass`: the command-line tool (docs/ARCHITECTURE.md, "The command line") — train, resume,
// compare, eval, sample, inspect, bench. main() parses and dispatches; each subcommand lives in
// app/cli/ (commands.h). Every error a user can cause ends as one line on stderr and exit status 1;
// CLI11's own usage errors keep its status (non-zero). Not the studio: that is hourglass-studio.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "app/build_info.h"
#include "app/cli/commands.h"
#include "model/nn/device.h"
#include "model/train/distributed.h"

namespace {

constexpr const char* kMemoryHint =
    "lower --batch, --seq-len, --d-model or the layers (sample: --length or --n)";

// Every error is one line: c10::Error carries a C++ backtrace after its message, which only
// HOURGLASS_DEBUG=1 shows. An allocation that failed says so first.
std::string one_line(std::string message) {
  const char* debug = std::getenv("HOURGLASS_DEBUG");
  if (debug && std::string(debug) == "1") return message;
  if (auto cut = message.find("\nException raised from"); cut != std::string::npos)
    message.resize(cut);
  if (auto cut = message.find('\n'); cut != std::string::npos) message.resize(cut);
  const bool memory = message.find("not enough memory") != std::string::npos ||
                      message.find("out of memory") != std::string::npos;
  if (memory && message.rfind("out of memory", 0) != 0)
    message = "out of memory: " + message + ". HINT: " + kMemoryHint;
  return message;
}

// The message of `e` on one line; an exception nested in it (what failed) comes first, then e's
// own message (what was done about it).
std::string error_text(const std::exception& e) {
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return error_text(inner) + "; " + one_line(e.what());
  } catch (...) {
  }
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return std::string("out of memory. HINT: ") + kMemoryHint;
  return one_line(e.what());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hourglass: train, sample and dissect Hourglass models (hierarchical transformers)"};
  app.require_subcommand(0, 1);
  // An option given twice takes its last value, as a shell alias or a script with a line added
  // expects (CLI11's default says "At Most 1 required but received 2", which names no option).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  bool version = false;
  app.add_flag("--version", version,
               "Print the version, libtorch, device, build options and assets folder");
  std::vector<std::unique_ptr<hg::cli::Command>> commands;
  for (auto add : {hg::cli::add_train, hg::cli::add_resume, hg::cli::add_compare, hg::cli::add_eval,
                   hg::cli::add_sample, hg::cli::add_inspect, hg::cli::add_bench})
    commands.push_back(add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (version) {
      hg::set_cpu_threads(0);  // as `train` would, so the device line shows the threads it uses
      std::cout << hg::to_text(hg::build_info());
      return 0;
    }
    for (const auto& command : commands)
      if (command->chosen()) return command->run(argv);
    std::cerr << app.help();
    return 1;
  } catch (const hg::PeerFailed&) {
    return 1;  // rank 0 has said what went wrong
  } catch (const std::exception& e) {
    std::cerr << "hourglass: error: " << error_text(e) << "\n";
    return 1;
  }
}
