/*
 * report_plot.c - plots for reports: gnuplot, run as a child process, draws
 * SVG from a script and data files in a private scratch directory.
 *
 * Every label reaches gnuplot inside a single-quoted string: gnuplot
 * substitutes `command` backquotes inside double-quoted strings, and a model
 * or chip name must never run anything.  Enhanced text is off, so '_', '^'
 * and '{' print as they are.
 */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GNUPLOT_TIMEOUT_S 30.0

static const char *const bound_colors[BOUND_COUNT] = {"#2f6fb0", "#d9822b", "#8c8c8c", "#4a9e5c"};
static const char *const series_colors[] = {"#2f6fb0", "#d9822b", "#4a9e5c", "#b5454b", "#7b5ea7",
                                            "#8c6d31", "#c45c9a", "#5c5c5c", "#2a9d9f", "#a6a23a"};

/* Run exe with one argument; stdout to /dev/null, stderr to errfile (or
 * /dev/null).  Returns the exit status, 127 if it could not be executed, -1
 * if it did not finish in time (it is killed). */
static int run_child(const char *exe, const char *arg, const char *errfile, double timeout_s)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		int efd = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : devnull;
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		if (efd >= 0)
			dup2(efd, 2);
		char *argv[3] = {(char *)exe, (char *)arg, NULL};
		execvp(exe, argv);
		_exit(127);
	}
	struct timespec nap = {0, 2000000};
	double waited = 0;
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 126;
		if (w < 0 && errno != EINTR)
			return 127;
		if (waited > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		nanosleep(&nap, NULL);
		waited += 0.002;
	}
}

void res_plot_open(res_plotter *p)
{
	memset(p, 0, sizeof *p);
	const char *exe = getenv("CODESIM_GNUPLOT");
	snprintf(p->exe, sizeof p->exe, "%s", exe && *exe ? exe : "gnuplot");
	const char *tmp = getenv("TMPDIR");
	snprintf(p->dir, sizeof p->dir, "%s/codesim-plot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(p->dir)) {
		snprintf(p->why, sizeof p->why, "cannot make a scratch directory for plots (%s)", strerror(errno));
		p->dir[0] = 0;
		return;
	}
	int rc = run_child(p->exe, "--version", NULL, 10);
	if (rc == 0) {
		p->available = 1;
		return;
	}
	if (rc == 127)
		snprintf(p->why, sizeof p->why, "gnuplot was not found (tried '%.200s'%s; Debian package gnuplot-nox)",
		         p->exe, exe && *exe ? ", from $CODESIM_GNUPLOT" : "");
	else
		snprintf(p->why, sizeof p->why, "'%.200s --version' failed (exit %d)", p->exe, rc);
}

void res_plot_close(res_plotter *p)
{
	if (!p->dir[0])
		return;
	/* the directory is private (mkdtemp) and holds only what this plotter
	 * wrote: scripts, data, SVG and gnuplot's messages */
	DIR *dir = opendir(p->dir);
	if (dir) {
		struct dirent *e;
		while ((e = readdir(dir))) {
			if (!strncmp(e->d_name, "plot", 4)) {
				char path[600];
				snprintf(path, sizeof path, "%s/%.300s", p->dir, e->d_name);
				unlink(path);
			}
		}
		closedir(dir);
	}
	rmdir(p->dir);
	p->dir[0] = 0;
}

/* A single-quoted gnuplot string: '' stands for ', control characters become
 * spaces, nothing else is interpreted. */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'')
			fputs("''", f);
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', f);
		else
			fputc(c, f);
	}
	fputc('\'', f);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (n + 1 < cap)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb, cap *= 2;
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* Replace every occurrence of `from` by `to` in s (a new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t lf = strlen(from), lt = strlen(to), cnt = 0;
	for (const char *q = s; (q = strstr(q, from)); q += lf)
		cnt++;
	char *out = malloc(strlen(s) + cnt * (lt > lf ? lt - lf : 0) + 1);
	if (!out)
		return NULL;
	char *w = out;
	for (const char *q = s;;) {
		const char *hit = strstr(q, from);
		if (!hit) {
			strcpy(w, q);
			break;
		}
		memcpy(w, q, (size_t)(hit - q));
		w += hit - q;
		memcpy(w, to, lt);
		w += lt;
		q = hit + lf;
	}
	return out;
}

/* Start plot number p->nplots: open its script with the common header. */
static FILE *script_open(res_plotter *p, int w, int h, char *err, size_t errlen)
{
	char path[400];
	if (!p->available) {
		snprintf(err, errlen, "%s", p->why);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/plot%d.gp", p->dir, p->nplots);
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	fprintf(f, "set terminal svg size %d,%d font 'Helvetica,12' background '#ffffff'\n", w, h);
	snprintf(path, sizeof path, "%s/plot%d.svg", p->dir, p->nplots);
	fprintf(f, "set output ");
	gp_str(f, path);
	fprintf(f, "\nset termoption noenhanced\nset encoding utf8\nset datafile missing '?'\n");
	fprintf(f, "set border lc '#555555'\nset grid lc '#dddddd'\nset key noautotitle\n");
	return f;
}

static FILE *data_open(res_plotter *p, int part, char *path, size_t plen, char *err, size_t errlen)
{
	if (part < 0)
		snprintf(path, plen, "%s/plot%d.dat", p->dir, p->nplots);
	else
		snprintf(path, plen, "%s/plot%d-%d.dat", p->dir, p->nplots, part);
	FILE *f = fopen(path, "w");
	if (!f)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return f;
}

/* Close the script, run gnuplot, return its SVG from "<svg" on, with the ids
 * made unique to this plot (several plots share one HTML page). */
static char *script_run(res_plotter *p, FILE *f, char *err, size_t errlen)
{
	char gp[400], svg[400], ef[400];
	int idx = p->nplots++;
	fprintf(f, "unset output\n");
	if (fclose(f)) {
		snprintf(err, errlen, "writing the plot script failed");
		return NULL;
	}
	snprintf(gp, sizeof gp, "%s/plot%d.gp", p->dir, idx);
	snprintf(svg, sizeof svg, "%s/plot%d.svg", p->dir, idx);
	snprintf(ef, sizeof ef, "%s/plot%d.err", p->dir, idx);
	int rc = run_child(p->exe, gp, ef, GNUPLOT_TIMEOUT_S);
	if (rc != 0) {
		char *msg = slurp(ef, NULL);
		char *nl = msg ? strrchr(msg, '\n') : NULL;
		if (nl && nl[1] == 0)
			*nl = 0;
		snprintf(err, errlen, "gnuplot failed (%s): %.200s", rc < 0 ? "timed out" : "exit status",
		         msg && *msg ? msg : "no message");
		free(msg);
		return NULL;
	}
	char *text = slurp(svg, NULL);
	if (!text || !strstr(text, "<svg")) {
		free(text);
		snprintf(err, errlen, "gnuplot wrote no SVG");
		return NULL;
	}
	char pre[24], canvas[48], hash[32], idq[40];
	snprintf(pre, sizeof pre, "p%d-gp", idx);
	snprintf(canvas, sizeof canvas, "p%d-canvas", idx);
	snprintf(hash, sizeof hash, "#%s", pre);
	snprintf(idq, sizeof idq, "id='%s", pre);
	char *a = replace_all(strstr(text, "<svg"), "id='gp", idq);
	char *b = a ? replace_all(a, "#gp", hash) : NULL;
	char *c = b ? replace_all(b, "gnuplot_canvas", canvas) : NULL;
	free(text);
	free(a);
	free(b);
	if (!c)
		snprintf(err, errlen, "out of memory");
	return c;
}

/* SI prefixes on an axis: whole powers of ten on a log axis, one decimal on
 * a linear one (4k 4k 3k would read as a bug). */
static void si_axis(FILE *f, const char *axis, int log)
{
	fprintf(f, "set format %s '%s'\n", axis, log ? "%.0s%c" : "%.1s%c");
}

char *res_plot_roofline(res_plotter *p, const char *title, double peak_flops, double bw_Bps,
                        const res_plot_kpoint *k, int nk, char *err, size_t errlen)
{
	if (!(peak_flops > 0) || !(bw_Bps > 0)) {
		snprintf(err, errlen, "roofline needs a positive peak and bandwidth");
		return NULL;
	}
	FILE *f = script_open(p, 560, 380, err, errlen);
	if (!f)
		return NULL;
	double ridge = peak_flops / bw_Bps;
	double xmin = ridge / 1000, xmax = ridge * 30, ymin = peak_flops / 1e4, ymax = peak_flops * 3;
	for (int i = 0; i < nk; i++) {
		if (!(k[i].x > 0) || !(k[i].y > 0))
			continue;
		xmin = fmin(xmin, k[i].x / 3), xmax = fmax(xmax, k[i].x * 3);
		ymin = fmin(ymin, k[i].y / 3);
	}
	xmin = pow(10, floor(log10(xmin))), xmax = pow(10, ceil(log10(xmax)));
	ymin = pow(10, floor(log10(ymin))), ymax = pow(10, ceil(log10(ymax)));
	fprintf(f, "set title ");
	gp_str(f, title);
	fprintf(f, "\nset logscale xy\nset xrange [%g:%g]\nset yrange [%g:%g]\n", xmin, xmax, ymin, ymax);
	fprintf(f, "set xlabel 'arithmetic intensity (FLOP/byte)'\nset ylabel 'FLOP/s'\n");
	si_axis(f, "y", 1);
	fprintf(f, "set format x '%%g'\nset key top left box opaque font ',10'\nset samples 600\n");
	fprintf(f, "set arrow from %g,%g to %g,%g nohead dt 2 lc '#777777'\n", ridge, ymin, ridge, peak_flops);
	char lab[128];
	snprintf(lab, sizeof lab, "ridge %.3g FLOP/B", ridge);
	fprintf(f, "set label ");
	gp_str(f, lab);
	fprintf(f, " at %g,%g offset 0.8,0.9 font ',10' tc '#555555'\n", ridge, peak_flops);
	/* name the kernels that take the most time */
	int order[8], nord = 0;
	for (int pick = 0; pick < 3; pick++) {
		int best = -1;
		for (int i = 0; i < nk; i++) {
			int used = 0;
			for (int j = 0; j < nord; j++)
				used |= order[j] == i;
			if (used || !(k[i].x > 0) || !(k[i].y > 0))
				continue;
			if (best < 0 || k[i].weight > k[best].weight)
				best = i;
		}
		if (best < 0 || k[best].weight < 0.03)
			break;
		order[nord++] = best;
	}
	for (int j = 0; j < nord; j++) {
		fprintf(f, "set label ");
		gp_str(f, k[order[j]].name);
		static const char *const offs[] = {"1.2,0.6", "1.2,-0.9", "-1.2,1.3 right"};
		fprintf(f, " at %g,%g offset %s font ',9' tc '#333333'\n", k[order[j]].x, k[order[j]].y, offs[j]);
	}
	char dpath[4][400];
	int have[BOUND_COUNT] = {0};
	for (int b = 0; b < 3; b++) {
		FILE *df = data_open(p, b, dpath[b], sizeof dpath[b], err, errlen);
		if (!df) {
			fclose(f);
			return NULL;
		}
		for (int i = 0; i < nk; i++)
			if (k[i].bound == b && k[i].x > 0 && k[i].y > 0) {
				fprintf(df, "%.6g %.6g %.3f\n", k[i].x, k[i].y, 0.6 + 2.4 * sqrt(fmax(0, fmin(1, k[i].weight))));
				have[b] = 1;
			}
		fclose(df);
	}
	fprintf(f, "roof(x) = x*%.10g < %.10g ? x*%.10g : %.10g\n", bw_Bps, peak_flops, bw_Bps, peak_flops);
	char rt[160];
	snprintf(rt, sizeof rt, "roof: %.4g TFLOP/s, %.4g TB/s", peak_flops / 1e12, bw_Bps / 1e12);
	fprintf(f, "plot roof(x) with lines lw 2.5 lc '#222222' title ");
	gp_str(f, rt);
	static const char *const names[] = {"compute-bound kernels", "memory-bound kernels", "latency-bound kernels"};
	for (int b = 0; b < 3; b++)
		if (have[b]) {
			fprintf(f, ", ");
			gp_str(f, dpath[b]);
			fprintf(f, " using 1:2:3 with points pt 7 ps variable lc '%s' title '%s'", bound_colors[b], names[b]);
		}
	fprintf(f, "\n");
	return script_run(p, f, err, errlen);
}

char *res_plot_stacked(res_plotter *p, const char *title, const char *ylabel, int nbars,
                       const char *const *labels, int nseg, const char *const *seg_names,
                       const double *values, char *err, size_t errlen)
{
	if (nbars < 1 || nseg < 1) {
		snprintf(err, errlen, "nothing to plot");
		return NULL;
	}
	FILE *f = script_open(p, 560, 380, err, errlen);
	if (!f)
		return NULL;
	char dpath[400];
	FILE *df = data_open(p, -1, dpath, sizeof dpath, err, errlen);
	if (!df) {
		fclose(f);
		return NULL;
	}
	for (int i = 0; i < nbars; i++) {
		fprintf(df, "%d", i);
		for (int s = 0; s < nseg; s++) {
			double v = values[i * nseg + s];
			fprintf(df, isfinite(v) ? " %.6g" : " 0", v);
		}
		fprintf(df, "\n");
	}
	fclose(df);
	fprintf(f, "set title ");
	gp_str(f, title);
	fprintf(f, "\nset ylabel ");
	gp_str(f, ylabel);
	fprintf(f, "\nset style data histograms\nset style histogram rowstacked\n");
	fprintf(f, "set style fill solid 0.9 border lc '#ffffff'\nset boxwidth 0.6\nset yrange [0:*]\n");
	fprintf(f, "%s\nset grid noxtics ytics\n", nseg > 1 ? "set key top right font ',10'" : "unset key");
	if (nbars > 4)
		fprintf(f, "set xtics rotate by -20 font ',10'\n");
	fprintf(f, "set xtics (");
	for (int i = 0; i < nbars; i++) {
		fprintf(f, "%s", i ? ", " : "");
		gp_str(f, labels[i]);
		fprintf(f, " %d", i);
	}
	fprintf(f, ")\nplot ");
	for (int s = 0; s < nseg; s++) {
		fprintf(f, "%s", s ? ", " : "");
		gp_str(f, dpath);
		fprintf(f, " using %d lc '%s' title ", s + 2,
		        s < BOUND_COUNT && nseg == BOUND_COUNT ? bound_colors[s] : series_colors[s % 10]);
		gp_str(f, seg_names[s]);
	}
	fprintf(f, "\n");
	return script_run(p, f, err, errlen);
}

char *res_plot_lines(res_plotter *p, const char *title, const char *xlabel, const char *ylabel, int nx,
                     const double *x, int nseries, const char *const *series_names, const double *y,
                     char *err, size_t errlen)
{
	if (nx < 1 || nseries < 1) {
		snprintf(err, errlen, "nothing to plot");
		return NULL;
	}
	FILE *f = script_open(p, 560, 380, err, errlen);
	if (!f)
		return NULL;
	char dpath[400];
	FILE *df = data_open(p, -1, dpath, sizeof dpath, err, errlen);
	if (!df) {
		fclose(f);
		return NULL;
	}
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < nx; i++) {
		fprintf(df, "%.10g", x[i]);
		lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
		for (int s = 0; s < nseries; s++) {
			double v = y[s * nx + i];
			if (isfinite(v))
				fprintf(df, " %.10g", v);
			else
				fprintf(df, " ?");
		}
		fprintf(df, "\n");
	}
	fclose(df);
	fprintf(f, "set title ");
	gp_str(f, title);
	fprintf(f, "\nset xlabel ");
	gp_str(f, xlabel);
	fprintf(f, "\nset ylabel ");
	gp_str(f, ylabel);
	fprintf(f, "\n");
	if (lo > 0 && hi / lo >= 8)
		fprintf(f, "set logscale x 2\n");
	si_axis(f, "y", 0);
	fprintf(f, "%s\nset offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\nplot ",
	        nseries > 1 ? "set key below font ',10'" : "unset key");
	for (int s = 0; s < nseries; s++) {
		fprintf(f, "%s", s ? ", " : "");
		gp_str(f, dpath);
		fprintf(f, " using 1:%d with linespoints lw 2 pt 7 ps 0.8 lc '%s' title ", s + 2, series_colors[s % 10]);
		gp_str(f, series_names[s]);
	}
	fprintf(f, "\n");
	return script_run(p, f, err, errlen);
}

char *res_plot_heatmap(res_plotter *p, const char *title, const char *xlabel, const char *ylabel, int nx,
                       const char *const *xlabels, int ny, const char *const *ylabels, const double *z,
                       const char *zlabel, char *err, size_t errlen)
{
	if (nx < 1 || ny < 1) {
		snprintf(err, errlen, "nothing to plot");
		return NULL;
	}
	FILE *f = script_open(p, 560, 400, err, errlen);
	if (!f)
		return NULL;
	char dpath[400];
	FILE *df = data_open(p, -1, dpath, sizeof dpath, err, errlen);
	if (!df) {
		fclose(f);
		return NULL;
	}
	double zmin = INFINITY, zmax = -INFINITY;
	for (int iy = 0; iy < ny; iy++)
		for (int ix = 0; ix < nx; ix++) {
			double v = z[iy * nx + ix];
			if (isfinite(v)) {
				fprintf(df, "%d %d %.10g\n", ix, iy, v);
				zmin = fmin(zmin, v), zmax = fmax(zmax, v);
			}
		}
	fclose(df);
	if (!isfinite(zmin)) {
		fclose(f);
		snprintf(err, errlen, "no values to plot");
		return NULL;
	}
	fprintf(f, "set title ");
	gp_str(f, title);
	fprintf(f, "\nset xlabel ");
	gp_str(f, xlabel);
	fprintf(f, "\nset ylabel ");
	gp_str(f, ylabel);
	fprintf(f, "\nset cblabel ");
	gp_str(f, zlabel);
	fprintf(f, "\nset xrange [-0.5:%g]\nset yrange [-0.5:%g]\nunset grid\n", nx - 0.5, ny - 0.5);
	fprintf(f, "set palette defined (0 '#f7fbff', 1 '#6baed6', 2 '#08306b')\n");
	if (zmax > zmin)
		fprintf(f, "set cbrange [%.10g:%.10g]\n", zmin, zmax);
	si_axis(f, "cb", 0);
	fprintf(f, "set xtics (");
	for (int i = 0; i < nx; i++) {
		fprintf(f, "%s", i ? ", " : "");
		gp_str(f, xlabels[i]);
		fprintf(f, " %d", i);
	}
	fprintf(f, ")\nset ytics (");
	for (int i = 0; i < ny; i++) {
		fprintf(f, "%s", i ? ", " : "");
		gp_str(f, ylabels[i]);
		fprintf(f, " %d", i);
	}
	fprintf(f, ")\nmid = %.10g\nplot ", (zmin + zmax) / 2);
	gp_str(f, dpath);
	fprintf(f, " using 1:2:3 with image, ");
	gp_str(f, dpath);
	fprintf(f, " using 1:2:(gprintf('%%.3s%%c', $3)):($3 > mid ? 0xffffff : 0x222222) with labels tc rgb variable "
	           "font ',10'\n");
	return script_run(p, f, err, errlen);
}
