// c10d behind hg::ProcessGroup. Which backends exist is decided at build time
// (model/CMakeLists.txt): HOURGLASS_C10D_GLOO when gloo's headers are found (Debian: libgloo-dev),
// HOURGLASS_C10D_NCCL in a CUDA libtorch that ships ProcessGroupNCCL. The base class of a backend
// differs by version (c10d::ProcessGroup in 1.13, c10d::Backend in 2.x); everything here goes
// through that base.
#include "model/train/distributed.h"

#include <torch/version.h>

#include <cstdlib>
#include <stdexcept>

#if defined(HOURGLASS_C10D_GLOO) || defined(HOURGLASS_C10D_NCCL)
#define HOURGLASS_HAS_C10D 1
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#else
#define HOURGLASS_HAS_C10D 0
#endif
#ifdef HOURGLASS_C10D_GLOO
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef HOURGLASS_C10D_NCCL
#define USE_C10D_NCCL 1
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace hg {
namespace {

int env_int(const char* name, int fallback, int min_value) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < min_value || value > 1 << 20)
    throw std::invalid_argument(std::string(name) + "='" + text +
                                "' is not a whole number of at least " + std::to_string(min_value));
  return static_cast<int>(value);
}

}  // namespace

std::optional<WorldInfo> world_from_environment() {
  const bool has_rank = std::getenv("RANK") != nullptr;
  const bool has_size = std::getenv("WORLD_SIZE") != nullptr;
  if (!has_rank && !has_size) return std::nullopt;
  if (has_rank != has_size)
    throw std::invalid_argument(std::string(has_rank ? "RANK" : "WORLD_SIZE") + " is set but " +
                                (has_rank ? "WORLD_SIZE" : "RANK") +
                                " is not. HINT: a launcher sets both (and LOCAL_RANK, MASTER_ADDR, "
                                "MASTER_PORT); unset them to train in one process");
  WorldInfo w;
  w.size = env_int("WORLD_SIZE", 1, 1);
  w.rank = env_int("RANK", 0, 0);
  if (w.rank >= w.size)
    throw std::invalid_argument("RANK=" + std::to_string(w.rank) +
                                " is not below WORLD_SIZE=" + std::to_string(w.size));
  w.local_rank = env_int("LOCAL_RANK", w.rank, 0);
  w.local_size = env_int("LOCAL_WORLD_SIZE", w.size, 1);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) w.master_addr = addr;
  w.master_port = env_int("MASTER_PORT", w.master_port, 1);
  if (w.master_port > 65535)
    throw std::invalid_argument("MASTER_PORT=" + std::to_string(w.master_port) +
                                " is not a TCP port (1..65535)");
  return w;
}

std::string distributed_backends() {
  std::string names;
#ifdef HOURGLASS_C10D_NCCL
  names += "nccl ";
#endif
#ifdef HOURGLASS_C10D_GLOO
  names += "gloo ";
#endif
  return names.empty() ? "none" : names.substr(0, names.size() - 1);
}

bool distributed_available(const torch::Device& device, std::string* why) {
  std::string reason;
  if (device.is_cuda()) {
#ifndef HOURGLASS_C10D_NCCL
    reason =
        "this build has no NCCL process group (it needs a CUDA libtorch that ships "
        "ProcessGroupNCCL). HINT: build with packaging/gpu-build.sh, or train on the CPU with "
        "--device cpu (Gloo)";
#endif
  } else {
#ifndef HOURGLASS_C10D_GLOO
    reason =
        "this build has no Gloo process group for CPU processes (gloo's headers were not found "
        "when it was built). HINT: install libgloo-dev and rebuild, or train with --gpus 1";
#endif
  }
  if (why) *why = reason;
  return reason.empty();
}

#if HOURGLASS_HAS_C10D
namespace {

#if TORCH_VERSION_MAJOR >= 2
using C10dGroup = c10d::Backend;
#else
using C10dGroup = c10d::ProcessGroup;
#endif

class C10dProcessGroup final : public ProcessGroup {
 public:
  C10dProcessGroup(const WorldInfo& world, const torch::Device& device,
                   std::chrono::seconds timeout) {
    world_ = world;
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(world.master_port);
    options.isServer = world.rank == 0;
    options.numWorkers = static_cast<size_t>(world.size);
    options.waitWorkers = true;
    options.timeout = timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(world.rank) +
                               ": could not meet the other processes at " + world.master_addr +
                               ":" + std::to_string(world.master_port) + " (" + e.what() +
                               "). HINT: check MASTER_ADDR / MASTER_PORT, and that every rank "
                               "was started");
    }
    if (device.is_cuda()) {
#ifdef HOURGLASS_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.index()));
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, world.rank, world.size, nccl);
      backend_ = "nccl";
#endif
    } else {
#ifdef HOURGLASS_C10D_GLOO
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      const bool loopback = world.master_addr == "127.0.0.1" || world.master_addr == "localhost";
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (loopback)
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, world.rank, world.size, gloo);
      backend_ = "gloo";
#endif
    }
    if (!group_) {
      std::string why;
      distributed_available(device, &why);
      throw std::runtime_error(why);
    }
  }

  void broadcast(const std::vector<torch::Tensor>& tensors) override {
    torch::NoGradGuard no_grad;
    for_each_bucket(tensors, [&](std::vector<torch::Tensor>& flat) {
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      return group_->broadcast(flat, options);
    });
  }

  void average(const std::vector<torch::Tensor>& tensors) override {
    torch::NoGradGuard no_grad;
    for_each_bucket(tensors, [&](std::vector<torch::Tensor>& flat) {
      flat[0].div_(world_.size);  // sum of means / size: the mean, without overflow in bf16
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;
      return group_->allreduce(flat, options);
    });
  }

  void publish(const std::string& key, const std::string& value) override {
    store_->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  }

  std::string receive(const std::string& key) override {
    const std::vector<uint8_t> bytes = store_->get(key);
    return std::string(bytes.begin(), bytes.end());
  }

 private:
  // Packs consecutive tensors of one dtype and device into flat buckets, starts `collective` on
  // every bucket, then waits for all and copies the results back.
  template <typename Collective>
  void for_each_bucket(const std::vector<torch::Tensor>& tensors, Collective collective) {
    struct Bucket {
      std::vector<torch::Tensor> members;
      std::vector<torch::Tensor> flat;
      c10::intrusive_ptr<c10d::Work> work;
    };
    std::vector<Bucket> buckets;
    int64_t bytes = 0;
    for (const auto& t : tensors) {
      const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
      const bool fits = !buckets.empty() && bytes + size <= kBucketBytes &&
                        buckets.back().members.front().dtype() == t.dtype() &&
                        buckets.back().members.front().device() == t.device();
      if (!fits) {
        buckets.emplace_back();
        bytes = 0;
      }
      buckets.back().members.push_back(t);
      bytes += size;
    }
    for (auto& b : buckets) {
      std::vector<torch::Tensor> views;
      for (const auto& t : b.members) views.push_back(t.reshape(-1));
      b.flat = {torch::cat(views)};
      b.work = collective(b.flat);
    }
    for (auto& b : buckets) {
      b.work->wait();
      int64_t offset = 0;
      for (auto& t : b.members) {
        t.copy_(b.flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<C10dGroup> group_;
};

}  // namespace

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const WorldInfo& world,
                                                    const torch::Device& device,
                                                    std::chrono::seconds timeout) {
  std::string why;
  if (!distributed_available(device, &why)) throw std::runtime_error(why);
  return std::make_shared<C10dProcessGroup>(world, device, timeout);
}

#else

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const WorldInfo&, const torch::Device& device,
                                                    std::chrono::seconds) {
  std::string why;
  distributed_available(device, &why);
  throw std::runtime_error(why);
}

#endif

}  // namespace hg
