/* Clamping to a code range: every integer kernel's last step. */

static int32_t jk_clamp(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}
