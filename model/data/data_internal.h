// Helpers shared by the dataset loaders (data.cpp: text, formats, splits; data_images.cpp: IDX,
// CIFAR-10, image folders; data_paper_formats.cpp: .npz, CIFAR pickles). Internal to model/: not
// part of the engine's interface.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/data/data.h"

namespace hg::data_detail {
namespace fs = std::filesystem;

// Throws std::runtime_error("load_dataset: " + message): every dataset error reaches the user
// through load_dataset, so that is the name it carries.
[[noreturn]] void fail(const std::string& message);

// "HINT: ..." for a file that exists but is damaged: re-install the Debian package when the path is
// one of the defaults, else re-download.
std::string damaged_hint(const fs::path& path);

// Regular files in `folder` (below it when `recursive`), sorted by path; `folder` itself when it is
// a file. Each file is listed once: a symlink to a file already listed (fortunes' *.u8, Tango's
// aliased icons) is skipped, a symlink to a file elsewhere is kept.
std::vector<fs::path> list_files(const fs::path& folder, bool recursive);

// Whole file as bytes; fails naming the file when it cannot be read.
std::vector<uint8_t> read_file(const fs::path& file);

std::string lower_name(const fs::path& path);  // file name, lower-cased
bool is_image_name(const fs::path& path);      // *.png, *.jpg, *.jpeg in any case
bool is_idx_images_name(const fs::path& path,
                        const std::string& prefix);  // prefix-images-idx3-ubyte*
bool is_cifar_batch_name(const fs::path& path);      // data_batch_*.bin

// What a path is called in descriptions: its last component ("fashion-mnist", "enwik8").
std::string display_name(const fs::path& path);

// Per-format loaders behind load_dataset; each fills everything but format and path.
Dataset load_text(const fs::path& path);
Dataset load_idx(const fs::path& path);
Dataset load_cifar(const fs::path& path);
Dataset load_image_folder(const fs::path& path);

// The paper's formats (data_paper_formats.cpp). Detection reads a file's first bytes only.
bool is_zip_file(const fs::path& file);     // starts with a zip member ("PK\3\4"): an .npz
bool is_pickle_file(const fs::path& file);  // starts with a pickle's PROTO opcode
// A CIFAR pickle, or a folder holding a pickled training batch (data_batch_N or train).
bool is_cifar_pickle(const fs::path& path);
Dataset load_cifar_pickle(const fs::path& path);  // CIFAR-10/100, python version
Dataset load_npz(const fs::path& path);           // downsampled ImageNet 32x32 or 64x64

// RGB images decoded from `files` (any size, fitted to 32x32), split evenly over their order and
// described as `what`. Undecodable files are skipped: counted and named in one line of the
// description. With `dedupe`, an image whose pixels equal an earlier one's is dropped.
Dataset image_files_dataset(const fs::path& path, const std::vector<fs::path>& files,
                            const std::string& what, bool dedupe);

// data_icons.cpp: a folder of icon themes (/usr/share/icons) as one set of 32x32 icons.
bool is_icon_set_folder(const fs::path& path);
Dataset load_icon_set(const fs::path& path);

}  // namespace hg::data_detail
