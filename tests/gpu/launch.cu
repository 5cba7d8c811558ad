/*
 * launch.cu - kernel launch costs of the GPU and host it runs on.
 *
 *   stream_gap_us   back-to-back launches of an empty kernel on one stream:
 *                   elapsed GPU time / launches (the gap a queue of small
 *                   kernels pays each, codesim's sched.launch_overhead_us);
 *   host_launch_us  host time of one cudaLaunchKernel call (the rate a host
 *                   loop can issue kernels at);
 *   round_trip_us   launch + cudaStreamSynchronize of one empty kernel, host
 *                   clock (what a host-timed single operator pays at least).
 * Each the median of 5 runs of 10000 (2000 for the round trip).
 *
 * Build: nvcc -O2 -arch=native -o launch launch.cu
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PROG "launch"
#include "check.h"

__global__ void empty(void) {}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median5(double *v)
{
	qsort(v, 5, sizeof *v, cmp);
	return v[2];
}

int main(void)
{
	cudaDeviceProp prop;
	CK(cudaGetDeviceProperties(&prop, 0));
	cudaStream_t st;
	CK(cudaStreamCreate(&st));
	cudaEvent_t e0, e1;
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	for (int i = 0; i < 100; i++)
		empty<<<1, 32, 0, st>>>();
	CK(cudaStreamSynchronize(st));
	const int N = 10000, R = 2000;
	double gap[5], host[5], rt[5];
	for (int r = 0; r < 5; r++) {
		CK(cudaEventRecord(e0, st));
		double h0 = now_s();
		for (int i = 0; i < N; i++)
			empty<<<1, 32, 0, st>>>();
		double h1 = now_s();
		CK(cudaEventRecord(e1, st));
		CK(cudaEventSynchronize(e1));
		float ms = 0;
		CK(cudaEventElapsedTime(&ms, e0, e1));
		gap[r] = ms * 1e3 / N;
		host[r] = (h1 - h0) * 1e6 / N;
		double t0 = now_s();
		for (int i = 0; i < R; i++) {
			empty<<<1, 32, 0, st>>>();
			CK(cudaStreamSynchronize(st));
		}
		rt[r] = (now_s() - t0) * 1e6 / R;
	}
	CK(cudaGetLastError());
	printf("device\tstream_gap_us\thost_launch_us\tround_trip_us\n");
	printf("%s\t%.3f\t%.3f\t%.3f\n", prop.name, median5(gap), median5(host), median5(rt));
	CK(cudaEventDestroy(e0));
	CK(cudaEventDestroy(e1));
	CK(cudaStreamDestroy(st));
	return 0;
}
