// CUDA memory statistics go through c10's CUDA allocator, which only exists in CUDA builds of
// libtorch. On the CPU, peak memory is counted by a thin wrapper around torch's CPU allocator
// (installed by the first reset_peak_memory), since torch keeps no CPU statistics of its own.
#include "model/nn/device.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
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
namespace {

// Counts the bytes of every CPU tensor allocated while it is installed: the same c10::alloc_cpu
// blocks as torch's default allocator, each with a header holding its size, so the deleter knows
// what it frees. The data pointer is also the context, as raw_allocate() requires.
class CountingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kHeader = 64;  // keeps alloc_cpu's 64-byte alignment for the data

  c10::DataPtr allocate(size_t bytes) const override {
    char* block = static_cast<char*>(c10::alloc_cpu(bytes + kHeader));
    *reinterpret_cast<size_t*>(block) = bytes;
    add(static_cast<int64_t>(bytes));
    char* data = block + kHeader;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  // The bytes held above what was held at the last reset, at their highest since then.
  int64_t peak_above_baseline() const { return std::max<int64_t>(0, peak_ - baseline_); }
  void reset() { peak_ = baseline_ = current_.load(); }

  static CountingCpuAllocator& instance() {
    static CountingCpuAllocator allocator;
    return allocator;
  }

 private:
  static void release(void* data) {
    if (!data) return;
    char* block = static_cast<char*>(data) - kHeader;
    instance().add(-static_cast<int64_t>(*reinterpret_cast<size_t*>(block)));
    c10::free_cpu(block);
  }
  void add(int64_t bytes) const {
    const int64_t now = current_.fetch_add(bytes) + bytes;
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }

  mutable std::atomic<int64_t> current_{0}, peak_{0};
  std::atomic<int64_t> baseline_{0};
};

std::once_flag g_counting_installed;
std::atomic<bool> g_counting{false};

}  // namespace

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
  if (device.is_cpu() && g_counting) return CountingCpuAllocator::instance().peak_above_baseline();
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
  if (!device.is_cpu()) return;
  // Tensors made before this keep their own deleters; only blocks made after it are counted.
  std::call_once(g_counting_installed, [] {
    c10::SetCPUAllocator(&CountingCpuAllocator::instance());
    g_counting = true;
  });
  CountingCpuAllocator::instance().reset();
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
