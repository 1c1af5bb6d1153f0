/*
 * peco4j's kernel dialect: C that compiles as OpenCL C 1.2 and as CUDA C. Kernels use only these
 * names for what differs between the two: KERNEL for an entry point, DEVICE for a helper function,
 * GLOBAL and LOCAL for memory spaces (LOCAL_ARG for a local-memory pointer parameter), GID/LID/GROUP for work-item ids and SYNC for a work-group barrier.
 */
#ifdef __OPENCL_VERSION__
#define KERNEL __kernel void
#define DEVICE
#define GLOBAL __global
#define LOCAL __local
#define LOCAL_ARG __local
#define GID(d) ((int) get_global_id(d))
#define LID(d) ((int) get_local_id(d))
#define GROUP(d) ((int) get_group_id(d))
#define SYNC() barrier(CLK_LOCAL_MEM_FENCE)
#define ERF(x) erf(x)
#else
#define KERNEL extern "C" __global__ void
#define DEVICE __device__
#define GLOBAL
#define LOCAL __shared__
#define LOCAL_ARG
#define GID(d) ((int) ((d) == 0 ? blockIdx.x * blockDim.x + threadIdx.x : (d) == 1 ? blockIdx.y * blockDim.y + threadIdx.y : blockIdx.z * blockDim.z + threadIdx.z))
#define LID(d) ((int) ((d) == 0 ? threadIdx.x : (d) == 1 ? threadIdx.y : threadIdx.z))
#define GROUP(d) ((int) ((d) == 0 ? blockIdx.x : (d) == 1 ? blockIdx.y : blockIdx.z))
#define SYNC() __syncthreads()
#define ERF(x) erff(x)
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#define exp expf
#define log logf
#define sqrt sqrtf
#define fabs fabsf
#define sin sinf
#define cos cosf
#define tanh tanhf
#define pow powf
#define fmin fminf
#define fmax fmaxf
#endif

#define MAX_RANK 8

/* The strided geometry of an elementwise op: n elements of a rank-r shape, read through up to three views. */
typedef struct {
    int rank, n, out_offset, a_offset, b_offset;
    int shape[MAX_RANK];
    int out_strides[MAX_RANK];
    int a_strides[MAX_RANK];
    int b_strides[MAX_RANK];
} Geom;
