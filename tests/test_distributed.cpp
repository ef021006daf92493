// The process group behind `--gpus N`, in one process: two ranks on two threads meet
// through the TCP store and talk through Gloo, as two CPU processes do. The whole training path
// (launcher, sharding, resume) is checked end to end by test_distributed.sh.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <future>

#include "model/train/distributed.h"

namespace hg {
namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

// Runs `body(group)` on ranks 0 and 1 at once; returns what each returned.
template <typename Body>
auto on_two_ranks(Body body) {
  const int port = free_port();
  auto rank = [&](int r) {
    WorldInfo world;
    world.rank = r;
    world.size = 2;
    world.local_rank = r;
    world.local_size = 2;
    world.master_port = port;
    auto group = ProcessGroup::connect(world, torch::kCPU, std::chrono::seconds(60));
    return body(*group);
  };
  auto one = std::async(std::launch::async, rank, 1);
  auto zero = rank(0);
  return std::make_pair(zero, one.get());
}

TEST(Distributed, AverageAndBroadcastAcrossTwoRanks) {
  std::string why;
  if (!distributed_available(torch::kCPU, &why)) {
    EXPECT_NE(why.find("Gloo"), std::string::npos) << why;
    GTEST_SKIP() << why;
  }
  // Tensors of several sizes and two dtypes, more than one bucket's worth in all.
  const int64_t big = ProcessGroup::kBucketBytes / 4 + 1000;
  auto [zero, one] = on_two_ranks([&](ProcessGroup& group) {
    const double r = group.rank();
    std::vector<torch::Tensor> tensors = {torch::full({3, 4}, 1.0 + r),
                                          torch::full({big}, 10.0 * (r + 1)),
                                          torch::full({2}, 4.0 + r, torch::kDouble)};
    group.average(tensors);
    auto shared = torch::full({5}, 7.0 + r);
    group.broadcast({shared});
    if (group.rank() == 0) group.publish("greeting", "from rank 0");
    const std::string heard = group.receive("greeting");
    return std::make_tuple(tensors, shared, heard, group.backend());
  });
  for (const auto& [tensors, shared, heard, backend] : {zero, one}) {
    EXPECT_TRUE(torch::allclose(tensors[0], torch::full({3, 4}, 1.5)));
    EXPECT_TRUE(torch::allclose(tensors[1], torch::full({big}, 15.0)));
    EXPECT_EQ(tensors[2].scalar_type(), torch::kDouble);
    EXPECT_TRUE(torch::allclose(tensors[2], torch::full({2}, 4.5, torch::kDouble)));
    EXPECT_TRUE(torch::equal(shared, torch::full({5}, 7.0))) << "rank 0's values";
    EXPECT_EQ(heard, "from rank 0");
    EXPECT_EQ(backend, "gloo");
  }
}

TEST(Distributed, WorldComesFromTheLaunchersVariables) {
  for (const char* name :
       {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
    unsetenv(name);
  EXPECT_FALSE(world_from_environment().has_value()) << "no launcher: one process";
  setenv("RANK", "3", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_RANK", "1", 1);
  setenv("MASTER_ADDR", "10.0.0.1", 1);
  setenv("MASTER_PORT", "29511", 1);
  auto world = world_from_environment();
  ASSERT_TRUE(world.has_value());
  EXPECT_EQ(world->rank, 3);
  EXPECT_EQ(world->size, 4);
  EXPECT_EQ(world->local_rank, 1);
  EXPECT_EQ(world->master_addr, "10.0.0.1");
  EXPECT_EQ(world->master_port, 29511);
  setenv("RANK", "4", 1);
  EXPECT_THROW(world_from_environment(), std::invalid_argument) << "RANK must be below WORLD_SIZE";
  setenv("RANK", "x", 1);
  EXPECT_THROW(world_from_environment(), std::invalid_argument);
  setenv("RANK", "0", 1);
  setenv("MASTER_PORT", "70000", 1);
  EXPECT_THROW(world_from_environment(), std::invalid_argument);
  unsetenv("WORLD_SIZE");
  EXPECT_THROW(world_from_environment(), std::invalid_argument) << "RANK without WORLD_SIZE";
  for (const char* name : {"RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
}

}  // namespace
}  // namespace hg
