/* QLinearAdd of two same-shape tensors: both rescaled to y's scale with one common shift s, one
 * rounding: y = clamp(y_zp + rne(((a - a_zp) * ma + (b - b_zp) * mb) / 2^s)). */
static void jk_qadd_VARIANT(const XTYPE *a, const XTYPE *b, XTYPE *y, int32_t n, int32_t a_zp, int32_t b_zp,
                            int64_t ma, int64_t mb, int s, int32_t y_zp, int32_t lo, int32_t hi)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int64_t acc = ((int64_t)a[i] - a_zp) * ma + ((int64_t)b[i] - b_zp) * mb;
        y[i] = (XTYPE)jk_clamp(jk_shift_rne(acc, s) + y_zp, lo, hi);
    }
}
