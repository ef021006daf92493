// Matrix products through cuBLASLt with an epilogue, for the MLP in bf16 training (fused_ops.h:
// mlp_fused): the forward's GELU and the backward's GELU gradient run inside the products that
// make and take the hidden activations, where they would otherwise be kernels of their own that
// read and write the (rows, 4D) activations.
#include <cublasLt.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "model/kernels/cuda/fused_kernels.h"

namespace hg {
namespace cuda_kernels {
namespace {

// One handle per device, made on first use and kept for the process.
cublasLtHandle_t lt_handle(int device) {
  static std::mutex mutex;
  static std::map<int, cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasLtHandle_t handle = nullptr;
  if (cublasLtCreate(&handle) != CUBLAS_STATUS_SUCCESS) return nullptr;
  handles[device] = handle;
  return handle;
}

// The largest power of two up to 256 that divides the address: what the heuristic may assume.
uint32_t alignment(const void* p) {
  uint32_t a = 256;
  while (a > 1 && reinterpret_cast<uintptr_t>(p) % a != 0) a /= 2;
  return a;
}

cublasLtEpilogue_t epilogue_of(LtEpilogue e) {
  switch (e) {
    case LtEpilogue::kGelu:
      return CUBLASLT_EPILOGUE_GELU;
    case LtEpilogue::kGeluAux:
      return CUBLASLT_EPILOGUE_GELU_AUX;
    case LtEpilogue::kDGelu:
      return CUBLASLT_EPILOGUE_DGELU;
    default:
      return CUBLASLT_EPILOGUE_DEFAULT;
  }
}

// Descriptors of one product, released on every path out.
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~Descriptors() {
    if (preference) cublasLtMatmulPreferenceDestroy(preference);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

#define HG_LT(call)                                       \
  do {                                                    \
    const cublasStatus_t status_ = (call);                \
    if (status_ != CUBLAS_STATUS_SUCCESS) return status_; \
  } while (0)

cublasStatus_t describe(const LtGemm& g, Descriptors& s) {
  HG_LT(cublasLtMatmulDescCreate(&s.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  HG_LT(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  HG_LT(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  const cublasLtEpilogue_t epilogue = epilogue_of(g.epilogue);
  HG_LT(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                       sizeof(epilogue)));
  if (g.epilogue == LtEpilogue::kGeluAux || g.epilogue == LtEpilogue::kDGelu) {
    HG_LT(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &g.aux,
                                         sizeof(g.aux)));
    const int64_t ld_aux = g.ld_aux;
    HG_LT(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &ld_aux,
                                         sizeof(ld_aux)));
  }
  HG_LT(cublasLtMatrixLayoutCreate(&s.a, CUDA_R_16BF, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k,
                                   g.lda));
  HG_LT(cublasLtMatrixLayoutCreate(&s.b, CUDA_R_16BF, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n,
                                   g.ldb));
  HG_LT(cublasLtMatrixLayoutCreate(&s.d, g.d_fp32 ? CUDA_R_32F : CUDA_R_16BF, g.m, g.n, g.ldd));
  HG_LT(cublasLtMatmulPreferenceCreate(&s.preference));
  const uint64_t workspace = g.workspace_bytes;
  HG_LT(cublasLtMatmulPreferenceSetAttribute(s.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                             &workspace, sizeof(workspace)));
  const uint32_t align_a = alignment(g.a), align_b = alignment(g.b), align_d = alignment(g.d);
  HG_LT(cublasLtMatmulPreferenceSetAttribute(
      s.preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof(align_a)));
  HG_LT(cublasLtMatmulPreferenceSetAttribute(
      s.preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof(align_b)));
  HG_LT(cublasLtMatmulPreferenceSetAttribute(
      s.preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_d, sizeof(align_d)));
  HG_LT(cublasLtMatmulPreferenceSetAttribute(
      s.preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_d, sizeof(align_d)));
  return CUBLAS_STATUS_SUCCESS;
}

// What one product's algorithm is chosen by.
using Shape = std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, bool, int, uint64_t, uint32_t, uint32_t, uint32_t>;

cublasStatus_t run(cublasLtHandle_t handle, const LtGemm& g, const Descriptors& s,
                   const cublasLtMatmulAlgo_t& algo, cudaStream_t stream) {
  const float one = 1.0f, zero = 0.0f;
  return cublasLtMatmul(handle, s.op, &one, g.a, s.a, g.b, s.b, &zero, g.d, s.d, g.d, s.d, &algo,
                        g.workspace, g.workspace_bytes, stream);
}

// The fastest of the heuristic's first candidates, each timed on the product itself (which the
// call then computes again). Products with an epilogue have few fast kernels (the GELU-gradient
// product of a 512-wide MLP runs well below the plain ones); what the timing is worth is in
// docs/PERFORMANCE.md. -1 where none ran.
int fastest(cublasLtHandle_t handle, const LtGemm& g, const Descriptors& s,
            const cublasLtMatmulHeuristicResult_t* candidates, int found, cudaStream_t stream) {
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) return -1;
  int best = -1;
  float best_ms = 0.0f;
  for (int i = 0; i < found; ++i) {
    if (candidates[i].workspaceSize > g.workspace_bytes) continue;
    if (run(handle, g, s, candidates[i].algo, stream) != CUBLAS_STATUS_SUCCESS) continue;
    cudaEventRecord(start, stream);
    for (int r = 0; r < 3; ++r) run(handle, g, s, candidates[i].algo, stream);
    cudaEventRecord(stop, stream);
    float ms = 0.0f;
    if (cudaEventSynchronize(stop) != cudaSuccess ||
        cudaEventElapsedTime(&ms, start, stop) != cudaSuccess)
      continue;
    if (best < 0 || ms < best_ms) best = i, best_ms = ms;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

}  // namespace

int lt_gemm(const LtGemm& g, cudaStream_t stream) {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return static_cast<int>(CUBLAS_STATUS_NOT_INITIALIZED);
  cublasLtHandle_t handle = lt_handle(device);
  if (handle == nullptr) return static_cast<int>(CUBLAS_STATUS_NOT_INITIALIZED);
  Descriptors s;
  cublasStatus_t status = describe(g, s);
  if (status != CUBLAS_STATUS_SUCCESS) return static_cast<int>(status);

  // Chosen once per shape, on its first use outside a graph capture (timing needs the host to
  // wait); inside one, the heuristic's first choice, not kept. Timing makes the choice, and so the
  // last bits of the products, vary between processes; HOURGLASS_LT_TUNE=0 keeps the heuristic's
  // first choice everywhere (the same in every run).
  static std::mutex mutex;
  static std::map<Shape, cublasLtMatmulAlgo_t> chosen;
  const Shape shape{device,
                    g.trans_a,
                    g.trans_b,
                    g.m,
                    g.n,
                    g.k,
                    g.lda,
                    g.ldb,
                    g.ldd,
                    g.ld_aux,
                    g.d_fp32,
                    static_cast<int>(g.epilogue),
                    static_cast<uint64_t>(g.workspace_bytes),
                    alignment(g.a),
                    alignment(g.b),
                    alignment(g.d)};
  cublasLtMatmulAlgo_t algo{};
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = chosen.find(shape);
    if (it != chosen.end()) {
      algo = it->second;
    } else {
      constexpr int kCandidates = 8;
      cublasLtMatmulHeuristicResult_t candidates[kCandidates] = {};
      int found = 0;
      status = cublasLtMatmulAlgoGetHeuristic(handle, s.op, s.a, s.b, s.d, s.d, s.preference,
                                              kCandidates, candidates, &found);
      if (status != CUBLAS_STATUS_SUCCESS) return static_cast<int>(status);
      if (found == 0) return static_cast<int>(CUBLAS_STATUS_NOT_SUPPORTED);
      cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
      if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess ||
          capture != cudaStreamCaptureStatusNone) {
        algo = candidates[0].algo;
      } else {
        static const bool tune = [] {
          const char* env = std::getenv("HOURGLASS_LT_TUNE");
          return env == nullptr || std::string(env) != "0";
        }();
        const int best = tune && found > 1 ? fastest(handle, g, s, candidates, found, stream) : 0;
        algo = candidates[best < 0 ? 0 : best].algo;
        chosen[shape] = algo;
      }
    }
  }
  return static_cast<int>(run(handle, g, s, algo, stream));
}

}  // namespace cuda_kernels
}  // namespace hg
