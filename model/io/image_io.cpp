// Decoding, fitting to 32x32, tiling and writing of 8-bit images (see image_io.h).
// The scaling is written here rather than taken from stb_image_resize, which the fallback build
// (model/io/stb_impl.cpp, no pkg-config stb) does not compile. Not the dataset loaders (data*.cpp).
#include "model/io/image_io.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "model/io/file_io.h"

namespace hg {
namespace {

// One source sample contributing to an output sample along one axis.
struct Tap {
  int index;
  float weight;
};

// For each of `dst` output samples, the source samples it averages. Downscaling: the area filter
// (each output covers src/dst inputs, partial ones by their overlap), so no input is dropped and a
// 64->32 checkerboard becomes flat grey. Upscaling (and equal sizes): bilinear on pixel centres.
std::vector<std::vector<Tap>> resample_taps(int src, int dst) {
  std::vector<std::vector<Tap>> taps(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int i = 0; i < dst; ++i) {
    if (src > dst) {
      const double lo = i * scale, hi = (i + 1) * scale;
      for (int j = static_cast<int>(lo); j < src && j < hi; ++j) {
        const double overlap = std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j));
        if (overlap > 0) taps[i].push_back({j, static_cast<float>(overlap / scale)});
      }
    } else {
      const double x = std::clamp((i + 0.5) * scale - 0.5, 0.0, src - 1.0);
      const int j0 = static_cast<int>(x);
      const int j1 = std::min(j0 + 1, src - 1);
      const float f = static_cast<float>(x - j0);
      taps[i].push_back({j0, 1.0f - f});
      if (f > 0) taps[i].push_back({j1, f});
    }
  }
  return taps;
}

uint8_t to_byte(float v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f))); }

}  // namespace

Image fit_rgba_32(const uint8_t* rgba, int width, int height, int channels) {
  if (rgba == nullptr || width <= 0 || height <= 0)
    throw std::invalid_argument("fit_rgba_32: empty image (" + std::to_string(width) + "x" +
                                std::to_string(height) + ")");
  if (channels != 1 && channels != 3)
    throw std::invalid_argument("fit_rgba_32: channels must be 1 or 3, got " +
                                std::to_string(channels));
  const int side = kImageSide;
  const auto taps_x = resample_taps(width, side);
  const auto taps_y = resample_taps(height, side);

  // Composite each source row onto white, then scale it horizontally; compositing before
  // averaging is what makes a half-transparent edge blend with the background, not with black.
  std::vector<float> row(static_cast<size_t>(width) * 3);
  std::vector<float> narrow(static_cast<size_t>(height) * side * 3, 0.0f);  // height x 32 x RGB
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = rgba + static_cast<size_t>(y) * width * 4;
    for (int x = 0; x < width; ++x) {
      const float alpha = src[4 * x + 3] / 255.0f;
      for (int c = 0; c < 3; ++c) row[3 * x + c] = src[4 * x + c] * alpha + 255.0f * (1 - alpha);
    }
    float* out = &narrow[static_cast<size_t>(y) * side * 3];
    for (int x = 0; x < side; ++x)
      for (const Tap& tap : taps_x[x])
        for (int c = 0; c < 3; ++c) out[3 * x + c] += row[3 * tap.index + c] * tap.weight;
  }
  std::vector<float> rgb(static_cast<size_t>(side) * side * 3, 0.0f);  // 32 x 32 x RGB
  for (int y = 0; y < side; ++y)
    for (const Tap& tap : taps_y[y])
      for (int i = 0; i < side * 3; ++i)
        rgb[static_cast<size_t>(y) * side * 3 + i] +=
            narrow[static_cast<size_t>(tap.index) * side * 3 + i] * tap.weight;

  Image image{side, side, channels,
              std::vector<uint8_t>(static_cast<size_t>(side) * side * channels)};
  for (int p = 0; p < side * side; ++p) {
    const float* v = &rgb[3 * p];
    if (channels == 3) {
      for (int c = 0; c < 3; ++c) image.pixels[3 * p + c] = to_byte(v[c]);
    } else {
      image.pixels[p] = to_byte(0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2]);  // Rec. 601 luma
    }
  }
  return image;
}

Image load_image_32(const std::string& path, int channels) {
  int width = 0, height = 0, file_channels = 0;
  // The header first: a small file may declare a picture that takes gigabytes to decode.
  if (stbi_info(path.c_str(), &width, &height, &file_channels) &&
      static_cast<int64_t>(width) * height > kMaxImagePixels)
    throw std::runtime_error("load_image_32: " + path + " declares " + std::to_string(width) + "x" +
                             std::to_string(height) + " pixels, more than the " +
                             std::to_string(kMaxImagePixels) +
                             " read here. HINT: scale it down first (it becomes 32x32)");
  std::unique_ptr<stbi_uc, void (*)(void*)> rgba(
      stbi_load(path.c_str(), &width, &height, &file_channels, /*desired_channels=*/4),
      stbi_image_free);
  if (!rgba)
    throw std::runtime_error("load_image_32: cannot read " + path + " as an image (stb_image: " +
                             stbi_failure_reason() + "). HINT: use a PNG or JPEG file");
  return fit_rgba_32(rgba.get(), width, height, channels);
}

void write_png(const std::string& path, int width, int height, int channels, const uint8_t* data) {
  if (data == nullptr || width <= 0 || height <= 0 || channels < 1 || channels > 4)
    throw std::invalid_argument("write_png: " + path + ": bad image " + std::to_string(width) +
                                "x" + std::to_string(height) + "x" + std::to_string(channels) +
                                " (need a positive size, 1-4 channels and pixels)");
  write_file_atomic(
      path,
      [&](std::ostream& out) {
        auto append = [](void* stream, void* bytes, int size) {
          static_cast<std::ostream*>(stream)->write(static_cast<const char*>(bytes), size);
        };
        if (!stbi_write_png_to_func(append, &out, width, height, channels, data, width * channels))
          throw std::runtime_error("write_png: stb_image_write could not encode " + path);
      },
      "write_png");
}

void write_png(const std::string& path, const Image& image) {
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw std::invalid_argument("write_png: " + path + ": image holds " +
                                std::to_string(image.pixels.size()) + " bytes, not width*height*" +
                                "channels");
  write_png(path, image.width, image.height, image.channels, image.pixels.data());
}

Image grid(const uint8_t* images, int count, int height, int width, int channels, int columns,
           int gap, uint8_t gap_value) {
  if (images == nullptr || count <= 0 || height <= 0 || width <= 0 || channels <= 0 || gap < 0 ||
      columns < 0)
    throw std::invalid_argument("grid: nothing to tile (" + std::to_string(count) + " images of " +
                                std::to_string(height) + "x" + std::to_string(width) + "x" +
                                std::to_string(channels) + ", gap " + std::to_string(gap) + ")");
  if (columns == 0) columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  const int rows = (count + columns - 1) / columns;
  Image out{columns * width + (columns + 1) * gap, rows * height + (rows + 1) * gap, channels, {}};
  out.pixels.assign(static_cast<size_t>(out.width) * out.height * channels, gap_value);
  const size_t row_bytes = static_cast<size_t>(width) * channels;
  for (int n = 0; n < count; ++n) {
    const int top = gap + (n / columns) * (height + gap);
    const int left = gap + (n % columns) * (width + gap);
    const uint8_t* tile = images + static_cast<size_t>(n) * height * row_bytes;
    for (int y = 0; y < height; ++y)
      std::copy_n(tile + y * row_bytes, row_bytes,
                  &out.pixels[(static_cast<size_t>(top + y) * out.width + left) * channels]);
  }
  return out;
}

}  // namespace hg
