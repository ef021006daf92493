// Data-parallel training across processes through c10d: NCCL between CUDA devices, Gloo
// between CPU processes. One process per GPU; the world is described by the usual launcher
// variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so `hourglass train --gpus N`
// (which starts the processes itself), torchrun --no-python and hand-made multi-machine launches
// all meet here. Not the training loop: trainer.h uses a ProcessGroup when it is given one.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg {

// Another rank failed (its own message says why); this one stops without repeating it.
class PeerFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WorldInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;  // processes on this machine (LOCAL_WORLD_SIZE)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// The world from RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; nullopt when RANK and
// WORLD_SIZE are both unset. Throws std::invalid_argument naming a malformed or missing variable.
std::optional<WorldInfo> world_from_environment();

// The process groups this build has: "nccl gloo", "nccl", "gloo" or "none".
std::string distributed_backends();

// Whether this libtorch can join processes for a device type; when not, *why says what is missing
// and what to do.
bool distributed_available(const torch::Device& device, std::string* why);

class ProcessGroup {
 public:
  // Joins the group: rank 0 hosts the TCP store at MASTER_ADDR:MASTER_PORT, every rank waits for
  // all `size` ranks (up to `timeout`). NCCL when `device` is CUDA, Gloo on the CPU. Throws
  // std::runtime_error saying what failed.
  static std::shared_ptr<ProcessGroup> connect(const WorldInfo& world, const torch::Device& device,
                                               std::chrono::seconds timeout);
  virtual ~ProcessGroup() = default;

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  int local_rank() const { return world_.local_rank; }
  int local_size() const { return world_.local_size; }
  const std::string& backend() const { return backend_; }

  // Every rank's tensors take rank 0's values (in place; same shapes on every rank).
  virtual void broadcast(const std::vector<torch::Tensor>& tensors) = 0;
  // Every rank's tensors become the mean over the ranks (in place). Tensors are packed into
  // buckets of about bucket_bytes, each reduced as one flat message, all buckets in flight at once.
  virtual void average(const std::vector<torch::Tensor>& tensors) = 0;
  // A short text from rank 0 to every rank through the store (set on rank 0, waited for elsewhere).
  virtual void publish(const std::string& key, const std::string& value) = 0;
  virtual std::string receive(const std::string& key) = 0;

  static constexpr int64_t kBucketBytes = 25 << 20;

 protected:
  WorldInfo world_;
  std::string backend_;
};

}  // namespace hg
