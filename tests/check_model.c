/* check_model.c - parameter counts against published figures, FLOP counts
 * against hand-computed formulas. */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wl_model load_model(const char *name)
{
	wl_model m;
	char err[512];
	ck_assert_msg(wl_model_load(&m, t_home(), name, err, sizeof err) == 0, "%s", err);
	return m;
}

START_TEST(params_match_published)
{
	/* published totals (and active counts for MoE), from each preset's source */
	static const struct {
		const char *name;
		double total_B, active_B, tol_active;
	} pub[] = {
	    {"llama3-8b", 8.03, 0, 0},     {"llama3-70b", 70.6, 0, 0},    {"llama3-405b", 405, 0, 0},
	    {"gpt3-175b", 175, 0, 0},      {"palm-540b", 540.35, 0, 0},   {"bert-large", 0.335, 0, 0},
	    {"mixtral-8x7b", 46.7, 12.9, 0.01}, {"grok1-314b", 314, 0, 0},
	    /* DeepSeek-V3: 671B total; "37B activated" is rounded (36.7B in its
	     * README_WEIGHTS); counting config.json's tensors gives 37.55B */
	    {"deepseek-v3", 671, 37, 0.02},
	};
	for (size_t i = 0; i < sizeof pub / sizeof *pub; i++) {
		wl_model m = load_model(pub[i].name);
		double t = wl_params_total(&m) / 1e9;
		ck_assert_msg(fabs(t / pub[i].total_B - 1) < 0.01, "%s: %.3fB vs %.3fB", pub[i].name, t, pub[i].total_B);
		if (pub[i].active_B > 0) {
			double a = wl_params_active(&m) / 1e9;
			ck_assert_msg(fabs(a / pub[i].active_B - 1) < pub[i].tol_active, "%s active: %.3fB vs %.3fB",
			              pub[i].name, a, pub[i].active_B);
		}
	}
}
END_TEST

START_TEST(llama3_8b_params_by_hand)
{
	/* embeddings (untied) + 32 x (q,o: d*d; k,v: d*1024; SwiGLU 3*d*ff; 2 norms) + final norm */
	double d = 4096, ff = 14336, L = 32, V = 128256;
	double by_hand = 2 * V * d + L * (2 * d * d + 2 * d * 1024 + 3 * d * ff + 2 * d) + d;
	wl_model m = load_model("llama3-8b");
	ck_assert_msg(fabs(wl_params_total(&m) - by_hand) < 1, "%.0f vs %.0f", wl_params_total(&m), by_hand);
}
END_TEST

START_TEST(flops_per_token_by_hand)
{
	static char out[1 << 17], err[4096];
	wl_model m = load_model("llama3-8b");
	double N = wl_params_total(&m);
	double L = 32, h = 32, hd = 128;
	/* matrix work per token: every parameter but the input embedding (a
	 * lookup); decode: 2 per MAC plus attention 4*L*h*hd per cached position */
	N -= 128256.0 * 4096;
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-8b --phase decode --batch 4 --context 1023 --json", out,
	                       sizeof out, err, sizeof err), 0);
	double expect = 4 * (2 * N + 4 * L * h * hd * 1024);
	ck_assert_msg(fabs(t_json_num(out, "flops") / expect - 1) < 1e-9, "decode %.6g vs %.6g", t_json_num(out, "flops"),
	              expect);
	/* training: 6N per token + 12*L*h*hd*S per token (PaLM appendix B) */
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-8b --phase train --batch 8 --seq 2048 --chips 8 --json",
	                       out, sizeof out, err, sizeof err), 0);
	double tokens = 8 * 2048.0;
	expect = tokens * (6 * N + 12 * L * h * hd * 2048);
	ck_assert_msg(fabs(t_json_num(out, "flops") / expect - 1) < 1e-9, "train %.6g vs %.6g", t_json_num(out, "flops"),
	              expect);
	/* executed FLOPs: full recomputation repeats the layers' forward, so
	 * their GEMM work grows from fwd + bwd (1 + 2) to 4 forward passes'
	 * worth; attention backward is 2.5x its forward (FlashAttention-2) and
	 * the output head is not recomputed, so the whole lands a little below */
	double hw_none = t_json_num(out, "hw_flops");
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-8b --phase train --batch 8 --seq 2048 --chips 8 "
	                       "--recompute full --json", out, sizeof out, err, sizeof err), 0);
	double hw_full = t_json_num(out, "hw_flops");
	ck_assert_msg(hw_full / hw_none > 1.27 && hw_full / hw_none <= 4.0 / 3.0, "full recompute: %.4g vs %.4g (x%.3f)", hw_full,
	              hw_none, hw_full / hw_none);
	ck_assert(t_json_num(out, "hfu") > t_json_num(out, "mfu"));
}
END_TEST

Suite *suite_model(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("accounting");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, params_match_published);
	tcase_add_test(tc, llama3_8b_params_by_hand);
	tcase_add_test(tc, flops_per_token_by_hand);
	suite_add_tcase(s, tc);
	return s;
}
