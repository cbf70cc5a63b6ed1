/* Concat of 8-bit tensors along an axis: `outer` blocks, each input contributing `inner[i]` codes
 * per block, copied or mapped through a table (QLinearConcat's requantization of input i,
 * precomputed by the studio for all 256 codes; NULL = copy). */
static void jk_concat_VARIANT(const XTYPE *const *inputs, const XTYPE *const *tables, const int32_t *inner, int32_t count,
                              int32_t outer, int32_t offset, XTYPE *y)
{
    int32_t o, i, j;
    for (o = 0; o < outer; ++o)
        for (i = 0; i < count; ++i) {
            const XTYPE *src = inputs[i] + (int64_t)o * inner[i];
            if (!tables[i]) {
                memcpy(y, src, (size_t)inner[i] * sizeof *y);
            } else {
                for (j = 0; j < inner[i]; ++j) y[j] = tables[i][(int32_t)src[j] + offset];
            }
            y += inner[i];
        }
}
