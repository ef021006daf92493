// Mutation fuzzing of every reader of files a user hands the program: safetensors, .npy, IDX
// (plain and gzip), CIFAR-10 batches (binary and pickled), ImageNet .npz, folders of PNGs, run
// configs and metrics.jsonl lines. Each seed below is a valid file made by the project's own
// writers (the seed corpus); each mutation of it must load or fail with a clean exception, never
// crash and never ask for memory the input does not justify (std::bad_alloc fails the test). The
// mutations are seeded, so a run repeats.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/core/metrics.h"
#include "model/core/run_config.h"
#include "model/data/data.h"
#include "model/io/image_io.h"
#include "model/io/tensor_io.h"
#include "tests/paper_format_files.h"
#include "tests/temp_dir.h"

namespace hg {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

constexpr int kMutationsPerReader = 1000;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes gzip(const Bytes& bytes, const std::string& scratch) {
  gzFile gz = gzopen(scratch.c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
  return read_bytes(scratch);
}

// One random change of the kinds that break parsers: a flipped bit, a byte set to an edge value,
// a cut, a repeated or deleted stretch, inserted bytes, or a 32-bit field set to a huge or
// negative number (sizes and offsets in headers), or a digit changed (JSON numbers).
Bytes mutate(Bytes b, std::mt19937& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int kind = static_cast<int>(rng() % 8);
  if (b.empty()) b.push_back(static_cast<uint8_t>(rng()));
  switch (kind) {
    case 0:
      if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 1: {
      const uint8_t edges[] = {0x00, 0xFF, 0x7F, 0x80, '"', '{', '9', '-'};
      if (!b.empty()) b[pick(b.size())] = edges[rng() % 8];
      break;
    }
    case 2:
      b.resize(pick(b.size()));
      break;
    case 3: {
      const size_t at = pick(b.size()), n = std::min<size_t>(pick(64) + 1, b.size() - at);
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at),
               b.begin() + static_cast<std::ptrdiff_t>(at),
               b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 4: {
      const size_t at = pick(b.size()), n = std::min<size_t>(pick(64) + 1, b.size() - at);
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
              b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 5:
      for (size_t i = 0, n = pick(16) + 1; i < n; ++i)
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)),
                 static_cast<uint8_t>(rng()));
      break;
    case 6: {
      const uint32_t words[] = {0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 0x00010000u, 0x40000000u};
      const uint32_t w = words[rng() % 5];
      if (b.size() >= 4) {
        const size_t at = pick(std::min<size_t>(b.size() - 3, 64));  // headers come first
        for (int k = 0; k < 4; ++k)
          b[at + k] = static_cast<uint8_t>(w >> (8 * (rng() % 2 ? k : 3 - k)));
      }
      break;
    }
    default:
      for (auto& c : b)
        if (c >= '0' && c <= '9' && rng() % 4 == 0) c = static_cast<uint8_t>('0' + rng() % 10);
      if (!b.empty() && rng() % 2)
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size())),
                 {'9', '9', '9', '9', '9', '9', '9', '9', '9', '9', '9'});
      break;
  }
  return b;
}

struct Counts {
  int tried = 0, clean_errors = 0, loads = 0;
};

// Mutates `seed` kMutationsPerReader times, writes each to `path` and hands it to `read`.
Counts fuzz(const std::string& name, const Bytes& seed, const std::string& path,
            const std::function<void(const std::string&)>& read, uint32_t rng_seed) {
  std::mt19937 rng(rng_seed);
  Counts c;
  for (int i = 0; i < kMutationsPerReader; ++i) {
    Bytes input = mutate(seed, rng);
    if (rng() % 3 == 0) input = mutate(input, rng);  // sometimes two changes
    write_bytes(path, input);
    ++c.tried;
    try {
      read(path);
      ++c.loads;
    } catch (const std::bad_alloc&) {
      ADD_FAILURE() << name << " mutation " << i << ": std::bad_alloc, memory not bounded";
    } catch (const std::exception&) {
      ++c.clean_errors;
    }
  }
  std::cout << "fuzz " << name << ": " << c.tried << " inputs, " << c.clean_errors
            << " clean errors, " << c.loads << " valid loads, 0 crashes\n";
  return c;
}

Bytes idx_seed() {
  Bytes b;
  for (uint32_t word : {0x00000803u, 12u, 28u, 28u})
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(word >> shift));
  for (int i = 0; i < 12 * 28 * 28; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

TEST(Fuzz, SafetensorsAndNpy) {
  TempDir dir;
  RawTensor a;
  a.name = "level0.weight";
  a.dtype = DType::kF32;
  a.shape = {3, 4};
  a.data.resize(48, 1);
  RawTensor b = a;
  b.name = "bias";
  b.dtype = DType::kBF16;
  b.shape = {5};
  b.data.resize(10, 2);
  write_safetensors(dir / "seed.safetensors", {a, b}, {{"hourglass_config", "{}"}});
  write_npy(dir / "seed.npy", a);
  const Counts s = fuzz(
      "safetensors", read_bytes(dir / "seed.safetensors"), dir / "m.safetensors",
      [](const std::string& p) { read_safetensors(p); }, 1);
  const Counts n = fuzz(
      "npy", read_bytes(dir / "seed.npy"), dir / "m.npy", [](const std::string& p) { read_npy(p); },
      2);
  EXPECT_GT(s.clean_errors, 0);
  EXPECT_GT(n.clean_errors, 0);
}

TEST(Fuzz, IdxPlainAndGzipAndCifar) {
  TempDir dir;
  const Bytes idx = idx_seed();
  const Counts plain = fuzz(
      "idx", idx, dir / "m-images-idx3-ubyte",
      [](const std::string& p) { load_dataset(p, DataFormat::kIdx); }, 3);
  const Counts gz = fuzz(
      "idx.gz", gzip(idx, dir / "seed.gz"), dir / "m-images-idx3-ubyte.gz",
      [](const std::string& p) { load_dataset(p, DataFormat::kIdx); }, 4);
  Bytes cifar;
  for (int n = 0; n < 6; ++n) {
    cifar.push_back(static_cast<uint8_t>(n % 10));
    for (int i = 0; i < 3072; ++i) cifar.push_back(static_cast<uint8_t>(i + n));
  }
  const Counts c = fuzz(
      "cifar", cifar, dir / "data_batch_1.bin",
      [](const std::string& p) { load_dataset(p, DataFormat::kCifar); }, 5);
  EXPECT_GT(plain.clean_errors + gz.clean_errors + c.clean_errors, 0);
}

// The paper's formats: CIFAR batches pickled by Python 2 and 3, ImageNet .npz stored and deflated.
TEST(Fuzz, CifarPickleAndImagenetNpz) {
  TempDir dir;
  Bytes planes(2 * 3072);
  for (size_t i = 0; i < planes.size(); ++i) planes[i] = static_cast<uint8_t>(i * 13);
  const auto as_cifar = [](const std::string& p) { load_dataset(p, DataFormat::kCifar); };
  const auto as_npz = [](const std::string& p) { load_dataset(p, DataFormat::kNpz); };
  const Counts py2 = fuzz("cifar pickle (protocol 2)", test::cifar_pickle(planes, 2),
                          dir / "m_batch", as_cifar, 8);
  const Counts py3 = fuzz("cifar pickle (protocol 4)", test::cifar_pickle(planes, 2, true, 4),
                          dir / "m_batch", as_cifar, 9);
  test::write_imagenet_npz(dir.path() / "stored.npz", planes, 2, 32);
  test::write_imagenet_npz(dir.path() / "deflated.npz", planes, 2, 32, /*deflate=*/true);
  const Counts stored =
      fuzz("npz (stored)", read_bytes(dir / "stored.npz"), dir / "m.npz", as_npz, 10);
  const Counts deflated =
      fuzz("npz (deflated)", read_bytes(dir / "deflated.npz"), dir / "m.npz", as_npz, 11);
  for (const Counts& c : {py2, py3, stored, deflated}) EXPECT_GT(c.clean_errors, 0);
}

// A folder of good PNGs and one mutated one: the good ones load, the broken one is named.
TEST(Fuzz, PngInAFolder) {
  TempDir dir;
  fs::create_directories(dir / "icons");
  Bytes rgba(16 * 16 * 4);
  for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = static_cast<uint8_t>(i * 13);
  for (int i = 0; i < 3; ++i)
    write_png(dir / ("icons/good" + std::to_string(i) + ".png"), 16, 16, 4, rgba.data());
  write_png(dir / "seed.png", 16, 16, 4, rgba.data());
  const Counts c = fuzz(
      "png folder", read_bytes(dir / "seed.png"), dir / "icons/mutated.png",
      [](const std::string& p) {
        const Dataset data = load_dataset(fs::path(p).parent_path().string(), DataFormat::kImages);
        if (data.train.size() + data.val.size() + data.test.size() < 3 * 32 * 32 * 3)
          throw std::runtime_error("the good images were lost");
      },
      6);
  EXPECT_EQ(c.clean_errors, 0) << "a broken PNG in a folder is skipped, not fatal";
}

// A small PNG whose header declares 16000 x 16000 pixels is refused before decoding (it would
// take 1 GB); in a folder it is skipped and named, and the good images load.
TEST(Fuzz, PngThatDeclaresAHugeImageIsRefusedFromItsHeader) {
  TempDir dir;
  fs::create_directories(dir / "icons");
  Bytes rgba(16 * 16 * 4, 200);
  write_png(dir / "icons/good.png", 16, 16, 4, rgba.data());
  write_png(dir / "small.png", 16, 16, 4, rgba.data());
  Bytes png = read_bytes(dir / "small.png");
  for (int k = 0; k < 2; ++k)  // IHDR's width and height, big-endian, at bytes 16 and 20
    for (int i = 0; i < 4; ++i) png[16 + 4 * k + i] = static_cast<uint8_t>(16000u >> (24 - 8 * i));
  write_bytes(dir / "icons/huge.png", png);
  try {
    load_image_32(dir / "icons/huge.png", 3);
    FAIL() << "decoded a 16000x16000 image";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("16000x16000"), std::string::npos) << e.what();
  }
  const Dataset data = load_dataset(dir / "icons", DataFormat::kImages);
  EXPECT_EQ(data.skipped, 1);
  ASSERT_EQ(data.skipped_files.size(), 1u);
  EXPECT_NE(data.skipped_files[0].find("huge.png"), std::string::npos);
}

TEST(Fuzz, RunConfigsAndMetricsLines) {
  TempDir dir;
  const std::string config = to_json(RunConfig{}).dump(2);
  const Counts r = fuzz(
      "run config", Bytes(config.begin(), config.end()), dir / "config.json",
      [](const std::string& p) { run_config_from_json(read_json_file(p)); }, 7);
  const std::string line =
      R"({"step":12,"time_s":3.5,"split":"val","loss":2.25,"bits_per_token":3.2,"tokens_per_s":900,"lr":0.001})";
  const Counts m = fuzz(
      "metrics line", Bytes(line.begin(), line.end()), dir / "metrics.jsonl",
      [](const std::string& p) {
        const Bytes b = read_bytes(p);
        if (!parse_metrics_line(std::string(b.begin(), b.end())))
          throw std::runtime_error("not a metrics line");  // passed over, as the studio does
      },
      8);
  EXPECT_GT(r.clean_errors, 0);
  EXPECT_GT(m.clean_errors, 0);
}

}  // namespace
}  // namespace hg
