/*
 * A stand-in for the NVIDIA driver (libcuda.so.1) on machines without one, for CudaRuntimeTest: it
 * implements every driver call peco4j binds with the prototypes of cuda.h, keeps "device" memory in
 * host memory, and runs two kernels in C, copy_f and map_f (as a clamp, whatever its function), so that the Java side's bindings, argument
 * marshalling (device pointers, ints and a struct by value through kernelParams), launch geometry,
 * copies and releases are exercised for real. Any other kernel fails with CUDA_ERROR_NOT_SUPPORTED.
 * mock_live_bytes() reports the bytes allocated and not yet freed.
 *
 * The same file stands in for NVRTC (libnvrtc.so): it takes the kernel sources and the architecture
 * option and returns a PTX naming the two kernels above, or, with MOCK_NVRTC_FAIL set, refuses to
 * compile with a log, so that the fallback to the shipped PTX runs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef int CUdevice;

#define CTX ((void *) 0x1)
#define STREAM ((void *) 0x2)
#define MODULE ((void *) 0x3)
#define POOL ((void *) 0x4)
#define NOT_SUPPORTED 801
#define INVALID_VALUE 1
#define INVALID_CONTEXT 201
#define INVALID_HANDLE 400

static long long live_bytes;
static int current_set;

long long mock_live_bytes(void) { return live_bytes; }

CUresult cuInit(unsigned int flags) { return flags == 0 ? 0 : INVALID_VALUE; }
CUresult cuDriverGetVersion(int *v) { *v = 12080; return 0; }
CUresult cuGetErrorName(CUresult e, const char **s) {
    *s = e == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : e == NOT_SUPPORTED ? "CUDA_ERROR_NOT_SUPPORTED" : "CUDA_ERROR_MOCK";
    return 0;
}
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, CUdevice d) { strncpy(name, "Mock GPU", len); return 0; }
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) { *bytes = (size_t) 1 << 30; return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) { *v = attr == 75 ? 9 : 0; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, CUdevice d) { *ctx = CTX; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { if (ctx != CTX) return INVALID_CONTEXT; current_set = 1; return 0; }
CUresult cuStreamCreate(void **s, unsigned int flags) { *s = STREAM; return current_set ? 0 : INVALID_CONTEXT; }
CUresult cuStreamSynchronize(void *s) { return s == STREAM ? 0 : INVALID_HANDLE; }

CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned int n, int *options, void **values) {
    if (strstr((const char *) image, ".visible .entry copy_f(") == NULL) return 218; /* CUDA_ERROR_INVALID_PTX */
    if (n != 2 || options[0] != 5 || options[1] != 6 || (uintptr_t) values[1] < 1024) return INVALID_VALUE;
    *m = MODULE;
    return 0;
}

CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
    if (m != MODULE) return INVALID_HANDLE;
    *f = strdup(name);
    return 0;
}

CUresult cuMemAllocAsync(CUdeviceptr *p, size_t bytes, void *s) {
    if (s != STREAM) return INVALID_HANDLE;
    size_t *block = malloc(bytes + 16);
    if (block == NULL) return 2;
    block[0] = bytes;
    live_bytes += bytes;
    *p = (CUdeviceptr) (uintptr_t) ((char *) block + 16);
    return 0;
}

CUresult cuMemFreeAsync(CUdeviceptr p, void *s) {
    if (s != STREAM) return INVALID_HANDLE;
    size_t *block = (size_t *) ((char *) (uintptr_t) p - 16);
    live_bytes -= block[0];
    free(block);
    return 0;
}

CUresult cuDeviceGetDefaultMemPool(void **pool, CUdevice d) { *pool = POOL; return 0; }
CUresult cuMemPoolSetAttribute(void *pool, int attr, void *value) {
    return pool == POOL && attr == 4 && *(uint64_t *) value == UINT64_MAX ? 0 : INVALID_VALUE;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) { memcpy((void *) (uintptr_t) dst, src, n); return 0; }
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) { memcpy(dst, (const void *) (uintptr_t) src, n); return 0; }

/* kernels.gpu.c's Geom and view_offset. */
#define MAX_RANK 8
typedef struct {
    int rank, n, out_offset, a_offset, b_offset;
    int shape[MAX_RANK], out_strides[MAX_RANK], a_strides[MAX_RANK], b_strides[MAX_RANK];
} Geom;

static int view_offset(const Geom *g, int i, const int *strides) {
    int off = 0;
    for (int d = g->rank - 1; d >= 0; d--) {
        off += (i % g->shape[d]) * strides[d];
        i /= g->shape[d];
    }
    return off;
}

CUresult cuLaunchKernel(void *f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                        unsigned int bz, unsigned int shared, void *s, void **params, void **extra) {
    if (s != STREAM || extra != NULL || shared != 0) return INVALID_VALUE;
    if (strcmp((const char *) f, "map_f") == 0) {
        float *y = *(float **) params[0];
        const float *x = *(const float **) params[1];
        int x_offset = *(int *) params[2], n = *(int *) params[3];
        float lo = *(float *) params[5], hi = *(float *) params[6];
        if ((long long) gx * bx < n || gy * by != 1 || gz * bz != 1) return INVALID_VALUE;
        for (int i = 0; i < n; i++) y[i] = fminf(fmaxf(x[x_offset + i], lo), hi);
        return 0;
    }
    if (strcmp((const char *) f, "copy_f") != 0) return NOT_SUPPORTED;
    float *out = *(float **) params[0];
    const float *a = *(const float **) params[1];
    const Geom *g = (const Geom *) params[2];
    if ((long long) gx * bx < g->n || gy * by != 1 || gz * bz != 1) return INVALID_VALUE;
    for (int i = 0; i < g->n; i++) {
        out[g->out_offset + view_offset(g, i, g->out_strides)] = a[g->a_offset + view_offset(g, i, g->a_strides)];
    }
    return 0;
}

/* NVRTC */
static const char *MOCK_PTX = "// mock NVRTC\n.visible .entry copy_f(\n.visible .entry map_f(\n";
static const char *MOCK_LOG = "mock: compilation refused";

int nvrtcCreateProgram(void **prog, const char *src, const char *name, int headers, const char *const *h, const char *const *names) {
    if (strstr(src, "#define KERNEL") == NULL || strcmp(name, "kernels.cu") != 0 || headers != 0) return 3; /* INVALID_INPUT */
    *prog = strdup(src);
    return 0;
}
int nvrtcCompileProgram(void *prog, int n, const char *const *options) {
    if (n != 2 || strcmp(options[0], "--gpu-architecture=compute_90") != 0) return 5; /* INVALID_OPTION */
    return getenv("MOCK_NVRTC_FAIL") ? 6 : 0; /* COMPILATION */
}
int nvrtcGetProgramLogSize(void *prog, size_t *size) { *size = strlen(MOCK_LOG) + 1; return 0; }
int nvrtcGetProgramLog(void *prog, char *log) { strcpy(log, MOCK_LOG); return 0; }
int nvrtcGetPTXSize(void *prog, size_t *size) { *size = strlen(MOCK_PTX) + 1; return 0; }
int nvrtcGetPTX(void *prog, char *ptx) { strcpy(ptx, MOCK_PTX); return 0; }
int nvrtcDestroyProgram(void **prog) { free(*prog); *prog = NULL; return 0; }
