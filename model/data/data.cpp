// Dataset entry point: format names and guessing, the split rules, the text loader, and the file
// helpers every loader shares. The image formats (IDX, CIFAR-10, folders) are in data_images.cpp.
#include "model/data/data.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <system_error>

#include "model/core/strings.h"
#include "model/data/data_internal.h"

namespace hg {
namespace data_detail {
namespace {

// The Debian package behind each default path (docs/ARCHITECTURE.md), or "" for any other path.
std::string default_package(const fs::path& path) {
  const std::string normal = path.lexically_normal().string();
  const std::pair<const char*, const char*> defaults[] = {
      {kDefaultTextPath, "fortunes"},
      {kDefaultGrayPath, "dataset-fashion-mnist"},
      {"/usr/share/icons/Tango", "tango-icon-theme"},
  };
  for (const auto& [prefix, package] : defaults)
    if (normal.rfind(prefix, 0) == 0) return package;
  return "";
}

std::string missing_hint(const fs::path& path) {
  const std::string package = default_package(path);
  if (!package.empty()) return "HINT: sudo apt install " + package;
  return std::string("HINT: check the path; the defaults are ") + kDefaultTextPath +
         " (apt install fortunes), " + kDefaultGrayPath + " (apt install dataset-fashion-mnist), " +
         kDefaultColorPath + " (apt install tango-icon-theme)";
}

// "2.5 MB": decimal units, as file managers show sizes.
std::string human_bytes(size_t bytes) {
  char text[32];
  if (bytes < 10'000) {
    std::snprintf(text, sizeof text, "%zu bytes", bytes);
  } else if (bytes < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f kB", bytes / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  }
  return text;
}

}  // namespace

void fail(const std::string& message) { throw std::runtime_error("load_dataset: " + message); }

std::string damaged_hint(const fs::path& path) {
  const std::string package = default_package(path);
  if (!package.empty()) return "HINT: re-install it: sudo apt install --reinstall " + package;
  return "HINT: re-download or re-create the file";
}

std::vector<fs::path> list_files(const fs::path& folder, bool recursive) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return {folder};
  std::vector<fs::path> files, links;
  auto visit = [&](const fs::directory_entry& entry) {
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec)) return;  // follows symlinks: a dangling one is skipped
    (entry.is_symlink(entry_ec) ? links : files).push_back(entry.path());
  };
  // Unreadable folders below are skipped, but the folder named must open: otherwise it would
  // seem empty, and the error would say that it holds nothing to read.
  fs::directory_iterator probe(folder, ec);
  if (ec)
    fail("cannot read folder " + folder.string() + ": " + ec.message() +
         ". HINT: check its permissions (ls -ld " + folder.string() + ")");
  const auto options = fs::directory_options::skip_permission_denied;
  if (recursive) {
    for (const auto& entry : fs::recursive_directory_iterator(folder, options, ec)) visit(entry);
  } else {
    for (const auto& entry : fs::directory_iterator(folder, options, ec)) visit(entry);
  }
  if (ec) fail("cannot list folder " + folder.string() + ": " + ec.message());
  std::set<fs::path> seen;
  for (const fs::path& file : files) seen.insert(fs::weakly_canonical(file, ec));
  std::sort(links.begin(), links.end());
  for (const fs::path& link : links)
    if (seen.insert(fs::weakly_canonical(link, ec)).second) files.push_back(link);
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (!in || ec) fail("cannot read " + file.string() + " (permissions?)");
  std::vector<uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size)
    fail("cannot read " + file.string() + ": got " + std::to_string(in.gcount()) + " of " +
         std::to_string(size) + " bytes");
  return bytes;
}

std::string lower_name(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

bool is_image_name(const fs::path& path) {
  const std::string name = lower_name(path);
  return ends_with(name, ".png") || ends_with(name, ".jpg") || ends_with(name, ".jpeg");
}

bool is_idx_images_name(const fs::path& path, const std::string& prefix) {
  const std::string name = lower_name(path);
  return name.rfind(prefix + "-images", 0) == 0 && name.find("idx3-ubyte") != std::string::npos;
}

bool is_cifar_batch_name(const fs::path& path) {
  const std::string name = lower_name(path);
  return name.rfind("data_batch_", 0) == 0 && ends_with(name, ".bin");
}

std::string display_name(const fs::path& path) {
  const fs::path normal = path.lexically_normal();
  const fs::path name = normal.has_filename() ? normal.filename() : normal.parent_path().filename();
  return name.empty() ? normal.string() : name.string();
}

Dataset load_text(const fs::path& path) {
  std::vector<fs::path> files = list_files(path, /*recursive=*/false);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    // strfile's *.dat beside each fortunes file are binary indexes, not text.
    auto is_index = [](const fs::path& f) { return ends_with(lower_name(f), ".dat"); };
    files.erase(std::remove_if(files.begin(), files.end(), is_index), files.end());
  }
  if (files.empty())
    fail("folder " + path.string() + " holds no file to read as text. HINT: give a text file, " +
         "a folder of text files, or --format idx|cifar|images for other data");
  std::vector<uint8_t> bytes;
  for (const fs::path& file : files) {
    const std::vector<uint8_t> part = read_file(file);
    bytes.insert(bytes.end(), part.begin(), part.end());
  }
  const TextBounds bounds = text_bounds(bytes.size());
  if (bounds.test_begin - bounds.val_begin < kMinTextSplitBytes)
    fail(path.string() + " holds only " + std::to_string(bytes.size()) +
         " bytes of text; its 5% validation split would be " +
         std::to_string(bounds.test_begin - bounds.val_begin) + " bytes, fewer than " +
         std::to_string(kMinTextSplitBytes) + ". HINT: use at least " +
         std::to_string(kMinTextSplitBytes * 20) + " bytes of text");

  Dataset data;
  data.train.assign(bytes.begin(), bytes.begin() + bounds.val_begin);
  data.val.assign(bytes.begin() + bounds.val_begin, bytes.begin() + bounds.test_begin);
  data.test.assign(bytes.begin() + bounds.test_begin, bytes.end());
  data.description = display_name(path) + ": text, " + human_bytes(bytes.size());
  if (files.size() > 1) data.description += " from " + std::to_string(files.size()) + " files";
  return data;
}

}  // namespace data_detail

using namespace data_detail;

std::string to_string(DataFormat format) {
  switch (format) {
    case DataFormat::kText:
      return "text";
    case DataFormat::kIdx:
      return "idx";
    case DataFormat::kCifar:
      return "cifar";
    case DataFormat::kImages:
      return "images";
    case DataFormat::kNpz:
      return "npz";
  }
  return "?";
}

DataFormat parse_format(const std::string& word) {
  for (DataFormat format : {DataFormat::kText, DataFormat::kIdx, DataFormat::kCifar,
                            DataFormat::kImages, DataFormat::kNpz})
    if (word == to_string(format)) return format;
  throw std::invalid_argument("parse_format: unknown data format '" + word +
                              "'; valid: text, idx, cifar, images, npz");
}

std::string to_string(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kTest:
      return "test";
  }
  return "?";
}

DataFormat guess_format(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const std::vector<fs::path> files = list_files(path, /*recursive=*/false);
    auto any = [&](auto predicate) { return std::any_of(files.begin(), files.end(), predicate); };
    if (any([](const fs::path& f) { return ends_with(lower_name(f), ".npz"); }))
      return DataFormat::kNpz;
    if (any(is_cifar_batch_name) || is_cifar_pickle(path)) return DataFormat::kCifar;
    if (any([](const fs::path& f) { return is_idx_images_name(f, "train"); }))
      return DataFormat::kIdx;
    const std::vector<fs::path> below = list_files(path, /*recursive=*/true);
    if (std::any_of(below.begin(), below.end(), is_image_name)) return DataFormat::kImages;
    return DataFormat::kText;
  }
  const std::string name = lower_name(path);
  if (ends_with(name, ".npz") || is_zip_file(path)) return DataFormat::kNpz;
  if (is_pickle_file(path)) return DataFormat::kCifar;
  if (ends_with(name, ".gz") || name.find("idx") != std::string::npos) return DataFormat::kIdx;
  if (ends_with(name, ".bin")) return DataFormat::kCifar;
  if (is_image_name(path)) return DataFormat::kImages;
  return DataFormat::kText;
}

const std::vector<uint8_t>& Dataset::split(Split which) const {
  switch (which) {
    case Split::kTrain:
      return train;
    case Split::kVal:
      return val;
    case Split::kTest:
      break;
  }
  return test;
}

size_t Dataset::count(Split which) const {
  const size_t bytes = split(which).size();
  return is_image() ? bytes / image_bytes() : bytes;
}

TextBounds text_bounds(size_t size) {
  // 90/5/5 % of enwik8's 100,000,000 bytes is exactly its customary 90M/5M/5M, so one rule serves.
  return {size * 90 / 100, size * 95 / 100};
}

ImageCounts image_counts(size_t count) {
  if (count < 3) return {count, 0, 0};
  const size_t held = std::max<size_t>(1, count * 5 / 100);
  return {count - 2 * held, held, held};
}

size_t held_out_count(size_t train_file_count) {
  constexpr size_t kCustomary = 5000;
  if (train_file_count >= 10 * kCustomary) return kCustomary;
  return std::min(train_file_count, std::max<size_t>(1, train_file_count * 5 / 100));
}

Dataset load_dataset(const std::string& path, std::optional<DataFormat> format) {
  if (path.empty()) fail("no data path given. " + missing_hint(""));
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path + " does not exist. " + missing_hint(path));
  const DataFormat chosen = format ? *format : guess_format(path);
  Dataset data;
  switch (chosen) {
    case DataFormat::kText:
      data = load_text(path);
      break;
    case DataFormat::kIdx:
      data = load_idx(path);
      break;
    case DataFormat::kCifar:
      data = is_cifar_pickle(path) ? load_cifar_pickle(path) : load_cifar(path);
      break;
    case DataFormat::kNpz:
      data = load_npz(path);
      break;
    case DataFormat::kImages:
      data = load_image_folder(path);
      break;
  }
  if (data.train.empty())
    fail(path + " gives no training data (" + data.description + "). HINT: use a larger dataset");
  data.format = chosen;
  data.path = path;
  return data;
}

}  // namespace hg
