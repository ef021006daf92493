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

// ATen's fused AdamW kernel (CUDA), with a learning rate given as a double.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
#define HOURGLASS_HAS_FUSED_ADAMW 1
#else
#define HOURGLASS_HAS_FUSED_ADAMW 0
#endif

namespace hg {

constexpr bool kHasSdpa = HOURGLASS_HAS_SDPA != 0;

}  // namespace hg

#if HOURGLASS_HAS_SDPA
#include <ATen/autocast_mode.h>
#endif

namespace hg {

// bf16 autocast on CUDA for the guard's lifetime (libtorch 2.x); a no-op on Debian's CPU 1.13,
// where there is no CUDA to cast for.
class CudaAutocast {
 public:
  explicit CudaAutocast(bool enable) : enabled_(enable && kHasSdpa) {
#if HOURGLASS_HAS_SDPA
    if (enabled_) {
      at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
      at::autocast::set_autocast_enabled(at::kCUDA, true);
    }
#endif
  }
  ~CudaAutocast() {
#if HOURGLASS_HAS_SDPA
    if (enabled_) {
      at::autocast::set_autocast_enabled(at::kCUDA, false);
      at::autocast::clear_cache();
    }
#endif
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool enabled_;
};

}  // namespace hg
