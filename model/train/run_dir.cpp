// The rules of run_dir.h: which paths `--out` may name, what `--force` may replace, and a new run
// that replaces an old one, or is kept at all, only once it has a checkpoint.
#include "model/train/run_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "model/core/run_config.h"

namespace hg {

namespace fs = std::filesystem;

namespace {

fs::path normalised(const fs::path& p) {
  std::error_code error;
  fs::path out = fs::weakly_canonical(fs::absolute(p), error);
  if (error) out = fs::absolute(p).lexically_normal();
  return out.has_filename() || out == out.root_path() ? out : out.parent_path();
}

// Whether `ancestor` is `path` or one of the folders above it.
bool contains(const fs::path& ancestor, const fs::path& path) {
  auto a = ancestor.begin(), p = path.begin();
  for (; a != ancestor.end(); ++a, ++p)
    if (p == path.end() || *a != *p) return false;
  return true;
}

}  // namespace

fs::path checked_run_path(const std::string& out) {
  if (out.empty())
    throw std::invalid_argument(
        "--out is empty. HINT: name the folder the run goes to, e.g. runs/a");
  const fs::path path = normalised(out);
  if (path == path.root_path())
    throw std::invalid_argument("--out " + out +
                                " is the root folder. HINT: name a folder for the run");
  std::error_code error;
  const fs::path cwd = normalised(fs::current_path(error));
  if (!error && contains(path, cwd))
    throw std::invalid_argument("--out " + out + " is " +
                                (path == cwd ? "the current folder" : "above the current folder") +
                                ". HINT: name a new folder for the run, e.g. runs/a");
  if (const char* home = std::getenv("HOME"); home && *home && path == normalised(home))
    throw std::invalid_argument("--out " + out +
                                " is the home folder. HINT: name a folder for the run");
  return path;
}

bool is_run_directory(const fs::path& dir, std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  std::error_code error;
  const fs::path config = dir / "config.json";
  if (!fs::is_regular_file(config, error)) return no("no config.json");
  try {
    const nlohmann::json j = read_json_file(config.string());
    if (!j.is_object() || !j.contains("version") || !j.contains("model") || !j.contains("train"))
      return no("its config.json is not a run config (no version, model and train)");
    run_config_from_json(j);
  } catch (const std::exception& e) {
    return no(std::string("its config.json is not a run config: ") + e.what());
  }
  if (!fs::is_directory(dir / "checkpoints", error)) return no("no checkpoints folder");
  return true;
}

void swap_in_run(const fs::path& fresh, const fs::path& old) {
  if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, old.c_str(), RENAME_EXCHANGE) == 0) {
    std::error_code ignored;
    fs::remove_all(fresh, ignored);  // which now holds the old run
    return;
  }
  if (errno != EINVAL && errno != ENOSYS)  // only a file system without the exchange falls back
    throw fs::filesystem_error("cannot swap in the new run", fresh, old,
                               std::error_code(errno, std::generic_category()));
  const fs::path retired = old.string() + ".old-" + std::to_string(getpid());
  fs::rename(old, retired);
  try {
    fs::rename(fresh, old);
  } catch (...) {
    fs::rename(retired, old);  // the old run back in its place
    throw;
  }
  std::error_code ignored;
  fs::remove_all(retired, ignored);
}

void remove_orphan_runs(const fs::path& target) {
  std::error_code error;
  const std::string stem = target.filename().string();
  for (const auto& entry : fs::directory_iterator(target.parent_path(), error)) {
    const std::string name = entry.path().filename().string();
    for (const std::string tag : {".new-", ".old-"}) {
      const std::string prefix = stem + tag;
      if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string digits = name.substr(prefix.size());
      if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) break;
      const pid_t pid = static_cast<pid_t>(std::stol(digits));
      if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) break;  // alive, or not ours
      if (is_run_directory(entry.path())) fs::remove_all(entry.path(), error);
    }
  }
}

NewRunDir::NewRunDir(fs::path target, bool replaces)
    : target_(std::move(target)), replaces_(replaces) {
  remove_orphan_runs(target_);
  path_ = replaces_ ? fs::path(target_.string() + ".new-" + std::to_string(getpid())) : target_;
  // The highest folder that does not exist yet is the one to remove on failure.
  for (fs::path p = path_; !p.empty() && !fs::exists(p); p = p.parent_path()) {
    made_ = p;
    if (p == p.parent_path()) break;
  }
  fs::create_directories(path_);
}

NewRunDir::~NewRunDir() {
  try {
    discard();
  } catch (...) {  // a destructor reports nothing; what could not go stays
  }
}

void NewRunDir::commit() {
  if (committed_ || discarded_) return;
  if (replaces_) swap_in_run(path_, target_);
  path_ = target_;
  committed_ = true;
}

std::string NewRunDir::discard() {
  if (committed_ || discarded_) return "";
  discarded_ = true;
  std::error_code error;
  if (!made_.empty()) {
    fs::remove_all(made_, error);
    if (replaces_)
      return "the new run held no checkpoint yet and was removed; " + target_.string() +
             " is as it was";
    return target_.string() + " held no checkpoint yet and was removed";
  }
  // The folder was there, empty: it is left as it was found.
  for (const char* name : {"config.json", "metrics.jsonl", "checkpoints", "samples"})
    fs::remove_all(path_ / name, error);
  return target_.string() + " held no checkpoint yet and is empty again";
}

}  // namespace hg
