#!/usr/bin/env bash
# Builds the PDF measurement set of archive/extract (TestMeasurePDF in
# pdfmeasure_test.go) in the folder given as $1 (default /tmp/pdfmeasure):
#
#   - web/NAME.pdf: a policy page of the shared corpus printed by headless
#     Debian Chromium (its scripts removed), and web/NAME.txt, the
#     page's visible text (document.body.innerText in the same Chromium), the
#     ground truth of word order;
#   - real/NAME.pdf: PDFs made by others: the corpus's one PDF and the
#     LaTeX-, texinfo- and TeX-made manuals and reference cards (one to
#     three columns) of Debian's pari-doc, glpk-doc, gnuplot-doc and
#     asymptote-doc.
#
# Needs chromium, perl, apt-get and dpkg-deb. Nothing is written to the
# repository. Run from anywhere: bash archive/extract/testdata/pdf/measure/build.sh
set -euo pipefail
out=${1:-/tmp/pdfmeasure}
repo=$(cd "$(dirname "$0")/../../../../.." && pwd)
corpus=$repo/../shared/corpus
every=${EVERY:-3} # one genai document in $every
mkdir -p "$out/web" "$out/real" "$out/src"

chrome() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-extensions --hide-scrollbars "$@" 2>/dev/null
}

# The latest snapshot of every policy and of one genai document in $every.
pages() {
  for d in "$corpus"/policies/snapshots/*/; do ls "$d"*.html | tail -1; done
  i=0
  for d in "$corpus"/genai/snapshots/*/; do
    f=$(ls "$d"*.html 2>/dev/null | tail -1) || true
    [ -n "$f" ] || continue
    i=$((i + 1))
    [ $((i % every)) -eq 1 ] || [ "$every" -eq 1 ] && echo "$f"
  done
}

for f in $(pages); do
  name=$(basename "$(dirname "$f")")
  [ -s "$out/web/$name.txt" ] && continue
  perl -0pe 's/<script\b.*?<\/script\s*>//gis' "$f" >"$out/src/$name.html"
  [ -s "$out/web/$name.pdf" ] || chrome --no-pdf-header-footer \
    --print-to-pdf="$out/web/$name.pdf" "file://$out/src/$name.html" || { echo "print failed: $name" >&2; continue; }
  # Ground truth: the page's innerText, in a copy whose only script is ours.
  {
    cat "$out/src/$name.html"
    echo '<script>addEventListener("load",function(){var t=document.body.innerText;document.documentElement.innerHTML="<body><pre id=gt></pre></body>";document.getElementById("gt").textContent=t;});</script>'
  } >"$out/src/$name.gt.html"
  chrome --dump-dom --virtual-time-budget=2000 "file://$out/src/$name.gt.html" |
    perl -0ne 'print $1 if /<pre id="gt">(.*)<\/pre>/s' |
    perl -Mopen=:std,:utf8 -MHTML::Entities -0pe 'decode_entities($_)' >"$out/web/$name.txt"
  echo "web/$name"
done

# The corpus's PDF.
for f in $(grep -o '"file": "[^"]*\.pdf"' "$corpus/genai/manifest.jsonl" | cut -d'"' -f4); do
  cp "$corpus/genai/$f" "$out/real/$(basename "$(dirname "$f")").pdf"
done

# Manuals from Debian packages.
debs=$out/debs
mkdir -p "$debs"
(cd "$debs" && ls ./*.deb >/dev/null 2>&1 || apt-get download pari-doc glpk-doc gnuplot-doc asymptote-doc)
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$debs/x"; done
for f in pari/doc/refcard.pdf pari/doc/tutorial.pdf pari/doc/users.pdf doc/glpk-doc/glpk.pdf \
  doc/glpk-doc/gmpl.pdf doc/gnuplot/gnuplot.pdf doc/asymptote/asymptote.pdf doc/asymptote/asyRefCard.pdf \
  doc/asymptote/asy-latex.pdf; do
  cp "$debs/x/usr/share/$f" "$out/real/$(echo "$f" | tr / - | sed 's/^doc-//')"
done
ls "$out/web" | wc -l
ls -la "$out/real"
