// Device choice and memory figures: "auto" means CUDA when libtorch sees a GPU.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace hg {

// Throws std::invalid_argument when "cuda" is asked for and there is none, saying why.
// cuda_index picks the GPU (a data-parallel rank's LOCAL_RANK); throws when there is no such GPU.
torch::Device resolve_device(const std::string& name, int cuda_index = 0);
std::string describe_device(
    const torch::Device& device);  // "cuda:0 (NVIDIA H200)" / "cpu (2 threads)"
// Peak memory since the last reset_peak_memory. CUDA: torch's peak allocated bytes (0 where the
// libtorch build has no CUDA statistics). CPU: the peak bytes of libtorch tensors held above what
// was held at the reset, counted by a wrapper around torch's CPU allocator that the first reset
// installs (0 before it); the whole process's tensors, not the run's alone, and not the buffers
// libraries allocate themselves (oneDNN scratch space) nor anything outside torch.
int64_t peak_memory_bytes(const torch::Device& device);
void reset_peak_memory(const torch::Device& device);
// Bytes the device can still give: on the CPU the kernel's MemAvailable; on CUDA the driver's free
// memory (cudaMemGetInfo) plus what torch's caching allocator holds unused; -1 where unknown (a
// libtorch without CUDA statistics).
int64_t available_memory_bytes(const torch::Device& device);
// torch starts with one thread on Debian: use `threads`, or with 0 every core unless
// OMP_NUM_THREADS names a count (ctest runs one process per test case, each with one thread).
void set_cpu_threads(int threads);

}  // namespace hg
