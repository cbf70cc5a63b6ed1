#pragma once
// Integer GEMM with few rows (QGemm's classifier at batch 1..8) on AVX-512 VNNI: uint8 A x int8 B
// with B's zero point 0, its columns packed once into blocks of 16 as vpdpbusd wants them.
//
//   intgemv::PackedB pb = intgemv::pack(b, transB, K, N);        // prepare(): B constant
//   intgemv::run(pb, a, M, aFlip, a4, acc, threads);             // eval(): acc = M x N int32
//
// acc[m][n] = sum_k a_u8[m][k] * b[k][n], where a_u8 = a ^ aFlip (0x80 turns int8 codes into
// uint8 ones, code + 128; the caller folds that offset and A's zero point in through colSums).
// Compiled for AVX-512 VNNI (int_gemv_vnni.cpp); call only when intconv::DirectConv::cpuSupported().

#include <cstdint>
#include <vector>

namespace joule::rt::intgemv {

struct PackedB {
    int64_t K = 0, N = 0, k4 = 0, blocks = 0;
    std::vector<int32_t> data;      // [N / 16 block][K / 4][16 columns] dwords of 4 int8 (zeros past K, N)
    std::vector<int64_t> colSums;   // per column n: sum_k b[k][n]
};

// b: [K][N] int8, or [N][K] when transB.
PackedB pack(const int8_t* b, bool transB, int64_t K, int64_t N);

// a: M rows of K bytes (row stride K); a4: scratch of M * b.k4 dwords; acc: M x N int32, row-major.
void run(const PackedB& b, const uint8_t* a, int64_t M, uint8_t aFlip, int32_t* a4, int32_t* acc, int threads);

} // namespace joule::rt::intgemv
