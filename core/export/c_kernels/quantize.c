/* QuantizeLinear of floats into codes, per tensor: saturate(rne(x / scale) + zp), with x / scale
 * one float division, as rt::quantizeValue. */
static void jk_quantize_VARIANT(const float *x, YTYPE *y, int32_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax)
{
    const float lo = (float)qmin - (float)zp, hi = (float)qmax - (float)zp;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float r = jk_rne(x[i] / scale);
        if (r != r) y[i] = (YTYPE)jk_clamp(zp, qmin, qmax);
        else if (r <= lo) y[i] = (YTYPE)qmin;
        else if (r >= hi) y[i] = (YTYPE)qmax;
        else y[i] = (YTYPE)jk_clamp((int64_t)r + zp, qmin, qmax);
    }
}
