// The paper's image datasets as they are distributed: downsampled ImageNet 32x32 and 64x64 as .npz
// batches (a zip of .npy arrays, opened with minizip), and CIFAR-10/100 in their Python-pickle
// layout (read as plain values by model/io/pickle_reader.h, which runs no code). Not the binary
// CIFAR-10 batches or IDX (data_images.cpp).
#include <minizip/unzip.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "model/core/strings.h"
#include "model/data/data_internal.h"
#include "model/io/pickle_reader.h"
#include "model/io/tensor_io.h"

namespace hg::data_detail {
namespace {

// The most bytes one archive member may hold: as for gzip data (data_images.cpp), a member that
// claims more stops here instead of exhausting memory.
constexpr uint64_t kMaxMemberBytes = uint64_t{4} << 30;

// The first bytes of a file; fewer when it is shorter, none when it cannot be read.
std::string first_bytes(const fs::path& file, size_t count) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return {};
  std::ifstream in(file, std::ios::binary);
  std::string bytes(count, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  return bytes;
}

// Channel planes (R plane, G plane, B plane, each side x side in raster order) of `count` images,
// appended to `out` channel-interleaved (R,G,B of pixel 0, then pixel 1...), the Dataset layout.
void append_interleaved(const uint8_t* planes, size_t count, size_t side,
                        std::vector<uint8_t>* out) {
  const size_t plane = side * side, image = 3 * plane;
  const size_t first = out->size();
  out->resize(first + count * image);
  uint8_t* dst = out->data() + first;
  for (size_t n = 0; n < count; ++n, planes += image, dst += image)
    for (size_t p = 0; p < plane; ++p)
      for (size_t c = 0; c < 3; ++c) dst[3 * p + c] = planes[c * plane + p];
}

// The side of a square RGB image of `bytes` sub-pixels: 32 (ImageNet32, CIFAR) or 64 (ImageNet64);
// 0 for any other size.
size_t rgb_side(uint64_t bytes) {
  for (size_t side : {32, 64})
    if (bytes == 3 * side * side) return side;
  return 0;
}

// ---- .npz (ImageNet32/64) ----------------------------------------------------------------------

// An open zip archive, closed when it goes out of scope.
class ZipArchive {
 public:
  explicit ZipArchive(const fs::path& file) : file_(file), zip_(unzOpen64(file.c_str())) {
    if (zip_ == nullptr)
      fail(file.string() + " is not a zip archive (an .npz is one), or it is truncated. " +
           damaged_hint(file));
  }
  ~ZipArchive() { unzClose(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // The names of the members, in archive order.
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (int status = unzGoToFirstFile(zip_); status == UNZ_OK; status = unzGoToNextFile(zip_)) {
      char name[512];
      unz_file_info64 info;
      if (unzGetCurrentFileInfo64(zip_, &info, name, sizeof name, nullptr, 0, nullptr, 0) != UNZ_OK)
        break;
      out.push_back(name);
    }
    return out;
  }

  // Member `name`, whole and checked against its CRC.
  std::vector<uint8_t> read(const std::string& name) {
    if (unzLocateFile(zip_, name.c_str(), /*iCaseSensitivity=*/1) != UNZ_OK) {
      std::string listed;
      for (const std::string& member : names()) listed += (listed.empty() ? "" : ", ") + member;
      fail(file_.string() + " has no member " + name +
           " (it holds: " + (listed.empty() ? "nothing" : listed) +
           "). HINT: give the .npz batches of the downsampled ImageNet (train_data_batch_*.npz, " +
           "val_data.npz), whose images are the array 'data'");
    }
    unz_file_info64 info;
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK)
      damaged(name, "its directory entry cannot be read");
    if (info.flag & 1) damaged(name, "it is encrypted");
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED)
      fail(file_.string() + ": member " + name + " uses compression method " +
           std::to_string(info.compression_method) +
           "; only stored and deflated members are read (numpy.savez and savez_compressed). "
           "HINT: re-save it with numpy.savez");
    if (info.uncompressed_size > kMaxMemberBytes)
      fail(file_.string() + ": member " + name + " claims " +
           std::to_string(info.uncompressed_size) + " bytes, more than the " +
           std::to_string(kMaxMemberBytes >> 30) + " GiB a member may hold here. HINT: split " +
           "the array over several .npz batches");
    if (unzOpenCurrentFile(zip_) != UNZ_OK) damaged(name, "its data cannot be opened");
    // Grown as bytes arrive, never allocated from the header's claim alone.
    std::vector<uint8_t> bytes;
    constexpr unsigned kChunk = 1 << 20;
    for (;;) {
      const size_t size = bytes.size();
      bytes.resize(size + kChunk);
      const int got = unzReadCurrentFile(zip_, bytes.data() + size, kChunk);
      if (got < 0) {
        unzCloseCurrentFile(zip_);
        damaged(name, "its data does not decompress (minizip error " + std::to_string(got) + ")");
      }
      bytes.resize(size + static_cast<size_t>(got));
      if (got == 0) break;
      if (bytes.size() > info.uncompressed_size) {
        unzCloseCurrentFile(zip_);
        damaged(name, "it holds more than the " + std::to_string(info.uncompressed_size) +
                          " bytes its entry says");
      }
    }
    if (unzCloseCurrentFile(zip_) == UNZ_CRCERROR) damaged(name, "its checksum (CRC-32) is wrong");
    if (bytes.size() != info.uncompressed_size)
      damaged(name, "it holds " + std::to_string(bytes.size()) + " bytes where its entry says " +
                        std::to_string(info.uncompressed_size));
    return bytes;
  }

 private:
  [[noreturn]] void damaged(const std::string& name, const std::string& what) const {
    fail(file_.string() + ": member " + name + " is damaged: " + what + ". " + damaged_hint(file_));
  }

  fs::path file_;
  unzFile zip_;
};

// The images of one downsampled-ImageNet batch, appended channel-interleaved to `out`: its array
// 'data', uint8 N x 3*S*S with the channel planes of each image in a row (S = 32 or 64). `side` is
// the side the batches before it had (0 for the first); returns this batch's side.
size_t append_npz_images(const fs::path& file, size_t side, std::vector<uint8_t>* out) {
  ZipArchive zip(file);
  const RawTensor data = parse_npy(zip.read("data.npy"), file.string() + ":data.npy");
  const std::string shape = [&] {
    std::string text;
    for (int64_t d : data.shape) text += (text.empty() ? "" : " x ") + std::to_string(d);
    return "(" + text + ")";
  }();
  const size_t this_side = data.shape.size() == 2 ? rgb_side(data.shape[1]) : 0;
  if (data.dtype != DType::kU8 || this_side == 0)
    fail(file.string() + ": 'data' is " + dtype_name(data.dtype) + " " + shape +
         ", not uint8 N x 3072 (32x32 RGB) or N x 12288 (64x64 RGB). HINT: give the batches " +
         "of the downsampled ImageNet (Imagenet32_train_npz, Imagenet64_train_npz)");
  if (side != 0 && this_side != side)
    fail(file.string() + " holds " + std::to_string(this_side) + "x" + std::to_string(this_side) +
         " images where the batches before it hold " + std::to_string(side) + "x" +
         std::to_string(side) + ". HINT: keep ImageNet32 and ImageNet64 in separate folders");
  append_interleaved(data.data.data(), static_cast<size_t>(data.shape[0]), this_side, out);
  return this_side;
}

// ---- pickle (CIFAR-10/100, python version) ------------------------------------------------------

[[noreturn]] void not_cifar(const fs::path& file, const std::string& what) {
  fail(file.string() + " is not a pickle this reader can read: " + what +
       ". HINT: give CIFAR-10 or CIFAR-100 as distributed (the python version) or pickled again " +
       "with protocol 3 or 4, or the CIFAR-10 binary version (data_batch_*.bin)");
}

// A pickled numpy array of uint8 N x 3072 (numpy's _reconstruct, then its state (version, shape,
// dtype, is_fortran, raw bytes)), appended channel-interleaved to `out`; returns N.
size_t append_pickled_images(const fs::path& file, const PickleRef& array,
                             std::vector<uint8_t>* out) {
  auto item = [](const PickleRef& v, size_t i) {
    return i < v->items.size() ? v->items[i] : nullptr;
  };
  const bool reconstructed = array && array->kind == PickleValue::Kind::kCall &&
                             array->items.size() == 3 &&
                             array->items[0]->bytes.find("_reconstruct") != std::string::npos;
  if (!reconstructed) not_cifar(file, "its 'data' is not a numpy array");
  const PickleRef state = array->items[2];
  const PickleRef shape = item(state, 1), dtype = item(state, 2), fortran = item(state, 3),
                  raw = item(state, 4);
  if (state->kind != PickleValue::Kind::kTuple || state->items.size() != 5 || !shape ||
      shape->kind != PickleValue::Kind::kTuple || !raw || raw->kind != PickleValue::Kind::kBytes)
    not_cifar(file,
              "its 'data' array has a state other than (version, shape, dtype, order, bytes)");
  const PickleRef dtype_args = dtype->kind == PickleValue::Kind::kCall ? item(dtype, 1) : nullptr;
  if (!dtype_args || dtype->items[0]->bytes != "numpy.dtype" || dtype_args->items.empty() ||
      !is_text(dtype_args->items[0], "u1"))
    not_cifar(file, "its 'data' array is not of dtype uint8");
  if (fortran->kind != PickleValue::Kind::kBool || fortran->number != 0)
    not_cifar(file, "its 'data' array is in Fortran order");
  const bool two_ints = shape->items.size() == 2 &&
                        shape->items[0]->kind == PickleValue::Kind::kInt &&
                        shape->items[1]->kind == PickleValue::Kind::kInt &&
                        shape->items[0]->number >= 0 && shape->items[1]->number == 3072;
  if (!two_ints)
    not_cifar(file, "its 'data' array is not N x 3072 (32x32 RGB images, channel planes)");
  const size_t count = static_cast<size_t>(shape->items[0]->number);
  if (count > kMaxMemberBytes / 3072 || raw->bytes.size() != count * 3072)
    not_cifar(file, "its 'data' array of " + std::to_string(count) + " x 3072 holds " +
                        std::to_string(raw->bytes.size()) + " bytes");
  append_interleaved(reinterpret_cast<const uint8_t*>(raw->bytes.data()), count, 32, out);
  return count;
}

// The images of one pickled CIFAR batch (a dict whose b'data' is uint8 N x 3072), appended
// channel-interleaved to `out`. Sets *hundred when the batch has CIFAR-100's b'fine_labels'.
void append_cifar_pickle(const fs::path& file, std::vector<uint8_t>* out, bool* hundred) {
  const std::vector<uint8_t> bytes = read_file(file);
  std::unique_ptr<Pickle> pickle;
  try {
    pickle = std::make_unique<Pickle>(bytes);
  } catch (const PickleError& e) {
    not_cifar(file, e.what());
  }
  const PickleRef& root = pickle->root();
  if (root->kind != PickleValue::Kind::kDict) not_cifar(file, "it holds no dict");
  const PickleRef data = dict_get(root, "data");
  if (!data) not_cifar(file, "its dict has no key 'data'");
  append_pickled_images(file, data, out);
  if (dict_get(root, "fine_labels")) *hundred = true;
}

// CIFAR-10's python batches are data_batch_1..5 and test_batch; CIFAR-100's are train and test.
bool is_pickle_train_name(const fs::path& file) {
  const std::string name = lower_name(file);
  return (name.rfind("data_batch_", 0) == 0 && !ends_with(name, ".bin")) || name == "train";
}
bool is_pickle_test_name(const fs::path& file) {
  const std::string name = lower_name(file);
  return name == "test_batch" || name == "test";
}

// Moves the last `held` images of data->train into data->val.
void hold_out(size_t held, Dataset* data) {
  const size_t bytes = held * data->image_bytes();
  data->val.assign(data->train.end() - static_cast<std::ptrdiff_t>(bytes), data->train.end());
  data->train.resize(data->train.size() - bytes);
}

void describe_images(const fs::path& path, const std::string& what, Dataset* data) {
  data->description = display_name(path) + ": " + what + ", " +
                      std::to_string(data->count(Split::kTrain)) + "/" +
                      std::to_string(data->count(Split::kVal)) + "/" +
                      std::to_string(data->count(Split::kTest)) + " train/val/test images of " +
                      std::to_string(data->height) + "x" + std::to_string(data->width) + "x3";
}

// Splits images read from one file 90/5/5 by position (as a single binary CIFAR batch is split).
void split_one_file(Dataset* data) {
  const ImageCounts counts = image_counts(data->count(Split::kTrain));
  std::vector<uint8_t> all;
  all.swap(data->train);
  const size_t bytes = data->image_bytes();
  data->train.assign(all.begin(), all.begin() + counts.train * bytes);
  data->val.assign(all.begin() + counts.train * bytes,
                   all.begin() + (counts.train + counts.val) * bytes);
  data->test.assign(all.begin() + (counts.train + counts.val) * bytes, all.end());
}

}  // namespace

bool is_zip_file(const fs::path& file) { return first_bytes(file, 4) == std::string("PK\x03\x04"); }

bool is_pickle_file(const fs::path& file) {
  // PROTO, which every pickle of protocol 2 or later opens with. A binary CIFAR batch opens with a
  // label (0..9), IDX with 0, PNG with 0x89, gzip with 0x1f, a zip with 'P'.
  const std::string head = first_bytes(file, 1);
  return !head.empty() && static_cast<uint8_t>(head[0]) == 0x80;
}

bool is_cifar_pickle(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return is_pickle_file(path);
  for (const fs::path& file : list_files(path, /*recursive=*/false))
    if (is_pickle_train_name(file) && is_pickle_file(file)) return true;
  return false;
}

Dataset load_cifar_pickle(const fs::path& path) {
  Dataset data;
  data.height = data.width = 32;
  data.channels = 3;
  bool hundred = false;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // The files' own split: the train batches (the last 5000 images validate), the test batch.
    std::vector<fs::path> train_files, test_files;
    for (const fs::path& file : list_files(path, /*recursive=*/false)) {
      if (is_pickle_train_name(file)) train_files.push_back(file);
      if (is_pickle_test_name(file)) test_files.push_back(file);
    }
    if (test_files.size() != 1)
      fail("folder " + path.string() + " has " + (test_files.empty() ? "no" : "more than one") +
           " test batch (test_batch for CIFAR-10, test for CIFAR-100) beside its training " +
           "batches. HINT: give the folder cifar-10-batches-py or cifar-100-python as " +
           "unpacked, or one batch file to split 90/5/5");
    for (const fs::path& file : train_files) append_cifar_pickle(file, &data.train, &hundred);
    append_cifar_pickle(test_files[0], &data.test, &hundred);
    hold_out(held_out_count(data.count(Split::kTrain)), &data);
  } else {
    append_cifar_pickle(path, &data.train, &hundred);
    split_one_file(&data);
  }
  describe_images(path, hundred ? "CIFAR-100 (python)" : "CIFAR-10 (python)", &data);
  return data;
}

Dataset load_npz(const fs::path& path) {
  Dataset data;
  data.channels = 3;
  size_t side = 0;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // The downsampled ImageNet: train_data_batch_*.npz train (their last 5000 images validate);
    // val_data.npz, the set papers report on, is the test split.
    std::vector<fs::path> train_files;
    fs::path test_file;
    size_t val_files = 0;
    for (const fs::path& file : list_files(path, /*recursive=*/false)) {
      const std::string name = lower_name(file);
      if (!ends_with(name, ".npz")) continue;
      if (name.rfind("val", 0) == 0) {
        test_file = file;
        ++val_files;
      } else {
        train_files.push_back(file);
      }
    }
    if (train_files.empty() || val_files != 1)
      fail("folder " + path.string() + " needs training batches (train_data_batch_*.npz) and " +
           "one val_data.npz; it has " + std::to_string(train_files.size()) + " and " +
           std::to_string(val_files) + ". HINT: unpack Imagenet32_train_npz and " +
           "Imagenet32_val_npz (or the 64x64 ones) into one folder, or give one .npz file");
    for (const fs::path& file : train_files) side = append_npz_images(file, side, &data.train);
    side = append_npz_images(test_file, side, &data.test);
    data.height = data.width = static_cast<int>(side);
    hold_out(held_out_count(data.count(Split::kTrain)), &data);
  } else {
    side = append_npz_images(path, 0, &data.train);
    data.height = data.width = static_cast<int>(side);
    split_one_file(&data);
  }
  describe_images(path, "ImageNet .npz", &data);
  return data;
}

}  // namespace hg::data_detail
