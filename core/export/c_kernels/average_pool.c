/* QLinearAveragePool, NCHW, batch 1: per output position the sum of (x - x_zp) over the window's
 * taps inside the input, requantized with that position's multiplier, x_scale / (y_scale * n) for
 * the n taps the studio counts there (mult = 0 for an empty window: y = y_zp). */
static void jk_avgpool_VARIANT(const jk_pool *p, const XTYPE *x, XTYPE *y, int32_t x_zp, int32_t y_zp, const int32_t *mult,
                               const int8_t *shift, int32_t lo, int32_t hi)
{
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < p->channels; ++c)
        for (oy = 0; oy < p->h_out; ++oy)
            for (ox = 0; ox < p->w_out; ++ox) {
                const int32_t at = oy * p->w_out + ox;
                int32_t acc = 0;
                for (ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                    if (iy < 0 || iy >= p->h_in) continue;
                    for (kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                        if (ix < 0 || ix >= p->w_in) continue;
                        acc += (int32_t)x[(c * p->h_in + iy) * p->w_in + ix] - x_zp;
                    }
                }
                y[(c * p->h_out + oy) * p->w_out + ox] = (XTYPE)jk_clamp(y_zp + jk_requant(acc, mult[at], shift[at]), lo, hi);
            }
}
