static void jk_qgemm_f32_VARIANT(const jk_gemm *p, const XTYPE *a, float *y)
{
    int32_t row, col;
    for (row = 0; row < p->m; ++row)
        for (col = 0; col < p->n; ++col)
            y[row * p->n + col] = (float)jk_gemm_acc_XVARIANT(p, a, row, col) * p->fscale[p->per_column ? col : 0];
}
