// Dataset loaders and PNG I/O: format names and guessing, split rules, text, IDX (plain, gzip,
// damaged), CIFAR-10 (binary and pickled), CIFAR-100 and ImageNet .npz, image folders (alpha,
// scaling, corrupt files), write_png round trips, grids, and the Debian defaults when installed.
// Small files are built in a temporary folder per test.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>

#include "model/data/data.h"
#include "model/io/image_io.h"
#include "tests/paper_format_files.h"
#include "tests/temp_dir.h"

namespace hg {
namespace {
namespace fs = std::filesystem;

using Bytes = std::vector<uint8_t>;

void write_file(const std::string& path, const Bytes& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

Bytes read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Runs f, expects std::runtime_error, and returns its message.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::runtime_error was thrown";
  return "";
}

// Pixel (y, x) of source image n in the IDX files built here.
uint8_t idx_pixel(int n, int y, int x) { return static_cast<uint8_t>(n * 31 + y * 28 + x + 1); }

Bytes idx_file(int count, int rows, int cols, uint32_t magic = 0x00000803, int first = 0) {
  Bytes bytes;
  for (uint32_t word : {magic, uint32_t(count), uint32_t(rows), uint32_t(cols)})
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(word >> shift));
  for (int n = first; n < first + count; ++n)
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) bytes.push_back(idx_pixel(n, y, x));
  return bytes;
}

// Value of plane c (R, G, B), pixel p, of CIFAR record n in the batches built here.
uint8_t cifar_value(int n, int c, int p) { return static_cast<uint8_t>(n * 7 + c * 50 + p); }

Bytes cifar_file(int count, int first = 0) {
  Bytes bytes;
  for (int n = first; n < first + count; ++n) {
    bytes.push_back(uint8_t(n % 10));  // label
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) bytes.push_back(cifar_value(n, c, p));
  }
  return bytes;
}

// Image i of a split, as bytes.
Bytes image_of(const Dataset& data, Split split, size_t i) {
  const Bytes& all = data.split(split);
  return Bytes(all.begin() + i * data.image_bytes(), all.begin() + (i + 1) * data.image_bytes());
}

// A padded 32x32 IDX image as loaded: source image n of 28x28 centred, zeros around it.
Bytes padded_idx_image(int n) {
  Bytes image(1024, 0);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) image[(y + 2) * 32 + x + 2] = idx_pixel(n, y, x);
  return image;
}

// ---- formats and split rules -----------------------------------------------------------------

TEST(DataFormat, NamesRoundTripAndUnknownNamesAreErrors) {
  for (DataFormat f :
       {DataFormat::kText, DataFormat::kIdx, DataFormat::kCifar, DataFormat::kImages})
    EXPECT_EQ(parse_format(to_string(f)), f);
  EXPECT_EQ(to_string(DataFormat::kImages), "images");
  try {
    parse_format("png");
    ADD_FAILURE() << "parse_format accepted 'png'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'png'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("text, idx, cifar, images"), std::string::npos);
  }
}

TEST(DataFormat, GuessesFromNamesAndFolderContents) {
  EXPECT_EQ(guess_format("/x/train-images-idx3-ubyte"), DataFormat::kIdx);
  EXPECT_EQ(guess_format("/x/anything.gz"), DataFormat::kIdx);
  EXPECT_EQ(guess_format("/x/data_batch_1.bin"), DataFormat::kCifar);
  EXPECT_EQ(guess_format("/x/cat.JPG"), DataFormat::kImages);
  EXPECT_EQ(guess_format("/x/enwik8"), DataFormat::kText);

  TempDir dir;
  write_file(dir / "cifar/data_batch_1.bin", cifar_file(1));
  write_file(dir / "mnist/train-images-idx3-ubyte.gz", {});
  write_file(dir / "icons/deep/inside/a.Png", {});
  write_file(dir / "books/a.txt", {'a'});
  write_file(dir / "books/b.dat", {'b'});
  EXPECT_EQ(guess_format(dir / "cifar"), DataFormat::kCifar);
  EXPECT_EQ(guess_format(dir / "mnist"), DataFormat::kIdx);
  EXPECT_EQ(guess_format(dir / "icons"), DataFormat::kImages);
  EXPECT_EQ(guess_format(dir / "books"), DataFormat::kText);
}

TEST(SplitRules, TextIs90_5_5ByPositionAndEnwik8Is90M_5M_5M) {
  EXPECT_EQ(text_bounds(2000).val_begin, 1800u);
  EXPECT_EQ(text_bounds(2000).test_begin, 1900u);
  EXPECT_EQ(text_bounds(1'000'003).val_begin, 900'002u);  // rounded down
  EXPECT_EQ(text_bounds(1'000'003).test_begin, 950'002u);
  EXPECT_EQ(text_bounds(100'000'000).val_begin, 90'000'000u);
  EXPECT_EQ(text_bounds(100'000'000).test_begin, 95'000'000u);
}

TEST(SplitRules, ImagesKeepOneForValAndTestAndHoldOutTheLast5000) {
  auto counts = [](size_t n) {
    const ImageCounts c = image_counts(n);
    return std::vector<size_t>{c.train, c.val, c.test};
  };
  EXPECT_EQ(counts(2), (std::vector<size_t>{2, 0, 0}));
  EXPECT_EQ(counts(3), (std::vector<size_t>{1, 1, 1}));
  EXPECT_EQ(counts(40), (std::vector<size_t>{36, 2, 2}));
  EXPECT_EQ(counts(1000), (std::vector<size_t>{900, 50, 50}));
  EXPECT_EQ(held_out_count(60000), 5000u);  // MNIST 55000/5000
  EXPECT_EQ(held_out_count(50000), 5000u);  // CIFAR-10 45000/5000
  EXPECT_EQ(held_out_count(40), 2u);
  EXPECT_EQ(held_out_count(1), 1u);
}

// ---- text ------------------------------------------------------------------------------------

TEST(TextData, FileIsSplitByPosition) {
  TempDir dir;
  Bytes bytes(2000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 7);
  write_file(dir / "book.txt", bytes);
  const Dataset data = load_dataset(dir / "book.txt");
  EXPECT_EQ(data.format, DataFormat::kText);
  EXPECT_FALSE(data.is_image());
  EXPECT_EQ(data.train, Bytes(bytes.begin(), bytes.begin() + 1800));
  EXPECT_EQ(data.val, Bytes(bytes.begin() + 1800, bytes.begin() + 1900));
  EXPECT_EQ(data.test, Bytes(bytes.begin() + 1900, bytes.end()));
  EXPECT_EQ(data.count(Split::kVal), 100u);
}

TEST(TextData, FolderConcatenatesFilesInNameOrderSkippingIndexesAndAliases) {
  TempDir dir;
  write_file(dir / "fortunes/b", Bytes(1000, 'b'));
  write_file(dir / "fortunes/a", Bytes(1000, 'a'));
  write_file(dir / "fortunes/a.dat", Bytes(500, 'x'));
  fs::create_symlink("a", dir / "fortunes/a.u8");
  const Dataset data = load_dataset(dir / "fortunes");
  Bytes all = data.train;
  all.insert(all.end(), data.val.begin(), data.val.end());
  all.insert(all.end(), data.test.begin(), data.test.end());
  Bytes expected(1000, 'a');
  expected.insert(expected.end(), 1000, 'b');
  EXPECT_EQ(all, expected);
  EXPECT_NE(data.description.find("2 files"), std::string::npos) << data.description;
}

TEST(TextData, TooSmallEmptyAndMissingAreErrorsThatSayWhy) {
  TempDir dir;
  write_file(dir / "tiny.txt", Bytes(100, 'a'));
  std::string message = error_of([&] { load_dataset(dir / "tiny.txt"); });
  EXPECT_NE(message.find("load_dataset: "), std::string::npos) << message;
  EXPECT_NE(message.find(dir / "tiny.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("fewer than 64"), std::string::npos) << message;

  fs::create_directories(dir / "empty");
  message = error_of([&] { load_dataset(dir / "empty"); });
  EXPECT_NE(message.find(dir / "empty"), std::string::npos) << message;

  message = error_of([&] { load_dataset(dir / "no-such-file"); });
  EXPECT_NE(message.find(dir / "no-such-file"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  message = error_of([&] { load_dataset("/usr/share/games/fortunes/no-such-file"); });
  EXPECT_NE(message.find("apt install fortunes"), std::string::npos) << message;
}

// ---- IDX -------------------------------------------------------------------------------------

TEST(IdxData, SingleFileIsPaddedTo32x32AndSplitByPosition) {
  TempDir dir;
  write_file(dir / "images-idx3-ubyte", idx_file(40, 28, 28));
  const Dataset data = load_dataset(dir / "images-idx3-ubyte");
  EXPECT_EQ(data.format, DataFormat::kIdx);
  EXPECT_EQ(data.height, 32);
  EXPECT_EQ(data.width, 32);
  EXPECT_EQ(data.channels, 1);
  EXPECT_EQ(data.count(Split::kTrain), 36u);
  EXPECT_EQ(data.count(Split::kVal), 2u);
  EXPECT_EQ(data.count(Split::kTest), 2u);
  EXPECT_EQ(image_of(data, Split::kTrain, 0), padded_idx_image(0));
  EXPECT_EQ(image_of(data, Split::kVal, 0), padded_idx_image(36));
  EXPECT_EQ(image_of(data, Split::kTest, 1), padded_idx_image(39));
}

TEST(IdxData, GzipGivesTheSameImagesAsPlain) {
  TempDir dir;
  write_file(dir / "plain-idx3-ubyte", idx_file(40, 28, 28));
  write_gzip(dir / "packed-idx3-ubyte.gz", idx_file(40, 28, 28));
  const Dataset plain = load_dataset(dir / "plain-idx3-ubyte");
  const Dataset packed = load_dataset(dir / "packed-idx3-ubyte.gz");
  EXPECT_EQ(packed.format, DataFormat::kIdx);
  EXPECT_EQ(packed.train, plain.train);
  EXPECT_EQ(packed.val, plain.val);
  EXPECT_EQ(packed.test, plain.test);
}

TEST(IdxData, FolderHoldsOutTheEndOfTrainAndTestsOnT10k) {
  TempDir dir;
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_file(40, 28, 28));
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_file(40, 1, 1, 0x00000801));
  write_file(dir / "t10k-images-idx3-ubyte", idx_file(7, 28, 28, 0x00000803, /*first=*/100));
  const Dataset data = load_dataset(dir.path().string());
  EXPECT_EQ(data.format, DataFormat::kIdx);
  EXPECT_EQ(data.count(Split::kTrain), 38u);
  EXPECT_EQ(data.count(Split::kVal), 2u);
  EXPECT_EQ(data.count(Split::kTest), 7u);
  EXPECT_EQ(image_of(data, Split::kVal, 0), padded_idx_image(38));
  EXPECT_EQ(image_of(data, Split::kTest, 0), padded_idx_image(100));
}

TEST(IdxData, DamagedFilesAreErrorsNamingTheFileAndTheNumbers) {
  TempDir dir;
  Bytes truncated = idx_file(10, 28, 28);
  truncated.resize(16 + 100);
  write_file(dir / "cut-idx3-ubyte", truncated);
  std::string message = error_of([&] { load_dataset(dir / "cut-idx3-ubyte"); });
  EXPECT_NE(message.find(dir / "cut-idx3-ubyte" + " is truncated"), std::string::npos) << message;
  EXPECT_NE(message.find("10 images of 28x28 (7840 bytes), found 100 bytes"), std::string::npos)
      << message;

  write_gzip(dir / "whole.gz", idx_file(40, 28, 28));
  const Bytes packed = read_whole(dir / "whole.gz");
  write_file(dir / "half.gz", Bytes(packed.begin(), packed.begin() + packed.size() / 2));
  message = error_of([&] { load_dataset(dir / "half.gz"); });
  EXPECT_NE(message.find(dir / "half.gz" + " is truncated"), std::string::npos) << message;
  // Only the gzip trailer (CRC, length) cut: every image is there, yet the file is damaged.
  write_file(dir / "no-trailer.gz", Bytes(packed.begin(), packed.end() - 4));
  message = error_of([&] { load_dataset(dir / "no-trailer.gz"); });
  EXPECT_NE(message.find(dir / "no-trailer.gz" + " is truncated: its gzip stream ends early"),
            std::string::npos)
      << message;

  write_file(dir / "labels-idx1-ubyte", idx_file(10, 1, 1, 0x00000801));
  message = error_of([&] { load_dataset(dir / "labels-idx1-ubyte"); });
  EXPECT_NE(message.find("labels, not images"), std::string::npos) << message;

  write_file(dir / "odd-idx3-ubyte", idx_file(10, 28, 28, 0x12345678));
  message = error_of([&] { load_dataset(dir / "odd-idx3-ubyte"); });
  EXPECT_NE(message.find("magic 0x12345678, expected 0x00000803"), std::string::npos) << message;

  write_file(dir / "big-idx3-ubyte", idx_file(1, 40, 40));
  message = error_of([&] { load_dataset(dir / "big-idx3-ubyte"); });
  EXPECT_NE(message.find("40x40"), std::string::npos) << message;
}

// A gzip that inflates far past what its header declares (a gzip bomb) is read no further than the
// header's size; a header that declares more than a dataset file may hold is refused unread.
TEST(IdxData, GzipBombsAndHugeHeadersAreRefusedByTheirHeader) {
  TempDir dir;
  Bytes bomb = idx_file(2, 28, 28);
  bomb.resize(bomb.size() + (size_t{64} << 20), 0);  // 64 MiB of zeros past the two images
  write_gzip(dir / "bomb-idx3-ubyte.gz", bomb);
  EXPECT_LT(fs::file_size(dir / "bomb-idx3-ubyte.gz"), size_t{1} << 20);
  std::string message = error_of([&] { load_dataset(dir / "bomb-idx3-ubyte.gz"); });
  EXPECT_NE(message.find("longer than its header says: header says 2 images of 28x28"),
            std::string::npos)
      << message;

  Bytes huge = idx_file(1, 28, 28);
  huge[4] = huge[5] = huge[6] = huge[7] = 0xff;  // 4,294,967,295 images of 28x28
  write_gzip(dir / "huge-idx3-ubyte.gz", huge);
  message = error_of([&] { load_dataset(dir / "huge-idx3-ubyte.gz"); });
  EXPECT_NE(message.find("declares 4294967295 images of 28x28, more than 4 GiB"), std::string::npos)
      << message;
}

TEST(IdxData, FolderWithoutTestImagesIsAnError) {
  TempDir dir;
  write_file(dir / "train-images-idx3-ubyte", idx_file(40, 28, 28));
  const std::string message = error_of([&] { load_dataset(dir.path().string()); });
  EXPECT_NE(message.find("t10k-images-idx3-ubyte"), std::string::npos) << message;
}

// ---- CIFAR-10 --------------------------------------------------------------------------------

TEST(CifarData, PlanesBecomeChannelInterleavedPixels) {
  TempDir dir;
  write_file(dir / "batch.bin", cifar_file(40));
  const Dataset data = load_dataset(dir / "batch.bin");
  EXPECT_EQ(data.format, DataFormat::kCifar);
  EXPECT_EQ(data.channels, 3);
  EXPECT_EQ(data.count(Split::kTrain), 36u);
  EXPECT_EQ(data.count(Split::kVal), 2u);
  EXPECT_EQ(data.count(Split::kTest), 2u);
  // Pixel 5 of record 0: R, G, B read from the three planes, then side by side.
  EXPECT_EQ(data.train[15], 5);
  EXPECT_EQ(data.train[16], 55);
  EXPECT_EQ(data.train[17], 105);
  const Bytes last = image_of(data, Split::kTest, 1);  // record 39
  for (int p = 0; p < 1024; ++p)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(last[3 * p + c], cifar_value(39, c, p)) << p << " " << c;
}

TEST(CifarData, FolderHoldsOutTheEndOfTheDataBatchesAndTestsOnTestBatch) {
  TempDir dir;
  write_file(dir / "data_batch_1.bin", cifar_file(3));
  write_file(dir / "data_batch_2.bin", cifar_file(2, /*first=*/3));
  write_file(dir / "test_batch.bin", cifar_file(2, /*first=*/100));
  write_file(dir / "batches.meta.txt", {'c', 'a', 't'});
  const Dataset data = load_dataset(dir.path().string());
  EXPECT_EQ(data.format, DataFormat::kCifar);
  EXPECT_EQ(data.count(Split::kTrain), 4u);
  EXPECT_EQ(data.count(Split::kVal), 1u);
  EXPECT_EQ(data.count(Split::kTest), 2u);
  EXPECT_EQ(data.val[0], cifar_value(4, 0, 0));  // the last record of data_batch_2
  EXPECT_EQ(data.test[1], cifar_value(100, 1, 0));
}

TEST(CifarData, SizeNotAMultipleOfTheRecordIsAnError) {
  TempDir dir;
  Bytes bytes = cifar_file(2);
  bytes.resize(bytes.size() + 100);
  write_file(dir / "data_batch_1.bin", bytes);
  const std::string message = error_of([&] { load_dataset(dir / "data_batch_1.bin"); });
  EXPECT_NE(message.find(dir / "data_batch_1.bin" + " holds 6246 bytes"), std::string::npos)
      << message;
  EXPECT_NE(message.find("3073"), std::string::npos) << message;
}

// ---- the paper's formats: CIFAR pickles, ImageNet .npz ---------------------------------------

// The R, G, B planes of records [first, first + count), as cifar_value gives them.
Bytes cifar_planes(int count, int first = 0, int side = 32) {
  Bytes planes;
  for (int n = first; n < first + count; ++n)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < side * side; ++p) planes.push_back(cifar_value(n, c, p));
  return planes;
}

// Every pixel of image i of a split is record n's, channel-interleaved.
void expect_record(const Dataset& data, Split split, size_t i, int n) {
  const Bytes image = image_of(data, split, i);
  const int plane = data.height * data.width;
  for (int p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c)
      ASSERT_EQ(image[3 * p + c], cifar_value(n, c, p)) << "record " << n << " pixel " << p;
}

TEST(CifarPickle, FolderSplitsByItsFilesAndPlanesBecomeInterleavedPixels) {
  TempDir dir;
  write_file(dir / "cifar-10-batches-py/data_batch_1", test::cifar_pickle(cifar_planes(3), 3));
  write_file(dir / "cifar-10-batches-py/data_batch_2", test::cifar_pickle(cifar_planes(2, 3), 2));
  write_file(dir / "cifar-10-batches-py/test_batch", test::cifar_pickle(cifar_planes(2, 100), 2));
  write_file(dir / "cifar-10-batches-py/batches.meta", {0x80, 2, '}', '.'});
  const std::string folder = dir / "cifar-10-batches-py";
  EXPECT_EQ(guess_format(folder), DataFormat::kCifar);
  const Dataset data = load_dataset(folder);
  EXPECT_EQ(data.format, DataFormat::kCifar);
  EXPECT_EQ(data.count(Split::kTrain), 4u);
  EXPECT_EQ(data.count(Split::kVal), 1u);  // the last record of data_batch_2
  EXPECT_EQ(data.count(Split::kTest), 2u);
  expect_record(data, Split::kTrain, 0, 0);
  expect_record(data, Split::kTrain, 3, 3);
  expect_record(data, Split::kVal, 0, 4);
  expect_record(data, Split::kTest, 1, 101);
  EXPECT_NE(data.description.find("CIFAR-10 (python)"), std::string::npos) << data.description;
}

TEST(CifarPickle, Cifar100AndPythonThreePicklesLoadToo) {
  TempDir dir;
  // CIFAR-100's layout (train, test, fine and coarse labels), pickled as Python 3 does.
  write_file(dir / "c100/train", test::cifar_pickle(cifar_planes(6), 6, true, /*protocol=*/4));
  write_file(dir / "c100/test", test::cifar_pickle(cifar_planes(1, 50), 1, true, 4));
  write_file(dir / "c100/meta", test::cifar_pickle(cifar_planes(0), 0, true, 4));
  const Dataset data = load_dataset(dir / "c100");
  EXPECT_EQ(data.format, DataFormat::kCifar);
  EXPECT_EQ(data.count(Split::kTrain), 5u);
  EXPECT_EQ(data.count(Split::kTest), 1u);
  expect_record(data, Split::kVal, 0, 5);
  expect_record(data, Split::kTest, 0, 50);
  EXPECT_NE(data.description.find("CIFAR-100 (python)"), std::string::npos) << data.description;
  // One batch file alone, found by its content whatever its name: split 90/5/5 by position.
  write_file(dir / "some_batch", test::cifar_pickle(cifar_planes(40), 40));
  EXPECT_EQ(guess_format(dir / "some_batch"), DataFormat::kCifar);
  const Dataset one = load_dataset(dir / "some_batch");
  EXPECT_EQ(one.count(Split::kTrain), 36u);
  expect_record(one, Split::kTest, 1, 39);
}

TEST(CifarPickle, EveryMalformedPickleIsAClearError) {
  TempDir dir;
  const Bytes good = test::cifar_pickle(cifar_planes(2), 2);
  auto message_for = [&](const Bytes& bytes) {
    write_file(dir / "batch", bytes);
    return error_of([&] { load_dataset(dir / "batch", DataFormat::kCifar); });
  };
  auto expect_says = [&](const Bytes& bytes, const std::string& want) {
    const std::string message = message_for(bytes);
    EXPECT_NE(message.find(want), std::string::npos) << message;
    EXPECT_NE(message.find(dir / "batch"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  // Cut anywhere: truncated, however it reads.
  for (size_t cut : {size_t{1}, size_t{2}, size_t{40}, good.size() / 2, good.size() - 1})
    expect_says(Bytes(good.begin(), good.begin() + cut), "truncated");
  auto faulty = [&](auto set) {
    test::CifarPickleFaults faults;
    set(faults);
    return test::cifar_pickle(cifar_planes(2), 2, false, 2, faults);
  };
  expect_says(faulty([](auto& f) { f.dtype = "f4"; }), "not of dtype uint8");
  expect_says(faulty([](auto& f) { f.width = 3000; }), "not N x 3072");
  expect_says(faulty([](auto& f) { f.extra_bytes = 7; }), "holds 6151 bytes");
  expect_says(faulty([](auto& f) { f.fortran = true; }), "Fortran order");
  expect_says(faulty([](auto& f) { f.data_key = "pixels"; }), "no key 'data'");
  // Code is never run: a global outside numpy's arrays, or an opcode this reader lacks.
  test::PickleWriter evil(2);
  evil.global("os", "system").text("rm -rf ~").op(0x85).op('R');
  expect_says(evil.stop(), "global os.system");
  expect_says({0x80, 2, 'i', 'o', 's', '\n'}, "opcode 0x69 ('i') at byte 2");
  expect_says({0x80, 2, ']', '.'}, "holds no dict");
  expect_says({0x80, 2, 'h', 7, '.'}, "memo 7");
  expect_says({0x80, 2, 'e', '.'}, "MARK");
  expect_says({0x80, 9, '.'}, "protocol 9");
  // A string that claims more bytes than the file holds is refused before it is allocated.
  expect_says({0x80, 2, 'T', 0xff, 0xff, 0xff, 0x7f, 'x'}, "truncated");
  // A pickled training batch beside no test batch.
  write_file(dir / "py/data_batch_1", good);
  const std::string message = error_of([&] { load_dataset(dir / "py"); });
  EXPECT_NE(message.find("no test batch"), std::string::npos) << message;
}

TEST(ImagenetNpz, FolderTrainsOnItsBatchesAndTestsOnValData) {
  TempDir dir;
  const fs::path folder = dir.path() / "imagenet32";
  test::write_imagenet_npz(folder / "train_data_batch_1.npz", cifar_planes(3), 3, 32);
  test::write_imagenet_npz(folder / "train_data_batch_2.npz", cifar_planes(3, 3), 3, 32,
                           /*deflate=*/true);  // numpy.savez_compressed
  test::write_imagenet_npz(folder / "val_data.npz", cifar_planes(2, 100), 2, 32);
  EXPECT_EQ(guess_format(folder.string()), DataFormat::kNpz);
  const Dataset data = load_dataset(folder.string());
  EXPECT_EQ(data.format, DataFormat::kNpz);
  EXPECT_EQ(data.height, 32);
  EXPECT_EQ(data.count(Split::kTrain), 5u);
  EXPECT_EQ(data.count(Split::kVal), 1u);
  EXPECT_EQ(data.count(Split::kTest), 2u);
  expect_record(data, Split::kTrain, 0, 0);
  expect_record(data, Split::kTrain, 4, 4);
  expect_record(data, Split::kVal, 0, 5);
  expect_record(data, Split::kTest, 1, 101);
}

TEST(ImagenetNpz, OneFileOf64x64ImagesIsSplitByPosition) {
  TempDir dir;
  test::write_imagenet_npz(dir.path() / "imagenet64.npz", cifar_planes(20, 0, 64), 20, 64);
  const Dataset data = load_dataset(dir / "imagenet64.npz");
  EXPECT_EQ(data.height, 64);
  EXPECT_EQ(data.width, 64);
  EXPECT_EQ(data.image_bytes(), 12288u);
  EXPECT_EQ(data.count(Split::kTrain), 18u);
  expect_record(data, Split::kTest, 0, 19);
  // Detected by content as well as by name.
  fs::copy_file(dir / "imagenet64.npz", dir / "batch");
  EXPECT_EQ(guess_format(dir / "batch"), DataFormat::kNpz);
}

TEST(ImagenetNpz, EveryMalformedArchiveIsAClearError) {
  TempDir dir;
  auto expect_says = [&](const std::string& path, const std::string& want) {
    const std::string message = error_of([&] { load_dataset(path, DataFormat::kNpz); });
    EXPECT_NE(message.find(want), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  write_file(dir / "garbage.npz", {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  expect_says(dir / "garbage.npz", "not a zip archive");
  // A zip without 'data', 'data' of the wrong type or width, 'data' that is not an array.
  RawTensor labels{"labels", DType::kI64, {4}, Bytes(32, 0)};
  test::write_zip(dir / "nodata.npz", {{"labels.npy", test::npy_bytes(labels, dir.path())}}, false);
  expect_says(dir / "nodata.npz", "has no member data.npy (it holds: labels.npy)");
  RawTensor floats{"data", DType::kF32, {1, 3072}, Bytes(3072 * 4, 0)};
  test::write_zip(dir / "floats.npz", {{"data.npy", test::npy_bytes(floats, dir.path())}}, false);
  expect_says(dir / "floats.npz", "'data' is F32 (1 x 3072), not uint8");
  RawTensor narrow{"data", DType::kU8, {2, 100}, Bytes(200, 0)};
  test::write_zip(dir / "narrow.npz", {{"data.npy", test::npy_bytes(narrow, dir.path())}}, false);
  expect_says(dir / "narrow.npz", "(2 x 100), not uint8 N x 3072");
  test::write_zip(dir / "text.npz", {{"data.npy", Bytes(100, 'x')}}, false);
  expect_says(dir / "text.npz", "\\x93NUMPY");
  // A flipped byte of stored data fails its CRC; a cut archive is not a zip any more.
  test::write_imagenet_npz(dir.path() / "good.npz", cifar_planes(2), 2, 32);
  Bytes bytes = read_whole(dir / "good.npz");
  bytes[200] ^= 0x40;  // inside data.npy's pixels (its header is 128 bytes after the entry's)
  write_file(dir / "flipped.npz", bytes);
  expect_says(dir / "flipped.npz", "checksum");
  bytes = read_whole(dir / "good.npz");
  bytes.resize(bytes.size() / 2);
  write_file(dir / "cut.npz", bytes);
  expect_says(dir / "cut.npz", "not a zip archive");
  // Folders: 32x32 and 64x64 batches mixed; no val_data.npz.
  test::write_imagenet_npz(dir.path() / "mixed/train_data_batch_1.npz", cifar_planes(1), 1, 32);
  test::write_imagenet_npz(dir.path() / "mixed/train_data_batch_2.npz", cifar_planes(1, 0, 64), 1,
                           64);
  test::write_imagenet_npz(dir.path() / "mixed/val_data.npz", cifar_planes(1), 1, 32);
  expect_says(dir / "mixed", "64x64 images where the batches before it hold 32x32");
  fs::remove(dir / "mixed/val_data.npz");
  expect_says(dir / "mixed", "one val_data.npz; it has 2 and 0");
}

// ---- image folders and image I/O -------------------------------------------------------------

// A 32x32 RGBA image, all opaque blue except pixel 0 (transparent red) and pixel 1 (half
// transparent black).
Image blue_with_alpha() {
  Image image{32, 32, 4, {}};
  for (int p = 0; p < 1024; ++p) image.pixels.insert(image.pixels.end(), {0, 0, 255, 255});
  std::copy_n(std::initializer_list<uint8_t>{255, 0, 0, 0}.begin(), 4, &image.pixels[0]);
  std::copy_n(std::initializer_list<uint8_t>{0, 0, 0, 128}.begin(), 4, &image.pixels[4]);
  return image;
}

TEST(ImageFolder, AlphaIsCompositedOntoWhiteAndSubfoldersAreSearched) {
  TempDir dir;
  write_png(dir / "a.png", blue_with_alpha());
  fs::create_directories(dir / "sub");
  write_png(dir / "sub/b.PNG", blue_with_alpha());
  const Dataset data = load_dataset(dir.path().string());
  EXPECT_EQ(data.format, DataFormat::kImages);
  EXPECT_EQ(data.channels, 3);
  EXPECT_EQ(data.count(Split::kTrain), 2u);  // fewer than 3: no val, no test
  EXPECT_EQ(data.count(Split::kVal), 0u);
  for (size_t i = 0; i < 2; ++i) {
    const Bytes image = image_of(data, Split::kTrain, i);
    EXPECT_EQ(Bytes(image.begin(), image.begin() + 9),
              (Bytes{255, 255, 255, /*half of white:*/ 127, 127, 127, 0, 0, 255}));
  }
  EXPECT_EQ(data.skipped, 0);
}

TEST(ImageFolder, UndecodableFilesAreSkippedAndCounted) {
  TempDir dir;
  Image gray{32, 32, 1, Bytes(1024, 0)};
  for (int i = 0; i < 3; ++i) {
    std::fill(gray.pixels.begin(), gray.pixels.end(), uint8_t(10 * i));
    write_png(dir / ("good" + std::to_string(i) + ".png"), gray);
  }
  write_file(dir / "bad.png", {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  write_file(dir / "notes.txt", {'h', 'i'});
  const Dataset data = load_dataset(dir.path().string(), DataFormat::kImages);
  EXPECT_EQ(data.skipped, 1);
  ASSERT_EQ(data.skipped_files.size(), 1u);
  EXPECT_EQ(fs::path(data.skipped_files[0]).filename(), "bad.png");
  EXPECT_EQ(data.count(Split::kTrain), 1u);
  EXPECT_EQ(data.count(Split::kVal), 1u);
  EXPECT_EQ(data.count(Split::kTest), 1u);
  // Spread evenly over the sorted files: val is good0, train good1, test good2.
  EXPECT_EQ(data.val[0], 0);
  EXPECT_EQ(data.train[0], 10);
  EXPECT_EQ(data.test[0], 20);
  EXPECT_NE(data.description.find("1 skipped"), std::string::npos) << data.description;
}

TEST(ImageFolder, FoldersWithNoLoadableImageAreErrors) {
  TempDir dir;
  fs::create_directories(dir / "empty");
  std::string message = error_of([&] { load_dataset(dir / "empty", DataFormat::kImages); });
  EXPECT_NE(message.find(dir / "empty" + " holds no PNG or JPEG"), std::string::npos) << message;

  write_file(dir / "broken/x.jpg", {1, 2, 3});
  message = error_of([&] { load_dataset(dir / "broken"); });
  EXPECT_NE(message.find("none of the 1 image files"), std::string::npos) << message;
  EXPECT_NE(message.find("x.jpg"), std::string::npos) << message;
}

// A PNG written byte by byte, for the kinds write_png does not make: `color_type` 0 gray, 2 RGB,
// 3 palette, 4 gray+alpha, 6 RGBA; `rows` are the filtered scanlines' bytes (filter 0 is added).
// `palette` (RGB triples) becomes a PLTE chunk when not empty.
Bytes raw_png(int width, int height, int bit_depth, int color_type, const Bytes& rows,
              const Bytes& palette = {}) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const Bytes& body) {
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(uint8_t(body.size() >> shift));
    Bytes typed(type, type + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    png.insert(png.end(), typed.begin(), typed.end());
    const uLong crc = crc32(0, typed.data(), static_cast<uInt>(typed.size()));
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(uint8_t(crc >> shift));
  };
  Bytes header;
  for (uint32_t word : {uint32_t(width), uint32_t(height)})
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(uint8_t(word >> shift));
  header.insert(header.end(), {uint8_t(bit_depth), uint8_t(color_type), 0, 0, 0});
  chunk("IHDR", header);
  if (!palette.empty()) chunk("PLTE", palette);
  const size_t row_bytes = rows.size() / height;
  Bytes filtered;
  for (int y = 0; y < height; ++y) {
    filtered.push_back(0);  // filter type None
    filtered.insert(filtered.end(), rows.begin() + y * row_bytes,
                    rows.begin() + (y + 1) * row_bytes);
  }
  uLongf size = compressBound(static_cast<uLong>(filtered.size()));
  Bytes deflated(size);
  EXPECT_EQ(compress(deflated.data(), &size, filtered.data(), static_cast<uLong>(filtered.size())),
            Z_OK);
  deflated.resize(size);
  chunk("IDAT", deflated);
  chunk("IEND", {});
  return png;
}

// An icon folder as users have them: PNGs of every bit depth and colour type load (as 8-bit RGB on
// white), broken and huge ones are skipped and named in one line.
TEST(ImageFolder, PngKindsLoadAndBrokenOrHugeFilesAreNamedInOneLine) {
  TempDir dir;
  // 16-bit RGB, 32x32 of (0x1234, 0x8000, 0xffff): the high bytes remain.
  Bytes rgb16;
  for (int p = 0; p < 1024; ++p) rgb16.insert(rgb16.end(), {0x12, 0x34, 0x80, 0x00, 0xff, 0xff});
  write_file(dir / "a_rgb16.png", raw_png(32, 32, 16, 2, rgb16));
  // 8-bit palette of two colours, every pixel colour 1.
  write_file(dir / "b_palette.png", raw_png(32, 32, 8, 3, Bytes(1024, 1), {0, 0, 0, 10, 200, 30}));
  // Gray + alpha, half transparent black: composited onto white.
  Bytes gray_alpha;
  for (int p = 0; p < 1024; ++p) gray_alpha.insert(gray_alpha.end(), {0, 128});
  write_file(dir / "c_gray_alpha.png", raw_png(32, 32, 8, 4, gray_alpha));
  // 16-bit gray + alpha, opaque mid-gray.
  Bytes gray_alpha16;
  for (int p = 0; p < 1024; ++p) gray_alpha16.insert(gray_alpha16.end(), {0x40, 0, 0xff, 0xff});
  write_file(dir / "d_gray_alpha16.png", raw_png(32, 32, 16, 4, gray_alpha16));
  // Broken: a PNG cut in the middle of its data; huge: a header that declares 100,000 x 100,000.
  const Bytes whole = raw_png(32, 32, 8, 2, Bytes(32 * 32 * 3, 7));
  write_file(dir / "e_truncated.png", Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  write_file(dir / "f_huge.png", raw_png(100000, 100000, 8, 0, Bytes(100000, 0)));
  for (int i = 0; i < 300; ++i) write_file(dir / ("junk/x" + std::to_string(i) + ".png"), {1});

  const Dataset data = load_dataset(dir.path().string(), DataFormat::kImages);
  EXPECT_EQ(data.skipped, 302);
  EXPECT_EQ(data.skipped_files.size(), 100u);  // the first hundred named, the rest counted
  EXPECT_EQ(fs::path(data.skipped_files[0]).filename(), "e_truncated.png");
  EXPECT_EQ(fs::path(data.skipped_files[1]).filename(), "f_huge.png");
  EXPECT_NE(data.description.find("302 skipped"), std::string::npos) << data.description;
  EXPECT_NE(data.description.find("e_truncated.png"), std::string::npos) << data.description;
  EXPECT_EQ(data.description.find('\n'), std::string::npos);
  EXPECT_LT(data.description.size(), 600u) << data.description;

  // Four good images spread over the splits in file order: train a, val b, train c, test d.
  ASSERT_EQ(data.count(Split::kTrain) + data.count(Split::kVal) + data.count(Split::kTest), 4u);
  auto first_pixel = [&](Split split, size_t i) {
    const Bytes image = image_of(data, split, i);
    return Bytes(image.begin(), image.begin() + 3);
  };
  EXPECT_EQ(first_pixel(Split::kTrain, 0), (Bytes{0x12, 0x80, 0xff}));
  EXPECT_EQ(first_pixel(Split::kVal, 0), (Bytes{10, 200, 30}));
  EXPECT_EQ(first_pixel(Split::kTrain, 1), (Bytes{127, 127, 127}));  // half of white over black
  EXPECT_EQ(first_pixel(Split::kTest, 0), (Bytes{0x40, 0x40, 0x40}));
}

// Several theme roots under one folder read as one set of 32x32 icons, duplicates dropped, other
// sizes and animations left out; the description names the packages.
TEST(IconSet, ThemesAreOneDatasetOf32x32IconsWithoutDuplicates) {
  TempDir dir;
  auto icon = [](uint8_t value) { return Image{32, 32, 3, Bytes(32 * 32 * 3, value)}; };
  for (const char* theme : {"Tango", "oxygen", "mate"})
    write_file(dir / (std::string(theme) + "/index.theme"), {'[', ']'});
  fs::create_directories(dir / "Tango/32x32/apps");
  fs::create_directories(dir / "Tango/16x16/apps");
  fs::create_directories(dir / "Tango/32x32/animations");
  fs::create_directories(dir / "oxygen/base/32x32/actions");
  fs::create_directories(dir / "mate/32x32/apps");
  fs::create_directories(dir / "hicolor/32x32/apps");
  write_png(dir / "Tango/32x32/apps/a.png", icon(10));
  write_png(dir / "Tango/32x32/apps/b.png", icon(20));
  write_png(dir / "Tango/16x16/apps/a.png", icon(30));           // another size
  write_png(dir / "Tango/32x32/animations/spin.png", icon(40));  // a sprite sheet
  write_png(dir / "oxygen/base/32x32/actions/c.png", icon(50));
  write_png(dir / "oxygen/base/32x32/actions/copy.png", icon(10));  // same pixels as Tango's a
  write_png(dir / "mate/32x32/apps/d.png", icon(60));
  write_png(dir / "hicolor/32x32/apps/e.png", icon(70));  // not a theme of the set

  const Dataset data = load_dataset(dir.path().string());
  EXPECT_EQ(data.format, DataFormat::kImages);
  EXPECT_EQ(data.channels, 3);
  std::vector<uint8_t> firsts;
  for (Split split : {Split::kTrain, Split::kVal, Split::kTest})
    for (size_t i = 0; i < data.count(split); ++i) firsts.push_back(image_of(data, split, i)[0]);
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(firsts, (Bytes{10, 20, 50, 60}));
  EXPECT_NE(data.description.find("tango-icon-theme 2"), std::string::npos) << data.description;
  EXPECT_NE(data.description.find("oxygen-icon-theme 2"), std::string::npos) << data.description;
  EXPECT_NE(data.description.find("1 duplicates dropped"), std::string::npos) << data.description;
  EXPECT_NE(data.description.find("not installed: gnome-icon-theme"), std::string::npos)
      << data.description;
}

TEST(ImageIo, DownscalingAveragesAreasAndUpscalingKeepsFlatColours) {
  Bytes stripes;  // 96x96, every third column white, the others black
  for (int y = 0; y < 96; ++y)
    for (int x = 0; x < 96; ++x) {
      const uint8_t v = x % 3 == 0 ? 255 : 0;
      stripes.insert(stripes.end(), {v, v, v, 255});
    }
  // The area filter averages each 3x3 block to 255 / 3; bilinear or nearest would pick one column.
  const Image down = fit_rgba_32(stripes.data(), 96, 96, 3);
  EXPECT_EQ(down.pixels, Bytes(32 * 32 * 3, 85));

  Bytes flat;  // 16x16 of one colour
  for (int p = 0; p < 256; ++p) flat.insert(flat.end(), {50, 100, 150, 255});
  const Image up = fit_rgba_32(flat.data(), 16, 16, 3);
  for (int p = 0; p < 1024; ++p)
    ASSERT_EQ(Bytes(&up.pixels[3 * p], &up.pixels[3 * p + 3]), (Bytes{50, 100, 150})) << p;

  const Bytes red = {255, 0, 0, 255};
  EXPECT_EQ(fit_rgba_32(red.data(), 1, 1, 1).pixels[0], 76);  // luminance: 0.299 * 255
}

TEST(ImageIo, WritePngThenLoadGivesTheSamePixels) {
  TempDir dir;
  for (int channels : {1, 3}) {
    Bytes pixels(32 * 32 * channels);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 37 + 11);
    const std::string path = dir / ("round" + std::to_string(channels) + ".png");
    write_png(path, 32, 32, channels, pixels.data());
    const Image back = load_image_32(path, channels);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, pixels) << channels << " channels";
  }
  // Only the two PNGs: no temporary file left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);

  const Bytes pixel = {1, 2, 3};
  std::string message =
      error_of([&] { write_png(dir / "no/such/folder/x.png", 1, 1, 3, pixel.data()); });
  EXPECT_NE(message.find("write_png: "), std::string::npos) << message;
  EXPECT_NE(message.find("no/such/folder"), std::string::npos) << message;
  message = error_of([&] { load_image_32(dir / "missing.png", 3); });
  EXPECT_NE(message.find(dir / "missing.png"), std::string::npos) << message;
}

TEST(ImageIo, GridTilesImagesWithGaps) {
  const Bytes images = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};  // three 2x2 gray images
  const Image g = grid(images.data(), 3, 2, 2, 1, /*columns=*/0, /*gap=*/1, /*gap_value=*/9);
  ASSERT_EQ(g.width, 7);  // 2 columns: 1 + 2 + 1 + 2 + 1
  ASSERT_EQ(g.height, 7);
  auto at = [&](int y, int x) { return g.pixels[y * g.width + x]; };
  EXPECT_EQ(at(0, 0), 9);
  EXPECT_EQ(at(1, 1), 1);
  EXPECT_EQ(at(2, 2), 1);
  EXPECT_EQ(at(1, 3), 9);
  EXPECT_EQ(at(1, 4), 2);
  EXPECT_EQ(at(5, 2), 3);
  EXPECT_EQ(at(4, 4), 9);  // the empty fourth slot
}

// ---- the Debian defaults, when installed ------------------------------------------------------

TEST(DebianDefaults, FashionMnistIs55000_5000_10000GrayImages) {
  if (!fs::exists(kDefaultGrayPath)) GTEST_SKIP() << "apt install dataset-fashion-mnist";
  const Dataset data = load_dataset(kDefaultGrayPath);
  EXPECT_EQ(data.format, DataFormat::kIdx);
  EXPECT_EQ(data.count(Split::kTrain), 55000u);
  EXPECT_EQ(data.count(Split::kVal), 5000u);
  EXPECT_EQ(data.count(Split::kTest), 10000u);
  EXPECT_EQ(data.image_bytes(), 32u * 32u);
  std::cout << data.description << "\n";
}

TEST(DebianDefaults, FortunesAreText) {
  if (!fs::exists(kDefaultTextPath)) GTEST_SKIP() << "apt install fortunes";
  const Dataset data = load_dataset(kDefaultTextPath);
  EXPECT_EQ(data.format, DataFormat::kText);
  const size_t total = data.train.size() + data.val.size() + data.test.size();
  EXPECT_GT(total, 1'000'000u);
  EXPECT_EQ(data.train.size(), text_bounds(total).val_begin);
  std::cout << data.description << "\n";
}

// The "Icons (RGB)" set: every Debian icon theme installed as one dataset; prints how many icons it
// holds and from which packages.
TEST(DebianDefaults, IconSetHoldsTheInstalledThemes) {
  if (!fs::exists(fs::path(kDefaultIconsPath) / "Tango/index.theme"))
    GTEST_SKIP() << "apt install tango-icon-theme oxygen-icon-theme gnome-icon-theme ...";
  const Dataset data = load_dataset(kDefaultIconsPath);
  EXPECT_EQ(data.format, DataFormat::kImages);
  EXPECT_EQ(data.image_bytes(), 32u * 32u * 3u);
  const size_t total =
      data.count(Split::kTrain) + data.count(Split::kVal) + data.count(Split::kTest);
  EXPECT_GT(total, 200u);  // Tango alone holds 214 distinct files
  EXPECT_GT(data.count(Split::kVal), 0u);
  EXPECT_NE(data.description.find("tango-icon-theme"), std::string::npos) << data.description;
  std::cout << data.description << "\n";
}

TEST(DebianDefaults, TangoIconsAreColourImages) {
  if (!fs::exists(kDefaultColorPath)) GTEST_SKIP() << "apt install tango-icon-theme";
  const Dataset data = load_dataset(kDefaultColorPath);
  EXPECT_EQ(data.format, DataFormat::kImages);
  EXPECT_EQ(data.channels, 3);
  EXPECT_GT(data.count(Split::kTrain), 100u);
  EXPECT_EQ(data.skipped, 0);
  std::cout << data.description << "\n";
}

}  // namespace
}  // namespace hg
