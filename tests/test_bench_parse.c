/*
 * test_bench_parse.c - the benchmark's output parsers (bench/parse.sh)
 * read each tool's real output, captured on this machine into
 * bench/samples/ by bench/mksamples.sh, to the right numbers: the table
 * of make bench cannot silently report zeros or -1. Runs parse.sh through
 * popen from the repository root (where make test runs).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PARSE "bench/parse.sh"
#define SAMPLES "bench/samples/"

struct parsed {
	long long counted, drops, flows, bytes, exact;
	long long total, decode, flowtab, report;
	int status;
};

/* value of "key=N" in line, or -2 when the key is absent */
static long long field(const char *line, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (p = line; (p = strstr(p, pat)) != NULL; p++)
		if (p == line || p[-1] == ' ')
			return strtoll(p + strlen(pat), NULL, 10);
	return -2;
}

/*
 * run parse.sh with args (a shell word list), with input piped in from
 * printf when in is not NULL; return its figures
 */
static struct parsed run_parse_in(const char *in, const char *args)
{
	struct parsed r;
	char cmd[512], line[512] = "";
	FILE *f;

	cr_assert_eq(access(PARSE, X_OK), 0,
		     "%s not executable: run from the repository root", PARSE);
	snprintf(cmd, sizeof(cmd), "%s%s%s %s %s 2>/dev/null",
		 in ? "printf '" : "", in ? in : "", in ? "' |" : "", PARSE,
		 args);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "popen %s", cmd);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	r.status = pclose(f);
	r.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
	r.counted = field(line, "counted");
	r.drops = field(line, "drops");
	r.flows = field(line, "flows");
	r.bytes = field(line, "bytes");
	r.exact = field(line, "exact");
	r.total = field(line, "total");
	r.decode = field(line, "decode");
	r.flowtab = field(line, "flowtab");
	r.report = field(line, "report");
	return r;
}

static struct parsed run_parse(const char *args)
{
	return run_parse_in(NULL, args);
}

Test(bench_parse, pktstat_json_totals_drops_flows)
{
	struct parsed r = run_parse("pktstat " SAMPLES "pktstat.json");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.counted, 1000);
	cr_assert_eq(r.bytes, 60000);
	cr_assert_eq(r.drops, 0);
	cr_assert_eq(r.flows, 10);
	cr_assert_eq(r.exact, 1);
}

Test(bench_parse, tcpdump_captured_and_dropped)
{
	struct parsed r = run_parse("tcpdump " SAMPLES "tcpdump.err");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.counted, 1000);
	cr_assert_eq(r.drops, 0);
	r = run_parse("tcpdump " SAMPLES "tcpdump-drops.err");
	cr_assert_eq(r.counted, 490111);
	cr_assert_eq(r.drops, 9889);
}

Test(bench_parse, netsniff_summary_with_carriage_returns)
{
	struct parsed r = run_parse("netsniff " SAMPLES "netsniff.out");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.counted, 1000);
	cr_assert_eq(r.drops, 0);
	r = run_parse("netsniff " SAMPLES "netsniff-drops.out");
	cr_assert_eq(r.counted, 493960);
	cr_assert_eq(r.drops, 6040);
}

Test(bench_parse, tshark_captured_and_dropped)
{
	struct parsed r = run_parse("tshark " SAMPLES "tshark.err");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.counted, 1000);
	cr_assert_eq(r.drops, 0, "no drop line means no drop");
	r = run_parse("tshark " SAMPLES "tshark-drops.err");
	cr_assert_eq(r.counted, 260418);
	cr_assert_eq(r.drops, 239582);
}

Test(bench_parse, original_pktstat_sums_flow_lines)
{
	struct parsed r = run_parse("opktstat " SAMPLES "opktstat.out");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.flows, 10);
	cr_assert_eq(r.counted, 1045);
	cr_assert_eq(r.bytes, 62700);
	cr_assert_eq(r.drops, -1, "the original reports no drops");
}

Test(bench_parse, iftop_cumulative_bytes)
{
	struct parsed r = run_parse("iftop " SAMPLES "iftop.out");

	cr_assert_eq(r.status, 0);
	/* "46.9KB": K is 1024 */
	cr_assert_eq(r.bytes, 48026);
	cr_assert_eq(r.counted, -1, "iftop reports bytes only");
}

Test(bench_parse, iftop_units)
{
	struct parsed r = run_parse_in("Cumulative (sent/received/total): "
				       "0B 1.50MB 1.50MB\\n",
				       "iftop /dev/stdin");

	cr_assert_eq(r.bytes, 1572864);
	r = run_parse_in(
		"Cumulative (sent/received/total): 0B 2.00GB 2.00GB\\n",
		"iftop /dev/stdin");
	cr_assert_eq(r.bytes, 2147483648LL);
	r = run_parse_in("Cumulative (sent/received/total): 0B 0B 640B\\n",
			 "iftop /dev/stdin");
	cr_assert_eq(r.bytes, 640);
}

Test(bench_parse, blast_sent_line)
{
	struct parsed r = run_parse("blast " SAMPLES "blast.out");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.counted, 1000);
	cr_assert_eq(r.bytes, 60000);
}

Test(bench_parse, callgrind_whole_functions)
{
	struct parsed r = run_parse("callgrind " SAMPLES "callgrind.txt");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.total, 121737451);
	/* the whole function, not its part from src/decode.c (153,000) */
	cr_assert_eq(r.decode, 162000);
	cr_assert_eq(r.flowtab, 260761);
	cr_assert_eq(r.report, 404907);
}

Test(bench_parse, numbers_beyond_32_bits)
{
	struct parsed r =
		run_parse_in("4,294,967,296 (100.0%%)  PROGRAM TOTALS\\n"
			     "3,000,000,001 (69.85%%)  "
			     "/work/main/src/report.c:report_write\\n"
			     "  2,500,000,000 (58.21%%)  "
			     "src/report.c:report_write [/x/pktstat]\\n",
			     "callgrind /dev/stdin");

	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.total, 4294967296LL);
	cr_assert_eq(r.report, 3000000001LL);
	r = run_parse_in("2 1.0\\n6000000000 3000000000 udp a <-> b\\n"
			 "60 1 udp c <-> d\\n",
			 "opktstat /dev/stdin");
	cr_assert_eq(r.counted, 3000000001LL);
	cr_assert_eq(r.bytes, 6000000060LL);
	r = run_parse_in("3000000000 packets dropped from veth0\\n"
			 "7 packets captured\\n",
			 "tshark /dev/stdin");
	cr_assert_eq(r.drops, 3000000000LL);
}

/*
 * bench/uiframe's lines: up to @max lines of parse.sh uiframe (@args),
 * each a key=value line; returns the number read, *@status its exit
 */
static size_t run_parse_lines(const char *in, const char *args,
			      char lines[][512], size_t max, int *status)
{
	char cmd[512];
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s%s%s %s %s 2>/dev/null",
		 in ? "printf '" : "", in ? in : "", in ? "' |" : "", PARSE,
		 args);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "popen %s", cmd);
	while (n < max && fgets(lines[n], 512, f))
		n++;
	*status = pclose(f);
	*status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
	return n;
}

Test(bench_parse, uiframe_one_line_per_flows_and_order)
{
	char l[8][512];
	int st;
	size_t n = run_parse_lines(NULL, "uiframe " SAMPLES "uiframe.out", l, 8,
				   &st);

	cr_assert_eq(st, 0);
	cr_assert_eq(n, 4, "lines: %zu", n);
	/* 10k flows, sorted: every figure of the sample's first line */
	cr_assert_eq(field(l[0], "flows"), 10000);
	cr_assert_eq(field(l[0], "frozen"), 0);
	cr_assert_eq(field(l[0], "frames"), 20);
	cr_assert_eq(field(l[0], "rows"), 50);
	cr_assert_eq(field(l[0], "frame_med_us"), 4505);
	cr_assert_eq(field(l[0], "frame_p90_us"), 4859);
	cr_assert_eq(field(l[0], "frame_max_us"), 4998);
	cr_assert_eq(field(l[0], "first_us"), 30350);
	cr_assert_eq(field(l[0], "copy_us"), 764);
	cr_assert_eq(field(l[0], "update_us"), 161);
	cr_assert_eq(field(l[0], "layout_us"), 186);
	cr_assert_eq(field(l[0], "draw_us"), 3370);
	cr_assert_eq(field(l[0], "expire_us"), 927);
	/* the frozen run has no first frame of its own */
	cr_assert_eq(field(l[1], "frozen"), 1);
	cr_assert_eq(field(l[1], "first_us"), -1);
	cr_assert_eq(field(l[1], "layout_us"), 96);
	/* 100k flows, both orders, in the file's order */
	cr_assert_eq(field(l[2], "flows"), 100000);
	cr_assert_eq(field(l[2], "frozen"), 0);
	cr_assert_eq(field(l[2], "frame_med_us"), 23614);
	cr_assert_eq(field(l[2], "copy_us"), 15287);
	cr_assert_eq(field(l[3], "flows"), 100000);
	cr_assert_eq(field(l[3], "frozen"), 1);
	cr_assert_eq(field(l[3], "frame_max_us"), 39574);
}

Test(bench_parse, uiframe_missing_figures_and_noise)
{
	char l[8][512];
	int st;
	size_t n;

	/* a figure the line lacks is -1; other lines are ignored */
	n = run_parse_lines("make: noise\\nuiframe flows=7 frame_med_us=12 "
			    "copy_us=x\\n",
			    "uiframe /dev/stdin", l, 8, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(field(l[0], "flows"), 7);
	cr_assert_eq(field(l[0], "frame_med_us"), 12);
	cr_assert_eq(field(l[0], "copy_us"), -1, "not a number: -1");
	cr_assert_eq(field(l[0], "draw_us"), -1);
	/* no usable line: nothing printed, status 1 */
	n = run_parse_lines("uiframe frozen=1 frame_med_us=5\\n",
			    "uiframe /dev/stdin", l, 8, &st);
	cr_assert_eq(n, 0);
	cr_assert_eq(st, 1);
	n = run_parse_lines(NULL, "uiframe /dev/null", l, 8, &st);
	cr_assert_eq(n, 0);
	cr_assert_eq(st, 1);
}

Test(bench_parse, missing_figure_fails_loudly)
{
	struct parsed r = run_parse("tcpdump /dev/null");

	cr_assert_eq(r.status, 1);
	cr_assert_eq(r.counted, -1);
	r = run_parse("pktstat /dev/null");
	cr_assert_eq(r.status, 1);
	cr_assert_eq(r.counted, -1);
	r = run_parse("callgrind /dev/null");
	cr_assert_eq(r.status, 1);
	cr_assert_eq(r.total, -1);
	r = run_parse("nosuchtool /dev/null");
	cr_assert_eq(r.status, 2);
}
