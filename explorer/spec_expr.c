/*
 * spec_expr.c - constraint expressions of sweep specs.
 *
 * A small, safe language: no assignment, no calls beyond a few pure math
 * functions, no loops, bounded size, so a spec file can never do more than
 * compute a yes/no from the point's keys.  Grammar (C precedence):
 *
 *   expr  := and ("||" and)*          and  := not ("&&" not)*
 *   not   := "!" not | cmp            cmp  := sum [("=="|"!="|"<"|"<="|">"|">=") sum]
 *   sum   := prod (("+"|"-") prod)*   prod := unary (("*"|"/"|"%") unary)*
 *   unary := "-" unary | atom
 *   atom  := NUMBER | "STRING" | NAME | FUNC "(" expr ["," expr] ")" | "(" expr ")"
 *
 * NAME is a declared key (arch.memory.bandwidth_GBps, model.d_model,
 * run.batch: codesim list keys), `arch` or `model` (the preset names), or a
 * derived figure: chips (resolved tp*pp*dp), params_B, active_params_B,
 * head_dim, peak_tflops (dense, the run's dtype, one chip), system_tdp_W
 * (tdp_W x chips).  Enum and string keys are strings and compare with ==
 * and != only ("run.phase == \"decode\"").  FUNC: min, max, abs, log2,
 * floor.  Types are checked when the spec loads.  % is fmod.
 *
 * Compiled to postfix code evaluated on a fixed stack.
 */
#include "sweep.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_NODES_MAX 128
#define EXPR_STACK_MAX 64

typedef enum {
	E_NUM, E_STR, E_KEY, E_VAR, E_NEG, E_NOT, E_ADD, E_SUB, E_MUL, E_DIV, E_MOD, E_EQ, E_NE, E_LT, E_LE,
	E_GT, E_GE, E_AND, E_OR, E_MIN, E_MAX, E_ABS, E_LOG2, E_FLOOR
} eop;

typedef enum { V_ARCH_NAME, V_MODEL_NAME, V_CHIPS, V_PARAMS, V_ACTIVE, V_HEAD_DIM, V_PEAK, V_TDP } evar;

struct xp_enode {
	int op;                  /* eop */
	double num;
	char str[XP_VAL_MAX];
	int table;               /* E_KEY: xp_table */
	const cfg_key *key;      /* E_KEY */
	int var;                 /* E_VAR: evar */
};

static const struct {
	const char *name;
	int var, is_str;
} vars[] = {
    {"arch", V_ARCH_NAME, 1},    {"model", V_MODEL_NAME, 1},   {"chips", V_CHIPS, 0},
    {"params_B", V_PARAMS, 0},   {"active_params_B", V_ACTIVE, 0}, {"head_dim", V_HEAD_DIM, 0},
    {"peak_tflops", V_PEAK, 0},  {"system_tdp_W", V_TDP, 0},
};

static const struct {
	const char *name;
	int op, nargs;
} funcs[] = {{"min", E_MIN, 2}, {"max", E_MAX, 2}, {"abs", E_ABS, 1}, {"log2", E_LOG2, 1}, {"floor", E_FLOOR, 1}};

typedef struct {
	const char *src, *p;
	xp_constraint *c;
	int cap;
	char *err;
	size_t errlen;
	int failed;
} parser;

enum { T_NUM, T_STR };   /* static types of subexpressions */

static int col(const parser *ps) { return (int)(ps->p - ps->src) + 1; }

static int fail(parser *ps, const char *what)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "%s at column %d of \"%s\"", what, col(ps), ps->src);
	ps->failed = 1;
	return -1;
}

static void skip_ws(parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static int accept(parser *ps, const char *tok)
{
	skip_ws(ps);
	size_t n = strlen(tok);
	if (strncmp(ps->p, tok, n))
		return 0;
	/* "<" must not match the start of "<=", nor "=" of "==" etc. */
	if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!') && ps->p[1] == '=')
		return 0;
	ps->p += n;
	return 1;
}

static xp_enode *emit(parser *ps, int op)
{
	if (ps->c->n >= ps->cap) {
		fail(ps, "expression too long");
		return NULL;
	}
	xp_enode *e = &ps->c->code[ps->c->n++];
	memset(e, 0, sizeof *e);
	e->op = op;
	return e;
}

static int parse_or(parser *ps);

static int need_num(parser *ps, int t, const char *op)
{
	if (t != T_NUM) {
		char m[96];
		snprintf(m, sizeof m, "'%s' needs numbers, not strings", op);
		return fail(ps, m);
	}
	return 0;
}

static int parse_atom(parser *ps)
{
	skip_ws(ps);
	const char *p = ps->p;
	if (*p == '(') {
		ps->p++;
		int t = parse_or(ps);
		if (t < 0)
			return -1;
		if (!accept(ps, ")"))
			return fail(ps, "expected ')'");
		return t;
	}
	if (*p == '"') {
		const char *end = strchr(p + 1, '"');
		if (!end)
			return fail(ps, "unterminated string");
		if ((size_t)(end - p - 1) >= XP_VAL_MAX)
			return fail(ps, "string too long");
		xp_enode *e = emit(ps, E_STR);
		if (!e)
			return -1;
		memcpy(e->str, p + 1, (size_t)(end - p - 1));
		ps->p = end + 1;
		return T_STR;
	}
	if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
		char *end;
		double v = strtod(p, &end);
		if (!isfinite(v))
			return fail(ps, "number out of range");
		xp_enode *e = emit(ps, E_NUM);
		if (!e)
			return -1;
		e->num = v;
		ps->p = end;
		return T_NUM;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		char name[160];
		size_t n = 0;
		while ((isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.') && n < sizeof name - 1)
			n++;
		memcpy(name, p, n);
		name[n] = 0;
		ps->p = p + n;
		for (size_t f = 0; f < sizeof funcs / sizeof *funcs; f++)
			if (!strcmp(name, funcs[f].name)) {
				if (!accept(ps, "("))
					return fail(ps, "expected '(' after a function name");
				for (int a = 0; a < funcs[f].nargs; a++) {
					if (a && !accept(ps, ","))
						return fail(ps, "expected ','");
					int t = parse_or(ps);
					if (t < 0 || need_num(ps, t, funcs[f].name))
						return -1;
				}
				if (!accept(ps, ")"))
					return fail(ps, "expected ')'");
				return emit(ps, funcs[f].op) ? T_NUM : -1;
			}
		for (size_t v = 0; v < sizeof vars / sizeof *vars; v++)
			if (!strcmp(name, vars[v].name)) {
				xp_enode *e = emit(ps, E_VAR);
				if (!e)
					return -1;
				e->var = vars[v].var;
				return vars[v].is_str ? T_STR : T_NUM;
			}
		const cfg_key *k = NULL;
		int table = -1;
		if (!strncmp(name, "arch.", 5))
			k = arch_cfg_find(arch_keys, arch_nkeys, name + 5), table = XP_T_ARCH;
		else if (!strncmp(name, "model.", 6))
			k = arch_cfg_find(wl_model_keys, wl_model_nkeys, name + 6), table = XP_T_MODEL;
		else if (!strncmp(name, "run.", 4))
			k = arch_cfg_find(wl_run_keys, wl_run_nkeys, name + 4), table = XP_T_RUN;
		if (!k) {
			char m[400];
			ps->p = p;
			snprintf(m, sizeof m, "unknown name '%s' (a key: arch.KEY, model.KEY, run.KEY, see 'codesim list "
			         "keys'; or arch, model, chips, params_B, active_params_B, head_dim, peak_tflops, "
			         "system_tdp_W)", name);
			return fail(ps, m);
		}
		xp_enode *e = emit(ps, E_KEY);
		if (!e)
			return -1;
		e->key = k;
		e->table = table;
		return (k->type == CFG_STRING || k->type == CFG_ENUM) ? T_STR : T_NUM;
	}
	return fail(ps, *p ? "unexpected character" : "unexpected end");
}

static int parse_unary(parser *ps)
{
	if (accept(ps, "-")) {
		int t = parse_unary(ps);
		if (t < 0 || need_num(ps, t, "-"))
			return -1;
		return emit(ps, E_NEG) ? T_NUM : -1;
	}
	return parse_atom(ps);
}

static int parse_prod(parser *ps)
{
	int t = parse_unary(ps);
	for (;;) {
		int op = accept(ps, "*") ? E_MUL : accept(ps, "/") ? E_DIV : accept(ps, "%") ? E_MOD : -1;
		if (op < 0 || t < 0)
			return t;
		int u = parse_unary(ps);
		if (u < 0 || need_num(ps, t, "*, / or %") || need_num(ps, u, "*, / or %") || !emit(ps, op))
			return -1;
	}
}

static int parse_sum(parser *ps)
{
	int t = parse_prod(ps);
	for (;;) {
		int op = accept(ps, "+") ? E_ADD : accept(ps, "-") ? E_SUB : -1;
		if (op < 0 || t < 0)
			return t;
		int u = parse_prod(ps);
		if (u < 0 || need_num(ps, t, "+ or -") || need_num(ps, u, "+ or -") || !emit(ps, op))
			return -1;
	}
}

static int parse_cmp(parser *ps)
{
	int t = parse_sum(ps);
	if (t < 0)
		return -1;
	static const struct {
		const char *tok;
		int op;
	} ops[] = {{"==", E_EQ}, {"!=", E_NE}, {"<=", E_LE}, {">=", E_GE}, {"<", E_LT}, {">", E_GT}};
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (accept(ps, ops[i].tok)) {
			int u = parse_sum(ps);
			if (u < 0)
				return -1;
			if (t != u)
				return fail(ps, "comparing a string with a number");
			if (t == T_STR && ops[i].op != E_EQ && ops[i].op != E_NE)
				return fail(ps, "strings compare with == and != only");
			return emit(ps, ops[i].op) ? T_NUM : -1;
		}
	return t;
}

static int parse_not(parser *ps)
{
	if (accept(ps, "!")) {
		int t = parse_not(ps);
		if (t < 0 || need_num(ps, t, "!"))
			return -1;
		return emit(ps, E_NOT) ? T_NUM : -1;
	}
	return parse_cmp(ps);
}

static int parse_and(parser *ps)
{
	int t = parse_not(ps);
	while (t >= 0 && accept(ps, "&&")) {
		int u = parse_not(ps);
		if (u < 0 || need_num(ps, t, "&&") || need_num(ps, u, "&&") || !emit(ps, E_AND))
			return -1;
	}
	return t;
}

static int parse_or(parser *ps)
{
	int t = parse_and(ps);
	while (t >= 0 && accept(ps, "||")) {
		int u = parse_and(ps);
		if (u < 0 || need_num(ps, t, "||") || need_num(ps, u, "||") || !emit(ps, E_OR))
			return -1;
	}
	return t;
}

/* Postfix code needs at most this many stack slots. */
static int stack_depth(const xp_constraint *c)
{
	int d = 0, max = 0;
	for (int i = 0; i < c->n; i++) {
		switch (c->code[i].op) {
		case E_NUM: case E_STR: case E_KEY: case E_VAR: d++; break;
		case E_NEG: case E_NOT: case E_ABS: case E_LOG2: case E_FLOOR: break;
		default: d--; break;
		}
		if (d > max)
			max = d;
	}
	return max;
}

int xp_expr_compile(const char *text, xp_constraint *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (strlen(text) >= sizeof c->text) {
		snprintf(err, errlen, "constraint longer than %zu characters", sizeof c->text - 1);
		return -1;
	}
	snprintf(c->text, sizeof c->text, "%s", text);
	c->code = calloc(EXPR_NODES_MAX, sizeof *c->code);
	if (!c->code) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	parser ps = {c->text, c->text, c, EXPR_NODES_MAX, err, errlen, 0};
	int t = parse_or(&ps);
	if (t >= 0) {
		skip_ws(&ps);
		if (*ps.p)
			t = fail(&ps, "unexpected text");
		else if (t != T_NUM)
			t = fail(&ps, "a constraint must be a comparison or a number, not a string");
		else if (stack_depth(c) > EXPR_STACK_MAX)
			t = fail(&ps, "expression nested too deeply");
	}
	if (t < 0) {
		xp_expr_free(c);
		return -1;
	}
	return 0;
}

void xp_expr_free(xp_constraint *c)
{
	free(c->code);
	c->code = NULL;
	c->n = 0;
}

typedef struct {
	double num;
	const char *str;     /* non-NULL: a string */
} eval_t;

static const void *table_obj(const xp_point *pt, int table)
{
	return table == XP_T_ARCH ? (const void *)&pt->arch : table == XP_T_MODEL ? (const void *)&pt->model
	                                                                        : (const void *)&pt->sc;
}

static double var_value(const xp_point *pt, int var)
{
	wl_scenario sc = pt->sc;
	char err[ARCH_ERR_MAX];
	double chips;
	switch (var) {
	case V_CHIPS:
	case V_TDP:
		/* the degrees as the run resolves them (--chips 64 --tp 8: dp 8) */
		chips = wl_parallel_resolve(&pt->arch, &pt->model, &sc, err, sizeof err) == 0 ? sc.chips
		        : sc.chips > 0 ? sc.chips : 1;
		if (chips <= 0)
			chips = (sc.tp > 0 ? sc.tp : 1) * (sc.pp > 0 ? sc.pp : 1) * (sc.dp > 0 ? sc.dp : 1);
		return var == V_CHIPS ? chips : chips * pt->arch.power.tdp_W;
	case V_PARAMS:
		return wl_params_total(&pt->model) / 1e9;
	case V_ACTIVE:
		return wl_params_active(&pt->model) / 1e9;
	case V_HEAD_DIM:
		return pt->model.n_heads > 0 || pt->model.head_dim ? wl_head_dim(&pt->model) : NAN;
	case V_PEAK:
		return arch_peak_flops(&pt->arch, (arch_dtype)pt->sc.dtype) / 1e12;
	}
	return NAN;
}

int xp_expr_eval(const xp_constraint *c, const xp_point *pt)
{
	eval_t st[EXPR_STACK_MAX];
	int sp = 0;
	for (int i = 0; i < c->n; i++) {
		const xp_enode *e = &c->code[i];
		eval_t v = {NAN, NULL};
		switch (e->op) {
		case E_NUM:
			v.num = e->num;
			break;
		case E_STR:
			v.str = e->str;
			break;
		case E_KEY: {
			const void *obj = table_obj(pt, e->table);
			if (e->key->type == CFG_STRING)
				v.str = (const char *)obj + e->key->offset;
			else if (e->key->type == CFG_ENUM)
				v.str = e->key->names[*(const int *)((const char *)obj + e->key->offset)];
			else
				v.num = arch_cfg_get(e->key, obj);
			break;
		}
		case E_VAR:
			if (e->var == V_ARCH_NAME)
				v.str = pt->arch.name;
			else if (e->var == V_MODEL_NAME)
				v.str = pt->model.name;
			else
				v.num = var_value(pt, e->var);
			break;
		default: {
			/* operators: unary ones take st[sp-1], binary st[sp-2] op st[sp-1] */
			int unary = e->op == E_NEG || e->op == E_NOT || e->op == E_ABS || e->op == E_LOG2 || e->op == E_FLOOR;
			eval_t b = st[--sp], a = unary ? b : st[--sp];
			double x = a.num, y = b.num;
			switch (e->op) {
			case E_NEG: v.num = -y; break;
			case E_NOT: v.num = !(y != 0) ? 1 : 0; break;
			case E_ABS: v.num = fabs(y); break;
			case E_LOG2: v.num = log2(y); break;
			case E_FLOOR: v.num = floor(y); break;
			case E_ADD: v.num = x + y; break;
			case E_SUB: v.num = x - y; break;
			case E_MUL: v.num = x * y; break;
			case E_DIV: v.num = x / y; break;
			case E_MOD: v.num = fmod(x, y); break;
			case E_EQ: v.num = a.str ? !strcmp(a.str, b.str) : x == y; break;
			case E_NE: v.num = a.str ? !!strcmp(a.str, b.str) : (isnan(x) || isnan(y)) ? 0 : x != y; break;
			case E_LT: v.num = x < y; break;
			case E_LE: v.num = x <= y; break;
			case E_GT: v.num = x > y; break;
			case E_GE: v.num = x >= y; break;
			case E_AND: v.num = (x != 0 && !isnan(x)) && (y != 0 && !isnan(y)); break;
			case E_OR: v.num = (x != 0 && !isnan(x)) || (y != 0 && !isnan(y)); break;
			case E_MIN: v.num = fmin(x, y); break;
			case E_MAX: v.num = fmax(x, y); break;
			}
		}
		}
		st[sp++] = v;
	}
	return sp == 1 && !st[0].str && !isnan(st[0].num) && st[0].num != 0;
}
