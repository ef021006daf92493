// Atomic writes and checked reads (see file_io.h). POSIX-only where durability needs it: fsync
// before the rename, which the standard library cannot ask for.
#include "model/io/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace hg {
namespace {

namespace fs = std::filesystem;

std::atomic<uint64_t> g_temp_counter{0};  // makes temporary names unique between threads

[[noreturn]] void fail_write(const char* caller, const std::string& path, const std::string& temp,
                             const std::string& what) {
  std::error_code ignored;
  fs::remove(temp, ignored);
  throw std::runtime_error(std::string(caller) + ": " + path + ": " + what);
}

// Without it, a power cut soon after the rename can leave the new name on a file whose data never
// reached the disk: the half-written checkpoint the rename was meant to rule out.
std::string sync_to_disk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? "" : std::strerror(err);
}

}  // namespace

void write_file_atomic(const std::string& path,
                       const std::function<void(std::ostream&)>& write_contents,
                       const char* caller) {
  const std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(g_temp_counter.fetch_add(1));
  const std::string unchanged = "; " + path + " was left as it was";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out.is_open()) {
      const int err = errno;
      fail_write(caller, path, temp,
                 "cannot create the temporary file " + temp + " (" + std::strerror(err) +
                     "); check that the folder exists and is writable");
    }
    try {
      write_contents(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw;
    }
    out.flush();
    out.close();
    if (out.fail()) {
      fail_write(caller, path, temp,
                 "writing " + temp + " failed (disk full or I/O error?)" + unchanged);
    }
  }
  const std::string sync_error = sync_to_disk(temp);
  if (!sync_error.empty()) {
    fail_write(caller, path, temp, "cannot sync " + temp + " (" + sync_error + ")" + unchanged);
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fail_write(caller, path, temp,
               "cannot rename " + temp + " over it (" + ec.message() + ")" + unchanged);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

UntrustedFile::UntrustedFile(const char* caller, const std::string& path, const char* format)
    : caller_(caller), path_(path), format_(format) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    fail("cannot open it (" + (ec ? ec.message() : std::string("no such file")) +
         "); check the path");
  }
  if (!fs::is_regular_file(status)) fail("is not a regular file; give the path of a file");
  size_ = fs::file_size(path, ec);
  if (ec) fail("cannot get its size (" + ec.message() + ")");
  in_.open(path, std::ios::binary);
  if (!in_.is_open()) fail(std::string("cannot open it (") + std::strerror(errno) + ")");
}

void UntrustedFile::fail(const std::string& what) const {
  throw std::runtime_error(std::string(caller_) + ": " + path_ + ": " + what);
}

void UntrustedFile::require(uint64_t offset, uint64_t count, const std::string& what) const {
  if (offset <= size_ && count <= size_ - offset) return;
  fail("the file is " + std::to_string(size_) + " bytes and ends before " + what + " (" +
       std::to_string(count) + " bytes at offset " + std::to_string(offset) +
       "); it is truncated or not a " + format_ + " file");
}

void UntrustedFile::read(uint64_t offset, void* destination, uint64_t count,
                         const std::string& what) {
  require(offset, count, what);
  in_.seekg(static_cast<std::streamoff>(offset));
  in_.read(static_cast<char*>(destination), static_cast<std::streamsize>(count));
  if (!in_ || static_cast<uint64_t>(in_.gcount()) != count) {
    fail("reading " + what + " failed (did the file change while it was read?)");
  }
}

std::string UntrustedFile::read_string(uint64_t offset, uint64_t count, const std::string& what) {
  require(offset, count, what);  // before allocating
  std::string text(count, '\0');
  read(offset, text.data(), count, what);
  return text;
}

}  // namespace hg
