// build_info(): the version, libtorch, device and build options of this build (app/build_info.h).
// The build options arrive as compile definitions from app/CMakeLists.txt.
#include "app/build_info.h"

#include <torch/torch.h>

#include "model/core/run_config.h"
#include "model/nn/compat.h"
#include "model/nn/device.h"
#include "model/train/distributed.h"

namespace hg {

BuildInfo build_info() {
  BuildInfo info;
  info.version = HOURGLASS_VERSION;
  info.libtorch = std::string(TORCH_VERSION) + (torch::hasCUDA() ? " (CUDA)" : " (CPU)");
  try {
    info.device = describe_device(resolve_device("auto"));
  } catch (const std::exception& e) {
    info.device = std::string("none usable (") + e.what() + ")";
  }
  info.attention = kHasSdpa ? "scaled_dot_product_attention" : "explicit";
  info.distributed = distributed_backends();
  info.build = std::string(HOURGLASS_BUILD_TYPE) + ", GUI " + (HOURGLASS_BUILD_GUI ? "on" : "off");
#if defined(__GNUC__) && !defined(__clang__)
  info.build += ", g++ " __VERSION__;
#elif defined(__clang__)
  info.build += ", clang " __clang_version__;
#endif
  info.assets = assets_dir();
  if (info.assets.empty()) info.assets = "none found";
  return info;
}

std::string to_text(const BuildInfo& info) {
  return "hourglass " + info.version + "\nlibtorch " + info.libtorch + "\ndevice " + info.device +
         "\nattention " + info.attention + "\ndistributed " + info.distributed + "\nbuild " +
         info.build + "\nassets " + info.assets + "\n";
}

}  // namespace hg
