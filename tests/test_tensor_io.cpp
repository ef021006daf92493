// Tensor files: safetensors and .npy round trips, byte-exact headers against the reference
// writers, every kind of corrupt input, and atomic writes that never damage an existing file.
// Needs no Python: expected bytes are written out here, with where they come from.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <typeinfo>

#include "model/io/tensor_io.h"

namespace hg {
namespace {

namespace fs = std::filesystem;

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <typename T>
RawTensor make_tensor(const std::string& name, DType dtype, std::vector<int64_t> shape,
                      const std::vector<T>& values) {
  return RawTensor{name, dtype, std::move(shape), bytes_of(values)};
}

std::string le_bytes(uint64_t value, int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i) bytes += static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// A safetensors file around a hand-written header (unpadded: readers must not need the padding).
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le_bytes(header.size(), 8) + header + data;
}

// A .npy file around a hand-written header dict, padded the way numpy pads it.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append(64 - (preamble + header.size() + 1) % 64, ' ');
  header += '\n';
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' +
         le_bytes(header.size(), major == 1 ? 2 : 4) + header + data;
}

void expect_same(const RawTensor& a, const RawTensor& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.dtype, b.dtype) << a.name;
  EXPECT_EQ(a.shape, b.shape) << a.name;
  EXPECT_EQ(a.data, b.data) << a.name;
}

class TensorIo : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("hg_test_tensor_io_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  static std::string contents(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Names of everything in the test folder, so a leftover temporary file shows up.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Runs f, expects an Error, checks its message starts with `function` and names `file`, and
  // returns the message.
  template <typename Error = std::runtime_error, typename F>
  static std::string error_of(F f, const std::string& function, const std::string& file) {
    try {
      f();
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(function + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(file), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no " << typeid(Error).name() << " was thrown";
    return "";
  }

  fs::path dir_;
};

TEST(DType, NamesSizesAndParsing) {
  for (const DType dtype :
       {DType::kF32, DType::kBF16, DType::kF16, DType::kI64, DType::kI32, DType::kU8}) {
    EXPECT_EQ(parse_dtype(dtype_name(dtype)), dtype);
  }
  EXPECT_EQ(dtype_name(DType::kBF16), "BF16");
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_EQ(dtype_size(DType::kU8), 1u);
  EXPECT_THROW(parse_dtype("F64"), std::invalid_argument);
  EXPECT_THROW(parse_dtype("f32"), std::invalid_argument);
  EXPECT_EQ(RawTensor{}.numel(), 1u);  // a scalar
  EXPECT_EQ((RawTensor{"x", DType::kF32, {2, 0, 3}, {}}.numel()), 0u);
}

TEST_F(TensorIo, SafetensorsRoundTripsEveryDtypeAndMetadata) {
  const std::vector<RawTensor> tensors = {
      make_tensor<float>("embed.weight", DType::kF32, {2, 3}, {1.5f, -2, 0, 3e-8f, 1e30f, -0.f}),
      // bfloat16 is carried as raw bytes: 1.0, -2.0, 0.5 (upper halves of the float32s).
      make_tensor<uint16_t>("norm.scale", DType::kBF16, {3}, {0x3f80, 0xc000, 0x3f00}),
      make_tensor<int64_t>("step", DType::kI64, {2}, {-1, int64_t{1} << 40}),
      make_tensor<uint8_t>("mask", DType::kU8, {1, 5}, {0, 1, 255, 7, 9}),
      make_tensor<float>("temperature", DType::kF32, {}, {0.25f}),
      make_tensor<float>("empty", DType::kF32, {0, 4}, {}),
      make_tensor<int32_t>("ids", DType::kI32, {2}, {-7, 123456}),
      make_tensor<uint16_t>("half", DType::kF16, {1}, {0x3c00}),
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                       {"config", R"({"d_model": 512})"}};
  const std::string file = path("model.safetensors");
  write_safetensors(file, tensors, metadata);

  const SafetensorsFile read = read_safetensors(file);
  ASSERT_EQ(read.tensors.size(), tensors.size());
  for (const RawTensor& tensor : tensors) {
    const RawTensor* found = read.find(tensor.name);
    ASSERT_NE(found, nullptr) << tensor.name;
    expect_same(*found, tensor);
  }
  for (size_t i = 1; i < read.tensors.size(); ++i) {
    EXPECT_LT(read.tensors[i - 1].name, read.tensors[i].name);
  }
  EXPECT_EQ(read.metadata, metadata);
  EXPECT_EQ(read.find("missing"), nullptr);
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(TensorIo, SafetensorsPutsLargeElementsFirstSoEveryTensorIsAligned) {
  const std::string file = path("a.safetensors");
  write_safetensors(file, {make_tensor<uint8_t>("a", DType::kU8, {3}, {1, 2, 3}),
                           make_tensor<float>("b", DType::kF32, {1}, {1}),
                           make_tensor<int64_t>("c", DType::kI64, {1}, {1}),
                           make_tensor<float>("d", DType::kF32, {1}, {1})});
  const std::string bytes = contents(file);
  const std::string expected_header = R"({"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                                      R"("d":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},)"
                                      R"("a":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}})";
  ASSERT_GT(bytes.size(), 8 + expected_header.size());
  EXPECT_EQ(bytes.substr(8, expected_header.size()), expected_header);
  EXPECT_EQ((bytes.size() - 19) % 8, 0u);  // the data starts 8-aligned
}

// The expected bytes are the reference implementation's own test vector
// (huggingface/safetensors, safetensors/src/tensor.rs, test_serialization_forced_alignement):
// a 65-byte header padded with 7 spaces to 72, then six float32s 0..5.
TEST_F(TensorIo, SafetensorsBytesMatchTheReferenceWriter) {
  const std::string file = path("attn.safetensors");
  write_safetensors(file,
                    {make_tensor<float>("attn0", DType::kF32, {1, 1, 2, 3}, {0, 1, 2, 3, 4, 5})});
  const std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(header.size(), 65u);
  const std::string floats("\0\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40\0\0\xa0\x40",
                           24);
  EXPECT_EQ(contents(file), std::string("\x48\0\0\0\0\0\0\0", 8) + header + "       " + floats);

  // Same source, test_empty: metadata only, "__metadata__" first, padded to 40.
  const std::string meta_file = path("meta.safetensors");
  write_safetensors(meta_file, {}, {{"framework", "pt"}});
  EXPECT_EQ(contents(meta_file), std::string("\x28\0\0\0\0\0\0\0", 8) +
                                     R"({"__metadata__":{"framework":"pt"}})" + "     ");
}

TEST_F(TensorIo, SafetensorsWriterRejectsBadTensorsBeforeTouchingTheDisk) {
  const std::string file = write("keep.safetensors", "old contents");
  const RawTensor good = make_tensor<float>("w", DType::kF32, {2}, {1, 2});
  const std::vector<std::vector<RawTensor>> bad = {
      {make_tensor<float>("w", DType::kF32, {3}, {1, 2})},   // data does not match the shape
      {make_tensor<float>("w", DType::kF32, {-2}, {1, 2})},  // negative dimension
      {good, good},                                          // duplicate name
      {make_tensor<float>("", DType::kF32, {2}, {1, 2})},
      {make_tensor<float>("__metadata__", DType::kF32, {2}, {1, 2})},
  };
  for (const auto& tensors : bad) {
    error_of<std::invalid_argument>([&] { write_safetensors(file, tensors); }, "write_safetensors",
                                    file);
  }
  EXPECT_EQ(contents(file), "old contents");
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.safetensors"});
}

TEST_F(TensorIo, SafetensorsReaderRejectsEveryCorruption) {
  const std::string eight(8, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    const char* message;  // a phrase the error must contain
  };
  const auto one = [](const std::string& fields) { return R"({"w":{)" + fields + "}}"; };
  const std::vector<Case> cases = {
      {"too short", std::string("\x10\0\0", 3), "ends before the 8-byte header length"},
      {"header past the end", le_bytes(1000, 8) + "{}", "ends before the end of the JSON header"},
      {"absurd header length", le_bytes(uint64_t{1} << 63, 8) + "{}", "100 MB"},
      {"not JSON", safetensors_bytes("{\"w\": ", ""), "not valid JSON"},
      {"not an object", safetensors_bytes("[1, 2]", ""), "not a JSON object"},
      {"entry not an object", safetensors_bytes(R"({"w": 3})", ""), "not a JSON object"},
      {"unknown dtype",
       safetensors_bytes(one(R"("dtype":"F64","shape":[1],"data_offsets":[0,8])"), eight),
       "dtype \"F64\""},
      {"missing field", safetensors_bytes(one(R"("dtype":"F32","shape":[2])"), eight),
       "no 'data_offsets'"},
      {"unknown field",
       safetensors_bytes(one(R"("dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1)"), eight),
       "unknown field 'x'"},
      {"negative dimension",
       safetensors_bytes(one(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"), eight),
       "non-negative"},
      {"shape times size is not the span",
       safetensors_bytes(one(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"), eight),
       "needs 12 bytes but data_offsets [0,8] span 8"},
      {"shape overflows",
       safetensors_bytes(
           one(R"("dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0])"), ""),
       "more than 2^64"},
      {"offsets past the data",
       safetensors_bytes(one(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])"), eight),
       "past the end of the data (8 bytes)"},
      {"begin after end",
       safetensors_bytes(one(R"("dtype":"F32","shape":[0],"data_offsets":[8,0])"), eight),
       "0 <= begin <= end"},
      {"overlap",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         eight),
       "overlaps"},
      {"gap",
       safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                         eight),
       "belong to no tensor"},
      {"data not covered",
       safetensors_bytes(one(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"), eight),
       "the data is 8 bytes but the tensors cover 4"},
      {"duplicate name",
       safetensors_bytes(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                         eight),
       "names 'w' twice"},
      {"metadata not strings", safetensors_bytes(R"({"__metadata__":{"step":3}})", ""),
       "must be strings"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string file = write("bad.safetensors", c.bytes);
    const std::string message = error_of([&] { read_safetensors(file); }, "read_safetensors", file);
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
  const std::string missing = path("missing.safetensors");
  error_of([&] { read_safetensors(missing); }, "read_safetensors", missing);
  error_of([&] { read_safetensors(dir_.string()); }, "read_safetensors", dir_.string());
}

// numpy.save(f, numpy.zeros((2, 3), numpy.float32)) writes: the 10-byte preamble with header
// length 118 (0x76), the 59-character dict, spaces (numpy's 20 of growth room for the first axis,
// then alignment) up to byte 127, '\n', then the data at byte 128.
TEST_F(TensorIo, NpyHeaderIsByteIdenticalToNumpys) {
  const std::string file = path("x.npy");
  write_npy(file, make_tensor<float>("x", DType::kF32, {2, 3}, {0, 1, 2, 3, 4, 5}));
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  const std::string expected_header =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') + "\n";
  ASSERT_EQ(expected_header.size(), 128u);
  const std::string bytes = contents(file);
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 128), expected_header);
  EXPECT_EQ(bytes.substr(128, 8), std::string("\0\0\0\0\0\0\x80\x3f", 8));
}

TEST_F(TensorIo, NpyWritesScalarAndVectorShapesAsPythonDoes) {
  write_npy(path("s.npy"), make_tensor<float>("s", DType::kF32, {}, {1}));
  write_npy(path("v.npy"), make_tensor<int64_t>("v", DType::kI64, {5}, {1, 2, 3, 4, 5}));
  EXPECT_NE(contents(path("s.npy")).find("'shape': (), }"), std::string::npos);
  EXPECT_NE(
      contents(path("v.npy")).find("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }"),
      std::string::npos);
  // Where numpy starts the data (a multiple of 64) for assorted shapes. With fifteen axes the
  // 98-character dict plus numpy's 20 spaces of room to grow axis 0 passes 128 bytes, so the data
  // starts at 192; without that room it would start at 128.
  const std::vector<std::pair<std::vector<int64_t>, size_t>> cases = {
      {{}, 128},
      {{7}, 128},
      {{1, 2, 3, 4, 5, 6, 7, 8}, 128},
      {{123456789012, 0}, 128},
      {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 192},
  };
  for (const auto& [shape, data_start] : cases) {
    RawTensor tensor{"p", DType::kU8, shape, {}};
    tensor.data.resize(tensor.numel());
    write_npy(path("p.npy"), tensor);
    const std::string bytes = contents(path("p.npy"));
    ASSERT_EQ(bytes.size(), data_start + tensor.data.size());
    EXPECT_EQ(10 + static_cast<uint8_t>(bytes[8]) + 256 * static_cast<uint8_t>(bytes[9]),
              data_start);
    EXPECT_EQ(bytes[data_start - 1], '\n');
    expect_same(read_npy(path("p.npy")), tensor);
  }
}

TEST_F(TensorIo, NpyRoundTrips) {
  const std::vector<RawTensor> tensors = {
      make_tensor<float>("logits", DType::kF32, {2, 3}, {1, -2, 3.5f, 0, 1e-30f, 7}),
      make_tensor<int64_t>("tokens", DType::kI64, {5}, {0, -1, 255, int64_t{1} << 50, 3}),
      make_tensor<int32_t>("ids", DType::kI32, {1, 2}, {-5, 5}),
      make_tensor<uint8_t>("pixel", DType::kU8, {}, {200}),
      make_tensor<uint16_t>("half", DType::kF16, {2}, {0x3c00, 0xc000}),
      make_tensor<float>("empty", DType::kF32, {0, 4}, {}),
  };
  for (const RawTensor& tensor : tensors) {
    const std::string file = path(tensor.name + ".npy");
    write_npy(file, tensor);
    expect_same(read_npy(file), tensor);  // the name comes back from the file's stem
  }
  // A version 2.0 file (4-byte header length), as numpy writes for huge headers.
  const std::string file = write("v2.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, "
                                                     "'shape': (2,), }",
                                                     le_bytes(7, 4) + le_bytes(9, 4), 2));
  expect_same(read_npy(file), make_tensor<int32_t>("v2", DType::kI32, {2}, {7, 9}));
}

TEST_F(TensorIo, NpyWriterRejectsBfloat16) {
  const std::string file = path("b.npy");
  const std::string message = error_of<std::invalid_argument>(
      [&] { write_npy(file, make_tensor<uint16_t>("b", DType::kBF16, {1}, {0x3f80})); },
      "write_npy", file);
  EXPECT_NE(message.find("convert tensor 'b' to F32"), std::string::npos) << message;
  EXPECT_TRUE(listing().empty());
}

TEST_F(TensorIo, NpyReaderRejectsEveryCorruption) {
  const std::string six_floats(24, '\0');
  const auto dict = [](const std::string& descr, const std::string& fortran,
                       const std::string& shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  };
  const std::string good = dict("'<f4'", "False", "(2, 3)");
  struct Case {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"too short", std::string("\x93NUM", 4), "ends before the magic string"},
      {"bad magic", "\x93NUMPX" + npy_bytes(good, six_floats).substr(6), "does not start with"},
      {"unsupported version", npy_bytes(good, six_floats, 4), "version 4.0 is not supported"},
      {"header past the end", std::string("\x93NUMPY\x01\x00\xff\x00{}", 12),
       "ends before the end of the header"},
      {"not a dict", npy_bytes("[1, 2]", ""), "lacks a '{'"},
      {"missing key", npy_bytes("{'descr': '<f4', 'shape': (2, 3), }", six_floats),
       "has no 'fortran_order'"},
      {"unknown key",
       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
                 "'x': 1, }",
                 six_floats),
       "unknown key 'x'"},
      {"duplicate key", npy_bytes("{'descr': '<f4', 'descr': '<f4', }", six_floats), "twice"},
      {"fortran order", npy_bytes(dict("'<f4'", "True", "(2, 3)"), six_floats), "Fortran order"},
      {"unsupported descr", npy_bytes(dict("'<f8'", "False", "(3,)"), six_floats),
       "dtype '<f8' is not supported"},
      {"big-endian", npy_bytes(dict("'>f4'", "False", "(2, 3)"), six_floats), "big-endian"},
      {"structured", npy_bytes(dict("[('a', '<f4')]", "False", "(6,)"), six_floats),
       "structured dtype"},
      {"shape not a tuple", npy_bytes(dict("'<f4'", "False", "(6)"), six_floats), "not a tuple"},
      {"negative dimension", npy_bytes(dict("'<f4'", "False", "(-6,)"), six_floats),
       "non-negative integers"},
      {"shape overflows", npy_bytes(dict("'<f4'", "False", "(4294967296, 4294967296, 4)"), ""),
       "more elements than 64 bits"},
      {"data too short", npy_bytes(good, six_floats.substr(0, 20)), "truncated"},
      {"data too long", npy_bytes(good, six_floats + "xx"), "not a single array"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string file = write("bad.npy", c.bytes);
    const std::string message = error_of([&] { read_npy(file); }, "read_npy", file);
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
  const std::string missing = path("missing.npy");
  error_of([&] { read_npy(missing); }, "read_npy", missing);
}

TEST_F(TensorIo, AtomicWriteCreatesAndReplaces) {
  const std::string file = path("config.json");
  write_file_atomic(file, "first");
  EXPECT_EQ(contents(file), "first");
  write_file_atomic(file, [](std::ostream& out) { out << "second, " << 2; });
  EXPECT_EQ(contents(file), "second, 2");
  EXPECT_EQ(listing(), std::vector<std::string>{"config.json"});
}

TEST_F(TensorIo, AtomicWriteFailuresLeaveTheOldFileAndNoTemporary) {
  const std::string file = write("checkpoint.safetensors", "old");

  // The writer throws halfway: its exception comes through unchanged.
  EXPECT_THROW(write_file_atomic(file,
                                 [](std::ostream& out) {
                                   out << "half of it";
                                   throw std::logic_error("interrupted");
                                 }),
               std::logic_error);
  // The stream fails (as on a full disk).
  error_of(
      [&] {
        write_file_atomic(file, [](std::ostream& out) {
          out << "half of it";
          out.setstate(std::ios::badbit);
        });
      },
      "write_file_atomic", file);
  EXPECT_EQ(contents(file), "old");
  EXPECT_EQ(listing(), std::vector<std::string>{"checkpoint.safetensors"});

  // The target is a folder, so the final rename fails after the temporary file was written.
  const std::string folder = path("a_folder");
  fs::create_directory(folder);
  error_of([&] { write_file_atomic(folder, "new"); }, "write_file_atomic", folder);
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_EQ(listing(), (std::vector<std::string>{"a_folder", "checkpoint.safetensors"}));

  // The folder does not exist (was removed): nothing is created anywhere.
  const std::string nowhere = path("removed/run/model.safetensors");
  const std::string message = error_of(
      [&] { write_safetensors(nowhere, {make_tensor<float>("w", DType::kF32, {1}, {1})}); },
      "write_safetensors", nowhere);
  EXPECT_NE(message.find("folder exists"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(path("removed")));
}

}  // namespace
}  // namespace hg
