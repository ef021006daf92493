// A fresh folder under the system's temporary directory for one test, removed with everything in
// it when the test ends. Test-only; not for the engine, which never writes outside what it is
// given.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace hg {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hg_test") {
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;  // a destructor must not throw
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

}  // namespace hg
