/* test_format.c - the emitter and the renderer, without the engine: exact
 * output for a fixed snapshot in each format, and the hand-made number
 * formatting that replaces snprintf (which a signal handler may not call). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

/* ------------------------------------------------------------ capture */

static char captured[1 << 16];
static size_t ncaptured;

static bool capture_sink(tp_out_t *out, const char *data, size_t len) {
  (void)out;
  cr_assert_leq(ncaptured + len, sizeof captured - 1);
  memcpy(captured + ncaptured, data, len);
  ncaptured += len;
  captured[ncaptured] = '\0';
  return true;
}

/* Renders the fixture through a buffer of `cap` bytes (small ones force
 * many flushes mid-token). */
static const char *render(enum tp_format f, size_t cap) {
  static char buf[1 << 12];
  tierpool_stats_t st;
  tp_dump_meta_t meta;
  fixture_stats(&st);
  fixture_config(f);
  fixture_meta(&meta);
  ncaptured = 0;
  captured[0] = '\0';
  tp_out_t out;
  tp_out_init(&out, buf, cap, -1);
  out.sink = capture_sink;
  tp_emitter_t e;
  tp_emit_init(&e, f, &out);
  tp_render(&e, &st, fixture_lengths, sizeof fixture_lengths / sizeof fixture_lengths[0], &meta);
  cr_assert(tp_out_flush(&out));
  return captured;
}

/* ---------------------------------------------------------- renderings */

static const char expected_text[] =
    "tierpool exit dump: pid 4242 (/usr/bin/prog \"x\") at 2023-11-14T22:13:20.123Z\n"
    "command           prog --case \"x\" /tmp/in\n"
    "directory         /home/ci/build\n"
    " tier   get   put  live  peak  requested  cached  central  committed   fill\n"
    "   16  1200  1200     0    40      14.1K      32        0       4.0K  75.0%\n"
    "  128  1000   500   500   600      97.7K      12       64     128.0K  78.1%\n"
    "   4K    10     0    10    10      29.3K       0        0       1.0M  73.2%\n"
    "total  2210  1700   510   640     141.0K      44       64       1.1M  76.7%\n"
    "\n"
    "peak live bytes   75.6K\n"
    "peak reached      2023-11-14T22:13:10.000Z\n"
    "forwarded frees   2\n"
    "threads started   3\n"
    "threads exited    2\n"
    "fork lost blocks  0\n"
    "\n"
    "discarded  count  bytes\n"
    "too_large      3   6.0M\n"
    "alignment      1     64\n"
    "total          4   6.0M\n"
    "recent lengths (5, oldest first):\n"
    "  100 100 3000 24 7\n"
    "UNBALANCED: 510 blocks (104960 bytes) still live in tiers 128, 4K and 2 forwarded blocks\n"
    ;

static const char expected_json[] =
    "{\"version\":1,\"pid\":4242,\"exe\":\"/usr/bin/prog \\\"x\\\"\",\"time\":\"2023-11-14T22:13:20.123Z\""
    ",\"reason\":\"exit\",\"cmdline\":\"prog --case \\\"x\\\" /tmp/in\",\"cwd\":\"/home/ci/build\",\"conf"
    "ig\":{\"max_tier\":1048576,\"cache_size\":1048576,\"cache_large\":8388608,\"region_size\":4294967296,\"ring\":256,\"harden\""
    ":\"default\",\"limit\":0,\"fail\":null,\"retain\":67108864,\"large_cache\":134217728,\"large_decay_ms"
    "\":1000,\"verbose\":false,\"stats\":\"/tmp/tp.%p.json\",\"format\":\"json\",\"at_exit\":true,\"signa"
    "l\":12,\"interval\":0,\"live\":false,\"leaks\":\"off\",\"leaks_depth\":32,\"leaks_sample\":524288,\""
    "leaks_frees\":false,\"leaks_top\":20,\"profile\":null,\"profile_short\":1000},\"tiers\":[{\"size\":16,\"get\":1200,\"put\""
    ":1200,\"live\":0,\"peak_live\":40,\"peak_live_bytes\":640,\"peak_time_ns\":1699999990000000000,\"byt"
    "es_requested\":14400,\"cached\":32,\"central\":0,\"carved_bytes\":4096,\"committed_bytes\":4096,\"fi"
    "ll\":0.7500},{\"size\":128,\"get\":1000,\"put\":500,\"live\":500,\"peak_live\":600,\"peak_live_bytes"
    "\":76800,\"peak_time_ns\":1699999990000000000,\"bytes_requested\":100000,\"cached\":12,\"central\":6"
    "4,\"carved_bytes\":131072,\"committed_bytes\":131072,\"fill\":0.7813},{\"size\":1024,\"get\":0,\"put"
    "\":0,\"live\":0,\"peak_live\":0,\"peak_live_bytes\":0,\"peak_time_ns\":0,\"bytes_requested\":0,\"cac"
    "hed\":0,\"central\":0,\"carved_bytes\":0,\"committed_bytes\":0,\"fill\":0},{\"size\":4096,\"get\":10"
    ",\"put\":0,\"live\":10,\"peak_live\":10,\"peak_live_bytes\":40960,\"peak_time_ns\":16999999955000000"
    "00,\"bytes_requested\":30000,\"cached\":0,\"central\":0,\"carved_bytes\":40960,\"committed_bytes\":1"
    "048576,\"fill\":0.7324}],\"total_get\":2210,\"total_put\":1700,\"peak_live\":640,\"peak_live_bytes\""
    ":77440,\"peak_time_ns\":1699999990000000000,\"discarded\":4,\"discarded_bytes\":6291520,\"forwarded_"
    "frees\":2,\"threads_started\":3,\"threads_exited\":2,\"fork_lost_blocks\":0,\"live\":510,\"live_byte"
    "s\":104960,\"balanced\":false,\"discarded_by_reason\":{\"too_large\":{\"count\":3,\"bytes\":6291456}"
    ",\"alignment\":{\"count\":1,\"bytes\":64},\"pool_full\":{\"count\":0,\"bytes\":0},\"no_pool\":{\"cou"
    "nt\":0,\"bytes\":0}},\"recent_lengths\":[100,100,3000,24,7],\"fields\":{\"tier\":[{\"key\":\"size\","
    "\"label\":null,\"kind\":\"gauge\",\"unit\":\"size\",\"metric\":null,\"help\":\"Block size in bytes, "
    "a power of two.\"},{\"key\":\"get\",\"label\":\"get\",\"kind\":\"counter\",\"unit\":\"count\",\"metr"
    "ic\":\"get_total\",\"help\":\"Blocks handed out by the tier.\"},{\"key\":\"put\",\"label\":\"put\",\""
    "kind\":\"counter\",\"unit\":\"count\",\"metric\":\"put_total\",\"help\":\"Blocks given back to the t"
    "ier.\"},{\"key\":\"live\",\"label\":\"live\",\"kind\":\"gauge\",\"unit\":\"count\",\"metric\":\"live"
    "_blocks\",\"help\":\"Blocks in use (get - put).\"},{\"key\":\"peak_live\",\"label\":\"peak\",\"kind\""
    ":\"gauge\",\"unit\":\"count\",\"metric\":\"peak_live_blocks\",\"help\":\"Most blocks of the tier in "
    "use at once (sampled: see docs/stats.md).\"},{\"key\":\"peak_live_bytes\",\"label\":null,\"kind\":\""
    "gauge\",\"unit\":\"bytes\",\"metric\":\"peak_live_bytes\",\"help\":\"peak_live times the block size."
    "\"},{\"key\":\"peak_time_ns\",\"label\":null,\"kind\":\"gauge\",\"unit\":\"ns\",\"metric\":\"peak_ti"
    "me_seconds\",\"help\":\"When the tier's peak was reached (Unix time).\"},{\"key\":\"bytes_requested\""
    ",\"label\":\"requested\",\"kind\":\"counter\",\"unit\":\"bytes\",\"metric\":\"requested_bytes_total\""
    ",\"help\":\"Sum of the lengths asked for by the gets.\"},{\"key\":\"cached\",\"label\":\"cached\",\""
    "kind\":\"gauge\",\"unit\":\"count\",\"metric\":\"cached_blocks\",\"help\":\"Free blocks held in thre"
    "ad caches.\"},{\"key\":\"central\",\"label\":\"central\",\"kind\":\"gauge\",\"unit\":\"count\",\"met"
    "ric\":\"central_blocks\",\"help\":\"Free blocks held in the central pool.\"},{\"key\":\"carved_bytes"
    "\",\"label\":null,\"kind\":\"gauge\",\"unit\":\"bytes\",\"metric\":\"carved_bytes\",\"help\":\"Bytes"
    " carved from the tier's region so far.\"},{\"key\":\"committed_bytes\",\"label\":\"committed\",\"kin"
    "d\":\"gauge\",\"unit\":\"bytes\",\"metric\":\"committed_bytes\",\"help\":\"Bytes of the tier's regio"
    "n made accessible.\"},{\"key\":\"fill\",\"label\":\"fill\",\"kind\":\"gauge\",\"unit\":\"ratio\",\"m"
    "etric\":\"fill_ratio\",\"help\":\"Bytes requested / (get * size): 1 means no internal fragmentation."
    "\"}],\"process\":[{\"key\":\"total_get\",\"label\":null,\"kind\":\"counter\",\"unit\":\"count\",\"me"
    "tric\":null,\"help\":\"Sum of the tiers' get.\"},{\"key\":\"total_put\",\"label\":null,\"kind\":\"co"
    "unter\",\"unit\":\"count\",\"metric\":null,\"help\":\"Sum of the tiers' put.\"},{\"key\":\"peak_live"
    "\",\"label\":null,\"kind\":\"gauge\",\"unit\":\"count\",\"metric\":\"process_peak_live_blocks\",\"he"
    "lp\":\"Most pooled blocks in use at once, all tiers (sampled: see docs/stats.md).\"},{\"key\":\"peak"
    "_live_bytes\",\"label\":\"peak live bytes\",\"kind\":\"gauge\",\"unit\":\"bytes\",\"metric\":\"proce"
    "ss_peak_live_bytes\",\"help\":\"Most pooled bytes in use at once, all tiers, at their tier size.\"},"
    "{\"key\":\"peak_time_ns\",\"label\":\"peak reached\",\"kind\":\"gauge\",\"unit\":\"ns\",\"metric\":\""
    "process_peak_time_seconds\",\"help\":\"When the process's peak was reached (Unix time).\"},{\"key\":"
    "\"discarded\",\"label\":null,\"kind\":\"counter\",\"unit\":\"count\",\"metric\":null,\"help\":\"Requ"
    "ests forwarded to mimalloc, all reasons.\"},{\"key\":\"discarded_bytes\",\"label\":null,\"kind\":\"c"
    "ounter\",\"unit\":\"bytes\",\"metric\":null,\"help\":\"Bytes asked for by the forwarded requests.\"}"
    ",{\"key\":\"forwarded_frees\",\"label\":\"forwarded frees\",\"kind\":\"counter\",\"unit\":\"count\","
    "\"metric\":\"forwarded_frees_total\",\"help\":\"Frees of blocks that mimalloc had served.\"},{\"key\""
    ":\"threads_started\",\"label\":\"threads started\",\"kind\":\"counter\",\"unit\":\"count\",\"metric\""
    ":\"threads_started_total\",\"help\":\"Thread caches set up.\"},{\"key\":\"threads_exited\",\"label\""
    ":\"threads exited\",\"kind\":\"counter\",\"unit\":\"count\",\"metric\":\"threads_exited_total\",\"he"
    "lp\":\"Thread caches flushed at thread exit.\"},{\"key\":\"fork_lost_blocks\",\"label\":\"fork lost "
    "blocks\",\"kind\":\"counter\",\"unit\":\"count\",\"metric\":\"fork_lost_blocks_total\",\"help\":\"Ca"
    "ched blocks of threads that a fork left behind.\"}]}}\n"
    ;

static const char expected_prometheus[] =
    "# HELP tierpool_dump_time_seconds When the dump was written (Unix time).\n"
    "# TYPE tierpool_dump_time_seconds gauge\n"
    "tierpool_dump_time_seconds 1700000000.1235\n"
    "# HELP tierpool_info The process the counters come from; the value is always 1.\n"
    "# TYPE tierpool_info gauge\n"
    "tierpool_info{version=\"1\",pid=\"4242\",exe=\"/usr/bin/prog \\\"x\\\"\",reason=\"exit\"} 1\n"
    "# HELP tierpool_get_total Blocks handed out by the tier.\n"
    "# TYPE tierpool_get_total counter\n"
    "tierpool_get_total{tier=\"16\"} 1200\n"
    "tierpool_get_total{tier=\"128\"} 1000\n"
    "tierpool_get_total{tier=\"1024\"} 0\n"
    "tierpool_get_total{tier=\"4096\"} 10\n"
    "# HELP tierpool_put_total Blocks given back to the tier.\n"
    "# TYPE tierpool_put_total counter\n"
    "tierpool_put_total{tier=\"16\"} 1200\n"
    "tierpool_put_total{tier=\"128\"} 500\n"
    "tierpool_put_total{tier=\"1024\"} 0\n"
    "tierpool_put_total{tier=\"4096\"} 0\n"
    "# HELP tierpool_live_blocks Blocks in use (get - put).\n"
    "# TYPE tierpool_live_blocks gauge\n"
    "tierpool_live_blocks{tier=\"16\"} 0\n"
    "tierpool_live_blocks{tier=\"128\"} 500\n"
    "tierpool_live_blocks{tier=\"1024\"} 0\n"
    "tierpool_live_blocks{tier=\"4096\"} 10\n"
    "# HELP tierpool_peak_live_blocks Most blocks of the tier in use at once (sampled: see docs/stats.md).\n"
    "# TYPE tierpool_peak_live_blocks gauge\n"
    "tierpool_peak_live_blocks{tier=\"16\"} 40\n"
    "tierpool_peak_live_blocks{tier=\"128\"} 600\n"
    "tierpool_peak_live_blocks{tier=\"1024\"} 0\n"
    "tierpool_peak_live_blocks{tier=\"4096\"} 10\n"
    "# HELP tierpool_peak_live_bytes peak_live times the block size.\n"
    "# TYPE tierpool_peak_live_bytes gauge\n"
    "tierpool_peak_live_bytes{tier=\"16\"} 640\n"
    "tierpool_peak_live_bytes{tier=\"128\"} 76800\n"
    "tierpool_peak_live_bytes{tier=\"1024\"} 0\n"
    "tierpool_peak_live_bytes{tier=\"4096\"} 40960\n"
    "# HELP tierpool_peak_time_seconds When the tier's peak was reached (Unix time).\n"
    "# TYPE tierpool_peak_time_seconds gauge\n"
    "tierpool_peak_time_seconds{tier=\"16\"} 1699999990.0000\n"
    "tierpool_peak_time_seconds{tier=\"128\"} 1699999990.0000\n"
    "tierpool_peak_time_seconds{tier=\"1024\"} 0.0000\n"
    "tierpool_peak_time_seconds{tier=\"4096\"} 1699999995.5000\n"
    "# HELP tierpool_requested_bytes_total Sum of the lengths asked for by the gets.\n"
    "# TYPE tierpool_requested_bytes_total counter\n"
    "tierpool_requested_bytes_total{tier=\"16\"} 14400\n"
    "tierpool_requested_bytes_total{tier=\"128\"} 100000\n"
    "tierpool_requested_bytes_total{tier=\"1024\"} 0\n"
    "tierpool_requested_bytes_total{tier=\"4096\"} 30000\n"
    "# HELP tierpool_cached_blocks Free blocks held in thread caches.\n"
    "# TYPE tierpool_cached_blocks gauge\n"
    "tierpool_cached_blocks{tier=\"16\"} 32\n"
    "tierpool_cached_blocks{tier=\"128\"} 12\n"
    "tierpool_cached_blocks{tier=\"1024\"} 0\n"
    "tierpool_cached_blocks{tier=\"4096\"} 0\n"
    "# HELP tierpool_central_blocks Free blocks held in the central pool.\n"
    "# TYPE tierpool_central_blocks gauge\n"
    "tierpool_central_blocks{tier=\"16\"} 0\n"
    "tierpool_central_blocks{tier=\"128\"} 64\n"
    "tierpool_central_blocks{tier=\"1024\"} 0\n"
    "tierpool_central_blocks{tier=\"4096\"} 0\n"
    "# HELP tierpool_carved_bytes Bytes carved from the tier's region so far.\n"
    "# TYPE tierpool_carved_bytes gauge\n"
    "tierpool_carved_bytes{tier=\"16\"} 4096\n"
    "tierpool_carved_bytes{tier=\"128\"} 131072\n"
    "tierpool_carved_bytes{tier=\"1024\"} 0\n"
    "tierpool_carved_bytes{tier=\"4096\"} 40960\n"
    "# HELP tierpool_committed_bytes Bytes of the tier's region made accessible.\n"
    "# TYPE tierpool_committed_bytes gauge\n"
    "tierpool_committed_bytes{tier=\"16\"} 4096\n"
    "tierpool_committed_bytes{tier=\"128\"} 131072\n"
    "tierpool_committed_bytes{tier=\"1024\"} 0\n"
    "tierpool_committed_bytes{tier=\"4096\"} 1048576\n"
    "# HELP tierpool_fill_ratio Bytes requested / (get * size): 1 means no internal fragmentation.\n"
    "# TYPE tierpool_fill_ratio gauge\n"
    "tierpool_fill_ratio{tier=\"16\"} 0.7500\n"
    "tierpool_fill_ratio{tier=\"128\"} 0.7813\n"
    "tierpool_fill_ratio{tier=\"1024\"} 0\n"
    "tierpool_fill_ratio{tier=\"4096\"} 0.7324\n"
    "# HELP tierpool_process_peak_live_blocks Most pooled blocks in use at once, all tiers (sampled: see docs/stats.md).\n"
    "# TYPE tierpool_process_peak_live_blocks gauge\n"
    "tierpool_process_peak_live_blocks 640\n"
    "# HELP tierpool_process_peak_live_bytes Most pooled bytes in use at once, all tiers, at their tier size.\n"
    "# TYPE tierpool_process_peak_live_bytes gauge\n"
    "tierpool_process_peak_live_bytes 77440\n"
    "# HELP tierpool_process_peak_time_seconds When the process's peak was reached (Unix time).\n"
    "# TYPE tierpool_process_peak_time_seconds gauge\n"
    "tierpool_process_peak_time_seconds 1699999990.0000\n"
    "# HELP tierpool_forwarded_frees_total Frees of blocks that mimalloc had served.\n"
    "# TYPE tierpool_forwarded_frees_total counter\n"
    "tierpool_forwarded_frees_total 2\n"
    "# HELP tierpool_threads_started_total Thread caches set up.\n"
    "# TYPE tierpool_threads_started_total counter\n"
    "tierpool_threads_started_total 3\n"
    "# HELP tierpool_threads_exited_total Thread caches flushed at thread exit.\n"
    "# TYPE tierpool_threads_exited_total counter\n"
    "tierpool_threads_exited_total 2\n"
    "# HELP tierpool_fork_lost_blocks_total Cached blocks of threads that a fork left behind.\n"
    "# TYPE tierpool_fork_lost_blocks_total counter\n"
    "tierpool_fork_lost_blocks_total 0\n"
    "# HELP tierpool_balanced 1 when every get has its put (no tier has live blocks).\n"
    "# TYPE tierpool_balanced gauge\n"
    "tierpool_balanced 0\n"
    "# HELP tierpool_discarded_total Requests forwarded to mimalloc instead of a tier, by reason.\n"
    "# TYPE tierpool_discarded_total counter\n"
    "tierpool_discarded_total{reason=\"too_large\"} 3\n"
    "tierpool_discarded_total{reason=\"alignment\"} 1\n"
    "tierpool_discarded_total{reason=\"pool_full\"} 0\n"
    "tierpool_discarded_total{reason=\"no_pool\"} 0\n"
    "# HELP tierpool_discarded_bytes_total Bytes requested by the forwarded requests, by reason.\n"
    "# TYPE tierpool_discarded_bytes_total counter\n"
    "tierpool_discarded_bytes_total{reason=\"too_large\"} 6291456\n"
    "tierpool_discarded_bytes_total{reason=\"alignment\"} 64\n"
    "tierpool_discarded_bytes_total{reason=\"pool_full\"} 0\n"
    "tierpool_discarded_bytes_total{reason=\"no_pool\"} 0\n"
    ;

Test(render, text_exact) { cr_assert_str_eq(render(TP_FORMAT_TEXT, 4096), expected_text); }
Test(render, json_exact) { cr_assert_str_eq(render(TP_FORMAT_JSON, 4096), expected_json); }
Test(render, prometheus_exact) {
  cr_assert_str_eq(render(TP_FORMAT_PROMETHEUS, 4096), expected_prometheus);
}

/* A 7-byte buffer flushes in the middle of every number and string. */
Test(render, tiny_buffer_same_output) {
  for (int f = TP_FORMAT_TEXT; f <= TP_FORMAT_PROMETHEUS; f++) {
    static char big[1 << 16];
    strcpy(big, render((enum tp_format)f, 4096));
    cr_assert_str_eq(render((enum tp_format)f, 7), big, "format %d", f);
  }
}

Test(render, json_is_one_line) {
  const char *s = render(TP_FORMAT_JSON, 4096);
  const char *nl = strchr(s, '\n');
  cr_assert_not_null(nl);
  cr_assert_eq(nl[1], '\0', "JSON lines: exactly one newline, at the end");
}

Test(render, balanced_verdict_and_empty_lists) {
  tierpool_stats_t st;
  memset(&st, 0, sizeof st);
  st.ntiers = 2;
  st.tiers[0] = (tierpool_tier_stats_t){.size = 16, .get = 5, .put = 5, .bytes_requested = 40};
  st.tiers[1] = (tierpool_tier_stats_t){.size = 32};
  st.total_get = st.total_put = 5;
  tp_dump_meta_t meta = {.reason = TP_DUMP_SIGNAL, .pid = 1, .exe = "", .time_ns = 0};
  static char buf[512];
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, -1);
  out.sink = capture_sink;
  ncaptured = 0;
  tp_emitter_t e;
  tp_emit_init(&e, TP_FORMAT_TEXT, &out);
  tp_render(&e, &st, NULL, 0, &meta);
  tp_out_flush(&out);
  cr_assert_str_eq(captured,
                   "tierpool signal dump: pid 1 at 1970-01-01T00:00:00.000Z\n"
                   " tier  get  put  live  peak  requested  cached  central  committed   fill\n"
                   "   16    5    5     0     0         40       0        0          0  50.0%\n"
                   "total    5    5     0     0         40       0        0          0  50.0%\n"
                   "\n"
                   "peak live bytes   0\n"
                   "peak reached      -\n"
                   "forwarded frees   0\n"
                   "threads started   0\n"
                   "threads exited    0\n"
                   "fork lost blocks  0\n"
                   "\n"
                   "discarded  count  bytes\n"
                   "total          0      0\n"
                   "recent lengths (0)\n"
                   "balanced: every get has its put\n");
  ncaptured = 0;
  tp_emit_init(&e, TP_FORMAT_JSON, &out);
  tp_render(&e, &st, NULL, 0, &meta);
  tp_out_flush(&out);
  cr_assert_null(strstr(captured, "\"config\""), "no config object without a config");
  cr_assert_not_null(strstr(captured, "\"recent_lengths\":[],\"fields\":{\"tier\":[{\"key\":\"size\""));
  cr_assert_not_null(strstr(captured, "\"balanced\":true"));
  cr_assert_not_null(strstr(captured, "\"exe\":\"\""));
}

/* ------------------------------------------------------------- numbers */

static const char *fmt(size_t (*f)(char *, uint64_t), uint64_t v) {
  static char b[64];
  size_t n = f(b, v);
  cr_assert_eq(strlen(b), n);
  return b;
}

Test(format, u64) {
  cr_assert_str_eq(fmt(tp_fmt_u64, 0), "0");
  cr_assert_str_eq(fmt(tp_fmt_u64, 7), "7");
  cr_assert_str_eq(fmt(tp_fmt_u64, 1234567890), "1234567890");
  cr_assert_str_eq(fmt(tp_fmt_u64, UINT64_MAX), "18446744073709551615");
}

Test(format, bytes) {
  cr_assert_str_eq(fmt(tp_fmt_bytes, 0), "0");
  cr_assert_str_eq(fmt(tp_fmt_bytes, 1023), "1023");
  cr_assert_str_eq(fmt(tp_fmt_bytes, 1024), "1.0K");
  cr_assert_str_eq(fmt(tp_fmt_bytes, 1536), "1.5K");
  cr_assert_str_eq(fmt(tp_fmt_bytes, 100000), "97.7K");
  cr_assert_str_eq(fmt(tp_fmt_bytes, 1048575), "1.0M"); /* rounds up a unit */
  cr_assert_str_eq(fmt(tp_fmt_bytes, 3ull << 30), "3.0G");
  cr_assert_str_eq(fmt(tp_fmt_bytes, UINT64_MAX), "16.0E");
}

Test(format, size) {
  cr_assert_str_eq(fmt(tp_fmt_size, 16), "16");
  cr_assert_str_eq(fmt(tp_fmt_size, 1024), "1K");
  cr_assert_str_eq(fmt(tp_fmt_size, 4096), "4K");
  cr_assert_str_eq(fmt(tp_fmt_size, 1u << 20), "1M");
  cr_assert_str_eq(fmt(tp_fmt_size, 1u << 30), "1G");
  cr_assert_str_eq(fmt(tp_fmt_size, 1536), "1536");
}

Test(format, ratio) {
  char b[64];
  tp_fmt_ratio(b, 1, 3, 4);
  cr_assert_str_eq(b, "0.3333");
  tp_fmt_ratio(b, 2, 3, 4);
  cr_assert_str_eq(b, "0.6667");
  tp_fmt_ratio(b, 5, 0, 4);
  cr_assert_str_eq(b, "0");
  tp_fmt_ratio(b, 7, 7, 0);
  cr_assert_str_eq(b, "1");
  tp_fmt_ratio(b, UINT64_MAX, 1, 2);
  cr_assert_str_eq(b, "18446744073709551615.00");
}

Test(format, time) {
  char b[64];
  tp_fmt_time(b, 0);
  cr_assert_str_eq(b, "1970-01-01T00:00:00.000Z");
  tp_fmt_time(b, 951782400999000000ull); /* a leap day */
  cr_assert_str_eq(b, "2000-02-29T00:00:00.999Z");
  tp_fmt_time(b, 4102444799000000000ull);
  cr_assert_str_eq(b, "2099-12-31T23:59:59.000Z");
}

/* ---------------------------------------------------------- the writer */

Test(writer, json_escapes_control_bytes_and_quotes) {
  static const tp_field_t f = {"k", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};
  static char buf[64];
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, -1);
  out.sink = capture_sink;
  ncaptured = 0;
  tp_emitter_t e;
  tp_emit_init(&e, TP_FORMAT_JSON, &out);
  tp_emit_begin(&e);
  tp_emit_scalar(&e, &f, tp_v_str("a\"b\\c\n\x01\x7f"));
  tp_emit_end(&e);
  tp_out_flush(&out);
  cr_assert_str_eq(captured, "{\"k\":\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"}\n");
}

Test(writer, prometheus_escapes_labels) {
  static const tp_field_t f = {NULL, NULL, "info", "a\\b\nc", TP_GAUGE, TP_UNIT_COUNT};
  static char buf[64];
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, -1);
  out.sink = capture_sink;
  ncaptured = 0;
  tp_emitter_t e;
  tp_emit_init(&e, TP_FORMAT_PROMETHEUS, &out);
  const char *names[] = {"exe"};
  const char *values[] = {"/a \"b\"\\\n"};
  tp_emit_info(&e, &f, names, values, 1);
  tp_out_flush(&out);
  cr_assert_str_eq(captured, "# HELP tierpool_info a\\\\b\\nc\n# TYPE tierpool_info gauge\n"
                             "tierpool_info{exe=\"/a \\\"b\\\"\\\\\\n\"} 1\n");
}

Test(writer, fd_sink_writes_everything_and_reports_errors) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  char buf[5];
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, p[1]);
  tp_out_str(&out, "hello, world");
  cr_assert(tp_out_flush(&out));
  close(p[1]);
  char got[64] = {0};
  cr_assert_eq(read(p[0], got, sizeof got), 12);
  cr_assert_str_eq(got, "hello, world");
  close(p[0]);
  tp_out_init(&out, buf, sizeof buf, -1); /* EBADF */
  tp_out_str(&out, "lost");
  cr_assert_not(tp_out_flush(&out));
  cr_assert(out.failed);
}

Test(writer, invalid_utf8_becomes_replacement_character) {
  static const tp_field_t f = {"k", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};
  static char buf[64];
  tp_out_t out;
  tp_out_init(&out, buf, sizeof buf, -1);
  out.sink = capture_sink;
  ncaptured = 0;
  tp_emitter_t e;
  tp_emit_init(&e, TP_FORMAT_JSON, &out);
  tp_emit_begin(&e);
  /* valid é and €, then a stray continuation, an overlong '/', a truncated sequence */
  tp_emit_scalar(&e, &f, tp_v_str("\xc3\xa9\xe2\x82\xac|\x80|\xc0\xaf|\xe2\x82"));
  tp_emit_end(&e);
  tp_out_flush(&out);
  cr_assert_str_eq(captured, "{\"k\":\"\xc3\xa9\xe2\x82\xac|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                             "\xef\xbf\xbd\xef\xbf\xbd\"}\n");
}
