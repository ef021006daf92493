// Files the careful way, for every format the project writes or reads: writing through a temporary
// name and a rename, so a crash never leaves a half-written file (docs/ARCHITECTURE.md), and
// reading a file that is not trusted, with every size checked against the file before it is used.
// Knows no format; see tensor_io.h for safetensors and .npy.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>

namespace hg {

// Writes to "<path>.tmp-<pid>-<n>" in the same folder, flushes, syncs it to disk, then renames it
// over `path`. On any failure the temporary file is removed and the error rethrown:
// std::runtime_error for I/O, starting with `caller` (the function the user called) and naming
// `path`, or whatever `write_contents` threw. An existing file at `path` is only ever replaced by a
// complete new one.
void write_file_atomic(const std::string& path,
                       const std::function<void(std::ostream&)>& write_contents,
                       const char* caller = "write_file_atomic");
void write_file_atomic(const std::string& path, const std::string& bytes);

// A file opened for reading whose contents are not trusted. Every read is checked against the
// file's size first, so a corrupt length in a header can neither read past the end nor allocate
// more than the file holds; every error is a std::runtime_error "<caller>: <path>: <what>".
class UntrustedFile {
 public:
  // `format` ("safetensors", ".npy", ...) completes hints such as "not a .npy file".
  UntrustedFile(const char* caller, const std::string& path, const char* format);

  uint64_t size() const { return size_; }

  [[noreturn]] void fail(const std::string& what) const;

  // Fails unless the file holds `count` bytes at `offset`; `what` names them for the error.
  void require(uint64_t offset, uint64_t count, const std::string& what) const;

  void read(uint64_t offset, void* destination, uint64_t count, const std::string& what);
  std::string read_string(uint64_t offset, uint64_t count, const std::string& what);

 private:
  const char* caller_;
  std::string path_;
  const char* format_;
  uint64_t size_ = 0;
  std::ifstream in_;
};

}  // namespace hg
