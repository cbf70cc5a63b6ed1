/* round_half_to_even(acc * m0 / 2^shift): the Requantizer (m0 = 0 gives 0). */
static int64_t jk_requant(int32_t acc, int32_t m0, int shift)
{
    return jk_shift_rne((int64_t)acc * m0, shift);
}
