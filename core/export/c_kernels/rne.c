/* Round half to even of a float, for |v| < 2^23 by the 2^23 trick; larger values are integers. */
static float jk_rne(float v)
{
    const float big = 8388608.0f;
    float t = v < 0.0f ? -v : v;
    if (!(t < big)) return v;
    t = (t + big) - big;
    return v < 0.0f ? -t : t;
}
