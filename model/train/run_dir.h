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
// only once is_run_directory(old) holds: it deletes old's whole tree. The two trade places in one
// step (renameat2's RENAME_EXCHANGE) where the file system can, so there is always a run at `old`.
void swap_in_run(const std::filesystem::path& fresh, const std::filesystem::path& old);

// Removes what a killed --force left beside `target`: TARGET.new-PID and TARGET.old-PID folders
// that are runs, of a process that no longer exists.
void remove_orphan_runs(const std::filesystem::path& target);

// A run directory being made, until its first checkpoint: a new run is written in its place (its
// folder made, with any missing folder above it); one that replaces a run is written beside it,
// in TARGET.new-PID, and swapped in by commit(), so that a run which fails before it has anything
// to keep costs nothing. Until commit(), discard() (or the destructor) removes exactly what this
// made: the folders it created, or in a folder that was there and empty, the files it wrote. It
// starts by removing what a killed run left beside the target (remove_orphan_runs).
class NewRunDir {
 public:
  // `target` as checked_run_path returns it; `replaces`: a run is there, which --force replaces.
  NewRunDir(std::filesystem::path target, bool replaces);
  ~NewRunDir();
  NewRunDir(const NewRunDir&) = delete;
  NewRunDir& operator=(const NewRunDir&) = delete;

  // Where the run's files go now: TARGET.new-PID until a replacing run is committed, else TARGET.
  const std::filesystem::path& path() const { return path_; }
  bool committed() const { return committed_; }
  // The run has its first checkpoint: a replacing run takes the old one's place (swap_in_run).
  void commit();
  // Not committed: removes what this made and returns what it did, for the error message
  // ("the half-made run directory runs/a was removed"); "" once committed or discarded.
  std::string discard();

 private:
  std::filesystem::path target_, path_;
  std::filesystem::path made_;  // the highest folder this created ("" when path_ existed, empty)
  bool replaces_ = false, committed_ = false, discarded_ = false;
};

}  // namespace hg
