// The pickle machine of pickle_reader.h: one switch over the opcodes it knows, a stack, marks and
// a memo. Every length is checked against the bytes left before anything is allocated.
#include "model/io/pickle_reader.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace hg {
namespace {

// The longest string one pickle may hold (a CIFAR batch's pixels are 30 MB).
constexpr uint64_t kMaxPickleString = uint64_t{4} << 30;

std::string hex_byte(int value) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", value & 0xff);
  return text;
}

// The globals a numpy array is pickled with; any other is refused.
constexpr const char* kKnownGlobals[] = {"numpy.core.multiarray._reconstruct",
                                         "numpy._core.multiarray._reconstruct", "numpy.ndarray",
                                         "numpy.dtype"};

// Runs the opcodes of one pickle to its STOP and returns the value left on the stack. Every value
// it makes goes into `made` as well.
class PickleMachine {
 public:
  PickleMachine(const std::vector<uint8_t>& bytes, std::vector<PickleRef>& made)
      : bytes_(bytes), made_(made) {}

  PickleRef run() {
    for (;;) {
      if (pos_ >= bytes_.size()) bad("it ends before its STOP opcode; it is truncated");
      const size_t at = pos_;
      const uint8_t op = bytes_[pos_++];
      switch (op) {
        case 0x80:  // PROTO
          if (take(1)[0] > 5) bad("it is pickle protocol " + std::to_string(bytes_[at + 1]));
          break;
        case 0x95:  // FRAME: a length hint only
          take(8);
          break;
        case '.':  // STOP
          if (stack_.size() != 1) bad("it stops with " + std::to_string(stack_.size()) + " values");
          return stack_.back();
        case '(':  // MARK
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP
          pop();
          break;
        case '1':  // POP_MARK
          since_mark();
          break;
        case 'N':
          push(make(PickleValue::Kind::kNone));
          break;
        case 0x88:  // NEWTRUE
        case 0x89:  // NEWFALSE
          push(make(PickleValue::Kind::kBool, op == 0x88));
          break;
        case 'K':  // BININT1
          push(make(PickleValue::Kind::kInt, static_cast<int64_t>(unsigned_le(1))));
          break;
        case 'M':  // BININT2
          push(make(PickleValue::Kind::kInt, static_cast<int64_t>(unsigned_le(2))));
          break;
        case 'J':  // BININT: signed 32 bits
          push(make(PickleValue::Kind::kInt,
                    static_cast<int64_t>(static_cast<int32_t>(unsigned_le(4)))));
          break;
        case 0x8a: {  // LONG1: n bytes, two's complement
          const size_t n = take(1)[0];
          if (n > 8) bad("it holds an integer of " + std::to_string(n) + " bytes");
          const uint8_t* p = take(n);
          uint64_t value = 0;
          for (size_t i = 0; i < n; ++i) value |= uint64_t{p[i]} << (8 * i);
          if (n > 0 && n < 8 && (p[n - 1] & 0x80)) value |= ~uint64_t{0} << (8 * n);
          push(make(PickleValue::Kind::kInt, static_cast<int64_t>(value)));
          break;
        }
        case 'G':  // BINFLOAT: the value does not matter here, only its place
          take(8);
          push(make(PickleValue::Kind::kFloat));
          break;
        case 'U':  // SHORT_BINSTRING (Python 2 str, read as bytes)
        case 'C':  // SHORT_BINBYTES
          push_string(PickleValue::Kind::kBytes, unsigned_le(1));
          break;
        case 'T':  // BINSTRING
        case 'B':  // BINBYTES
          push_string(PickleValue::Kind::kBytes, unsigned_le(4));
          break;
        case 0x8e:  // BINBYTES8
          push_string(PickleValue::Kind::kBytes, unsigned_le(8));
          break;
        case 0x8c:  // SHORT_BINUNICODE
          push_string(PickleValue::Kind::kText, unsigned_le(1));
          break;
        case 'X':  // BINUNICODE
          push_string(PickleValue::Kind::kText, unsigned_le(4));
          break;
        case 0x8d:  // BINUNICODE8
          push_string(PickleValue::Kind::kText, unsigned_le(8));
          break;
        case ')':  // EMPTY_TUPLE
        case ']':  // EMPTY_LIST
        case '}':  // EMPTY_DICT
          push(make(op == ')'   ? PickleValue::Kind::kTuple
                    : op == ']' ? PickleValue::Kind::kList
                                : PickleValue::Kind::kDict));
          break;
        case 't':    // TUPLE
        case 'l':    // LIST
        case 'd': {  // DICT
          const PickleRef value = make(op == 't'   ? PickleValue::Kind::kTuple
                                       : op == 'l' ? PickleValue::Kind::kList
                                                   : PickleValue::Kind::kDict);
          value->items = since_mark();
          if (op == 'd' && value->items.size() % 2 != 0) bad("a DICT has an odd number of items");
          push(value);
          break;
        }
        case 0x85:  // TUPLE1, TUPLE2, TUPLE3
        case 0x86:
        case 0x87: {
          const PickleRef value = make(PickleValue::Kind::kTuple);
          value->items.resize(op - 0x84);
          for (size_t i = value->items.size(); i-- > 0;) value->items[i] = pop();
          push(value);
          break;
        }
        case 'a': {  // APPEND
          const PickleRef item = pop();
          container(PickleValue::Kind::kList, "APPEND")->items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          const std::vector<PickleRef> items = since_mark();
          auto& list = container(PickleValue::Kind::kList, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          const PickleRef value = pop(), key = pop();
          auto& dict = container(PickleValue::Kind::kDict, "SETITEM")->items;
          dict.push_back(key);
          dict.push_back(value);
          break;
        }
        case 'u': {  // SETITEMS
          const std::vector<PickleRef> items = since_mark();
          if (items.size() % 2 != 0) bad("a SETITEMS has an odd number of items");
          auto& dict = container(PickleValue::Kind::kDict, "SETITEMS")->items;
          dict.insert(dict.end(), items.begin(), items.end());
          break;
        }
        case 'q':  // BINPUT, LONG_BINPUT, MEMOIZE
        case 'r':
        case 0x94:
          memo_[op == 'q' ? unsigned_le(1) : op == 'r' ? unsigned_le(4) : memo_.size()] = top();
          break;
        case 'h':  // BINGET, LONG_BINGET
        case 'j': {
          const uint64_t index = unsigned_le(op == 'h' ? 1 : 4);
          const auto found = memo_.find(index);
          if (found == memo_.end()) bad("it recalls memo " + std::to_string(index) + ", never set");
          push(found->second);
          break;
        }
        case 'c': {  // GLOBAL: "module\nname\n"
          const std::string module = line(), name = line();
          push(global(module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const PickleRef name = pop(), module = pop();
          if (name->kind != PickleValue::Kind::kText || module->kind != PickleValue::Kind::kText)
            bad("a STACK_GLOBAL names its global with something other than text");
          push(global(module->bytes + "." + name->bytes));
          break;
        }
        case 'R': {  // REDUCE: a call, recorded and not made
          const PickleRef args = pop(), callable = pop();
          if (callable->kind != PickleValue::Kind::kGlobal ||
              args->kind != PickleValue::Kind::kTuple)
            bad("a REDUCE calls something other than a known global with a tuple");
          const PickleRef call = make(PickleValue::Kind::kCall);
          call->items = {callable, args};
          push(call);
          break;
        }
        case 'b': {  // BUILD: the state of a call's result
          const PickleRef state = pop();
          const PickleRef target = top();
          if (target->kind != PickleValue::Kind::kCall || target->items.size() != 2)
            bad("a BUILD sets the state of something that is not a fresh array or dtype");
          target->items.push_back(state);
          break;
        }
        default:
          bad("opcode " + hex_byte(op) +
              (op >= ' ' && op <= '~' ? std::string(" ('") + static_cast<char>(op) + "')" : "") +
              " at byte " + std::to_string(at) + " is not one this reader knows (it reads " +
              "dicts, lists, numbers, strings and numpy arrays, and runs no code)");
      }
    }
  }

 private:
  [[noreturn]] void bad(const std::string& what) const { throw PickleError(what); }
  PickleRef make(PickleValue::Kind kind, int64_t number = 0) {
    // A bound on the values one file can make: CIFAR's hold a few tens of thousands.
    constexpr size_t kMaxValues = size_t{1} << 24;
    if (made_.size() >= kMaxValues) bad("it makes more than 16M values");
    made_.push_back(std::make_shared<PickleValue>());
    made_.back()->kind = kind;
    made_.back()->number = number;
    return made_.back();
  }

  const uint8_t* take(uint64_t count) {
    if (count > bytes_.size() - pos_)
      bad("an opcode at byte " + std::to_string(pos_ - 1) + " needs " + std::to_string(count) +
          " bytes past the end of the file; it is truncated");
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += count;
    return p;
  }

  uint64_t unsigned_le(int count) {
    const uint8_t* p = take(count);
    uint64_t value = 0;
    for (int i = 0; i < count; ++i) value |= uint64_t{p[i]} << (8 * i);
    return value;
  }

  void push_string(PickleValue::Kind kind, uint64_t length) {
    if (length > kMaxPickleString) bad("it holds a string of " + std::to_string(length) + " bytes");
    const uint8_t* p = take(length);
    const PickleRef value = make(kind);
    value->bytes.assign(reinterpret_cast<const char*>(p), length);
    push(value);
  }

  std::string line() {
    const uint8_t* begin = bytes_.data() + pos_;
    const uint8_t* end = begin + std::min<size_t>(bytes_.size() - pos_, 256);
    const uint8_t* newline = std::find(begin, end, '\n');
    if (newline == end) bad("a GLOBAL's name does not end in a newline within 256 bytes");
    pos_ += static_cast<size_t>(newline - begin) + 1;
    return std::string(begin, newline);
  }

  PickleRef global(const std::string& name) {
    for (const char* known : kKnownGlobals)
      if (name == known) {
        const PickleRef value = make(PickleValue::Kind::kGlobal);
        value->bytes = name;
        return value;
      }
    std::string shown = name.substr(0, 80);
    for (char& c : shown) c = (c >= ' ' && c <= '~') ? c : '?';
    bad("it names the global " + shown + ", which is not part of a numpy array");
  }

  void push(const PickleRef& value) { stack_.push_back(value); }

  const PickleRef& top() const {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) bad("an opcode finds no value");
    return stack_.back();
  }

  PickleRef pop() {
    const PickleRef value = top();
    stack_.pop_back();
    return value;
  }

  std::vector<PickleRef> since_mark() {
    if (marks_.empty()) bad("an opcode needs a MARK that was never set");
    std::vector<PickleRef> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  const PickleRef& container(PickleValue::Kind kind, const char* op) const {
    const PickleRef& value = top();
    if (value->kind != kind) bad(std::string("a ") + op + " adds to the wrong kind of value");
    return value;
  }

  const std::vector<uint8_t>& bytes_;
  std::vector<PickleRef>& made_;
  size_t pos_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;  // stack sizes at each MARK
  std::unordered_map<uint64_t, PickleRef> memo_;
};

}  // namespace

Pickle::Pickle(const std::vector<uint8_t>& bytes) { root_ = PickleMachine(bytes, made_).run(); }

Pickle::~Pickle() {
  for (const PickleRef& value : made_) value->items.clear();
}

bool is_text(const PickleRef& value, const std::string& text) {
  return (value->kind == PickleValue::Kind::kBytes || value->kind == PickleValue::Kind::kText) &&
         value->bytes == text;
}

PickleRef dict_get(const PickleRef& dict, const std::string& key) {
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
    if (is_text(dict->items[i], key)) return dict->items[i + 1];
  return nullptr;
}

}  // namespace hg
