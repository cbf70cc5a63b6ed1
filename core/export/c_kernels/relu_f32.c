/* Relu / Clip in float: y = min(max(x, lo), hi). */
static void jk_clip_f32(const float *x, float *y, int32_t n, float lo, float hi)
{
    int32_t i;
    for (i = 0; i < n; ++i) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}
