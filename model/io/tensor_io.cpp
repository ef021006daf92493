// Safetensors and .npy reading and writing (tensor_io.h), through the atomic writes of file_io.h.
// Everything read from a file is untrusted (UntrustedFile checks every size against the file), and
// every failure names the function, the file and a way out.
#include "model/io/tensor_io.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

namespace hg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DTypeInfo {
  DType dtype;
  const char* name;       // safetensors
  size_t size;            // bytes
  const char* npy_descr;  // numpy's dtype.str; nullptr where numpy has no such type
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kU8, "U8", 1, "|u1"},       {DType::kF16, "F16", 2, "<f2"},
    {DType::kBF16, "BF16", 2, nullptr}, {DType::kI32, "I32", 4, "<i4"},
    {DType::kF32, "F32", 4, "<f4"},     {DType::kI64, "I64", 8, "<i8"},
};

const DTypeInfo& info_of(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  throw std::logic_error("info_of: DType " + std::to_string(static_cast<int>(dtype)) +
                         " is missing from kDTypes");
}

const DTypeInfo* find_dtype(const std::string& text, bool by_npy_descr) {
  for (const DTypeInfo& info : kDTypes) {
    const char* key = by_npy_descr ? info.npy_descr : info.name;
    if (key != nullptr && text == key) return &info;
  }
  return nullptr;
}

std::string supported_dtypes(bool by_npy_descr) {
  std::string list;
  for (const DTypeInfo& info : kDTypes) {
    const char* key = by_npy_descr ? info.npy_descr : info.name;
    if (key == nullptr) continue;
    if (!list.empty()) list += ", ";
    list += by_npy_descr ? "'" + std::string(key) + "'" : std::string(key);
  }
  return list;
}

// Bytes that `shape` of `dtype` takes, or nothing when a dimension is negative or the product
// overflows 64 bits (only a corrupt or hostile file, or a bug, gets there).
std::optional<uint64_t> byte_size(const std::vector<int64_t>& shape, DType dtype) {
  uint64_t bytes = dtype_size(dtype);
  for (const int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    const auto d = static_cast<uint64_t>(dim);
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / d) return std::nullopt;
    bytes *= d;
  }
  return bytes;
}

std::string join_dims(const std::vector<int64_t>& shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text;
}

std::string shape_string(const std::vector<int64_t>& shape) { return "[" + join_dims(shape) + "]"; }

[[noreturn]] void fail_argument(const char* function, const std::string& path,
                                const std::string& what) {
  throw std::invalid_argument(std::string(function) + ": " + path + ": " + what);
}

// What both writers ask of a tensor before they touch the disk.
void check_writable(const char* function, const std::string& path, const RawTensor& tensor) {
  const std::optional<uint64_t> bytes = byte_size(tensor.shape, tensor.dtype);
  if (!bytes) {
    fail_argument(function, path,
                  "tensor '" + tensor.name + "' has shape " + shape_string(tensor.shape) +
                      ", with a negative dimension or more elements than 64 bits count");
  }
  if (tensor.data.size() != *bytes) {
    fail_argument(function, path,
                  "tensor '" + tensor.name + "' has " + std::to_string(tensor.data.size()) +
                      " bytes of data but shape " + shape_string(tensor.shape) + " of " +
                      dtype_name(tensor.dtype) + " needs " + std::to_string(*bytes));
  }
}

void put_le(std::ostream& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.put(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
}

// --- safetensors -------------------------------------------------------------------------------

constexpr const char* kMetadataKey = "__metadata__";
// The reference reader refuses larger headers; a bigger one is a corrupt length, not a header.
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// nlohmann::json keeps the last of two equal keys without a word; a header naming a tensor twice
// is ambiguous, so duplicates are looked for while parsing, at every level.
json parse_header_json(const UntrustedFile& file, const std::string& text) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const json::parser_callback_t note_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, note_keys);
  } catch (const json::exception& e) {
    file.fail(std::string("the header is not valid JSON (") + e.what() +
              "); the file is damaged or not safetensors");
  }
  if (!duplicate.empty()) file.fail("the header names '" + duplicate + "' twice");
  if (!header.is_object())
    file.fail("the header is not a JSON object; the file is not safetensors");
  return header;
}

// nlohmann::json parses every integer >= 0 as unsigned, so this rejects negatives and fractions.
bool is_index(const json& value) { return value.is_number_unsigned(); }

struct HeaderEntry {
  RawTensor tensor;  // without data
  uint64_t begin = 0;
  uint64_t end = 0;
};

HeaderEntry parse_entry(const UntrustedFile& file, const std::string& name, const json& value,
                        uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (!value.is_object()) file.fail(where + " is not a JSON object");
  for (const auto& field : value.items()) {
    if (field.key() != "dtype" && field.key() != "shape" && field.key() != "data_offsets") {
      file.fail(where + " has an unknown field '" + field.key() +
                "'; expected dtype, shape and data_offsets");
    }
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) file.fail(where + " has no '" + field + "'");
  }
  HeaderEntry entry;
  entry.tensor.name = name;
  const json& dtype = value["dtype"];
  const DTypeInfo* info = dtype.is_string() ? find_dtype(dtype.get<std::string>(), false) : nullptr;
  if (info == nullptr) {
    file.fail(where + " has dtype " + dtype.dump() +
              ", which Hourglass does not read; supported: " + supported_dtypes(false));
  }
  entry.tensor.dtype = info->dtype;
  const json& shape = value["shape"];
  if (!shape.is_array()) file.fail(where + " has a shape that is not a list");
  for (const json& dim : shape) {
    if (!is_index(dim) ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      file.fail(where + " has shape " + shape.dump() +
                "; dimensions must be non-negative 64-bit integers");
    }
    entry.tensor.shape.push_back(dim.get<int64_t>());
  }
  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !is_index(offsets[0]) ||
      !is_index(offsets[1]) || offsets[0].get<uint64_t>() > offsets[1].get<uint64_t>()) {
    file.fail(where + " has data_offsets " + offsets.dump() +
              "; expected [begin, end] with 0 <= begin <= end");
  }
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.end > data_size) {
    file.fail(where + " has data_offsets " + offsets.dump() + ", past the end of the data (" +
              std::to_string(data_size) + " bytes); the file is truncated or damaged");
  }
  const std::optional<uint64_t> bytes = byte_size(entry.tensor.shape, entry.tensor.dtype);
  if (!bytes || *bytes != entry.end - entry.begin) {
    file.fail(where + ": shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
              (bytes ? std::to_string(*bytes) : std::string("more than 2^64")) +
              " bytes but data_offsets " + offsets.dump() + " span " +
              std::to_string(entry.end - entry.begin));
  }
  return entry;
}

// The reference reader demands that the tensors tile the data exactly: no gap, no overlap, nothing
// after the last one. Bytes no tensor accounts for mean the header and the data disagree.
void check_tiling(const UntrustedFile& file, const std::vector<HeaderEntry>& entries,
                  uint64_t data_size) {
  std::vector<const HeaderEntry*> by_offset;
  for (const HeaderEntry& entry : entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const HeaderEntry* a, const HeaderEntry* b) {
    return std::make_pair(a->begin, a->end) < std::make_pair(b->begin, b->end);
  });
  uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry* entry : by_offset) {
    const std::string range =
        "[" + std::to_string(entry->begin) + ", " + std::to_string(entry->end) + "]";
    if (entry->begin < covered) {
      file.fail("tensor '" + entry->tensor.name + "' (data_offsets " + range +
                ") overlaps tensor '" + previous->tensor.name + "'; the header is damaged");
    }
    if (entry->begin > covered) {
      file.fail("data bytes " + std::to_string(covered) + " to " + std::to_string(entry->begin) +
                " belong to no tensor (gap before '" + entry->tensor.name +
                "'); the header is damaged");
    }
    covered = entry->end;
    previous = entry;
  }
  if (covered != data_size) {
    file.fail("the data is " + std::to_string(data_size) + " bytes but the tensors cover " +
              std::to_string(covered) + "; the file has extra bytes or the header is damaged");
  }
}

std::map<std::string, std::string> parse_metadata(const UntrustedFile& file, const json& value) {
  if (!value.is_object()) file.fail(std::string(kMetadataKey) + " is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& item : value.items()) {
    if (!item.value().is_string()) {
      file.fail(std::string(kMetadataKey) + " '" + item.key() + "' is " + item.value().dump() +
                "; metadata values must be strings");
    }
    metadata[item.key()] = item.value().get<std::string>();
  }
  return metadata;
}

// --- .npy --------------------------------------------------------------------------------------

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicSize = 6;
constexpr size_t kNpyPreamble = 10;  // magic, version 1.0, uint16 header length
constexpr size_t kNpyAlign = 64;     // numpy's ARRAY_ALIGN
// numpy leaves room to rewrite the first axis in place: len(str(8 * 2**64 - 1)) digits.
constexpr size_t kNpyGrowthAxisMaxDigits = 21;
// numpy itself refuses headers over 10000 bytes unless told to trust the file.
constexpr uint64_t kMaxNpyHeader = 1 << 20;

// repr() of a Python tuple: "()", "(5,)", "(2, 3)".
std::string python_tuple(const std::vector<int64_t>& shape) {
  return "(" + join_dims(shape) + (shape.size() == 1 ? ",)" : ")");
}

// numpy's _write_array_header, byte for byte: keys sorted, repr() of the shape, room to grow the
// first axis, then spaces and '\n' so that the data starts at a multiple of 64 (numpy pads a full
// 64 when already aligned, and so does this).
std::string npy_header(const char* descr, const std::vector<int64_t>& shape) {
  std::string text = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + python_tuple(shape) + ", }";
  if (!shape.empty()) text.append(kNpyGrowthAxisMaxDigits - std::to_string(shape[0]).size(), ' ');
  const size_t with_newline = text.size() + 1;
  text.append(kNpyAlign - (kNpyPreamble + with_newline) % kNpyAlign, ' ');
  return text + '\n';
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Reads the Python dict literal of a .npy header, only the subset numpy writes for plain arrays:
// string keys, a string descr, True/False, a tuple of integers. Anything else is an error, not a
// guess.
template <class Source>  // UntrustedFile or UntrustedBytes
class NpyHeaderParser {
 public:
  NpyHeaderParser(const Source& file, const std::string& text) : file_(file), text_(text) {}

  NpyHeader parse() {
    NpyHeader header;
    std::set<std::string> seen;
    expect('{');
    while (!at('}')) {
      const std::string key = parse_string("a key");
      if (!seen.insert(key).second) fail("names '" + key + "' twice");
      expect(':');
      if (key == "descr") {
        if (at('[') || at('(')) fail("describes a structured dtype, which Hourglass does not read");
        header.descr = parse_string("the descr");
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        header.shape = parse_tuple();
      } else {
        fail("has an unknown key '" + key + "'");
      }
      if (!at('}')) expect(',');
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) fail("has text after its closing '}'");
    for (const char* key : {"descr", "fortran_order", "shape"}) {
      if (seen.count(key) == 0) fail(std::string("has no '") + key + "'");
    }
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string shown = text_.substr(0, 200);
    for (char& c : shown) c = (c >= ' ' && c <= '~') ? c : '?';
    file_.fail("the header " + what + " (at character " + std::to_string(pos_) + " of \"" + shown +
               "\"); the file is damaged or not a plain numpy array");
  }

  void skip_space() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }

  bool at(char c) {  // skips space first
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }

  void expect(char c) {
    if (!at(c)) fail(std::string("lacks a '") + c + "'");
    ++pos_;
  }

  std::string parse_string(const char* what) {
    if (!at('\'') && !at('"')) fail(std::string("has no string for ") + what);
    const char quote = text_[pos_++];
    const size_t close = text_.find(quote, pos_);
    if (close == std::string::npos) fail("has an unterminated string");
    std::string value = text_.substr(pos_, close - pos_);
    if (value.find('\\') != std::string::npos) fail("has an escape in a string");
    pos_ = close + 1;
    return value;
  }

  bool parse_bool() {
    skip_space();
    for (const bool value : {true, false}) {
      const std::string word = value ? "True" : "False";
      if (text_.compare(pos_, word.size(), word) == 0) {
        pos_ += word.size();
        return value;
      }
    }
    fail("has a fortran_order that is neither True nor False");
  }

  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> shape;
    bool trailing_comma = false;
    expect('(');
    while (!at(')')) {
      shape.push_back(parse_dimension());
      trailing_comma = at(',');
      if (trailing_comma) {
        ++pos_;
      } else if (!at(')')) {
        fail("has a shape that is not a tuple of integers");
      }
    }
    ++pos_;
    if (shape.size() == 1 && !trailing_comma) fail("has a shape '(n)', an integer, not a tuple");
    return shape;
  }

  int64_t parse_dimension() {
    skip_space();
    const size_t start = pos_;
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + static_cast<uint64_t>(text_[pos_++] - '0');
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail("has a shape dimension larger than 64 bits hold");
      }
    }
    if (pos_ == start) fail("has a shape that is not a tuple of non-negative integers");
    return static_cast<int64_t>(value);
  }

  const Source& file_;
  const std::string& text_;
  size_t pos_ = 0;
};

template <class Source>
const DTypeInfo& npy_dtype(const Source& file, const std::string& descr) {
  const DTypeInfo* info = find_dtype(descr, true);
  if (info != nullptr) return *info;
  if (!descr.empty() && descr[0] == '>') {
    file.fail("the data is big-endian ('" + descr + "'); re-save it little-endian, e.g. " +
              "numpy.save(path, a.astype('<" + descr.substr(1) + "'))");
  }
  file.fail("dtype '" + descr + "' is not supported; supported: " + supported_dtypes(true) +
            " (convert with a.astype(...) before saving)");
}

// The bytes of a file already in memory (an .npz member), with UntrustedFile's checks and errors.
class UntrustedBytes {
 public:
  UntrustedBytes(const char* caller, const std::vector<uint8_t>& bytes, const std::string& where)
      : caller_(caller), bytes_(bytes), where_(where) {}

  uint64_t size() const { return bytes_.size(); }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(std::string(caller_) + ": " + where_ + ": " + what);
  }
  void require(uint64_t offset, uint64_t count, const std::string& what) const {
    if (offset <= size() && count <= size() - offset) return;
    fail("it is " + std::to_string(size()) + " bytes and ends before " + what +
         "; it is truncated or not a .npy file");
  }
  void read(uint64_t offset, void* destination, uint64_t count, const std::string& what) {
    require(offset, count, what);
    if (count > 0) std::memcpy(destination, bytes_.data() + offset, count);
  }
  std::string read_string(uint64_t offset, uint64_t count, const std::string& what) {
    require(offset, count, what);
    return std::string(bytes_.begin() + offset, bytes_.begin() + offset + count);
  }

 private:
  const char* caller_;
  const std::vector<uint8_t>& bytes_;
  std::string where_;
};

// The .npy reader over a file or bytes in memory; the tensor is named `name`.
template <class Source>
RawTensor read_npy_from(Source& file, const std::string& name) {
  uint8_t preamble[8];
  file.read(0, preamble, sizeof(preamble), "the magic string and version");
  if (std::memcmp(preamble, kNpyMagic, kNpyMagicSize) != 0) {
    file.fail("it does not start with \\x93NUMPY; it is not a .npy file");
  }
  const int major = preamble[6];
  const int minor = preamble[7];
  if ((major != 1 && major != 2) || minor != 0) {
    file.fail("format version " + std::to_string(major) + "." + std::to_string(minor) +
              " is not supported (1.0 and 2.0 are); re-save it with numpy.save");
  }
  // Version 2.0 differs only in a 4-byte header length, for headers over 64 KiB.
  const int length_bytes = major == 1 ? 2 : 4;
  uint8_t length[4];
  file.read(8, length, length_bytes, "the header length");
  const uint64_t header_size = get_le(length, length_bytes);
  if (header_size > kMaxNpyHeader) {
    file.fail("the header length " + std::to_string(header_size) +
              " is larger than any plain array needs; the file is damaged");
  }
  const uint64_t header_start = 8 + length_bytes;
  const std::string text = file.read_string(header_start, header_size, "the end of the header");
  const NpyHeader header = NpyHeaderParser<Source>(file, text).parse();
  const DTypeInfo& info = npy_dtype(file, header.descr);
  if (header.fortran_order) {
    file.fail("the data is in Fortran order; re-save it in C order, e.g. " +
              std::string("numpy.save(path, numpy.ascontiguousarray(a))"));
  }

  RawTensor tensor;
  tensor.name = name;
  tensor.dtype = info.dtype;
  tensor.shape = header.shape;
  const std::optional<uint64_t> bytes = byte_size(tensor.shape, tensor.dtype);
  if (!bytes) file.fail("shape " + python_tuple(tensor.shape) + " has more elements than 64 bits");
  const uint64_t data_start = header_start + header_size;
  const uint64_t available = file.size() - data_start;
  if (available != *bytes) {
    file.fail("shape " + python_tuple(tensor.shape) + " of '" + header.descr + "' needs " +
              std::to_string(*bytes) + " bytes of data but the file holds " +
              std::to_string(available) + " after the header; it is " +
              (available < *bytes ? "truncated" : "not a single array, or damaged"));
  }
  tensor.data.resize(*bytes);
  file.read(data_start, tensor.data.data(), *bytes, "the array data");
  return tensor;
}

}  // namespace

size_t dtype_size(DType dtype) { return info_of(dtype).size; }

std::string dtype_name(DType dtype) { return info_of(dtype).name; }

DType parse_dtype(const std::string& name) {
  const DTypeInfo* info = find_dtype(name, false);
  if (info == nullptr) {
    throw std::invalid_argument("parse_dtype: unknown dtype '" + name + "'; expected one of " +
                                supported_dtypes(false));
  }
  return info->dtype;
}

size_t RawTensor::numel() const {
  size_t n = 1;
  for (const int64_t dim : shape) n *= static_cast<size_t>(dim);
  return n;
}

const RawTensor* SafetensorsFile::find(const std::string& name) const {
  for (const RawTensor& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  constexpr const char* kFunction = "write_safetensors";
  std::vector<const RawTensor*> order;
  std::set<std::string> names;
  for (const RawTensor& tensor : tensors) {
    check_writable(kFunction, path, tensor);
    if (tensor.name.empty() || tensor.name == kMetadataKey) {
      fail_argument(kFunction, path, "a tensor may not be named '" + tensor.name + "'");
    }
    if (!names.insert(tensor.name).second) {
      fail_argument(kFunction, path, "two tensors are named '" + tensor.name + "'");
    }
    order.push_back(&tensor);
  }
  // Largest element first, then by name, as the reference writes: every tensor stays aligned.
  std::sort(order.begin(), order.end(), [](const RawTensor* a, const RawTensor* b) {
    if (a->dtype != b->dtype) return a->dtype > b->dtype;
    return a->name < b->name;
  });
  // ordered_json keeps the reference's field order, so the bytes match files Python writes.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const RawTensor* tensor : order) {
    const uint64_t end = offset + tensor->data.size();
    header[tensor->name] = {{"dtype", dtype_name(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    fail_argument(kFunction, path,
                  std::string("a tensor name or metadata string is not UTF-8 (") + e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  write_file_atomic(
      path,
      [&](std::ostream& out) {
        put_le(out, text.size(), 8);
        out << text;
        for (const RawTensor* tensor : order) {
          out.write(reinterpret_cast<const char*>(tensor->data.data()),
                    static_cast<std::streamsize>(tensor->data.size()));
        }
      },
      kFunction);
}

SafetensorsFile read_safetensors(const std::string& path) {
  UntrustedFile file("read_safetensors", path, "safetensors");
  uint8_t prefix[8];
  file.read(0, prefix, sizeof(prefix), "the 8-byte header length");
  const uint64_t header_size = get_le(prefix, 8);
  if (header_size > kMaxSafetensorsHeader) {
    file.fail("the header length " + std::to_string(header_size) + " is over the 100 MB limit; " +
              "the file is damaged or not safetensors");
  }
  const std::string text = file.read_string(8, header_size, "the end of the JSON header");
  const json header = parse_header_json(file, text);
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file.size() - data_start;

  SafetensorsFile result;
  std::vector<HeaderEntry> entries;  // in name order: nlohmann::json keeps keys sorted
  for (const auto& item : header.items()) {
    if (item.key() == kMetadataKey) {
      result.metadata = parse_metadata(file, item.value());
    } else {
      entries.push_back(parse_entry(file, item.key(), item.value(), data_size));
    }
  }
  check_tiling(file, entries, data_size);
  for (HeaderEntry& entry : entries) {
    entry.tensor.data.resize(entry.end - entry.begin);
    file.read(data_start + entry.begin, entry.tensor.data.data(), entry.tensor.data.size(),
              "the data of tensor '" + entry.tensor.name + "'");
    result.tensors.push_back(std::move(entry.tensor));
  }
  return result;
}

void write_npy(const std::string& path, const RawTensor& tensor) {
  constexpr const char* kFunction = "write_npy";
  check_writable(kFunction, path, tensor);
  const char* descr = info_of(tensor.dtype).npy_descr;
  if (descr == nullptr) {
    fail_argument(kFunction, path,
                  "numpy has no " + dtype_name(tensor.dtype) + " type; convert tensor '" +
                      tensor.name + "' to F32 first");
  }
  const std::string header = npy_header(descr, tensor.shape);
  if (header.size() > std::numeric_limits<uint16_t>::max()) {
    fail_argument(kFunction, path,
                  "shape " + shape_string(tensor.shape) +
                      " has too many dimensions for a version 1.0 header");
  }
  write_file_atomic(
      path,
      [&](std::ostream& out) {
        out.write(kNpyMagic, kNpyMagicSize);
        out.put(1);  // version 1.0
        out.put(0);
        put_le(out, header.size(), 2);
        out << header;
        out.write(reinterpret_cast<const char*>(tensor.data.data()),
                  static_cast<std::streamsize>(tensor.data.size()));
      },
      kFunction);
}

RawTensor read_npy(const std::string& path) {
  UntrustedFile file("read_npy", path, ".npy");
  return read_npy_from(file, fs::path(path).stem().string());
}

RawTensor parse_npy(const std::vector<uint8_t>& bytes, const std::string& where) {
  UntrustedBytes source("read_npy", bytes, where);
  return read_npy_from(source, fs::path(where).stem().string());
}

}  // namespace hg
