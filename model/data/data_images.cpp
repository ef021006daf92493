// Image datasets (docs/ARCHITECTURE.md): IDX files (MNIST, Fashion-MNIST; plain or gzip), CIFAR-10
// binary batches, and folders of PNG/JPEG, all turned into 32x32 channel-interleaved images and
// split. Not the decoding and scaling of single images (image_io.cpp), nor text (data.cpp).
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "model/data/data_internal.h"
#include "model/io/image_io.h"

namespace hg::data_detail {
namespace {

constexpr size_t kPlane = kImageSide * kImageSide;  // pixels in one 32x32 channel

// Images stored back to back, and which split each one goes to.
void distribute(const std::vector<uint8_t>& images, const std::vector<Split>& split_of,
                Dataset* data) {
  const size_t bytes = data->image_bytes();
  for (size_t i = 0; i < split_of.size(); ++i) {
    std::vector<uint8_t>& out = split_of[i] == Split::kTrain ? data->train
                                : split_of[i] == Split::kVal ? data->val
                                                             : data->test;
    out.insert(out.end(), images.begin() + i * bytes, images.begin() + (i + 1) * bytes);
  }
}

// Train first, then val, then test, each a contiguous run (files already in random order).
std::vector<Split> by_position(const ImageCounts& counts) {
  std::vector<Split> split_of(counts.train, Split::kTrain);
  split_of.insert(split_of.end(), counts.val, Split::kVal);
  split_of.insert(split_of.end(), counts.test, Split::kTest);
  return split_of;
}

// Val and test images spread evenly over the sorted files, alternately: a folder sorted by path is
// grouped by category (Tango's actions/ ... status/), and a split by position would hold one
// category only.
std::vector<Split> spread_evenly(const ImageCounts& counts) {
  const size_t total = counts.train + counts.val + counts.test;
  const size_t held = counts.val + counts.test;
  std::vector<Split> split_of(total, Split::kTrain);
  for (size_t j = 0; j < held; ++j)
    split_of[(2 * j + 1) * total / (2 * held)] = j % 2 == 0 ? Split::kVal : Split::kTest;
  return split_of;
}

void set_shape(int channels, Dataset* data) {
  data->height = data->width = kImageSide;
  data->channels = channels;
}

void describe(const fs::path& path, const std::string& what, Dataset* data) {
  data->description =
      display_name(path) + ": " + what + ", " + std::to_string(data->count(Split::kTrain)) + "/" +
      std::to_string(data->count(Split::kVal)) + "/" + std::to_string(data->count(Split::kTest)) +
      " train/val/test images of " + std::to_string(data->height) + "x" +
      std::to_string(data->width) + "x" + std::to_string(data->channels);
  if (data->skipped > 0) data->description += ", " + std::to_string(data->skipped) + " skipped";
}

// Image folders: the most decoded bytes kept (1 GiB: about 350,000 RGB images), so a huge folder
// is an error that names it rather than memory running out; and the skipped files named.
constexpr size_t kMaxImageFolderBytes = size_t{1} << 30;
constexpr size_t kMaxSkippedNames = 100;

// Images already kept, by a hash of their pixels, so that an icon drawn twice (a theme that copies
// another's, an alias that is a copy rather than a link) is kept once.
class DuplicateFilter {
 public:
  // Whether `pixels` differs from every image in `kept` (images of pixels.size() back to back);
  // if so it is remembered as the next one.
  bool is_new(const std::vector<uint8_t>& pixels, const std::vector<uint8_t>& kept) {
    const size_t hash = std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(pixels.data()), pixels.size()));
    std::vector<size_t>& same_hash = seen_[hash];
    for (size_t index : same_hash)
      if (std::equal(pixels.begin(), pixels.end(), kept.begin() + index * pixels.size())) {
        ++dropped_;
        return false;
      }
    same_hash.push_back(kept.size() / pixels.size());
    return true;
  }
  size_t dropped() const { return dropped_; }

 private:
  std::unordered_map<size_t, std::vector<size_t>> seen_;
  size_t dropped_ = 0;
};

// ---- IDX -------------------------------------------------------------------------------------

// The most bytes one dataset file may hold once decompressed, and the images made of it: a
// header that declares more is refused before anything is read.
constexpr size_t kMaxDataBytes = size_t{4} << 30;

// The first `at_most` bytes of a file, gunzipped when it is gzip (zlib's gzread passes plain
// files through unchanged), plus whether more follow. The buffer is sized once, from `at_most`,
// so a gzip bomb costs no more memory than the size its caller expects.
std::pair<std::vector<uint8_t>, bool> read_maybe_gzip(const fs::path& file, size_t at_most) {
  gzFile gz = gzopen(file.c_str(), "rb");
  if (gz == nullptr) fail("cannot open " + file.string() + " (permissions?)");
  std::vector<uint8_t> bytes(at_most + 1);  // one more, to see whether the file goes on
  size_t size = 0;
  while (size < bytes.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes.size() - size, 1 << 20));
    const int got = gzread(gz, bytes.data() + size, chunk);
    if (got < 0) {
      int code = 0;
      const std::string reason = gzerror(gz, &code);
      gzclose(gz);
      fail(file.string() + " is damaged (zlib: " + reason + "). " + damaged_hint(file));
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  const bool more = size > at_most;
  const int closed = gzclose(gz);
  if (!more && closed == Z_BUF_ERROR)
    fail(file.string() + " is truncated: its gzip stream ends early. " + damaged_hint(file));
  bytes.resize(std::min(size, at_most));
  return {std::move(bytes), more};
}

uint32_t big_endian_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// An IDX image file (magic 0x00000803: unsigned bytes, 3 dimensions N x rows x cols), each image
// padded with zeros, centred, to 32x32 (MNIST's 28x28 gets 2 pixels each side).
std::vector<uint8_t> read_idx_images(const fs::path& file) {
  constexpr size_t kHeader = 16;
  const std::vector<uint8_t> header = read_maybe_gzip(file, kHeader).first;
  if (header.size() < kHeader)
    fail(file.string() + " is too short for an IDX header: " + std::to_string(header.size()) +
         " bytes, need 16. " + damaged_hint(file));
  const uint32_t magic = big_endian_u32(&header[0]);
  if (magic == 0x00000801)
    fail(file.string() + " holds IDX labels, not images. HINT: give the *-images-idx3-ubyte " +
         "file, or the folder that holds it");
  if (magic != 0x00000803) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", magic);
    fail(file.string() + " is not an IDX image file: magic " + hex +
         ", expected 0x00000803 (bytes, 3 dimensions). HINT: give MNIST-style " +
         "*-images-idx3-ubyte[.gz] files, or --format text|cifar|images");
  }
  const size_t count = big_endian_u32(&header[4]);
  const size_t rows = big_endian_u32(&header[8]), cols = big_endian_u32(&header[12]);
  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
  if (rows == 0 || cols == 0 || rows > kImageSide || cols > kImageSide)
    fail(file.string() + " holds images of " + shape + "; only sizes up to 32x32 can be padded " +
         "to the model's 32x32. HINT: convert them to PNG and load the folder (--format images)");
  const size_t expected = count * rows * cols;
  // Checked before anything is read: the header decides how much memory the file may take.
  if (expected > kMaxDataBytes || count * kPlane > kMaxDataBytes)
    fail(file.string() + " declares " + std::to_string(count) + " images of " + shape +
         ", more than " + std::to_string(kMaxDataBytes >> 30) +
         " GiB, more than a dataset file is read whole here. HINT: give a smaller file, or " +
         "check that it is the dataset you meant");
  const auto [bytes, more] = read_maybe_gzip(file, kHeader + expected);
  const size_t found = bytes.size() - kHeader;
  if (found != expected || more)
    fail(file.string() + " is " + (more ? "longer than its header says" : "truncated") +
         ": header says " + std::to_string(count) + " images of " + shape + " (" +
         std::to_string(expected) + " bytes), found " +
         (more ? "more" : std::to_string(found) + " bytes") + ". " + damaged_hint(file));

  std::vector<uint8_t> images(count * kPlane, 0);
  const size_t top = (kImageSide - rows) / 2, left = (kImageSide - cols) / 2;
  for (size_t n = 0; n < count; ++n)
    for (size_t y = 0; y < rows; ++y)
      std::copy_n(&bytes[kHeader + (n * rows + y) * cols], cols,
                  &images[n * kPlane + (top + y) * kImageSide + left]);
  return images;
}

// The file in `folder` whose name starts with `prefix`-images and holds idx3-ubyte.
fs::path find_idx_file(const fs::path& folder, const std::string& prefix) {
  for (const fs::path& file : list_files(folder, /*recursive=*/false))
    if (is_idx_images_name(file, prefix)) return file;
  fail("folder " + folder.string() + " has no " + prefix +
       "-images-idx3-ubyte[.gz], the MNIST-style " + (prefix == "train" ? "training" : "test") +
       " images. " + damaged_hint(folder / (prefix + "-images-idx3-ubyte")));
}

// ---- CIFAR-10 --------------------------------------------------------------------------------

// One binary batch: records of 1 label byte and 3072 pixel bytes (R plane, G plane, B plane, each
// 32x32 in raster order), converted to channel-interleaved images.
std::vector<uint8_t> read_cifar_batch(const fs::path& file) {
  constexpr size_t kRecord = 1 + 3 * kPlane;
  const std::vector<uint8_t> bytes = read_file(file);
  if (bytes.empty() || bytes.size() % kRecord != 0)
    fail(file.string() + " holds " + std::to_string(bytes.size()) +
         " bytes, not a whole number of CIFAR-10 records (3073 bytes: a label and 32x32x3 " +
         "pixels). HINT: re-download the binary version (cifar-10-binary.tar.gz); CIFAR-100's " +
         "3074-byte records are not supported");
  const size_t count = bytes.size() / kRecord;
  std::vector<uint8_t> images(count * 3 * kPlane);
  for (size_t n = 0; n < count; ++n) {
    const uint8_t* planes = &bytes[n * kRecord + 1];
    uint8_t* out = &images[n * 3 * kPlane];
    for (size_t p = 0; p < kPlane; ++p)
      for (size_t c = 0; c < 3; ++c) out[3 * p + c] = planes[c * kPlane + p];
  }
  return images;
}

}  // namespace

Dataset load_idx(const fs::path& path) {
  Dataset data;
  set_shape(/*channels=*/1, &data);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // The MNIST convention: the last images of the training file validate, t10k tests.
    const std::vector<uint8_t> train = read_idx_images(find_idx_file(path, "train"));
    const size_t count = train.size() / kPlane, held = held_out_count(count);
    distribute(train, by_position({count - held, held, 0}), &data);
    data.test = read_idx_images(find_idx_file(path, "t10k"));
  } else {
    const std::vector<uint8_t> images = read_idx_images(path);
    distribute(images, by_position(image_counts(images.size() / kPlane)), &data);
  }
  describe(path, "IDX, zero-padded", &data);
  return data;
}

Dataset load_cifar(const fs::path& path) {
  Dataset data;
  set_shape(/*channels=*/3, &data);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<uint8_t> train;
    for (const fs::path& file : list_files(path, /*recursive=*/false)) {
      if (!is_cifar_batch_name(file)) continue;
      const std::vector<uint8_t> batch = read_cifar_batch(file);
      train.insert(train.end(), batch.begin(), batch.end());
    }
    if (train.empty())
      fail("folder " + path.string() + " has no data_batch_*.bin. HINT: give the folder " +
           "cifar-10-batches-bin of the CIFAR-10 binary version, or one .bin file");
    const fs::path test_file = path / "test_batch.bin";
    if (!fs::is_regular_file(test_file, ec))
      fail("folder " + path.string() + " has data batches but no test_batch.bin. HINT: " +
           "re-download CIFAR-10 (binary version), or give one .bin file to split 90/5/5");
    const size_t count = train.size() / (3 * kPlane), held = held_out_count(count);
    distribute(train, by_position({count - held, held, 0}), &data);
    data.test = read_cifar_batch(test_file);
  } else {
    const std::vector<uint8_t> images = read_cifar_batch(path);
    distribute(images, by_position(image_counts(images.size() / (3 * kPlane))), &data);
  }
  describe(path, "CIFAR-10", &data);
  return data;
}

Dataset load_image_folder(const fs::path& path) {
  if (is_icon_set_folder(path)) return load_icon_set(path);
  std::vector<fs::path> files = list_files(path, /*recursive=*/true);
  files.erase(std::remove_if(files.begin(), files.end(),
                             [](const fs::path& f) { return !is_image_name(f); }),
              files.end());
  if (files.empty())
    fail(path.string() + " holds no PNG or JPEG file (searched below it too). HINT: give a " +
         "folder of *.png / *.jpg, or --format text|idx|cifar for other data");
  return image_files_dataset(path, files, "images", /*dedupe=*/false);
}

Dataset image_files_dataset(const fs::path& path, const std::vector<fs::path>& files,
                            const std::string& what, bool dedupe) {
  Dataset data;
  set_shape(/*channels=*/3, &data);
  std::vector<uint8_t> images;
  std::string first_reason;
  DuplicateFilter duplicates;
  for (const fs::path& file : files) {
    try {
      const Image image = load_image_32(file.string(), data.channels);
      if (dedupe && !duplicates.is_new(image.pixels, images)) continue;
      images.insert(images.end(), image.pixels.begin(), image.pixels.end());
    } catch (const std::runtime_error& e) {
      // One bad file in a folder of thousands should not stop a run: count it, name the first.
      if (first_reason.empty()) first_reason = e.what();
      ++data.skipped;
      if (data.skipped_files.size() < kMaxSkippedNames) data.skipped_files.push_back(file.string());
    }
    if (images.size() > kMaxImageFolderBytes)
      fail(path.string() + " holds more than " +
           std::to_string(kMaxImageFolderBytes / (3 * kPlane)) +
           " images, more than are kept in memory here. HINT: give a folder of fewer images");
  }
  if (images.empty())
    fail("none of the " + std::to_string(files.size()) + " image files in " + path.string() +
         " could be decoded; the first: " + first_reason);
  distribute(images, spread_evenly(image_counts(images.size() / data.image_bytes())), &data);
  describe(path, what, &data);
  if (dedupe)
    data.description += ", " + std::to_string(duplicates.dropped()) + " duplicates dropped";
  // One line however many files failed: the count above, then the first and why.
  if (data.skipped > 0) data.description += " (the first: " + first_reason + ")";
  return data;
}

}  // namespace hg::data_detail
