// Small files in the paper's dataset formats, made by the tests themselves (tests/test_data.cpp,
// tests/test_fuzz.cpp): CIFAR batches pickled as Python 2's cPickle wrote them (and as Python 3
// writes them at protocol 4), and .npz archives of the downsampled ImageNet. Not readers.
#pragma once

#include <minizip/zip.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/io/tensor_io.h"

namespace hg::test {

// Pickle opcodes, one call each; names as in Python's pickletools.
class PickleWriter {
 public:
  // Protocol 2 writes what cPickle wrote (str as SHORT_BINSTRING/BINSTRING, GLOBAL); protocol 4
  // what Python 3 writes (FRAME, SHORT_BINUNICODE, BINBYTES, STACK_GLOBAL, MEMOIZE).
  explicit PickleWriter(int protocol) : protocol_(protocol) {
    op(0x80);
    bytes_.push_back(static_cast<uint8_t>(protocol));
    if (protocol >= 4) {
      op(0x95);
      for (int i = 0; i < 8; ++i) bytes_.push_back(0);  // a frame length; readers may ignore it
    }
  }

  PickleWriter& op(uint8_t code) {
    bytes_.push_back(code);
    return *this;
  }
  PickleWriter& integer(int64_t value) {
    if (value >= 0 && value < 256) return op('K').le(value, 1);
    if (value >= 0 && value < 65536) return op('M').le(value, 2);
    return op('J').le(static_cast<uint64_t>(value), 4);
  }
  // A key or a short name: bytes under protocol 2 (Python 2 str), text under protocol 4.
  PickleWriter& text(const std::string& s) {
    op(protocol_ >= 4 ? 0x8c : 'U').le(s.size(), 1);
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return memoize();
  }
  // Raw bytes: BINSTRING (Python 2 str) or BINBYTES.
  PickleWriter& raw(const std::vector<uint8_t>& data) {
    op(protocol_ >= 4 ? 'B' : 'T').le(data.size(), 4);
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    if (protocol_ >= 4) return text(module).text(name).op(0x93).memoize();
    op('c');
    for (const std::string& part : {module, name}) {
      bytes_.insert(bytes_.end(), part.begin(), part.end());
      bytes_.push_back('\n');
    }
    return memoize();
  }
  // BINPUT under protocol 2 (as cPickle numbers every value), MEMOIZE under 4.
  PickleWriter& memoize() {
    if (protocol_ >= 4) return op(0x94);
    return op('q').le(++memo_ % 256, 1);
  }
  std::vector<uint8_t> stop() {
    op('.');
    return bytes_;
  }

 private:
  PickleWriter& le(uint64_t value, int count) {
    for (int i = 0; i < count; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return *this;
  }

  int protocol_;
  int memo_ = 0;
  std::vector<uint8_t> bytes_;
};

// What a CIFAR batch pickle may get wrong, for the error tests.
struct CifarPickleFaults {
  std::string dtype = "u1";
  int64_t width = 3072;     // the second dimension of 'data'
  int64_t extra_bytes = 0;  // raw bytes beyond N x width
  bool fortran = false;
  std::string data_key = "data";
};

// A CIFAR batch as the python version holds it: {'batch_label', 'labels' or 'fine_labels' and
// 'coarse_labels' (CIFAR-100), 'data': numpy uint8 count x 3072, 'filenames'}. `planes` holds
// count x 3072 bytes, each row the R, G and B planes of one image.
inline std::vector<uint8_t> cifar_pickle(const std::vector<uint8_t>& planes, int64_t count,
                                         bool hundred = false, int protocol = 2,
                                         const CifarPickleFaults& faults = {}) {
  PickleWriter p(protocol);
  p.op('}').memoize().op('(');
  p.text("batch_label").text("training batch 1 of 5");
  for (const char* key : hundred ? std::vector<const char*>{"fine_labels", "coarse_labels"}
                                 : std::vector<const char*>{"labels"}) {
    p.text(key).op(']').memoize().op('(');
    for (int64_t n = 0; n < count; ++n) p.integer(n % 10);
    p.op('e');
  }
  // numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'), then the state by BUILD.
  p.text(faults.data_key);
  p.global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray");
  p.integer(0).op(0x85).text("b").op(0x87).op('R').memoize();
  p.op('(').integer(1).integer(count).integer(faults.width).op(0x86);
  p.global("numpy", "dtype").text(faults.dtype).integer(0).integer(1).op(0x87).op('R').memoize();
  p.op('(').integer(3).text("|").op('N').op('N').op('N').integer(-1).integer(-1).integer(0);
  p.op('t').op('b');
  std::vector<uint8_t> data = planes;
  data.resize(planes.size() + static_cast<size_t>(faults.extra_bytes), 0);
  p.op(faults.fortran ? 0x88 : 0x89).raw(data).op('t').op('b');
  p.text("filenames").op(']').memoize().op('(');
  for (int64_t n = 0; n < count; ++n) p.text("img_" + std::to_string(n) + ".png");
  p.op('e').op('u');
  return p.stop();
}

// The bytes of a .npy holding `tensor` (written by the project's own writer).
inline std::vector<uint8_t> npy_bytes(const RawTensor& tensor, const std::filesystem::path& dir) {
  const std::filesystem::path scratch = dir / "scratch.npy";
  write_npy(scratch.string(), tensor);
  std::ifstream in(scratch, std::ios::binary);
  std::vector<uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(scratch);
  return bytes;
}

// A zip archive of `members` (name, bytes), as numpy.savez writes it (stored) or
// numpy.savez_compressed (deflated).
inline void write_zip(const std::string& path,
                      const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members,
                      bool deflate) {
  zipFile zip = zipOpen64(path.c_str(), APPEND_STATUS_CREATE);
  if (zip == nullptr) throw std::runtime_error("write_zip: cannot create " + path);
  for (const auto& [name, bytes] : members) {
    zip_fileinfo info{};
    if (zipOpenNewFileInZip64(zip, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                              deflate ? Z_DEFLATED : 0, deflate ? Z_DEFAULT_COMPRESSION : 0,
                              /*zip64=*/1) != ZIP_OK ||
        zipWriteInFileInZip(zip, bytes.data(), static_cast<unsigned>(bytes.size())) != ZIP_OK ||
        zipCloseFileInZip(zip) != ZIP_OK)
      throw std::runtime_error("write_zip: cannot write " + name + " into " + path);
  }
  zipClose(zip, nullptr);
}

// An ImageNet .npz batch: 'data' uint8 (count, 3*side*side) from `planes`, and 'labels' int64.
inline void write_imagenet_npz(const std::filesystem::path& path,
                               const std::vector<uint8_t>& planes, int64_t count, int side,
                               bool deflate = false) {
  RawTensor data;
  data.dtype = DType::kU8;
  data.shape = {count, int64_t{3} * side * side};
  data.data = planes;
  RawTensor labels;
  labels.dtype = DType::kI64;
  labels.shape = {count};
  labels.data.assign(static_cast<size_t>(count) * 8, 0);
  std::filesystem::create_directories(path.parent_path());
  write_zip(path.string(),
            {{"data.npy", npy_bytes(data, path.parent_path())},
             {"labels.npy", npy_bytes(labels, path.parent_path())}},
            deflate);
}

}  // namespace hg::test
