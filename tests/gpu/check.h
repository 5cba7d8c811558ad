/* check.h - the error check the programs of tests/gpu share.  Define PROG
 * (the program's name, for messages) before including it. */
#ifndef CODESIM_GPU_CHECK_H
#define CODESIM_GPU_CHECK_H
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

/* a failed CUDA runtime call ends the program with where and why */
#define CK(x)                                                                                        \
	do {                                                                                             \
		cudaError_t e_ = (x);                                                                        \
		if (e_ != cudaSuccess) {                                                                     \
			fprintf(stderr, "%s: %s:%d: %s\n", PROG, __FILE__, __LINE__, cudaGetErrorString(e_));    \
			exit(1);                                                                                 \
		}                                                                                            \
	} while (0)

#endif
