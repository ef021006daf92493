// What this build of Hourglass Studio is: its version, the libtorch it was built with, the device a
// run would use and the build options. Printed by `hourglass --version` and shown by the studio's
// Help -> About. Torch-free header of plain strings, so the studio can pass them to its
// torch-free window; the values come from build_info.cpp, which includes torch.
#pragma once

#include <string>

namespace hg {

struct BuildInfo {
  std::string version;      // "0.1.0": the CMake project's version
  std::string libtorch;     // "1.13.0 (CPU)" or "2.11.0 (CUDA)"
  std::string device;       // what --device auto picks now, e.g. "cpu (2 threads)", or why none
  std::string attention;    // "scaled_dot_product_attention" (libtorch 2.x) or "explicit"
  std::string distributed;  // process groups for --gpus: "nccl gloo", "gloo", "nccl" or "none"
  std::string build;        // "Release, GUI on, g++ 12.2.0": build type, studio built, compiler
  std::string assets;       // the folder presets and demo models are read from, or "none found"
};

// Reads the device and the assets folder when called: call it after the thread count is set.
BuildInfo build_info();
// The lines of `hourglass --version`: "hourglass 0.1.0\nlibtorch 1.13.0 (CPU)\n...".
std::string to_text(const BuildInfo& info);

}  // namespace hg
