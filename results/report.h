/*
 * report.h - comparison and sweep reports (Markdown or self-contained HTML)
 * and their plots (gnuplot to SVG).
 *
 * results/ renders what explorer/ ran: a report never runs a simulation.
 * The numbers in a report are the res_t fields `codesim run --json` prints
 * for the same point; the prose ("which chip wins and why") is computed from
 * those numbers and the chips' published figures.
 *
 * Plots: gnuplot is run as a child process (fork + exec) on a script and
 * data files in a private temporary directory; its SVG is embedded inline in
 * HTML or written beside a Markdown file.  Without gnuplot (not installed,
 * or $CODESIM_GNUPLOT names something that does not run) a report has its
 * tables only and says so.
 */
#ifndef CODESIM_REPORT_H
#define CODESIM_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "res.h"

/* ---- plots --------------------------------------------------------------- */

typedef struct {
	char exe[512];        /* gnuplot to run ($CODESIM_GNUPLOT or "gnuplot") */
	char dir[256];        /* private scratch directory (mkdtemp) */
	int available;        /* 1: gnuplot ran; 0: not available (why says why) */
	char why[300];
	int nplots;           /* plots rendered so far (file names, SVG id prefixes) */
} res_plotter;

/* Find gnuplot (try to run it) and make the scratch directory.  Never fails:
 * p->available says whether plots can be drawn. */
void res_plot_open(res_plotter *p);
/* Remove the scratch directory and everything in it. */
void res_plot_close(res_plotter *p);

/* A plot's data and look.  Labels are escaped by the plotter. */
typedef struct {
	const char *name;     /* kernel or point label */
	double x, y;          /* arithmetic intensity (FLOP/byte), achieved FLOP/s */
	int bound;            /* res_bound: the point's colour */
	double weight;        /* share of the step's time: point size */
} res_plot_kpoint;

/* Roofline: attainable FLOP/s = min(peak, bw * intensity), log-log, ridge
 * point marked, kernels placed by their FLOPs/byte and achieved FLOP/s.
 * Returns malloc'd SVG text, or NULL with err. */
char *res_plot_roofline(res_plotter *p, const char *title, double peak_flops, double bw_Bps,
                        const res_plot_kpoint *k, int nk, char *err, size_t errlen);

/* Stacked bars: one bar per label, nseg stacked segments (values[i*nseg+s]). */
char *res_plot_stacked(res_plotter *p, const char *title, const char *ylabel, int nbars,
                       const char *const *labels, int nseg, const char *const *seg_names,
                       const double *values, char *err, size_t errlen);

/* Lines: y over a numeric x axis, one line per series (y NaN: no point).
 * logx: log scale on x when the axis spans a factor of 8 or more. */
char *res_plot_lines(res_plotter *p, const char *title, const char *xlabel, const char *ylabel, int nx,
                     const double *x, int nseries, const char *const *series_names, const double *y,
                     char *err, size_t errlen);

/* Heatmap: z[iy*nx+ix] over two categorical axes (NaN: no value). */
char *res_plot_heatmap(res_plotter *p, const char *title, const char *xlabel, const char *ylabel, int nx,
                       const char *const *xlabels, int ny, const char *const *ylabels, const double *z,
                       const char *zlabel, char *err, size_t errlen);

/* ---- documents ------------------------------------------------------------- */

typedef enum { RES_DOC_MD, RES_DOC_HTML } res_doc_format;

typedef struct {
	FILE *f;
	int format;           /* res_doc_format */
	char asset_base[512]; /* Markdown: plots go to <asset_base>-N-name.svg; "" = no plot files */
	char asset_rel[512];  /* the same, relative to the Markdown file (its links) */
	res_plotter *plot;    /* NULL: no plots */
	int nassets;
	int list_open;        /* a bullet list is open */
	char align[32];       /* the open table's column alignment ('l'/'r') */
	char err[300];        /* first error writing an asset */
} res_doc;

/* Open a document for path ("-" or NULL: stdout, Markdown).  The format is
 * taken from the extension: .md or .html (.htm).  -1 with err otherwise. */
int res_doc_open(res_doc *d, const char *path, res_plotter *plot, char *err, size_t errlen);
/* Finish the document (HTML footer) and close the file. 0 or -1 (write error). */
int res_doc_close(res_doc *d, char *err, size_t errlen);

void res_doc_begin(res_doc *d, const char *title);
void res_doc_h(res_doc *d, int level, const char *text);
/* A paragraph (or list item with bullet != 0).  Text may carry `code` spans
 * and **bold**, in both formats. */
void res_doc_p(res_doc *d, const char *text);
void res_doc_li(res_doc *d, const char *text);
void res_doc_list_end(res_doc *d);
/* Tables: begin with the column names (align: 'l' or 'r' per column). */
void res_doc_table(res_doc *d, int ncols, const char *const *cols, const char *align);
void res_doc_row(res_doc *d, int ncols, const char *const *cells);
void res_doc_table_end(res_doc *d);
/* An SVG plot (takes ownership of svg; NULL is ignored). */
void res_doc_svg(res_doc *d, const char *name, const char *caption, char *svg);
/* A note about the plots themselves (gnuplot missing, stdout). */
void res_doc_plots_note(res_doc *d);

/* ---- the comparison report ---------------------------------------------- */

typedef struct {
	res_t r;              /* as `codesim run --json` prints it */
	arch_t arch;          /* the resolved chip: peaks, bandwidths, unit widths */
	char label[96];       /* "h100", "groq-lpu (tp 8 x pp 8)" */
	char status[16];      /* ok | infeasible | failed | timeout */
	char hint[300];       /* infeasible: the smallest layout that fits, if found */
	int fit_chips;        /* chips the smallest fitting layout needs (0: unknown) */
} res_rpoint;

typedef struct {
	const char *title;    /* NULL: generated */
	const char *command;  /* the command line, shown in the report */
} res_report_opts;

/* Write the comparison report of n points (grouped by model and phase, in
 * the order given). 0 or -1 with err (a plot error is not an error: the
 * report says the plot is missing). */
int res_report_compare(res_doc *d, const res_rpoint *pts, int n, const res_report_opts *o, char *err,
                       size_t errlen);

/* The findings of one group ("which chip wins for what and why"), one
 * sentence per line in buf.  Returns the number of findings. */
int res_report_findings(const res_rpoint *const *pts, int n, char *buf, size_t len);

/* ---- the sweep report ----------------------------------------------------- */

typedef struct {
	long long point_id, idx;
	char hash[20];
	char status[16];
	char reason[256];
	char **values;        /* one per axis (text; "" when the point lacks it) */
	double *num;          /* one per axis (NaN when not numeric) */
	res_rpoint *rp;       /* metrics, kernels and chip (NULL: none stored) */
} res_sweep_row;

typedef struct {
	long long id;
	char name[128];
	char created[40];
	char *spec_text;
	int naxes;
	char **axes;          /* swept keys */
	int nrows;
	res_sweep_row *rows;
	char metric[32];      /* main metric (res_metric_names) */
} res_sweep;

/* Write the report of one finished sweep: points with their parameters and
 * headline metrics, the best point per metric, the main metric over the
 * swept axes (line plot or heatmap), the best point's breakdown. */
int res_report_sweep(res_doc *d, const res_sweep *s, const res_report_opts *o, char *err, size_t errlen);
void res_sweep_free(res_sweep *s);

/* Read sweep `id` (id < 0: the latest) from a results database opened with
 * res_db_open_readonly (results/store.h).  0, or -1 with err. */
struct res_db;
int res_sweep_load(struct res_db *db, long long id, res_sweep *s, char *err, size_t errlen);

/* Headline metric access by name (tokens_per_s, mfu, time_s, ttft_s, tpot_s,
 * usd_per_mtok, j_per_token, tokens_per_j, energy_j, hfu).  Returns 0 and
 * *v, or -1 for an unknown name. higher_better says which way is better. */
int res_metric(const res_t *r, const char *name, double *v, int *higher_better);
extern const char *const res_metric_names[];

/* Numbers for people: 4 significant digits, SI suffix where it helps. */
const char *res_fmt_num(double v, char *buf, size_t len);

#endif
