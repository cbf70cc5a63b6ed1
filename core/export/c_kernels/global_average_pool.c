/* QLinearGlobalAveragePool, NCHW: acc = sum over the S positions of (x - x_zp);
 * y = saturate(y_zp + requant(acc, mult, shift)), the multiplier being x_scale / (y_scale * S). */
static void jk_qgap_VARIANT(const XTYPE *x, XTYPE *y, int32_t channels, int32_t spatial, int32_t x_zp, int32_t y_zp,
                            int32_t mult, int shift, int32_t lo, int32_t hi)
{
    int32_t c, i;
    for (c = 0; c < channels; ++c) {
        int32_t acc = 0;
        for (i = 0; i < spatial; ++i) acc += (int32_t)x[c * spatial + i] - x_zp;
        y[c] = (XTYPE)jk_clamp(y_zp + jk_requant(acc, mult, shift), lo, hi);
    }
}
