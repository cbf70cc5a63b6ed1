/* DequantizeLinear per tensor: y = (float)(x - zp) * scale, one float product. */
static void jk_dequantize_VARIANT(const XTYPE *x, float *y, int32_t n, float scale, int32_t zp)
{
    int32_t i;
    for (i = 0; i < n; ++i) y[i] = (float)((int32_t)x[i] - zp) * scale;
}
