// Where a run may be written and which folders are runs: the rules that `--out` and `--force`
// follow, so that replacing a run can never delete anything the program did not make. Not the
// files a run holds (docs/ARCHITECTURE.md, "The run directory").
#pragma once

#include <filesystem>
#include <string>

namespace hg {

// `out` made absolute and normalised. Throws std::invalid_argument, saying why, for an empty path,
// the root, the home folder, the current folder or one of its ancestors ("." and ".." among them).
std::filesystem::path checked_run_path(const std::string& out);

// Whether `dir` is a run this program made: a config.json of a run config (a version, "model" and
// "train" that read back) beside a checkpoints/ folder. When not, `why` says what is missing.
bool is_run_directory(const std::filesystem::path& dir, std::string* why = nullptr);

// Moves `fresh` (a new run made beside `old`) into `old`'s place, then deletes the old run. Call it
// only once is_run_directory(old) holds: it deletes old's whole tree.
void swap_in_run(const std::filesystem::path& fresh, const std::filesystem::path& old);

}  // namespace hg
