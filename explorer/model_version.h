/*
 * model_version.h - the simulator's model version: part of every stored
 * point's identity (xp_point_identity) and of every stored sweep's
 * (xp_sweep_identity_text), so a database never mixes predictions of two
 * versions: a sweep resumed after a change recomputes its points (as a
 * new sweep of the same name) instead of reusing the old ones.
 *
 * BUMP IT IN THE SAME COMMIT AS ANY CHANGE THAT CHANGES A PREDICTION
 * (arch presets or keys, workloads, kernels, sim, results: anything that
 * moves a number `codesim run` prints).  A change that only refactors,
 * documents or touches the command line keeps it.  The golden points
 * (tests/golden/points.tsv) hold it: `make test` fails when a prediction
 * moved, and `make golden` re-records them only under a new version.
 *
 * Format: DATE-TOPIC, the date of the change and a word for it, so that
 * two branches that each bump it conflict on merge (two equal "N+1"
 * would merge silently into one version for two models): whoever merges
 * writes a new one.
 */
#ifndef CODESIM_MODEL_VERSION_H
#define CODESIM_MODEL_VERSION_H

#define CODESIM_MODEL_VERSION "2026-11-22-deepspeed-gather-buffer-zeroed"

#endif
