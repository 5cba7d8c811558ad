/*
 * membw.cu - device-memory bandwidth of the GPU it runs on.
 *
 * For buffers of 16 MiB to 4 GiB:
 *   copy   cudaMemcpyDeviceToDevice, bytes read + bytes written per second;
 *   read   a kernel that sums 16-byte loads (one small write per block);
 *   triad  a[i] = b[i] + s*c[i] in float4: two reads, one write.
 * The mean of 20 runs after 3 untimed ones.  Output: TSV on stdout.
 *
 * Build: nvcc -O2 -arch=native -o membw membw.cu
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define PROG "membw"
#include "check.h"

__global__ void triad(float4 *a, const float4 *b, const float4 *c, float s, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		float4 x = b[i], y = c[i];
		a[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
	}
}

__global__ void readsum(const float4 *b, size_t n, float *out)
{
	float acc = 0;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		float4 x = b[i];
		acc += x.x + x.y + x.z + x.w;
	}
	if (acc == 12345.678f)   /* never true for the zeroed input: keeps the loads */
		out[blockIdx.x] = acc;
}

int main(void)
{
	cudaDeviceProp prop;
	CK(cudaGetDeviceProperties(&prop, 0));
	size_t free_b = 0, total_b = 0;
	CK(cudaMemGetInfo(&free_b, &total_b));
	int blocks = prop.multiProcessorCount * 8;
	printf("device\ttest\tbuffer_MiB\tbytes_moved\tus\tGB_per_s\n");
	for (size_t mib = 16; mib <= 4096; mib *= 4) {
		size_t bytes = mib << 20;
		if (3 * bytes + (64 << 20) > free_b)
			break;
		float4 *a, *b, *c;
		float *out;
		CK(cudaMalloc(&a, bytes));
		CK(cudaMalloc(&b, bytes));
		CK(cudaMalloc(&c, bytes));
		CK(cudaMalloc(&out, blocks * sizeof(float)));
		CK(cudaMemset(a, 0, bytes));
		CK(cudaMemset(b, 0, bytes));
		CK(cudaMemset(c, 0, bytes));
		size_t n4 = bytes / sizeof(float4);
		cudaEvent_t e0, e1;
		CK(cudaEventCreate(&e0));
		CK(cudaEventCreate(&e1));
		for (int test = 0; test < 3; test++) {
			const char *name = test == 0 ? "copy" : test == 1 ? "read" : "triad";
			double moved = test == 0 ? 2.0 * bytes : test == 1 ? (double)bytes : 3.0 * bytes;
			for (int rep = 0; rep < 23; rep++) {
				if (rep == 3)
					CK(cudaEventRecord(e0, 0));
				if (test == 0)
					CK(cudaMemcpyAsync(a, b, bytes, cudaMemcpyDeviceToDevice, 0));
				else if (test == 1)
					readsum<<<blocks, 256>>>(b, n4, out);
				else
					triad<<<blocks, 256>>>(a, b, c, 0.5f, n4);
			}
			CK(cudaEventRecord(e1, 0));
			CK(cudaEventSynchronize(e1));
			CK(cudaGetLastError());
			float ms = 0;
			CK(cudaEventElapsedTime(&ms, e0, e1));
			double s = ms * 1e-3 / 20;
			printf("%s\t%s\t%zu\t%.0f\t%.2f\t%.1f\n", prop.name, name, mib, moved, s * 1e6, moved / s / 1e9);
		}
		CK(cudaEventDestroy(e0));
		CK(cudaEventDestroy(e1));
		CK(cudaFree(a));
		CK(cudaFree(b));
		CK(cudaFree(c));
		CK(cudaFree(out));
	}
	return 0;
}
