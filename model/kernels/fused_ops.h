// The fused operations, one header per family: one kernel where the op-by-op path launches several
// and moves the data several times. Built with a CUDA libtorch and nvcc
// (model/kernels/CMakeLists.txt); elsewhere (no_cuda_kernels.cpp) every can_fuse_*() is false and
// the callers take the op-by-op path, which the tests hold the kernels to
// (tests/test_fused_ops.cpp). See docs/PERFORMANCE.md.
#pragma once

#include "model/kernels/decode_attention.h"
#include "model/kernels/gemm.h"
#include "model/kernels/layer_norm.h"
#include "model/kernels/loss.h"
#include "model/kernels/resampling.h"
#include "model/kernels/rotary.h"
#include "model/kernels/streams.h"
#include "model/kernels/token_pick.h"
