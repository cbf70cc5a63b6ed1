/* QLinearConv, NCHW, batch 1, any group (depthwise included), int8 weights per tensor or per output
 * channel:
 *   acc = bias[m] + sum over the window of (x - x_zp) * (w - w_zp[m])        int32
 *   y   = clamp(y_zp + requant(acc, mult[m], shift[m]))
 * Taps in the padding contribute nothing (x = x_zp there): each output's window is clipped to the
 * input first, so the inner loops have no tests. Four output channels share each input load when a
 * group has a multiple of four and every weight zero point is 0. */

/* The taps k in [*k0, *k1) of a window starting at `start` (stride `dil`) that lie in [0, size). */
static void jk_window(int32_t start, int32_t dil, int32_t k, int32_t size, int32_t *k0, int32_t *k1)
{
    int32_t hi = (size - start + dil - 1) / dil;
    *k0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
    *k1 = hi < k ? hi : k;
}

static void jk_qconv_VARIANT(const jk_conv *p, const XTYPE *x, YTYPE *y)
{
    const int32_t cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    const int32_t kw = p->k_w, taps = p->k_h * p->k_w, wstride = cin_g * taps;
    const int32_t w_in = p->w_in, plane = p->h_in * p->w_in, out_plane = p->h_out * p->w_out;
    const int32_t x_zp = p->x_zp, dh = p->dil_h, dw = p->dil_w;
    const int32_t block = (!p->w_zp && cout_g % 4 == 0) ? 4 : 1;
    int32_t m, oy, ox, c, ky, kx, j;
    for (m = 0; m < p->c_out; m += block) {
        const int32_t g = m / cout_g;
        const int8_t *wm = p->w + (int64_t)m * wstride;
        for (oy = 0; oy < p->h_out; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            jk_window(iy0, dh, p->k_h, p->h_in, &ky0, &ky1);
            for (ox = 0; ox < p->w_out; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0, kx1, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                jk_window(ix0, dw, kw, w_in, &kx0, &kx1);
                if (block == 4) {
                    for (c = 0; c < cin_g; ++c) {
                        const XTYPE *xc = x + (int64_t)(g * cin_g + c) * plane + ix0;
                        const int8_t *wc = wm + c * taps;
                        for (ky = ky0; ky < ky1; ++ky) {
                            const XTYPE *r = xc + (iy0 + ky * dh) * w_in;
                            const int8_t *w0 = wc + ky * kw;
                            for (kx = kx0; kx < kx1; ++kx) {
                                const int32_t xv = (int32_t)r[kx * dw] - x_zp;
                                a0 += xv * w0[kx];
                                a1 += xv * w0[wstride + kx];
                                a2 += xv * w0[2 * wstride + kx];
                                a3 += xv * w0[3 * wstride + kx];
                            }
                        }
                    }
                } else {
                    const int32_t wzp = p->w_zp ? p->w_zp[m] : 0;
                    for (c = 0; c < cin_g; ++c) {
                        const XTYPE *xc = x + (int64_t)(g * cin_g + c) * plane + ix0;
                        const int8_t *wc = wm + c * taps;
                        for (ky = ky0; ky < ky1; ++ky) {
                            const XTYPE *r = xc + (iy0 + ky * dh) * w_in;
                            const int8_t *w0 = wc + ky * kw;
                            for (kx = kx0; kx < kx1; ++kx) a0 += ((int32_t)r[kx * dw] - x_zp) * ((int32_t)w0[kx] - wzp);
                        }
                    }
                }
                for (j = 0; j < block; ++j) {
                    const int32_t mj = m + j, q = p->per_channel ? mj : 0;
                    const int32_t acc = (j == 0 ? a0 : j == 1 ? a1 : j == 2 ? a2 : a3) + (p->bias ? p->bias[mj] : 0);
                    y[(int64_t)mj * out_plane + oy * p->w_out + ox] =
                        (YTYPE)jk_clamp(p->y_zp + jk_requant(acc, p->mult[q], p->shift[q]), p->act_min, p->act_max);
                }
            }
        }
    }
}
