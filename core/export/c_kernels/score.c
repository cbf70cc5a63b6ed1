/* The scores of one output row: softmax probabilities, prediction, top-1 probability, margin and
 * entropy. The studio computes a stage's scores with this code (eval::scoreRow), and the C export
 * emits this file into model.c, so an exported cascade or early exit takes the same stage as the
 * studio on every input, including inputs whose probability equals a threshold.
 *
 * Written in the common subset of C99 and C++: no <math.h> (the export depends on <stdint.h> and
 * <string.h> only), float and double arithmetic only, so any IEEE 754 machine that evaluates
 * float as float (FLT_EVAL_METHOD 0) and does not fuse multiply-adds (-ffp-contract=off, which
 * -std=c99 implies for GCC) gives the same bits: x86-64 and Cortex-M4F alike.
 */

typedef struct {
    int32_t prediction;
    float top1;      /* top-1 probability */
    float margin;    /* top-1 minus top-2 probability */
    float entropy;   /* nats */
} jk_score;

static float jk_bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^x in float: x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite, ln2 split so that k * ln2_hi is
 * exact), e^r by its Taylor polynomial of degree 7 (error below 1e-8), times 2^k. */
static float jk_expf(float x)
{
    float kf, r, p;
    int32_t k;
    if (x != x) return x;
    if (x > 88.7228394f) return jk_bits_to_float(0x7f800000u);
    if (x < -103.972084f) return 0.0f;
    kf = jk_rne(x * 1.44269504f);
    k = (int32_t)kf;
    r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f +
        r * (0.00138888892f + r * 0.000198412701f))))));
    if (k > 127) { p = p * jk_bits_to_float(0x7f000000u); k -= 127; }     /* 2^127 */
    if (k < -126) { p = p * jk_bits_to_float(0x00800000u); k += 126; }    /* 2^-126 */
    return p * jk_bits_to_float((uint32_t)(k + 127) << 23);
}

/* Natural logarithm of x > 0 (the caller's guarantee; 0 otherwise) in double: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^23. */
static double jk_log(double x)
{
    uint64_t bits;
    int32_t e;
    double m, s, z, series;
    if (!(x > 0.0)) return 0.0;
    memcpy(&bits, &x, sizeof bits);
    e = (int32_t)((bits >> 52) & 0x7ff);
    if (e == 0) {                    /* subnormal: scale into the normal range first */
        x = x * 18014398509481984.0; /* 2^54 */
        memcpy(&bits, &x, sizeof bits);
        e = (int32_t)((bits >> 52) & 0x7ff) - 54;
    }
    e -= 1023;
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) { m = m * 0.5; e += 1; }
    s = (m - 1.0) / (m + 1.0);
    z = s * s;
    series = 1.0 / 23.0;
    series = 1.0 / 21.0 + z * series;
    series = 1.0 / 19.0 + z * series;
    series = 1.0 / 17.0 + z * series;
    series = 1.0 / 15.0 + z * series;
    series = 1.0 / 13.0 + z * series;
    series = 1.0 / 11.0 + z * series;
    series = 1.0 / 9.0 + z * series;
    series = 1.0 / 7.0 + z * series;
    series = 1.0 / 5.0 + z * series;
    series = 1.0 / 3.0 + z * series;
    series = 1.0 + z * series;
    return (double)e * 6.93147180369123816490e-01 + ((double)e * 1.90821492927058770002e-10 + 2.0 * s * series);
}

/* Scores of `classes` values. `prob` (room for `classes` floats) receives the probabilities: the
 * values themselves when they already are probabilities (each in [0, 1], summing to 1 within
 * 1e-3), else their softmax. */
static jk_score jk_score_row(const float *values, int32_t classes, float *prob)
{
    jk_score out;
    double sum = 0.0, entropy = 0.0;
    int probabilities = 1;
    int32_t c, best = 0, second = -1;
    for (c = 0; c < classes; ++c) {
        const float v = values[c];
        prob[c] = v;
        probabilities = probabilities && v >= 0.0f && v <= 1.0f;
        sum += v;
    }
    if (!probabilities || (sum - 1.0 > 1e-3 || 1.0 - sum > 1e-3)) {
        float mx = prob[0];
        for (c = 1; c < classes; ++c) if (prob[c] > mx) mx = prob[c];
        sum = 0.0;
        for (c = 0; c < classes; ++c) {
            prob[c] = jk_expf(prob[c] - mx);
            sum += prob[c];
        }
        for (c = 0; c < classes; ++c) prob[c] = (float)(prob[c] / sum);
    }
    for (c = 1; c < classes; ++c) {
        if (prob[c] > prob[best]) {
            second = best;
            best = c;
        } else if (second < 0 || prob[c] > prob[second]) {
            second = c;
        }
    }
    for (c = 0; c < classes; ++c) if (prob[c] > 0.0f) entropy -= (double)prob[c] * jk_log((double)prob[c]);
    out.prediction = best;
    out.top1 = prob[best];
    out.margin = second >= 0 ? prob[best] - prob[second] : prob[best];
    out.entropy = (float)entropy;
    return out;
}
