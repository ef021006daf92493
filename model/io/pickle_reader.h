// Python pickles read as plain values, running no code: a small machine for the opcodes that
// dicts, lists, numbers, strings and pickled numpy arrays use (protocols 2 to 4, as Python 2's
// cPickle and Python 3 write them), where a call (REDUCE) is recorded, never made, and only the
// globals a numpy array is pickled with may be named. What the CIFAR python batches need
// (model/data/data_paper_formats.cpp); not a general unpickler.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg {

// A value of the pickle machine. Containers hold their items; a call (REDUCE) holds its callable
// and arguments and, once BUILD has run, its state. Nothing is ever called.
struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kBytes,
    kText,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kCall
  };
  Kind kind = Kind::kNone;
  int64_t number = 0;
  std::string bytes;  // kBytes, kText (UTF-8), kGlobal ("module.name")
  // kTuple, kList: the items; kDict: key, value, key, value...; kCall: callable, args, state.
  std::vector<std::shared_ptr<PickleValue>> items;
};
using PickleRef = std::shared_ptr<PickleValue>;

// A pickle this machine cannot read; what() says why (the caller names the file).
class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One pickle, run to its STOP. Throws PickleError for truncated data, an opcode outside the set
// above, a global other than numpy's array pieces, or a stack that does not add up.
class Pickle {
 public:
  explicit Pickle(const std::vector<uint8_t>& bytes);
  // Unlinks every value before it goes, so a deep or cyclic structure from a hostile file is freed
  // one value at a time, never by recursion.
  ~Pickle();
  Pickle(const Pickle&) = delete;
  Pickle& operator=(const Pickle&) = delete;

  const PickleRef& root() const { return root_; }

 private:
  std::vector<PickleRef> made_;  // every value the machine made
  PickleRef root_;
};

// Whether `value` is bytes or text equal to `text` (Python 2 keys are bytes, Python 3's text).
bool is_text(const PickleRef& value, const std::string& text);
// The value under `key` of a dict, or nullptr.
PickleRef dict_get(const PickleRef& dict, const std::string& key);

}  // namespace hg
