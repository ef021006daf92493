// The RGB icon set: the 32x32 PNG icons of the icon themes Debian ships, read from a folder of
// themes (/usr/share/icons) as one image dataset with several roots, duplicates dropped. Not the
// decoding, fitting and splitting of image files (data_images.cpp), which it shares with folders.
#include <algorithm>
#include <system_error>

#include "model/core/strings.h"
#include "model/data/data_internal.h"

namespace hg::data_detail {
namespace {

// A theme's folder under the themes folder, and the Debian package that installs it.
struct IconTheme {
  const char* folder;
  const char* package;
};

// The themes of the set, in the order they are read (so the first copy of a duplicated icon comes
// from the earlier theme). Each keeps its 32x32 icons under <context>/32x32/... or <context>/32/
// (elementary-xfce). Dark variants of a theme are left out: they repeat it.
constexpr IconTheme kIconThemes[] = {
    {"Tango", "tango-icon-theme"}, {"oxygen/base", "oxygen-icon-theme"},
    {"gnome", "gnome-icon-theme"}, {"Adwaita", "adwaita-icon-theme"},
    {"mate", "mate-icon-theme"},   {"elementary-xfce", "elementary-xfce-icon-theme"},
};

// A PNG in a 32-pixel folder of a theme, outside the animations (sprite sheets of many frames,
// which would be squeezed into one 32x32 image).
bool is_32_icon(const fs::path& file, const fs::path& theme) {
  if (!ends_with(lower_name(file), ".png")) return false;
  bool sized = false;
  for (const fs::path& part : file.lexically_relative(theme)) {
    if (part == "animations") return false;
    if (part == "32x32" || part == "32") sized = true;
  }
  return sized;
}

// Whether `theme` is installed under `path`: its top folder holds the index.theme that makes a
// folder an icon theme (oxygen's is oxygen/index.theme, its icons are in oxygen/base).
bool is_installed(const fs::path& path, const IconTheme& theme) {
  std::error_code ec;
  const fs::path top = path / *fs::path(theme.folder).begin();
  return fs::is_regular_file(top / "index.theme", ec) && fs::is_directory(path / theme.folder, ec);
}

}  // namespace

bool is_icon_set_folder(const fs::path& path) {
  return std::any_of(std::begin(kIconThemes), std::end(kIconThemes),
                     [&](const IconTheme& theme) { return is_installed(path, theme); });
}

Dataset load_icon_set(const fs::path& path) {
  std::vector<fs::path> files;
  std::string found, missing;
  for (const IconTheme& theme : kIconThemes) {
    const fs::path root = path / theme.folder;
    if (!is_installed(path, theme)) {
      missing += std::string(missing.empty() ? "" : " ") + theme.package;
      continue;
    }
    size_t count = 0;
    for (const fs::path& file : list_files(root, /*recursive=*/true))
      if (is_32_icon(file, root)) files.push_back(file), ++count;
    found += std::string(found.empty() ? "" : ", ") + theme.package + " " + std::to_string(count);
  }
  if (files.empty())
    fail(path.string() + " holds no 32x32 PNG icon of the themes read here. HINT: sudo apt " +
         "install tango-icon-theme oxygen-icon-theme gnome-icon-theme mate-icon-theme " +
         "elementary-xfce-icon-theme");
  Dataset data = image_files_dataset(path, files, "32x32 icons (" + found + ")", /*dedupe=*/true);
  if (!missing.empty()) data.description += "; not installed: " + missing;
  return data;
}

}  // namespace hg::data_detail
