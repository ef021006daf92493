// Tensor files as bytes and shapes: safetensors (checkpoints, docs/ARCHITECTURE.md) and .npy (what
// `hourglass inspect` writes, §7), written atomically through file_io.h.
// Torch-free on purpose, so the studio and the tests read them without linking the network; not a
// converter to torch::Tensor (that lives beside the network) and not a memory-mapped reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/io/file_io.h"  // write_file_atomic, which the writers below go through

namespace hg {

// Both formats store little-endian numbers, and RawTensor::data holds exactly the file's bytes, so
// callers copy it to and from native floats and ints with memcpy. That is only right on a
// little-endian machine (x86-64, ARM64 as Linux runs it); refuse to build anywhere else.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "tensor_io.h: RawTensor data is little-endian and is memcpy'd to native numbers");

// Element types, named as safetensors names them. Declared in increasing size, in the order the
// reference implementation (huggingface/safetensors) sorts by; write_safetensors relies on it.
enum class DType { kU8, kF16, kBF16, kI32, kF32, kI64 };

size_t dtype_size(DType dtype);              // bytes per element
std::string dtype_name(DType dtype);         // "F32", "BF16", ...
DType parse_dtype(const std::string& name);  // throws std::invalid_argument listing valid names

// One tensor, dense, row-major (C order), data in little-endian bytes.
struct RawTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // {} is a scalar (one element); a 0 anywhere makes it empty
  std::vector<uint8_t> data;   // numel() * dtype_size(dtype) bytes

  size_t numel() const;  // product of shape; 1 for a scalar
};

// --- safetensors -------------------------------------------------------------------------------
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8, then the tensors' bytes back to back. Written exactly as
// the reference implementation writes it: largest element size first, then by name, so every
// tensor starts aligned to its element size; "__metadata__" only when there is some.

// Throws std::invalid_argument for bad tensors (data size not matching the shape, negative
// dimensions, empty or duplicate names, the reserved name "__metadata__") before touching the
// disk, and std::runtime_error when the file cannot be written (see write_file_atomic).
void write_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::vector<RawTensor> tensors;  // in name order
  std::map<std::string, std::string> metadata;

  const RawTensor* find(const std::string& name) const;  // nullptr when absent
};

// Validates the whole file (header, every dtype, shape and offset, that the tensors cover the data
// exactly) before reading any tensor; throws std::runtime_error naming the file and the problem.
SafetensorsFile read_safetensors(const std::string& path);

// --- .npy --------------------------------------------------------------------------------------
// Format 1.0 as numpy writes it: "\x93NUMPY" 1 0, uint16 header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a final '\n'
// so that the data starts at a multiple of 64 bytes, then the data in C order. The header is
// byte-identical to numpy's, including numpy's spare room for growing the first axis.

// Supported: F32 '<f4', F16 '<f2', I64 '<i8', I32 '<i4', U8 '|u1'. tensor.name is not stored.
// Throws std::invalid_argument for BF16 (numpy has no bfloat16) or a malformed tensor.
void write_npy(const std::string& path, const RawTensor& tensor);

// Reads versions 1.0 and 2.0 of the dtypes above, C order only. The result's name is the file's
// stem ("logits" for "out/logits.npy"). Throws std::runtime_error naming the file and the problem.
RawTensor read_npy(const std::string& path);
// The same from bytes in memory (a member of an .npz archive); `where` names them in errors
// ("batch.npz:data.npy") and its stem names the tensor.
RawTensor parse_npy(const std::vector<uint8_t>& bytes, const std::string& where);

}  // namespace hg
