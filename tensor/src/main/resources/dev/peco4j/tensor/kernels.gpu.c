/*
 * peco4j's device kernels (see prelude.gpu.h for the dialect). Each one mirrors a method of the
 * Backend interface and is tested against the host reference. Reductions use a fixed tree, so
 * results do not depend on timing.
 */

/* Codes shared with OpenClBackend: unary functions are numbered as the first entries of Op, binary ones as BinaryOps.Fn. */
#define U_NEG 0
#define U_EXP 1
#define U_LOG 2
#define U_SQRT 3
#define U_RSQRT 4
#define U_ABS 5
#define U_SIGN 6
#define U_SIN 7
#define U_COS 8
#define U_TANH 9
#define U_SIGMOID 10
#define U_RELU 11
#define U_RELU6 12
#define U_LEAKY_RELU 13
#define U_GELU 14
#define U_SILU 15
#define U_CLAMP 16
#define U_POW 17
#define U_NONE 99

#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_POW 4
#define B_MIN 5
#define B_MAX 6
#define B_EQ 7
#define B_NE 8
#define B_LT 9
#define B_LE 10
#define B_GT 11
#define B_GE 12

#define GROUP_SIZE 256
#define TILE 16

DEVICE float sigmoid_f(float x) {
    return x >= 0 ? 1.0f / (1.0f + exp(-x)) : exp(x) / (1.0f + exp(x));
}

DEVICE float unary_f(int fn, float x, float p0, float p1) {
    switch (fn) {
        case U_NEG: return -x;
        case U_EXP: return exp(x);
        case U_LOG: return log(x);
        case U_SQRT: return sqrt(x);
        case U_RSQRT: return 1.0f / sqrt(x);
        case U_ABS: return fabs(x);
        case U_SIGN: return x > 0 ? 1.0f : x < 0 ? -1.0f : x;
        case U_SIN: return sin(x);
        case U_COS: return cos(x);
        case U_TANH: return tanh(x);
        case U_SIGMOID: return sigmoid_f(x);
        case U_RELU: return x > 0 ? x : 0.0f;
        case U_RELU6: return fmin(fmax(x, 0.0f), 6.0f);
        case U_LEAKY_RELU: return x > 0 ? x : p0 * x;
        case U_GELU: return 0.5f * x * (1.0f + ERF(x * 0.70710678118654752f));
        case U_SILU: return x * sigmoid_f(x);
        case U_CLAMP: return fmin(fmax(x, p0), p1);
        case U_POW: return pow(x, p0);
        default: return x;
    }
}

/* dy/dx at input x with output y. */
DEVICE float derivative_f(int fn, float x, float y, float p0, float p1) {
    switch (fn) {
        case U_NEG: return -1.0f;
        case U_EXP: return y;
        case U_LOG: return 1.0f / x;
        case U_SQRT: return 0.5f / y;
        case U_RSQRT: return -0.5f * y * y * y;
        case U_ABS: return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;
        case U_SIGN: return 0.0f;
        case U_SIN: return cos(x);
        case U_COS: return -sin(x);
        case U_TANH: return 1.0f - y * y;
        case U_SIGMOID: return y * (1.0f - y);
        case U_RELU: return x > 0 ? 1.0f : 0.0f;
        case U_RELU6: return x > 0 && x < 6 ? 1.0f : 0.0f;
        case U_LEAKY_RELU: return x > 0 ? 1.0f : p0;
        case U_GELU: return 0.5f * (1.0f + ERF(x * 0.70710678118654752f)) + x * 0.3989422804014327f * exp(-0.5f * x * x);
        case U_SILU: { float s = sigmoid_f(x); return s * (1.0f + x * (1.0f - s)); }
        case U_CLAMP: return x >= p0 && x <= p1 ? 1.0f : 0.0f;
        case U_POW: return p0 == 0 ? 0.0f : p0 * pow(x, p0 - 1);
        default: return 1.0f;
    }
}

DEVICE float binary_f(int fn, float a, float b) {
    switch (fn) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_POW: return pow(a, b);
        case B_MIN: return a != a || b != b ? a + b : fmin(a, b);
        case B_MAX: return a != a || b != b ? a + b : fmax(a, b);
        case B_EQ: return a == b;
        case B_NE: return a != b;
        case B_LT: return a < b;
        case B_LE: return a <= b;
        case B_GT: return a > b;
        default: return a >= b;
    }
}

DEVICE int binary_i(int fn, int a, int b) {
    switch (fn) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return b == 0 ? 0 : a / b;
        case B_MIN: return a < b ? a : b;
        case B_MAX: return a > b ? a : b;
        case B_EQ: return a == b;
        case B_NE: return a != b;
        case B_LT: return a < b;
        case B_LE: return a <= b;
        case B_GT: return a > b;
        case B_GE: return a >= b;
        default: return 0;
    }
}

/* The offset of element i (row-major over g.shape) in a view with the given strides. */
DEVICE int view_offset(const Geom *g, int i, const int *strides) {
    int off = 0;
    for (int d = g->rank - 1; d >= 0; d--) {
        int size = g->shape[d];
        off += (i % size) * strides[d];
        i /= size;
    }
    return off;
}

/* out[view] = convert(a[view]): copies, casts, broadcasts (stride 0) and fills (a scalar). */
#define COPY_KERNEL(NAME, TO, FROM, CONVERT) \
KERNEL NAME(GLOBAL TO *out, GLOBAL const FROM *a, Geom g) { \
    int i = GID(0); \
    if (i >= g.n) return; \
    FROM v = a[g.a_offset + view_offset(&g, i, g.a_strides)]; \
    out[g.out_offset + view_offset(&g, i, g.out_strides)] = CONVERT; \
}
COPY_KERNEL(copy_f, float, float, v)
COPY_KERNEL(copy_i, int, int, v)
COPY_KERNEL(cast_f_i, int, float, (int) v)
COPY_KERNEL(cast_i_f, float, int, (float) v)
COPY_KERNEL(cast_f_b, int, float, v != 0)
COPY_KERNEL(cast_i_b, int, int, v != 0)

/* y = f(x) over n contiguous elements. */
KERNEL map_f(GLOBAL float *y, GLOBAL const float *x, int x_offset, int n, int fn, float p0, float p1) {
    int i = GID(0);
    if (i < n) y[i] = unary_f(fn, x[x_offset + i], p0, p1);
}

/* dx = g * f'(x, y) over n contiguous elements. */
KERNEL map_backward_f(GLOBAL float *dx, GLOBAL const float *x, int x_offset, GLOBAL const float *y, int y_offset,
                      GLOBAL const float *g, int g_offset, int n, int fn, float p0, float p1) {
    int i = GID(0);
    if (i < n) {
        float xv = x[x_offset + i];
        dx[i] = g[g_offset + i] * derivative_f(fn, xv, y[y_offset + i], p0, p1);
    }
}

/* out (contiguous) = fn(a, b) at the broadcast shape, a and b read through their views. */
KERNEL zip_f(GLOBAL float *out, GLOBAL const float *a, GLOBAL const float *b, Geom g, int fn) {
    int i = GID(0);
    if (i >= g.n) return;
    out[i] = binary_f(fn, a[g.a_offset + view_offset(&g, i, g.a_strides)], b[g.b_offset + view_offset(&g, i, g.b_strides)]);
}

KERNEL compare_f(GLOBAL int *out, GLOBAL const float *a, GLOBAL const float *b, Geom g, int fn) {
    int i = GID(0);
    if (i >= g.n) return;
    out[i] = (int) binary_f(fn, a[g.a_offset + view_offset(&g, i, g.a_strides)], b[g.b_offset + view_offset(&g, i, g.b_strides)]);
}

KERNEL zip_i(GLOBAL int *out, GLOBAL const int *a, GLOBAL const int *b, Geom g, int fn) {
    int i = GID(0);
    if (i >= g.n) return;
    out[i] = binary_i(fn, a[g.a_offset + view_offset(&g, i, g.a_strides)], b[g.b_offset + view_offset(&g, i, g.b_strides)]);
}

/* out (contiguous) = cond ? a : b; cond read through out_strides, a and b through theirs. */
#define WHERE_KERNEL(NAME, T) \
KERNEL NAME(GLOBAL T *out, GLOBAL const int *cond, int cond_offset, GLOBAL const T *a, GLOBAL const T *b, Geom g) { \
    int i = GID(0); \
    if (i >= g.n) return; \
    out[i] = cond[cond_offset + view_offset(&g, i, g.out_strides)] != 0 \
        ? a[g.a_offset + view_offset(&g, i, g.a_strides)] : b[g.b_offset + view_offset(&g, i, g.b_strides)]; \
}
WHERE_KERNEL(where_f, float)
WHERE_KERNEL(where_i, int)

/* The sum of every lane's v over the work-group, by a fixed tree in part; every lane gets it (all lanes must call). */
DEVICE float group_sum(float v, LOCAL_ARG float *part, int lane) {
    part[lane] = v;
    SYNC();
    for (int s = GROUP_SIZE / 2; s > 0; s >>= 1) {
        if (lane < s) part[lane] += part[lane + s];
        SYNC();
    }
    float total = part[0];
    SYNC();
    return total;
}

/* The maximum of every lane's v over the work-group, as group_sum. */
DEVICE float group_max(float v, LOCAL_ARG float *part, int lane) {
    part[lane] = v;
    SYNC();
    for (int s = GROUP_SIZE / 2; s > 0; s >>= 1) {
        if (lane < s) part[lane] = fmax(part[lane], part[lane + s]);
        SYNC();
    }
    float top = part[0];
    SYNC();
    return top;
}

/*
 * One work-group of GROUP_SIZE per row of a contiguous (rows, cols) matrix: lane l takes columns
 * l, l + GROUP_SIZE, ... in order, then the lanes are combined by a fixed tree.
 */
#define ROW_REDUCE(NAME, T, INIT, COMBINE) \
KERNEL NAME(GLOBAL T *out, GLOBAL const T *x, int x_offset, int cols) { \
    LOCAL T part[GROUP_SIZE]; \
    int row = GROUP(0), lane = LID(0); \
    GLOBAL const T *r = x + x_offset + (long) row * cols; \
    T acc = INIT; \
    for (int c = lane; c < cols; c += GROUP_SIZE) { T v = r[c]; acc = COMBINE; } \
    part[lane] = acc; \
    SYNC(); \
    for (int s = GROUP_SIZE / 2; s > 0; s >>= 1) { \
        if (lane < s) { T v = part[lane + s]; acc = part[lane]; part[lane] = COMBINE; } \
        SYNC(); \
    } \
    if (lane == 0) out[row] = part[0]; \
}
ROW_REDUCE(sum_rows_f, float, 0.0f, acc + v)
ROW_REDUCE(sum_rows_i, int, 0, acc + v)
ROW_REDUCE(max_rows_f, float, -INFINITY, (v != v || acc != acc) ? acc + v : fmax(acc, v))

/* Softmax (or log-softmax) of each contiguous row: one work-group per row, max and sum by fixed trees. */
KERNEL softmax_rows_f(GLOBAL float *y, GLOBAL const float *x, int x_offset, int cols, int log_softmax) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *r = x + x_offset + (long) row * cols;
    GLOBAL float *o = y + (long) row * cols;
    float m = -INFINITY;
    for (int c = lane; c < cols; c += GROUP_SIZE) m = fmax(m, r[c]);
    m = group_max(m, part, lane);
    if (m == -INFINITY) m = 0.0f;
    float sum = 0.0f;
    for (int c = lane; c < cols; c += GROUP_SIZE) sum += exp(r[c] - m);
    sum = group_sum(sum, part, lane);
    if (log_softmax) {
        float lse = m + log(sum);
        for (int c = lane; c < cols; c += GROUP_SIZE) o[c] = r[c] - lse;
    } else {
        float inv = 1.0f / sum;
        for (int c = lane; c < cols; c += GROUP_SIZE) o[c] = exp(r[c] - m) * inv;
    }
}

/* The input gradient of softmax, y·(g − Σ g·y), or of log-softmax, g − e^y·Σ g, per contiguous row. */
KERNEL softmax_backward_rows_f(GLOBAL float *dx, GLOBAL const float *y, int y_offset, GLOBAL const float *g, int g_offset,
                               int cols, int log_softmax) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *yr = y + y_offset + (long) row * cols;
    GLOBAL const float *gr = g + g_offset + (long) row * cols;
    GLOBAL float *o = dx + (long) row * cols;
    float acc = 0.0f;
    for (int c = lane; c < cols; c += GROUP_SIZE) acc += log_softmax ? gr[c] : gr[c] * yr[c];
    float dot = group_sum(acc, part, lane);
    for (int c = lane; c < cols; c += GROUP_SIZE) o[c] = log_softmax ? gr[c] - exp(yr[c]) * dot : yr[c] * (gr[c] - dot);
}

/*
 * C[batch] (n × m, contiguous) = act(alpha · A[batch] · B[batch] + bias), A (n × k) and B (k × m) read through
 * their row and column strides. A work-group of TILE × TILE work items computes a block of
 * BLOCK × BLOCK outputs, each item REG × REG of them (rows ty + TILE·i, columns tx + TILE·j), from
 * K_STEP-deep slices of A and B staged in local memory; k is summed in order. Z, when given
 * (store_z), receives the value before the activation.
 */
#define REG 4
#define BLOCK (TILE * REG)
#define K_STEP 16
KERNEL gemm_f(GLOBAL float *c, GLOBAL float *z, int store_z, GLOBAL const float *a, GLOBAL const float *b,
              GLOBAL const float *bias, int has_bias, int n, int m, int k,
              int a_offset, int a_batch, int a_row, int a_col, int b_offset, int b_batch, int b_row, int b_col,
              float alpha, int act, float p0, float p1) {
    LOCAL float as[K_STEP][BLOCK + 1];
    LOCAL float bs[K_STEP][BLOCK + 1];
    int tx = LID(0), ty = LID(1), lane = ty * TILE + tx;
    int col0 = GROUP(0) * BLOCK, row0 = GROUP(1) * BLOCK, batch = GID(2);
    GLOBAL const float *ab = a + a_offset + (long) batch * a_batch;
    GLOBAL const float *bb = b + b_offset + (long) batch * b_batch;
    float acc[REG][REG];
    for (int i = 0; i < REG; i++) for (int j = 0; j < REG; j++) acc[i][j] = 0.0f;
    for (int t = 0; t < k; t += K_STEP) {
        for (int e = lane; e < BLOCK * K_STEP; e += TILE * TILE) {
            int r = e / K_STEP, kk = e % K_STEP, row = row0 + r, ak = t + kk;       /* A: consecutive lanes walk k */
            as[kk][r] = row < n && ak < k ? ab[(long) row * a_row + (long) ak * a_col] : 0.0f;
            int bk = t + e / BLOCK, cc = e % BLOCK, col = col0 + cc;                 /* B: consecutive lanes walk columns */
            bs[e / BLOCK][cc] = col < m && bk < k ? bb[(long) bk * b_row + (long) col * b_col] : 0.0f;
        }
        SYNC();
        for (int kk = 0; kk < K_STEP; kk++) {
            float av[REG], bv[REG];
            for (int i = 0; i < REG; i++) av[i] = as[kk][ty + TILE * i];
            for (int j = 0; j < REG; j++) bv[j] = bs[kk][tx + TILE * j];
            for (int i = 0; i < REG; i++) for (int j = 0; j < REG; j++) acc[i][j] += av[i] * bv[j];
        }
        SYNC();
    }
    for (int i = 0; i < REG; i++) {
        int row = row0 + ty + TILE * i;
        if (row >= n) continue;
        for (int j = 0; j < REG; j++) {
            int col = col0 + tx + TILE * j;
            if (col >= m) continue;
            float v = acc[i][j] * alpha;
            if (has_bias) v += bias[col];
            long at = (long) batch * n * m + (long) row * m + col;
            if (store_z) z[at] = v;
            c[at] = act == U_NONE ? v : unary_f(act, v, p0, p1);
        }
    }
}

/* One Adam/AdamW step on contiguous p, g, m, v (PyTorch's order of operations). */
KERNEL adam_f(GLOBAL float *p, GLOBAL const float *g, int g_offset, GLOBAL float *m, GLOBAL float *v, int n,
              float lr, float beta1, float beta2, float eps, float wd, int decoupled, float bc1, float sqrt_bc2) {
    int i = GID(0);
    if (i >= n) return;
    float pv = p[i], gv = g[g_offset + i];
    if (decoupled) pv *= 1.0f - lr * wd;
    else gv += wd * pv;
    float mv = beta1 * m[i] + (1.0f - beta1) * gv;
    float vv = beta2 * v[i] + (1.0f - beta2) * gv * gv;
    m[i] = mv;
    v[i] = vv;
    p[i] = pv - (lr / bc1) * mv / (sqrt(vv) / sqrt_bc2 + eps);
}


/*
 * The affine parameter of element j of row r: layer norm's own (plane = 0), or group norm's channel, row r
 * being group r % groups of an image and each channel a plane of `plane` elements.
 */
DEVICE int affine_index(int r, int j, int d, int groups, int plane) {
    return plane == 0 ? j : (r % groups) * (d / plane) + j / plane;
}

/*
 * Layer norm (or group norm) of each contiguous row of d elements: one work-group per row; mean, then the
 * biased variance, by fixed trees; then the affine map of each element's parameter (affine_index).
 */
KERNEL layer_norm_f(GLOBAL float *y, GLOBAL float *mean, GLOBAL float *rstd, GLOBAL const float *x, int x_offset,
                    GLOBAL const float *w, GLOBAL const float *b, int has_w, int has_b, int d, float eps, int groups, int plane) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *r = x + x_offset + (long) row * d;
    float acc = 0.0f;
    for (int j = lane; j < d; j += GROUP_SIZE) acc += r[j];
    float m = group_sum(acc, part, lane) / d;
    acc = 0.0f;
    for (int j = lane; j < d; j += GROUP_SIZE) { float c = r[j] - m; acc += c * c; }
    float rs = 1.0f / sqrt(group_sum(acc, part, lane) / d + eps);
    GLOBAL float *o = y + (long) row * d;
    for (int j = lane; j < d; j += GROUP_SIZE) {
        int a = affine_index(row, j, d, groups, plane);
        o[j] = (r[j] - m) * rs * (has_w ? w[a] : 1.0f) + (has_b ? b[a] : 0.0f);
    }
    if (lane == 0) { mean[row] = m; rstd[row] = rs; }
}

/* dx of layer (or group) norm per contiguous row: rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)). */
KERNEL layer_norm_backward_f(GLOBAL float *dx, GLOBAL const float *dy, int dy_offset, GLOBAL const float *x, int x_offset,
                             GLOBAL const float *w, int has_w, GLOBAL const float *mean, GLOBAL const float *rstd, int d, int groups, int plane) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *g = dy + dy_offset + (long) row * d;
    GLOBAL const float *r = x + x_offset + (long) row * d;
    float m = mean[row], rs = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int j = lane; j < d; j += GROUP_SIZE) {
        float gw = g[j] * (has_w ? w[affine_index(row, j, d, groups, plane)] : 1.0f);
        sg += gw;
        sgx += gw * (r[j] - m) * rs;
    }
    sg = group_sum(sg, part, lane) / d;
    sgx = group_sum(sgx, part, lane) / d;
    GLOBAL float *o = dx + (long) row * d;
    for (int j = lane; j < d; j += GROUP_SIZE) {
        float xhat = (r[j] - m) * rs;
        o[j] = rs * (g[j] * (has_w ? w[affine_index(row, j, d, groups, plane)] : 1.0f) - sg - xhat * sgx);
    }
}

/* dw and db of layer norm, column j summed over the rows in order (one work item per column). */
KERNEL layer_norm_dwdb_f(GLOBAL float *dw, GLOBAL float *db, GLOBAL const float *dy, int dy_offset, GLOBAL const float *x, int x_offset,
                         GLOBAL const float *mean, GLOBAL const float *rstd, int rows, int d) {
    int j = GID(0);
    if (j >= d) return;
    float sw = 0.0f, sb = 0.0f;
    for (int r = 0; r < rows; r++) {
        float g = dy[dy_offset + (long) r * d + j];
        sw += g * (x[x_offset + (long) r * d + j] - mean[r]) * rstd[r];
        sb += g;
    }
    dw[j] = sw;
    db[j] = sb;
}

/* dw and db of group norm, channel c summed over the images, then over its plane, in order (one work item per channel). */
KERNEL group_norm_dwdb_f(GLOBAL float *dw, GLOBAL float *db, GLOBAL const float *dy, int dy_offset, GLOBAL const float *x, int x_offset,
                         GLOBAL const float *mean, GLOBAL const float *rstd, int images, int channels, int groups, int plane) {
    int c = GID(0);
    if (c >= channels) return;
    int cg = channels / groups;
    float sw = 0.0f, sb = 0.0f;
    for (int n = 0; n < images; n++) {
        int row = n * groups + c / cg;
        long at = ((long) n * channels + c) * plane;
        for (int s = 0; s < plane; s++) {
            float g = dy[dy_offset + at + s];
            sw += g * (x[x_offset + at + s] - mean[row]) * rstd[row];
            sb += g;
        }
    }
    dw[c] = sw;
    db[c] = sb;
}

/* Softmax cross-entropy per contiguous row of c logits: loss = lse − (1−ε)·x[t] − ε·mean(x), 0 where t = ignore. */
KERNEL cross_entropy_f(GLOBAL float *loss, GLOBAL float *lse_out, GLOBAL const float *x, int x_offset, GLOBAL const int *target,
                       int t_offset, int c, float smoothing, int ignore) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *r = x + x_offset + (long) row * c;
    float m = -INFINITY;
    for (int j = lane; j < c; j += GROUP_SIZE) m = fmax(m, r[j]);
    m = group_max(m, part, lane);
    if (m == -INFINITY || m == INFINITY) m = 0.0f;
    float e = 0.0f;
    for (int j = lane; j < c; j += GROUP_SIZE) e += exp(r[j] - m);
    float lse = m + log(group_sum(e, part, lane));
    float sum = 0.0f;
    for (int j = lane; j < c; j += GROUP_SIZE) sum += r[j];
    sum = group_sum(sum, part, lane);
    if (lane == 0) {
        int t = target[t_offset + row];
        lse_out[row] = lse;
        loss[row] = t == ignore ? 0.0f : lse - (1.0f - smoothing) * r[t] - smoothing * sum / c;
    }
}

/* dx = g·(softmax(x) − (1−ε)·onehot(t) − ε/C) per element, 0 on ignored rows. */
KERNEL cross_entropy_backward_f(GLOBAL float *dx, GLOBAL const float *x, int x_offset, GLOBAL const float *lse, GLOBAL const int *target,
                                int t_offset, GLOBAL const float *g, int g_offset, int rows, int c, float smoothing, int ignore) {
    int i = GID(0);
    if (i >= rows * c) return;
    int row = i / c, j = i % c, t = target[t_offset + row];
    dx[i] = t == ignore ? 0.0f : g[g_offset + row] * (exp(x[x_offset + i] - lse[row]) - (j == t ? 1.0f - smoothing : 0.0f) - smoothing / c);
}

/* The first index of the maximum (or minimum) of each contiguous row; NaN wins, as in PyTorch. */
KERNEL argmax_rows_f(GLOBAL int *out, GLOBAL const float *x, int x_offset, int cols, int find_min) {
    LOCAL float best[GROUP_SIZE];
    LOCAL int at[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL const float *r = x + x_offset + (long) row * cols;
    float b = 0.0f;
    int bi = -1;
    for (int c = lane; c < cols; c += GROUP_SIZE) {
        float v = find_min ? -r[c] : r[c];
        if (bi < 0 || (b == b && (v != v || v > b))) { b = v; bi = c; }
    }
    best[lane] = b;
    at[lane] = bi;
    SYNC();
    for (int s = GROUP_SIZE / 2; s > 0; s >>= 1) {
        if (lane < s) {
            float v = best[lane + s], u = best[lane];
            int vi = at[lane + s], ui = at[lane];
            /* the other half wins when it has a candidate and: we have none, or it is NaN and we are not,
               or both are numbers and it is larger, or equal with a smaller index */
            int take = vi >= 0 && (ui < 0 || (v != v && (u == u || vi < ui)) || (u == u && v == v && (v > u || (v == u && vi < ui))));
            if (take) { best[lane] = v; at[lane] = vi; }
        }
        SYNC();
    }
    if (lane == 0) out[row] = at[0];
}

/* Attention logits in place: s (batch·heads, n, m) += bias, and −∞ where a key is masked. */
KERNEL attn_scores_f(GLOBAL float *s, GLOBAL const float *bias, int has_bias, int bias_per_batch, GLOBAL const int *mask, int mask_offset,
                     int has_mask, int heads, int n, int m, int total) {
    int i = GID(0);
    if (i >= total) return;
    int key = i % m, bh = i / (n * m), b = bh / heads, h = bh % heads, q = (i / m) % n;
    float v = s[i];
    if (has_bias) v += bias[(((long) (bias_per_batch ? b : 0) * heads + h) * n + q) * m + key];
    if (has_mask && mask[mask_offset + b * m + key] == 0) v = -INFINITY;
    s[i] = v;
}

/* Each row of logits in place into probabilities, with its log-sum-exp; a row with every key masked gives 0 and +∞. */
KERNEL attn_softmax_f(GLOBAL float *s, GLOBAL float *lse, int cols) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    GLOBAL float *r = s + (long) row * cols;
    float m = -INFINITY;
    for (int c = lane; c < cols; c += GROUP_SIZE) m = fmax(m, r[c]);
    m = group_max(m, part, lane);
    if (m == -INFINITY) {
        for (int c = lane; c < cols; c += GROUP_SIZE) r[c] = 0.0f;
        if (lane == 0) lse[row] = INFINITY;
        return;
    }
    float sum = 0.0f;
    for (int c = lane; c < cols; c += GROUP_SIZE) sum += exp(r[c] - m);
    float l = m + log(group_sum(sum, part, lane));
    for (int c = lane; c < cols; c += GROUP_SIZE) r[c] = exp(r[c] - l);
    if (lane == 0) lse[row] = l;
}

/* Logits in place into the probabilities saved by the forward: exp(s − lse), 0 where lse is +∞. */
KERNEL attn_probs_f(GLOBAL float *s, GLOBAL const float *lse, int lse_offset, int cols, int total) {
    int i = GID(0);
    if (i >= total) return;
    float l = lse[lse_offset + i / cols];
    s[i] = l == INFINITY ? 0.0f : exp(s[i] - l);
}

/* dS = P ⊙ (dP − rowdot(dO, O)) per row, in place over dP. */
KERNEL attn_dscores_f(GLOBAL float *dp, GLOBAL const float *p, GLOBAL const float *dout, int dout_offset, GLOBAL const float *out,
                      int out_offset, int cols, int e) {
    LOCAL float part[GROUP_SIZE];
    int row = GROUP(0), lane = LID(0);
    float acc = 0.0f;
    for (int c = lane; c < e; c += GROUP_SIZE) acc += dout[dout_offset + (long) row * e + c] * out[out_offset + (long) row * e + c];
    float dot = group_sum(acc, part, lane);
    for (int c = lane; c < cols; c += GROUP_SIZE) {
        long k = (long) row * cols + c;
        dp[k] = p[k] * (dp[k] - dot);
    }
}

/* The geometry of a convolution: x (N,C,H,W), w (O,C/G,KH,KW), y (N,O,OH,OW), all contiguous. */
typedef struct {
    int n, c, h, w, o, kh, kw, oh, ow, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
} Conv;

/* y[n,o,oy,ox] = Σ x[n, g·Cg + c, oy·s − p + ky·d, ...] · w[o, c, ky, kx]: one work item per output, summed in order. */
KERNEL conv2d_f(GLOBAL float *y, GLOBAL const float *x, int x_offset, GLOBAL const float *w, int w_offset, Conv g) {
    int i = GID(0);
    if (i >= g.n * g.o * g.oh * g.ow) return;
    int ox = i % g.ow, oy = (i / g.ow) % g.oh, o = (i / (g.ow * g.oh)) % g.o, n = i / (g.ow * g.oh * g.o);
    int cg = g.c / g.groups, og = g.o / g.groups, c0 = (o / og) * cg;
    float acc = 0.0f;
    for (int c = 0; c < cg; c++) {
        for (int ky = 0; ky < g.kh; ky++) {
            int iy = oy * g.stride_h - g.pad_h + ky * g.dil_h;
            if (iy < 0 || iy >= g.h) continue;
            for (int kx = 0; kx < g.kw; kx++) {
                int ix = ox * g.stride_w - g.pad_w + kx * g.dil_w;
                if (ix < 0 || ix >= g.w) continue;
                acc += x[x_offset + (((long) n * g.c + c0 + c) * g.h + iy) * g.w + ix] * w[w_offset + (((long) o * cg + c) * g.kh + ky) * g.kw + kx];
            }
        }
    }
    y[i] = acc;
}

/* dx[n,c,iy,ix] = Σ over the outputs that read it of dy · w: one work item per input element. */
KERNEL conv2d_backward_input_f(GLOBAL float *dx, GLOBAL const float *dy, int dy_offset, GLOBAL const float *w, int w_offset, Conv g) {
    int i = GID(0);
    if (i >= g.n * g.c * g.h * g.w) return;
    int ix = i % g.w, iy = (i / g.w) % g.h, c = (i / (g.w * g.h)) % g.c, n = i / (g.w * g.h * g.c);
    int cg = g.c / g.groups, og = g.o / g.groups, grp = c / cg, cl = c % cg;
    float acc = 0.0f;
    for (int ol = 0; ol < og; ol++) {
        int o = grp * og + ol;
        for (int ky = 0; ky < g.kh; ky++) {
            int ty = iy + g.pad_h - ky * g.dil_h;
            if (ty < 0 || ty % g.stride_h != 0) continue;
            int oy = ty / g.stride_h;
            if (oy >= g.oh) continue;
            for (int kx = 0; kx < g.kw; kx++) {
                int tx = ix + g.pad_w - kx * g.dil_w;
                if (tx < 0 || tx % g.stride_w != 0) continue;
                int ox = tx / g.stride_w;
                if (ox >= g.ow) continue;
                acc += dy[dy_offset + (((long) n * g.o + o) * g.oh + oy) * g.ow + ox] * w[w_offset + (((long) o * cg + cl) * g.kh + ky) * g.kw + kx];
            }
        }
    }
    dx[i] = acc;
}

/* dw[o,c,ky,kx] = Σ_n,oy,ox dy · x: one work item per weight, summed in order. */
KERNEL conv2d_backward_weight_f(GLOBAL float *dw, GLOBAL const float *dy, int dy_offset, GLOBAL const float *x, int x_offset, Conv g) {
    int cg = g.c / g.groups, og = g.o / g.groups;
    int i = GID(0);
    if (i >= g.o * cg * g.kh * g.kw) return;
    int kx = i % g.kw, ky = (i / g.kw) % g.kh, cl = (i / (g.kw * g.kh)) % cg, o = i / (g.kw * g.kh * cg);
    int c = (o / og) * cg + cl;
    float acc = 0.0f;
    for (int n = 0; n < g.n; n++) {
        for (int oy = 0; oy < g.oh; oy++) {
            int iy = oy * g.stride_h - g.pad_h + ky * g.dil_h;
            if (iy < 0 || iy >= g.h) continue;
            for (int ox = 0; ox < g.ow; ox++) {
                int ix = ox * g.stride_w - g.pad_w + kx * g.dil_w;
                if (ix < 0 || ix >= g.w) continue;
                acc += dy[dy_offset + (((long) n * g.o + o) * g.oh + oy) * g.ow + ox] * x[x_offset + (((long) n * g.c + c) * g.h + iy) * g.w + ix];
            }
        }
    }
    dw[i] = acc;
}

/* index_select: out (contiguous, g.shape) = x (through a_strides) with the coordinate of dim replaced by index[b_offset + c]. */
#define INDEX_SELECT_KERNEL(NAME, T) \
KERNEL NAME(GLOBAL T *out, GLOBAL const T *x, GLOBAL const int *index, Geom g, int dim) { \
    int i = GID(0); \
    if (i >= g.n) return; \
    int rest = i, xo = g.a_offset; \
    for (int d = g.rank - 1; d >= 0; d--) { \
        int c = rest % g.shape[d]; \
        rest /= g.shape[d]; \
        if (d == dim) c = index[g.b_offset + c]; \
        xo += c * g.a_strides[d]; \
    } \
    out[i] = x[xo]; \
}
INDEX_SELECT_KERNEL(index_select_f, float)
INDEX_SELECT_KERNEL(index_select_i, int)

/* gather: out (contiguous, the index's shape) = x at the index's coordinates, with dim's taken from the index (read through b_strides). */
#define GATHER_KERNEL(NAME, T) \
KERNEL NAME(GLOBAL T *out, GLOBAL const T *x, GLOBAL const int *index, Geom g, int dim) { \
    int i = GID(0); \
    if (i >= g.n) return; \
    int rest = i, xo = g.a_offset, io = g.b_offset; \
    for (int d = g.rank - 1; d >= 0; d--) { \
        int c = rest % g.shape[d]; \
        rest /= g.shape[d]; \
        io += c * g.b_strides[d]; \
        if (d != dim) xo += c * g.a_strides[d]; \
    } \
    out[i] = x[xo + index[io] * g.a_strides[dim]]; \
}
GATHER_KERNEL(gather_f, float)
GATHER_KERNEL(gather_i, int)

/*
 * index_add: out (contiguous, like self) = self + the rows of src (contiguous, dim of size len) that the
 * index sends to each row r of dim, in index order: positions[starts[r] .. starts[r + 1]).
 */
#define INDEX_ADD_KERNEL(NAME, T) \
KERNEL NAME(GLOBAL T *out, GLOBAL const T *self, int self_offset, GLOBAL const T *src, int src_offset, GLOBAL const int *starts, \
            GLOBAL const int *positions, int n, int size, int inner, int len) { \
    int i = GID(0); \
    if (i >= n) return; \
    int in = i % inner, r = (i / inner) % size, o = i / (inner * size); \
    T acc = self[self_offset + i]; \
    for (int p = starts[r]; p < starts[r + 1]; p++) acc += src[src_offset + ((long) o * len + positions[p]) * inner + in]; \
    out[i] = acc; \
}
INDEX_ADD_KERNEL(index_add_f, float)
INDEX_ADD_KERNEL(index_add_i, int)

/* out (contiguous) = self + Σ src[at[p]] for p in [starts[i], starts[i + 1]), in order: scatter_add grouped by target. */
#define SEGMENT_ADD_KERNEL(NAME, T) \
KERNEL NAME(GLOBAL T *out, GLOBAL const T *self, int self_offset, GLOBAL const T *src, GLOBAL const int *starts, GLOBAL const int *at, int n) { \
    int i = GID(0); \
    if (i >= n) return; \
    T acc = self[self_offset + i]; \
    for (int p = starts[i]; p < starts[i + 1]; p++) acc += src[at[p]]; \
    out[i] = acc; \
}
SEGMENT_ADD_KERNEL(segment_add_f, float)
SEGMENT_ADD_KERNEL(segment_add_i, int)

/* The geometry of a 2-D pooling over planes (N·C) of h × w into oh × ow, as Pool2dParams. */
typedef struct {
    int planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, count_include_pad;
} Pool;

/* An average window along one axis: [start, end) clipped to the input, and the span of its divisor with padding. */
DEVICE void avg_window(int i, int stride, int pad, int k, int in, int *start, int *end, int *padded) {
    int s = i * stride - pad, e = min(s + k, in + pad);
    *padded = e - s;
    *start = max(s, 0);
    *end = min(e, in);
}

DEVICE int avg_divisor(const Pool *p, int h0, int h1, int hp, int w0, int w1, int wp) {
    return p->count_include_pad ? hp * wp : (h1 - h0) * (w1 - w0);
}

KERNEL avg_pool_f(GLOBAL float *y, GLOBAL const float *x, int x_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.oh * p.ow) return;
    int oj = i % p.ow, oi = (i / p.ow) % p.oh, pl = i / (p.ow * p.oh);
    int h0, h1, hp, w0, w1, wp;
    avg_window(oi, p.stride_h, p.pad_h, p.kh, p.h, &h0, &h1, &hp);
    avg_window(oj, p.stride_w, p.pad_w, p.kw, p.w, &w0, &w1, &wp);
    float s = 0.0f;
    for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) s += x[x_offset + ((long) pl * p.h + a) * p.w + b];
    y[i] = s / avg_divisor(&p, h0, h1, hp, w0, w1, wp);
}

/* dx of average pooling: each input element sums the shares of the windows that hold it, window by window in order. */
KERNEL avg_pool_backward_f(GLOBAL float *dx, GLOBAL const float *g, int g_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.h * p.w) return;
    int b = i % p.w, a = (i / p.w) % p.h, pl = i / (p.w * p.h);
    float acc = 0.0f;
    for (int oi = max(0, (a + p.pad_h - p.kh) / p.stride_h); oi < p.oh && oi * p.stride_h - p.pad_h <= a; oi++) {
        int h0, h1, hp;
        avg_window(oi, p.stride_h, p.pad_h, p.kh, p.h, &h0, &h1, &hp);
        if (a < h0 || a >= h1) continue;
        for (int oj = max(0, (b + p.pad_w - p.kw) / p.stride_w); oj < p.ow && oj * p.stride_w - p.pad_w <= b; oj++) {
            int w0, w1, wp;
            avg_window(oj, p.stride_w, p.pad_w, p.kw, p.w, &w0, &w1, &wp);
            if (b < w0 || b >= w1) continue;
            acc += g[g_offset + ((long) pl * p.oh + oi) * p.ow + oj] / avg_divisor(&p, h0, h1, hp, w0, w1, wp);
        }
    }
    dx[i] = acc;
}

/* Max pooling: the value and the in-plane index (h·W + w) of the first maximum of each window; NaN wins. */
KERNEL max_pool_f(GLOBAL float *y, GLOBAL int *arg, GLOBAL const float *x, int x_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.oh * p.ow) return;
    int oj = i % p.ow, oi = (i / p.ow) % p.oh, pl = i / (p.ow * p.oh);
    float best = -INFINITY;
    int at = -1;
    for (int a = 0; a < p.kh; a++) {
        int ih = oi * p.stride_h - p.pad_h + a * p.dil_h;
        if (ih < 0 || ih >= p.h) continue;
        for (int b = 0; b < p.kw; b++) {
            int iw = oj * p.stride_w - p.pad_w + b * p.dil_w;
            if (iw < 0 || iw >= p.w) continue;
            float e = x[x_offset + ((long) pl * p.h + ih) * p.w + iw];
            if (at < 0 || e > best || (e != e && best == best)) { best = e; at = ih * p.w + iw; }
        }
    }
    y[i] = best;
    arg[i] = at;
}

/*
 * dx of max pooling: each input element sums the gradients of the windows whose maximum it was, in window
 * order. The window geometry is not known here (only the saved indices), so every window of the plane is looked at.
 */
KERNEL max_pool_backward_f(GLOBAL float *dx, GLOBAL const float *g, int g_offset, GLOBAL const int *arg, int arg_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.h * p.w) return;
    int b = i % p.w, a = (i / p.w) % p.h, pl = i / (p.w * p.h), here = a * p.w + b;
    float acc = 0.0f;
    for (long k = (long) pl * p.oh * p.ow; k < (long) (pl + 1) * p.oh * p.ow; k++) {
        if (arg[arg_offset + k] == here) acc += g[g_offset + k];
    }
    dx[i] = acc;
}

/* Adaptive window i of n over an axis of size in: [floor(i·in/n), ceil((i+1)·in/n)). */
DEVICE int adaptive_start(int i, int n, int in) { return (int) (((long) i * in) / n); }
DEVICE int adaptive_end(int i, int n, int in) { return (int) ((((long) (i + 1)) * in + n - 1) / n); }

KERNEL adaptive_avg_pool_f(GLOBAL float *y, GLOBAL const float *x, int x_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.oh * p.ow) return;
    int oj = i % p.ow, oi = (i / p.ow) % p.oh, pl = i / (p.ow * p.oh);
    int h0 = adaptive_start(oi, p.oh, p.h), h1 = adaptive_end(oi, p.oh, p.h), w0 = adaptive_start(oj, p.ow, p.w), w1 = adaptive_end(oj, p.ow, p.w);
    float s = 0.0f;
    for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) s += x[x_offset + ((long) pl * p.h + a) * p.w + b];
    y[i] = s / ((h1 - h0) * (w1 - w0));
}

KERNEL adaptive_avg_pool_backward_f(GLOBAL float *dx, GLOBAL const float *g, int g_offset, Pool p) {
    int i = GID(0);
    if (i >= p.planes * p.h * p.w) return;
    int b = i % p.w, a = (i / p.w) % p.h, pl = i / (p.w * p.h);
    float acc = 0.0f;
    for (int oi = 0; oi < p.oh; oi++) {
        int h0 = adaptive_start(oi, p.oh, p.h), h1 = adaptive_end(oi, p.oh, p.h);
        if (a < h0 || a >= h1) continue;
        for (int oj = 0; oj < p.ow; oj++) {
            int w0 = adaptive_start(oj, p.ow, p.w), w1 = adaptive_end(oj, p.ow, p.w);
            if (b < w0 || b >= w1) continue;
            acc += g[g_offset + ((long) pl * p.oh + oi) * p.ow + oj] / ((h1 - h0) * (w1 - w0));
        }
    }
    dx[i] = acc;
}
