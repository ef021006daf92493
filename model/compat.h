// The one place that knows which libtorch this is: Debian's 1.13 (CPU, no public SDPA) or a CUDA
// libtorch 2.x (scaled_dot_product_attention, autocast by device type). Nothing else in the engine
// tests TORCH_VERSION_* directly.
#pragma once

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#define HOURGLASS_HAS_SDPA 1
#else
#define HOURGLASS_HAS_SDPA 0
#endif

namespace hg {

constexpr bool kHasSdpa = HOURGLASS_HAS_SDPA != 0;

}  // namespace hg
