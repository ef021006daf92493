// `hourglass train --gpus N` on one machine: the command starts N copies of itself, one
// per GPU (or, without CUDA, CPU processes through Gloo), as the ranks of a data-parallel world,
// and waits for them. Several machines: the same command on each, with NNODES, NODE_RANK,
// MASTER_ADDR and MASTER_PORT set (README, "Several GPUs"). Not the training:
// model/train/distributed.h.
#pragma once

namespace hg {

// Runs argv again as `processes` workers with RANK / WORLD_SIZE / LOCAL_RANK / LOCAL_WORLD_SIZE /
// MASTER_ADDR / MASTER_PORT in their environment. If one fails, the others are stopped. Returns the
// exit status to give: 0 when every worker succeeded, else the first failure's.
int run_workers(int processes, char** argv);
// Whether this command should start workers: --gpus above 1, or NNODES above 1 (several machines,
// even with one GPU each).
bool workers_requested(int gpus);

}  // namespace hg
