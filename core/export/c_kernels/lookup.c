/* An elementwise function of 8-bit codes through the studio's own 256-entry table (QClamp, QLookup,
 * QLinearLeakyRelu, QLinearSigmoid): y = table[x], int8 codes indexed by x + 128. */
static void jk_lookup_VARIANT(const XTYPE *x, XTYPE *y, int32_t n, const XTYPE *table, int32_t offset)
{
    int32_t i;
    for (i = 0; i < n; ++i) y[i] = table[(int32_t)x[i] + offset];
}
