// Datasets (docs/ARCHITECTURE.md): text as bytes, IDX (MNIST, Fashion-MNIST), CIFAR-10 binary
// batches, CIFAR-10/100 pickles, downsampled-ImageNet .npz batches and folders of PNG/JPEG, each
// opened by a path, validated, and split into train/val/test tokens. Torch-free (standard library,
// zlib, stb). Not batching or tokenising for the network: a split here is plain bytes, which are
// the tokens (docs/MODEL.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hg {

// kCifar: CIFAR-10 binary batches, or CIFAR-10/100 in their Python-pickle layout (told apart by
// content). kNpz: the downsampled ImageNet's .npz batches, 32x32 or 64x64.
enum class DataFormat { kText, kIdx, kCifar, kImages, kNpz };

std::string to_string(DataFormat format);  // "text", "idx", "cifar", "images", "npz"
// Inverse of to_string; throws std::invalid_argument naming the word and the valid ones.
DataFormat parse_format(const std::string& word);

// The format a path most likely holds, from names and a file's first bytes (nothing is decoded):
//   file:   *.npz or a zip -> npz; a pickle -> cifar; *.gz or a name with "idx" -> idx;
//           *.bin -> cifar; *.png/.jpg/.jpeg -> images;
//   folder: *.npz -> npz; data_batch_*.bin, or a pickled data_batch_N or train -> cifar;
//           *-images-idx3-ubyte[.gz] -> idx; any PNG/JPEG below it -> images;
//   anything else (a file, a folder of text files, a missing path) -> text.
DataFormat guess_format(const std::string& path);

// The defaults a fresh Debian machine can install (docs/ARCHITECTURE.md).
inline const char kDefaultTextPath[] = "/usr/share/games/fortunes";  // fortunes
inline const char kDefaultGrayPath[] =
    "/usr/share/datasets/fashion-mnist";                                 // dataset-fashion-mnist
inline const char kDefaultColorPath[] = "/usr/share/icons/Tango/32x32";  // tango-icon-theme
// The RGB icon set: the 32x32 PNG icons of every Debian icon theme installed there (Tango, Oxygen,
// GNOME, Adwaita, MATE, elementary-xfce), one dataset without duplicates (data_icons.cpp).
inline const char kDefaultIconsPath[] = "/usr/share/icons";

enum class Split { kTrain, kVal, kTest };
std::string to_string(Split split);  // "train", "val", "test"

struct Dataset {
  DataFormat format = DataFormat::kText;
  std::string path;
  std::string description;  // one line for logs and the Run panel, e.g. "fortunes: text, 2.5 MB"
  // Images only, else 0: every image is height*width*channels bytes, raster order,
  // channel-interleaved (R,G,B of pixel 0, then pixel 1...).
  int height = 0, width = 0, channels = 0;
  // Text: consecutive stretches of the bytes, in this order. Images: whole images back to back.
  std::vector<uint8_t> train, val, test;
  // Image folders: files that could not be decoded, skipped rather than fatal (the first 100
  // named).
  int skipped = 0;
  std::vector<std::string> skipped_files;

  bool is_image() const { return channels > 0; }
  size_t image_bytes() const { return static_cast<size_t>(height) * width * channels; }
  const std::vector<uint8_t>& split(Split which) const;
  // Images in a split, or bytes for text.
  size_t count(Split which) const;
};

// Opens `path` as `format` (guessed when absent) and splits it. Throws std::runtime_error whose
// message names the file or folder, what is wrong with it, and a HINT of what to do.
Dataset load_dataset(const std::string& path, std::optional<DataFormat> format = std::nullopt);

// The split rules, public so that they can be tested and shown without loading data.
// Text: train [0, val_begin), val [val_begin, test_begin), test [test_begin, size): 90/5/5 % by
// position, which is enwik8's 90M/5M/5M when size is 100,000,000.
struct TextBounds {
  size_t val_begin = 0, test_begin = 0;
};
TextBounds text_bounds(size_t size);
// The least bytes a text val/test split may hold: fewer gives a meaningless validation loss.
constexpr size_t kMinTextSplitBytes = 64;

// Images split 90/5/5 %, with at least one image in val and in test once there are 3 or more.
struct ImageCounts {
  size_t train = 0, val = 0, test = 0;
};
ImageCounts image_counts(size_t count);
// Images held out of a train file for validation when a separate test file exists: the customary
// last 5000 (MNIST 55000/5000, CIFAR-10 45000/5000) when the file holds at least 10x that, else 5%
// (at least one).
size_t held_out_count(size_t train_file_count);

}  // namespace hg
