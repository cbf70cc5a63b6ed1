/* QGemm / QLinearMatMul, batch of M rows, int8 B per tensor or per column:
 *   acc = sum_k (A'[m][k] - a_zp) * (B'[k][n] - b_zp[n]) + C        int32
 *   quantized y: clamp(y_zp + requant(acc, mult[n], shift[n]))
 *   float y:     (float)acc * fscale[n]                               one float product */

static int32_t jk_gemm_acc_VARIANT(const jk_gemm *p, const XTYPE *a, int32_t row, int32_t col)
{
    const int32_t bzp = p->b_zp ? p->b_zp[col] : 0;
    int32_t acc = p->bias_mode == 1 ? p->bias[0] : p->bias_mode == 2 ? p->bias[col] : p->bias_mode == 3 ? p->bias[row * p->n + col] : 0;
    int32_t kk;
    for (kk = 0; kk < p->k; ++kk) {
        const int32_t av = p->trans_a ? (int32_t)a[kk * p->m + row] : (int32_t)a[row * p->k + kk];
        const int32_t bv = p->trans_b ? (int32_t)p->b[col * p->k + kk] : (int32_t)p->b[kk * p->n + col];
        acc += (av - p->a_zp) * (bv - bzp);
    }
    return acc;
}
