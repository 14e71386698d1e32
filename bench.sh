#!/usr/bin/env bash
# bench.sh: exhibit's speed benchmarks in one run, with the baselines they are
# judged against, then a table of the ratios and targets.
#
#   (1) import of distinct 1 KiB documents       (BenchmarkImportSmall)
#   (2) import of distinct copies of real pages  (BenchmarkImportCorpus)
#   (3) raw Tessera POSIX appends, no statement signing (BenchmarkTesseraAppend)
#   (4) sequential SHA-256 + write + fsync       (BenchmarkSequentialFsync)
#       targets: (1)/(3) >= 0.5 and (2)/(4) >= 1.0, at each concurrency
#  (12) the file system creating the files (1) must create, one 1 KiB file
#       per document, no signing or log, one syncfs at the end
#                                                (BenchmarkCreateFiles)
#       the bound of (1) that is not the log's: (1)/(12) is shown
#   (5) latency of one `exhibit capture` of a loopback page, process start
#       included (the record is then acknowledged: its checkpoint kept, its
#       bundle computable), then `exhibit prove` of its bundle and `exhibit
#       verify` of it; target capture median and max < 0.2 s
#   (6) peak RSS of `exhibit import` of many 200-byte documents
#   (7) import of the same copies of the corpus into an archive whose store
#       is a bucket of a local S3 server, versitygw on loopback
#                                                (BenchmarkImportCorpusS3)
#   (8) sequential read + SHA-256 + plain minio-go PutObject of the same
#       files to the same kind of server         (BenchmarkPutObjectLoop)
#       target: (7)/(8) >= 1.0 at each concurrency; (2) is shown beside them
#       (all three measured in the same invocation per concurrency)
#   (9) exhibit serve: tiles vs http.FileServer, records, concurrent captures
#  (10) capture to a witnessed, time-stamped bundle (three local omniwitness,
#       2 of 3, and a local sigstore timestamp-server) against the same
#       capture without them, alternating, in one run; p50 and p99
#                                                (BenchmarkTrustedCapture)
#       target: witnessed p99 < 2 s
#  (11) text extraction vs goquery parsing alone (target >= 0.5x), and one
#       tracking round of the 19 corpus documents, end to end
#                      (BenchmarkExtractVsParse, BenchmarkTrackCorpus)
#
# Usage: ./bench.sh   (from anywhere; about 10 minutes)
#
# Environment (defaults in brackets):
#   EXHIBIT_BENCH_COPIES       distinct copies of the corpus per import [3]
#   EXHIBIT_BENCH_DOCS         1 KiB documents per import [10000]
#   EXHIBIT_BENCH_CONC         import concurrencies to try [16,32,64]; each
#                              runs in its own invocation of all four benchmarks,
#                              so every ratio's baseline is measured beside it
#   EXHIBIT_BENCH_ROUNDS       repeat all that; the table gives medians [1]
#   EXHIBIT_BENCH_CAPTURES     captures timed in (5) [10]
#   EXHIBIT_BENCH_MEM_RECORDS  documents imported in (6) [100000]
#   EXHIBIT_BENCH_MEM_CONC     --concurrency of the import in (6) [32]
#   EXHIBIT_BENCH_MEM_MIB      peak RSS target of (6), MiB [300]
#   EXHIBIT_BENCH_TRUST_CAPTURES  captures per archive in (10) [100]
#   CI=true                    a missing corpus (../shared/corpus/policies, beside
#                              the repository) or versitygw fails instead of skipping
#   VGW_KEEP_ALIVE=true        let versitygw keep connections alive in (7) and (8)
#                              (versitygw closes each one after a request by default)
#
# (7) and (8) need versitygw in PATH or $(go env GOPATH)/bin:
#   go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
# Without it they are skipped (their rows show "-"). (10) needs omniwitness and
# timestamp-server likewise (.ci/install-tools installs all three); without
# them its row shows "-".
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

corpus=$root/../shared/corpus/policies
captures=${EXHIBIT_BENCH_CAPTURES:-10}
export EXHIBIT_BENCH_DOCS=${EXHIBIT_BENCH_DOCS:-10000}
mem_records=${EXHIBIT_BENCH_MEM_RECORDS:-100000}
mem_conc=${EXHIBIT_BENCH_MEM_CONC:-32}
mem_mib=${EXHIBIT_BENCH_MEM_MIB:-300}
rounds=${EXHIBIT_BENCH_ROUNDS:-1}
concs=$(echo "${EXHIBIT_BENCH_CONC:-16,32,64}" | tr ',' ' ')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/exhibit-bench.XXXXXX")
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building"
go build -o "$tmp/exhibit" ./cmd/exhibit
go build -o "$tmp/benchtool" ./archive/internal/benchutil/benchtool
echo "go $(go env GOVERSION), $(nproc) CPUs, temp dir on $(df -PT "$tmp" | awk 'NR==2 {print $2 " " $1}')"
vgw_hint="versitygw is not in PATH or \$(go env GOPATH)/bin, so (7) and (8) are skipped; install it with
	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
vgw=$(command -v versitygw || true)
for gp in $(go env GOPATH | tr ':' ' '); do
	[ -z "$vgw" ] && [ -x "$gp/bin/versitygw" ] && vgw=$gp/bin/versitygw
done
[ -n "$vgw" ] || echo "bench.sh: $vgw_hint" >&2

echo
echo "== (1)-(4), (7)-(8), (12) import benchmarks (archive/ingest), one invocation per concurrency (rounds: $rounds)"
go test -c -o "$tmp/archive.test" ./archive
go test -c -o "$tmp/ingest.test" ./archive/ingest
: >"$tmp/bench.txt"
for r in $(seq "$rounds"); do
	for c in $concs; do
		echo "-- round $r, concurrency $c"
		(cd archive/ingest && EXHIBIT_BENCH_CONC=$c "$tmp/ingest.test" -test.run '^$' \
			-test.bench '^Benchmark(TesseraAppend|CreateFiles|ImportSmall|SequentialFsync|ImportCorpus|PutObjectLoop|ImportCorpusS3)$' \
			-test.benchtime 1x -test.timeout 60m) >"$tmp/out" 2>&1 ||
			echo "bench.sh: the benchmarks failed; the table lacks what did not run" >&2
		grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^PASS$' "$tmp/out" || true
		awk -v c="$c" '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); print c, $0 }' "$tmp/out" >>"$tmp/bench.txt"
	done
done

# rate CONC NAME: the median records/s of benchmark NAME in the invocations
# at concurrency CONC.
rate() {
	awk -v c="$1" -v name="$2" '$1 == c && $2 == name {
		for (i = 3; i < NF; i++) if ($(i+1) == "records/s") print $i
	}' "$tmp/bench.txt" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

# metric CONC NAME UNIT: the median of benchmark NAME's metric UNIT in the
# invocations at concurrency CONC, to 3 significant digits.
metric() {
	awk -v c="$1" -v name="$2" -v unit="$3" '$1 == c && $2 == name {
		for (i = 3; i < NF; i++) if ($(i+1) == unit) print $i
	}' "$tmp/bench.txt" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		printf "%.3g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

# cpu CONC NAME: "client+server" CPU ms per record of benchmark NAME.
cpu() {
	local cl sv
	cl=$(metric "$1" "$2" client-cpu-ms/rec)
	sv=$(metric "$1" "$2" server-cpu-ms/rec)
	[ -n "$cl" ] && [ -n "$sv" ] && echo "$cl+$sv" || echo -
}

verdict() { # verdict RATIO TARGET
	awk -v r="$1" -v t="$2" 'BEGIN { if (r == "") print "-"; else if (r + 0 >= t + 0) print "ok"; else print "MISS" }'
}
ratio() { # ratio A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f", a / b }'
}

echo
echo "== (5) exhibit capture of a loopback page, ${captures} times"
page=
if [ -f "$corpus/manifest.jsonl" ]; then
	file=$(head -n 1 "$corpus/manifest.jsonl" | sed -n 's/.*"file": *"\([^"]*\)".*/\1/p')
	page=$corpus/$file
fi
"$tmp/benchtool" serve ${page:+-page "$page"} -addr-file "$tmp/addr" &
server=$!
for _ in $(seq 100); do [ -s "$tmp/addr" ] && break; sleep 0.05; done
url="http://$(cat "$tmp/addr")/page.html"
"$tmp/exhibit" --archive "$tmp/capture" init >/dev/null
: >"$tmp/capture-walls"
: >"$tmp/prove-walls"
verified=0
for i in $(seq "$captures"); do
	"$tmp/benchtool" run -result "$tmp/run" -- \
		"$tmp/exhibit" --archive "$tmp/capture" capture -o json "$url" >"$tmp/capture.json" ||
		echo "bench.sh: exhibit capture failed" >&2
	sed -n 's/^wall_s=\([^ ]*\).*/\1/p' "$tmp/run" >>"$tmp/capture-walls"
	id=$(sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p' "$tmp/capture.json")
	"$tmp/benchtool" run -result "$tmp/run" -- \
		"$tmp/exhibit" --archive "$tmp/capture" prove "$id" -o "$tmp/bundle.json" 2>/dev/null ||
		echo "bench.sh: exhibit prove $id failed" >&2
	sed -n 's/^wall_s=\([^ ]*\).*/\1/p' "$tmp/run" >>"$tmp/prove-walls"
	if "$tmp/exhibit" --archive "$tmp/capture" verify --record-id "$id" "$tmp/bundle.json" >/dev/null; then
		verified=$((verified + 1))
	else
		echo "exhibit verify of $id failed" >&2
	fi
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
server=
size=$(sed -n 's/.*"size":\([0-9]*\).*/\1/p' "$tmp/capture.json")
cap_median=$(sort -n "$tmp/capture-walls" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
cap_max=$(sort -n "$tmp/capture-walls" | tail -n 1)
prove_median=$(sort -n "$tmp/prove-walls" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "page $size bytes; capture wall times (s): $(sort -n "$tmp/capture-walls" | tr '\n' ' ')"
echo "prove wall times (s): $(sort -n "$tmp/prove-walls" | tr '\n' ' ')"

echo
echo "== (6) exhibit import --concurrency $mem_conc of $mem_records 200-byte documents"
"$tmp/benchtool" small -n "$mem_records" -size 200 "$tmp/mem" >/dev/null
"$tmp/benchtool" run -result "$tmp/run" -- \
	"$tmp/exhibit" --archive "$tmp/mem-archive" import --concurrency "$mem_conc" "$tmp/mem/manifest.jsonl" 2>&1 |
	grep -v -e '^exhibit: created archive' -e '	published [0-9]*$' -e '	skipped [0-9]*$' || true
mem_kib=$(sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' "$tmp/run")
mem_exit=$(sed -n 's/.*exit=\([0-9]*\).*/\1/p' "$tmp/run")
mem_wall=$(sed -n 's/^wall_s=\([^ ]*\).*/\1/p' "$tmp/run")
mem_mib_got=$(awk -v k="$mem_kib" 'BEGIN { printf "%.0f", k / 1024 }')

echo
echo "== summary"
printf '%-34s %5s %10s %10s %6s %8s %s\n' "measurement" "conc" "records/s" "baseline" "ratio" "target" ""
best_small= best_small_c= best_corpus= best_corpus_c=
for c in $concs; do
	s=$(rate "$c" "BenchmarkImportSmall/conc=$c")
	t=$(rate "$c" "BenchmarkTesseraAppend/conc=$c")
	r=$(ratio "$s" "$t")
	printf '%-34s %5s %10s %10s %6s %8s %s\n' "(1) import 1 KiB / (3) tessera" "$c" "${s:--}" "${t:--}" "${r:--}" ">= 0.5" "$(verdict "$r" 0.5)"
	if [ -n "$s" ] && awk -v a="$s" -v b="${best_small:-0}" 'BEGIN { exit !(a > b) }'; then best_small=$s best_small_c=$c; fi
done
for c in $concs; do
	s=$(rate "$c" "BenchmarkImportCorpus/conc=$c")
	t=$(rate "$c" BenchmarkSequentialFsync)
	r=$(ratio "$s" "$t")
	printf '%-34s %5s %10s %10s %6s %8s %s\n' "(2) import corpus / (4) seq fsync" "$c" "${s:--}" "${t:--}" "${r:--}" ">= 1.0" "$(verdict "$r" 1.0)"
	if [ -n "$s" ] && awk -v a="$s" -v b="${best_corpus:-0}" 'BEGIN { exit !(a > b) }'; then best_corpus=$s best_corpus_c=$c; fi
done
for c in $concs; do
	s=$(rate "$c" "BenchmarkImportSmall/conc=$c")
	t=$(rate "$c" "BenchmarkCreateFiles/conc=$c")
	r=$(ratio "$s" "$t")
	printf '%-34s %5s %10s %10s %6s %8s %s\n' "(1) import 1 KiB / (12) new files" "$c" "${s:--}" "${t:--}" "${r:--}" "" "(the file system's bound)"
done
printf '%-34s %s\n' "best concurrency, 1 KiB docs" "${best_small_c:--} (${best_small:--} records/s)"
printf '%-34s %s\n' "best concurrency, corpus" "${best_corpus_c:--} (${best_corpus:--} records/s)"
echo "(7) import corpus into S3 / plain PutObject loop, versitygw on loopback${VGW_KEEP_ALIVE:+ (VGW_KEEP_ALIVE=$VGW_KEEP_ALIVE)}:"
printf '    %5s %10s %10s %6s %8s %-4s %10s   %-16s %s\n' "conc" "S3 import" "PutObject" "ratio" "target" "" "FS import" "S3 cpu ms/rec" "loop cpu ms/rec (client+server)"
best_s3= best_s3_c=
for c in $concs; do
	s=$(rate "$c" "BenchmarkImportCorpusS3/conc=$c")
	t=$(rate "$c" BenchmarkPutObjectLoop)
	f=$(rate "$c" "BenchmarkImportCorpus/conc=$c")
	r=$(ratio "$s" "$t")
	printf '    %5s %10s %10s %6s %8s %-4s %10s   %-16s %s\n' "$c" "${s:--}" "${t:--}" "${r:--}" ">= 1.0" "$(verdict "$r" 1.0)" "${f:--}" \
		"$(cpu "$c" "BenchmarkImportCorpusS3/conc=$c")" "$(cpu "$c" BenchmarkPutObjectLoop)"
	if [ -n "$s" ] && awk -v a="$s" -v b="${best_s3:-0}" 'BEGIN { exit !(a > b) }'; then best_s3=$s best_s3_c=$c; fi
done
[ -n "$vgw" ] || echo "    ($vgw_hint)"
printf '%-34s %s\n' "best concurrency, corpus into S3" "${best_s3_c:--} (${best_s3:--} records/s)"
under() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "" && v + 0 < t + 0) ? "ok" : "MISS" }'; }
printf '%-34s median %ss %s, max %ss %s (target < 0.2 s); exhibit prove median %ss; bundles verified %d/%d %s\n' \
	"(5) exhibit capture, loopback" "$cap_median" "$(under "$cap_median" 0.2)" "$cap_max" "$(under "$cap_max" 0.2)" "$prove_median" "$verified" "$captures" \
	"$([ "$verified" -eq "$captures" ] && echo ok || echo MISS)"
mem_ok=$(awk -v g="$mem_mib_got" -v t="$mem_mib" 'BEGIN { print (g + 0 <= t + 0) ? "ok" : "MISS" }')
printf '%-34s %s MiB peak RSS (target <= %s MiB) %s; %s documents in %ss (%s records/s), exit %s\n' \
	"(6) exhibit import, memory" "$mem_mib_got" "$mem_mib" "$mem_ok" "$mem_records" "$mem_wall" \
	"$(awk -v n="$mem_records" -v w="$mem_wall" 'BEGIN { printf "%.0f", n / w }')" "$mem_exit"

# (9) exhibit serve: the HTTP server under many concurrent loopback clients
# (api/bench_test.go, BenchmarkServe*): GET of a full tile from exhibit vs
# Go's http.FileServer over the same log directory (baseline run right
# before, same invocation; target >= 0.8x), GET /api/v1/records/{id}, and
# POST /api/v1/captures of distinct loopback URLs from 50 clients, each
# bundle verified (target p99 < 1000 ms). Repeated EXHIBIT_BENCH_ROUNDS
# times; medians shown.
echo
echo "== (9) exhibit serve (go test ./api -run '^\$' -bench 'BenchmarkServe' -benchtime=1x, rounds: $rounds)"
(cd api && go test -run '^$' -bench 'BenchmarkServe' -benchtime=1x -count "$rounds" -timeout 30m .) >"$tmp/serve-out" 2>&1 ||
	echo "bench.sh: the serve benchmarks failed; the rows lack what did not run" >&2
grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^PASS$' "$tmp/serve-out" || true
# serve_metric NAME UNIT: the median of benchmark NAME's metric UNIT.
serve_metric() {
	awk -v name="$1" -v unit="$2" '/^Benchmark/ { n = $1; sub(/-[0-9]+$/, "", n); if (n != name) next
		for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i
	}' "$tmp/serve-out" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
tile_fs=$(serve_metric BenchmarkServeTile/fileserver req/s)
tile_ex=$(serve_metric BenchmarkServeTile/exhibit req/s)
tile_id=$(serve_metric BenchmarkServeTile/exhibit-identity req/s)
tile_r=$(ratio "$tile_ex" "$tile_fs")
tile_rid=$(ratio "$tile_id" "$tile_fs")
rec_rate=$(serve_metric BenchmarkServeRecord req/s)
cap_p50=$(serve_metric BenchmarkServeCapture p50-ms)
cap_p99=$(serve_metric BenchmarkServeCapture p99-ms)
cap_rate=$(serve_metric BenchmarkServeCapture captures/s)
echo
echo "== (9) summary"
printf '%-34s %10s %10s %6s %8s %s\n' "measurement" "req/s" "baseline" "ratio" "target" ""
printf '%-34s %10s %10s %6s %8s %s\n' "(9) tile, exhibit / FileServer" "${tile_ex:--}" "${tile_fs:--}" "${tile_r:--}" ">= 0.8" "$(verdict "$tile_r" 0.8)"
printf '%-34s %10s %10s %6s %8s %s\n' "    same, client asks no gzip" "${tile_id:--}" "${tile_fs:--}" "${tile_rid:--}" ">= 0.8" "$(verdict "$tile_rid" 0.8)"
printf '%-34s %10s\n' "(9) GET /api/v1/records/{id}" "${rec_rate:--}"
printf '%-34s p50 %s ms, p99 %s ms %s (target p99 < 1000 ms); %s captures/s, bundles verified: %s\n' \
	"(9) POST captures, 50 clients" "${cap_p50:--}" "${cap_p99:--}" "$(under "$cap_p99" 1000)" "${cap_rate:--}" \
	"$([ -n "$cap_p99" ] && echo all || echo -)"

# (10) capture to a witnessed, time-stamped bundle vs a plain one, same run
# (archive/trust_bench_test.go). Repeated EXHIBIT_BENCH_ROUNDS times;
# medians shown.
echo
echo "== (10) witnessed, time-stamped capture vs plain (BenchmarkTrustedCapture, rounds: $rounds)"
(cd archive && "$tmp/archive.test" -test.run '^$' -test.bench '^BenchmarkTrustedCapture$' -test.benchtime 1x \
	-test.count "$rounds" -test.timeout 30m) >"$tmp/trust-out" 2>&1 ||
	echo "bench.sh: the witnessed capture benchmark failed; its row lacks what did not run" >&2
grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^PASS$' "$tmp/trust-out" || true
trust_metric() { # trust_metric UNIT: the median of BenchmarkTrustedCapture's UNIT
	awk -v unit="$1" '/^BenchmarkTrustedCapture/ { for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i }' "$tmp/trust-out" |
		sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
tr_p50=$(trust_metric trusted-p50-ms)
tr_p99=$(trust_metric trusted-p99-ms)
pl_p50=$(trust_metric plain-p50-ms)
pl_p99=$(trust_metric plain-p99-ms)
echo
echo "== (10) summary"
printf '%-34s p50 %s ms, p99 %s ms %s (target p99 < 2000 ms); plain, same run: p50 %s ms, p99 %s ms\n' \
	"(10) capture, witnessed+TSA" "${tr_p50:--}" "${tr_p99:--}" "$(under "$tr_p99" 2000)" "${pl_p50:--}" "${pl_p99:--}"

# (11) tracking: text extraction throughput on the corpus (MB/s of HTML)
# against goquery parsing the same files alone, measured in the same
# benchmark (archive/extract BenchmarkExtractVsParse; target >= 0.5x); and
# tracking the 19 corpus documents once, end to end (archive/track
# BenchmarkTrackCorpus: capture over loopback, extract, log, publish).
echo
echo "== (11) tracking (rounds: $rounds)"
(cd archive/extract && go test -run '^$' -bench 'BenchmarkExtractVsParse' -benchtime=5x -count "$rounds" .) >"$tmp/track-out" 2>&1 ||
	echo "bench.sh: the extraction benchmark failed" >&2
(cd archive/track && go test -run '^$' -bench 'BenchmarkTrackCorpus' -benchtime=3x -count "$rounds" -timeout 30m .) >>"$tmp/track-out" 2>&1 ||
	echo "bench.sh: the tracking benchmark failed" >&2
grep '^Benchmark' "$tmp/track-out" || true
track_metric() {
	awk -v name="$1" -v unit="$2" '/^Benchmark/ { n = $1; sub(/-[0-9]+$/, "", n); if (n != name) next
		for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i
	}' "$tmp/track-out" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		printf "%.3g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}
x_ratio=$(track_metric BenchmarkExtractVsParse throughput-ratio)
x_mbs=$(track_metric BenchmarkExtractVsParse extract-MB/s)
p_mbs=$(track_metric BenchmarkExtractVsParse parse-MB/s)
t_round=$(track_metric BenchmarkTrackCorpus s/round)
echo
echo "== (11) summary"
printf '%-34s %s MB/s vs goquery parse %s MB/s: ratio %s (target >= 0.5) %s\n' "(11) extraction, corpus HTML" "${x_mbs:--}" "${p_mbs:--}" "${x_ratio:--}" "$(verdict "$x_ratio" 0.5)"
printf '%-34s %s s for 19 documents, end to end\n' "(11) track run --all, corpus" "${t_round:--}"
