// The AVX-512 requantizer (requant_avx512.h) against the scalar one (Requantizer in quant_math.h)
// that the portable kernels and the C export use: the same code for every accumulator, on both of
// its paths (exact in doubles for |acc| < 2^22, 64-bit lanes otherwise), ties included.
#include "runtime/cpu_isa.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/quant_math.h"

#include <QtTest>

#include <climits>
#include <random>
#include <vector>

namespace joule::rt::test {
void requantLanesAvx512(const int32_t* acc, int32_t* out, int32_t multiplier, int shift, int32_t zeroPoint, QuantClamp clamp);
void fastRequantLanesAvx512(const int32_t* acc, int32_t* out, int32_t multiplier, int shift, int32_t zeroPoint, QuantClamp clamp);
bool fastRequantExact(int64_t accMin, int64_t accMax, int32_t multiplier, int shift);
}

using namespace joule;
using namespace joule::rt;

class TestRequant : public QObject {
    Q_OBJECT

    // The 16 lanes `got` against the scalar Requantizer and clamp; counts the exact halves (ties)
    // and the lanes checked. Fails the test (and returns false) at the first difference.
    static bool compareLanes(const int32_t* accs, const int32_t* got, int32_t m, int s, int32_t zp, QuantClamp c, int64_t* ties,
                             int64_t* checked)
    {
        const Requantizer r{.multiplier = m, .shift = s};
        for (int k = 0; k < 16; ++k) {
            const int32_t acc = accs[k];
            const int32_t want = c.apply(r.apply(acc) + zp);
            const int64_t p = static_cast<int64_t>(acc) * m;
            *ties += (p & ((int64_t{1} << s) - 1)) == (int64_t{1} << (s - 1));
            if (got[k] != want) {
                QTest::qFail(qPrintable(QString("acc %1, multiplier %2, shift %3, zero point %4, clamp [%5, %6]: %7, expected %8")
                                            .arg(acc).arg(m).arg(s).arg(zp).arg(c.lo).arg(c.hi).arg(got[k]).arg(want)),
                             __FILE__, __LINE__);
                return false;
            }
            ++*checked;
        }
        return true;
    }

private slots:
    void vectorRequantizerMatchesScalarOnEveryPath()
    {
        if (!cpuHas(CpuFeature::Avx512Vnni)) QSKIP("this CPU has no AVX-512: the vector requantizer never runs here");
        std::mt19937 rng(5);
        std::vector<int32_t> accs = {0, 1, -1, 2, -2, 3, -3, (1 << 22) - 1, -((1 << 22) - 1), 1 << 22, -(1 << 22),
                                     (1 << 22) + 1, INT32_MAX, INT32_MIN, INT32_MIN + 1, 123456, -98765};
        std::uniform_int_distribution<int32_t> small(-(1 << 22) + 1, (1 << 22) - 1), any(INT32_MIN, INT32_MAX);
        while (accs.size() % 16) accs.push_back(7);
        // Vectors of small accumulators only (the double path), then mixed ones (the 64-bit path).
        for (int i = 0; i < 3200; ++i) accs.push_back(i % 16 == 0 ? static_cast<int32_t>(2 * (i / 16) + 1) : small(rng));
        for (int i = 0; i < 800; ++i) accs.push_back(i % 4 == 3 ? any(rng) : small(rng));
        // (multiplier, shift): powers of two make exact halves (ties) of odd accumulators.
        std::vector<std::pair<int32_t, int>> rqs = {{1 << 30, 31}, {1 << 30, 32}, {1 << 30, 1}, {(1 << 30) + 1, 40}, {INT32_MAX, 62},
                                                    {0, 31}};
        std::uniform_int_distribution<int32_t> mantissa(1 << 30, INT32_MAX);
        std::uniform_int_distribution<int> shift(1, 62);
        for (int i = 0; i < 60; ++i) rqs.emplace_back(mantissa(rng), shift(rng));
        const std::vector<QuantClamp> clamps = {{-128, 127}, {0, 255}, {0, 6}};
        int64_t checked = 0, ties = 0;
        for (const auto& [m, s] : rqs)
            for (const QuantClamp& c : clamps)
                for (int32_t zp : {0, -7, 130})
                    for (size_t i = 0; i < accs.size(); i += 16) {
                        int32_t got[16];
                        test::requantLanesAvx512(&accs[i], got, m, s, zp, c);
                        if (!compareLanes(&accs[i], got, m, s, zp, c, &ties, &checked)) return;
                    }
        QVERIFY(ties > 1000);   // the rounding of exact halves was exercised
        QVERIFY(checked > 2'000'000);
    }

    // FastRequant, the direct convolutions' shortcut, on accumulators within the bound its exact()
    // accepts for each multiplier (|acc| < 2^22 and |acc * m / 2^shift| < 2^30), the bound included.
    void fastRequantizerMatchesScalarWithinItsBound()
    {
        if (!cpuHas(CpuFeature::Avx512Vnni)) QSKIP("this CPU has no AVX-512: the vector requantizer never runs here");
        std::mt19937 rng(11);
        std::vector<std::pair<int32_t, int>> rqs = {{1 << 30, 31}, {1 << 30, 32}, {1 << 30, 38}, {(1 << 30) + 1, 40}, {INT32_MAX, 62},
                                                    {INT32_MAX, 31}, {0, 31}};
        std::uniform_int_distribution<int32_t> mantissa(1 << 30, INT32_MAX);
        std::uniform_int_distribution<int> shift(24, 50);
        for (int i = 0; i < 60; ++i) rqs.emplace_back(mantissa(rng), shift(rng));
        const std::vector<QuantClamp> clamps = {{-128, 127}, {0, 255}, {0, 6}};
        int64_t checked = 0, ties = 0, tested = 0;
        for (const auto& [m, s] : rqs) {
            int64_t bound = (int64_t{1} << 22) - 1;
            while (bound > 0 && !test::fastRequantExact(-bound, bound, m, s)) bound /= 2;
            while (bound > 0 && test::fastRequantExact(-(bound + 1), bound + 1, m, s)) ++bound;   // the largest accepted
            if (bound < 1) continue;
            ++tested;
            const int32_t b = static_cast<int32_t>(bound);
            std::vector<int32_t> accs = {0, 1, -1, 2, -2, 3, -3, b, -b, b - 1, -(b - 1)};
            std::uniform_int_distribution<int32_t> any(-b, b);
            while (accs.size() < 2400) accs.push_back(accs.size() % 3 == 0 ? 2 * (any(rng) / 2) + 1 : any(rng));
            for (const QuantClamp& c : clamps)
                for (int32_t zp : {0, -7, 130})
                    for (size_t i = 0; i + 16 <= accs.size(); i += 16) {
                        int32_t got[16];
                        test::fastRequantLanesAvx512(&accs[i], got, m, s, zp, c);
                        if (!compareLanes(&accs[i], got, m, s, zp, c, &ties, &checked)) return;
                    }
        }
        QVERIFY(tested > 40);
        QVERIFY(ties > 1000);
        QVERIFY(checked > 1'000'000);
    }
};

QTEST_GUILESS_MAIN(TestRequant)
#include "tst_requant.moc"
