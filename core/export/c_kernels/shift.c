/* The requantizer's one rounding, as the studio's runtime/quant_math.h computes it
 * (docs/integer-runtime.md). */

/* floor(v / 2^s), without relying on >> of a negative number. */
static int64_t jk_floor_shift(int64_t v, int s)
{
    return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1;
}

/* v / 2^s rounded half to even, 1 <= s <= 62. */
static int64_t jk_shift_rne(int64_t v, int s)
{
    const int64_t q = jk_floor_shift(v, s);
    const int64_t rem = v - q * ((int64_t)1 << s);
    return q + (rem + (q & 1) > ((int64_t)1 << (s - 1)) ? 1 : 0);
}
