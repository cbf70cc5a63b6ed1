static void jk_qgemm_VARIANT(const jk_gemm *p, const XTYPE *a, YTYPE *y)
{
    int32_t row, col;
    for (row = 0; row < p->m; ++row)
        for (col = 0; col < p->n; ++col) {
            const int32_t q = p->per_column ? col : 0;
            y[row * p->n + col] = (YTYPE)jk_clamp(p->y_zp + jk_requant(jk_gemm_acc_XVARIANT(p, a, row, col), p->mult[q], p->shift[q]),
                                                  p->act_min, p->act_max);
        }
}
