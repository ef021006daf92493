// Whether a large piece of work fits before its tensors are made: the bytes it needs against what
// the device has free, and the one-line error when they are more. Not the estimates: training,
// sampling and inspection each count their own tensors (trainer.cpp, sampler.cpp, inspect.cpp).
#pragma once

#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace hg {

// Work that cannot fit; what() is one line that names it, the bytes and a HINT.
class OutOfMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "out of memory: <what> needs N GB, the device has M GB free. HINT: <hint>": three significant
// digits, whole gigabytes from 100 GB on.
std::string out_of_memory_message(const std::string& what, double needs_bytes, double free_bytes,
                                  const std::string& hint);

// Throws OutOfMemory when `needs_bytes` is more than `device` has free (available_memory_bytes,
// device.h); does nothing where that is unknown.
void check_memory(const torch::Device& device, double needs_bytes, const std::string& what,
                  const std::string& hint);

}  // namespace hg
