/* MaxPool on codes, NCHW, batch 1 (the codes keep their scale and zero point). Taps in the padding
 * are skipped. */

static void jk_maxpool_VARIANT(const jk_pool *p, const XTYPE *x, XTYPE *y)
{
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < p->channels; ++c)
        for (oy = 0; oy < p->h_out; ++oy)
            for (ox = 0; ox < p->w_out; ++ox) {
                int32_t best = -2147483647 - 1, any = 0;
                for (ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
                    if (iy < 0 || iy >= p->h_in) continue;
                    for (kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dil_w;
                        if (ix < 0 || ix >= p->w_in) continue;
                        if (!any || (int32_t)x[(c * p->h_in + iy) * p->w_in + ix] > best) best = x[(c * p->h_in + iy) * p->w_in + ix];
                        any = 1;
                    }
                }
                y[(c * p->h_out + oy) * p->w_out + ox] = (XTYPE)best;
            }
}
