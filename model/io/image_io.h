// PNG/JPEG in and PNG out for 32x32 model images: decoding with stb_image, compositing alpha onto
// white, scaling to 32x32 (area filter down, bilinear up), grids of samples, atomic PNG writes.
// Torch-free (standard library + stb). Not the dataset loaders (see data.h), which use this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hg {

// Side of every model image (docs/MODEL.md: 32x32, raster order, channel-interleaved).
constexpr int kImageSide = 32;

// An 8-bit image, rows top to bottom, channels interleaved (R,G,B of pixel 0, then pixel 1...).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 (gray), 3 (RGB) or 4 (RGBA)
  std::vector<uint8_t> pixels;  // height * width * channels
};

// From RGBA pixels of any size to a kImageSide x kImageSide image of `channels` (1: luminance,
// 3: RGB): alpha composited onto a white background, then scaled (stretched, not cropped, as
// downsampled ImageNet does). The one code path shared by the folder loader, the sampler's priming
// image and the studio's painted image.
Image fit_rgba_32(const uint8_t* rgba, int width, int height, int channels);

// Decodes a PNG/JPEG (anything stb_image reads) and fits it with fit_rgba_32. Throws
// std::runtime_error naming the file and stb's reason when it cannot be read or decoded.
Image load_image_32(const std::string& path, int channels);
// The most pixels load_image_32 decodes (4096 x 4096: 64 MB as RGBA); larger files are refused
// from their header, before any decoding.
constexpr int64_t kMaxImagePixels = int64_t{4096} * 4096;

// Writes a PNG (channels 1-4) through write_file_atomic (file_io.h): a temporary name in the same
// folder, then a rename over `path`, so a reader never sees half a file. Throws std::runtime_error
// on failure, leaving nothing behind.
void write_png(const std::string& path, int width, int height, int channels, const uint8_t* data);
void write_png(const std::string& path, const Image& image);

// Tiles `count` images of height x width x channels, stored back to back from `images` (e.g. the
// first images of a dataset split), row by row into `columns` columns (0: the smallest square grid
// that holds them), with `gap` pixels of `gap_value` between and around the tiles: a sample grid
// ready for write_png. Mid-grey gaps stand out on both black (MNIST) and white (icons) images.
Image grid(const uint8_t* images, int count, int height, int width, int channels, int columns = 0,
           int gap = 2, uint8_t gap_value = 128);

}  // namespace hg
