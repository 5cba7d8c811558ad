/*
 * gemm.cu - time cuBLAS GEMMs of given shapes on the GPU it runs on.
 *
 * Each line of the shape file is "M N K LAYOUT [LABEL]", in codesim's
 * convention: C[M x N] = A[M x K] * B[K x N], row-major, every matrix 16-bit.
 * LAYOUT is two letters, how A and B are stored: N as written, T transposed
 * (PyTorch's nn.Linear forward is NT: the weight is stored [N x K]; its
 * input-gradient GEMM NN; its weight-gradient GEMM TN).
 *
 * Two timings per shape, because a GPU under a power limit lowers its clock
 * once it has run hot for a while:
 *   burst      after a second idle, the mean of 10 calls;
 *   sustained  after --warm seconds of back-to-back calls, the mean of as
 *              many calls as fill --time seconds.
 * Output: one TSV line per shape and timing on stdout (header first).
 *
 * Build: nvcc -O2 -arch=native -o gemm gemm.cu -lcublas
 */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "gemm"
#include "check.h"

#define CB(x)                                                                     \
	do {                                                                          \
		cublasStatus_t s_ = (x);                                                  \
		if (s_ != CUBLAS_STATUS_SUCCESS) {                                        \
			fprintf(stderr, "gemm: %s:%d: cuBLAS status %d\n", __FILE__, __LINE__, \
			        (int)s_);                                                     \
			exit(1);                                                              \
		}                                                                         \
	} while (0)

/* values in [-1, 1) from a hash of the index: no cuRAND, the same data each run */
__global__ void fill(uint16_t *p, size_t n, uint32_t seed, int bf16)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		uint32_t h = (uint32_t)i * 2654435761u ^ seed;
		h ^= h >> 15;
		h *= 2246822519u;
		h ^= h >> 13;
		float v = (float)(h & 0xffffff) / 8388608.0f - 1.0f;
		if (bf16) {
			__nv_bfloat16 b = __float2bfloat16(v);
			p[i] = *(uint16_t *)&b;
		} else {
			__half b = __float2half(v);
			p[i] = *(uint16_t *)&b;
		}
	}
}

typedef struct {
	long m, n, k;
	char layout[3];
	char label[64];
} shape;

typedef struct {
	cublasHandle_t h;
	cudaDataType_t dt;
	void *a, *b, *c;
} ctx;

/* row-major C[MxN] = A[MxK] B[KxN] is column-major C^T = B^T A^T */
static void call(const ctx *x, const shape *s)
{
	float alpha = 1.0f, beta = 0.0f;
	int bt = s->layout[1] == 'T', at = s->layout[0] == 'T';
	cublasOperation_t opb = bt ? CUBLAS_OP_T : CUBLAS_OP_N, opa = at ? CUBLAS_OP_T : CUBLAS_OP_N;
	int ldb = bt ? (int)s->k : (int)s->n, lda = at ? (int)s->m : (int)s->k;
	CB(cublasGemmEx(x->h, opb, opa, (int)s->n, (int)s->m, (int)s->k, &alpha, x->b, x->dt, ldb, x->a, x->dt, lda,
	                &beta, x->c, x->dt, (int)s->n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* mean seconds per call over `iters` calls */
static double timed(const ctx *x, const shape *s, long iters)
{
	cudaEvent_t e0, e1;
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	CK(cudaEventRecord(e0, 0));
	for (long i = 0; i < iters; i++)
		call(x, s);
	CK(cudaEventRecord(e1, 0));
	CK(cudaEventSynchronize(e1));
	float ms = 0;
	CK(cudaEventElapsedTime(&ms, e0, e1));
	CK(cudaEventDestroy(e0));
	CK(cudaEventDestroy(e1));
	return ms * 1e-3 / (double)iters;
}

static void usage(void)
{
	fprintf(stderr, "usage: gemm SHAPES_FILE [--dtype bf16|fp16] [--warm SECONDS] [--time SECONDS]\n"
	                "  SHAPES_FILE lines: M N K LAYOUT [LABEL]   (LAYOUT: NN NT TN TT; # comments)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *file = argv[1];
	int bf16 = 1;
	double warm_s = 2.0, time_s = 0.5;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "bf16"))
				bf16 = 1;
			else if (!strcmp(argv[i], "fp16"))
				bf16 = 0;
			else
				usage();
		} else if (!strcmp(argv[i], "--warm") && i + 1 < argc) {
			warm_s = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--time") && i + 1 < argc) {
			time_s = atof(argv[++i]);
		} else {
			usage();
		}
	}
	if (!(warm_s >= 0) || !(time_s > 0))
		usage();

	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 1;
	}
	shape *sh = NULL;
	int ns = 0, cap = 0, lineno = 0;
	char line[512];
	long maxa = 0, maxb = 0, maxc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		shape s;
		memset(&s, 0, sizeof s);
		int got = sscanf(p, "%ld %ld %ld %2s %63s", &s.m, &s.n, &s.k, s.layout, s.label);
		if (got < 4 || s.m < 1 || s.n < 1 || s.k < 1 || strlen(s.layout) != 2 || strspn(s.layout, "NT") != 2 ||
		    s.m > 1 << 20 || s.n > 1 << 20 || s.k > 1 << 20) {
			fprintf(stderr, "gemm: %s:%d: expected 'M N K LAYOUT [LABEL]', dims 1..1048576, LAYOUT of N/T\n", file,
			        lineno);
			return 2;
		}
		if (got < 5)
			snprintf(s.label, sizeof s.label, "-");
		if (ns == cap) {
			cap = cap ? 2 * cap : 64;
			sh = (shape *)realloc(sh, cap * sizeof *sh);
			if (!sh) {
				perror("realloc");
				return 1;
			}
		}
		sh[ns++] = s;
		if (s.m * s.k > maxa)
			maxa = s.m * s.k;
		if (s.k * s.n > maxb)
			maxb = s.k * s.n;
		if (s.m * s.n > maxc)
			maxc = s.m * s.n;
	}
	fclose(f);
	if (!ns) {
		fprintf(stderr, "gemm: %s: no shapes\n", file);
		return 2;
	}

	cudaDeviceProp prop;
	CK(cudaGetDeviceProperties(&prop, 0));
	ctx x;
	x.dt = bf16 ? CUDA_R_16BF : CUDA_R_16F;
	CK(cudaMalloc(&x.a, maxa * 2));
	CK(cudaMalloc(&x.b, maxb * 2));
	CK(cudaMalloc(&x.c, maxc * 2));
	fill<<<1024, 256>>>((uint16_t *)x.a, maxa, 1u, bf16);
	fill<<<1024, 256>>>((uint16_t *)x.b, maxb, 2u, bf16);
	CK(cudaGetLastError());
	CB(cublasCreate(&x.h));
	CK(cudaDeviceSynchronize());

	printf("device\tdtype\tm\tn\tk\tlayout\tlabel\ttiming\tcalls\tus_per_call\ttflops\n");
	for (int i = 0; i < ns; i++) {
		const shape *s = &sh[i];
		double flop = 2.0 * s->m * s->n * s->k;
		call(&x, s);   /* heuristics and workspace once, untimed */
		CK(cudaDeviceSynchronize());
		/* burst: from idle */
		usleep(1000000);
		double tb = timed(&x, s, 10);
		/* sustained: hot, then as many calls as fill time_s */
		double t1 = timed(&x, s, 3);
		long warm = (long)(warm_s / (t1 > 0 ? t1 : 1e-6));
		if (warm > 0)
			timed(&x, s, warm);
		long n = (long)(time_s / (t1 > 0 ? t1 : 1e-6));
		if (n < 10)
			n = 10;
		double ts = timed(&x, s, n);
		const char *dn = bf16 ? "bf16" : "fp16";
		printf("%s\t%s\t%ld\t%ld\t%ld\t%s\t%s\tburst\t10\t%.3f\t%.1f\n", prop.name, dn, s->m, s->n, s->k, s->layout,
		       s->label, tb * 1e6, flop / tb / 1e12);
		printf("%s\t%s\t%ld\t%ld\t%ld\t%s\t%s\tsustained\t%ld\t%.3f\t%.1f\n", prop.name, dn, s->m, s->n, s->k,
		       s->layout, s->label, n, ts * 1e6, flop / ts / 1e12);
		fflush(stdout);
	}
	CB(cublasDestroy(x.h));
	CK(cudaFree(x.a));
	CK(cudaFree(x.b));
	CK(cudaFree(x.c));
	free(sh);
	return 0;
}
