// CUDA memory statistics go through c10's CUDA allocator, which only exists in CUDA builds of
// libtorch; Debian's CPU build reports 0.
#include "model/nn/device.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && defined(HOURGLASS_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime.h>
#define HOURGLASS_CUDA_STATS 1
#else
#define HOURGLASS_CUDA_STATS 0
#endif

namespace hg {

torch::Device resolve_device(const std::string& name, int cuda_index) {
  if (name == "cpu") return torch::kCPU;
  const bool have_cuda = torch::cuda::is_available();
  if (name == "cuda" && !have_cuda)
    throw std::invalid_argument(
        "--device cuda: no CUDA device is available (this libtorch " +
        std::string(torch::hasCUDA() ? "has CUDA but sees no GPU" : "is a CPU-only build") +
        "). HINT: use --device cpu, or build against CUDA libtorch (README: GPU build)");
  if (name != "cuda" && name != "auto")
    throw std::invalid_argument("--device '" + name + "' must be one of auto, cpu, cuda");
  if (!have_cuda) return torch::kCPU;
  const int count = static_cast<int>(torch::cuda::device_count());
  if (cuda_index < 0 || cuda_index >= count)
    throw std::invalid_argument(
        "GPU " + std::to_string(cuda_index) + " was asked for (LOCAL_RANK " +
        std::to_string(cuda_index) + ") but this machine has " + std::to_string(count) +
        ". HINT: start at most one process per GPU (--gpus " + std::to_string(count) + ")");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cuda_index));
}

std::string describe_device(const torch::Device& device) {
  if (device.is_cuda()) return "cuda:" + std::to_string(device.index());
  const int threads = torch::get_num_threads();
  return "cpu (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

int64_t peak_memory_bytes(const torch::Device& device) {
#if HOURGLASS_CUDA_STATS
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return stats.allocated_bytes[0].peak;  // aggregate over pool types
  }
#endif
  (void)device;
  return 0;
}

int64_t available_memory_bytes(const torch::Device& device) {
#if HOURGLASS_CUDA_STATS
  if (device.is_cuda()) {
    // The driver's free memory, plus what torch's caching allocator holds without using: the
    // driver counts it as taken, but this process's next tensors get it first.
    const c10::DeviceIndex index =
        device.has_index() ? device.index() : c10::cuda::current_device();
    const c10::cuda::CUDAGuard guard(index);
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
      (void)cudaGetLastError();  // clears the error, so the next CUDA call does not report it
      return -1;
    }
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    const int64_t cached = stats.reserved_bytes[0].current - stats.allocated_bytes[0].current;
    return static_cast<int64_t>(free) + std::max<int64_t>(0, cached);
  }
#endif
  if (!device.is_cpu()) return -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  int64_t kilobytes = 0;
  while (meminfo >> key >> kilobytes >> unit)
    if (key == "MemAvailable:") return kilobytes * 1024;
  return -1;
}

void reset_peak_memory(const torch::Device& device) {
#if HOURGLASS_CUDA_STATS
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
  (void)device;
}

void set_cpu_threads(int threads) {
  int n = threads;
  if (n <= 0) {  // all cores, unless OMP_NUM_THREADS says how many (as the tests' processes do)
    const char* env = std::getenv("OMP_NUM_THREADS");
    n = env ? std::atoi(env) : 0;
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  torch::set_num_threads(n);
}

}  // namespace hg
