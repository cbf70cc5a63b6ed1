/* The parameters of a conv kernel call (see conv.c). */
typedef struct {
    int32_t c_in, h_in, w_in, c_out, h_out, w_out, group;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
    int32_t x_zp, y_zp, act_min, act_max, per_channel;
    const int8_t *w;          /* [c_out][c_in / group][k_h][k_w] */
    const int32_t *w_zp;      /* per channel, or NULL when every zero point is 0 */
    const int32_t *bias;      /* [c_out] or NULL */
    const int32_t *mult;      /* Q31 multipliers, [c_out] or [1] */
    const int8_t *shift;
} jk_conv;
