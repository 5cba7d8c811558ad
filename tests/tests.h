/* tests.h - Check suites of codesim.  Each tests/check_*.c defines one
 * suite_*() and is listed in tests/main.c.  Check forks every test, so a
 * test may run the SystemC engine once (DESIGN 4). */
#ifndef CODESIM_TESTS_H
#define CODESIM_TESTS_H

#include <check.h>

#include "../arch/arch.h"
#include "../explorer/xp.h"
#include "../kernels/kern.h"
#include "../results/res.h"
#include "../sim/sim.h"
#include "../workloads/wl.h"

/* The data directory (CODESIM_HOME, set by make test). */
const char *t_home(void);
/* Run `codesim ARGS` (the built binary) capturing stdout/stderr; returns the exit code. */
int t_cli(const char *args, char *out, size_t outlen, char *errout, size_t errlen);

/* The number after "key": in a JSON text (the first occurrence); fails the
 * test if the key is missing. */
double t_json_num(const char *json, const char *key);
/* Simulate one sim kernel alone on the chip (in a forked worker); seconds.
 * launch: whether the kernel pays its launch gap. */
double t_sim_kernel(const arch_t *a, const sim_kernel *k, int launch);
/* Simulate kernels k[0..n) as one segment on chip's settings (its cores,
 * clock, bandwidths, comm_cores; its program fields are ignored), in a
 * forked worker; the step's seconds.  n <= 8. */
double t_sim_kernels(const sim_program *chip, const sim_kernel *k, int n);
/* step time of a one-kernel backward and a one-collective gradient sync
 * that overlaps it (SEG_BWD + SEG_SYNC), forked like t_sim_kernels */
double t_sim_bwd_sync(const sim_program *chip, const sim_kernel *bwd, const sim_kernel *sync);

Suite *suite_config(void);
Suite *suite_analytic(void);
Suite *suite_model(void);
Suite *suite_cli(void);
Suite *suite_sweep(void);
Suite *suite_compare(void);
Suite *suite_validation(void);
Suite *suite_chips(void);
Suite *suite_kernels(void);
Suite *suite_workloads(void);

#endif
