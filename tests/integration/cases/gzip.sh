# gzip round trip of a tree of generated files: compress recursively,
# test, list, decompress, and compare with the originals. (gzip -c on one
# stream calls malloc not even once; recursion and listing do.)
case_needs() { echo python3 gzip sha256sum; }
case_prepare() {
  python3 - <<'PY'
import os, random
rng = random.Random(7)
words = [bytes(rng.choice(b"etaoinshrdlu") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
for d in range(4):
    os.makedirs("tree/d%d" % d)
    for f in range(5):
        n = rng.randint(200000, 2000000)
        with open("tree/d%d/f%d.txt" % (d, f), "wb") as out:
            out.write(b" ".join(rng.choice(words) for _ in range(n // 6)))
            out.write(rng.randbytes(n // 10))
PY
  (cd tree && find . -type f | sort | xargs sha256sum) >sums.txt
}
case_run() {
  cp -r "$TP_INPUT/tree" tree
  tp_run gzip -9 -n -r tree
  (cd tree && find . -type f | sort | xargs sha256sum)
  tp_run gzip -t -r tree && echo "gzip -t: ok"
  tp_run gzip -l tree/d0/f0.txt.gz tree/d3/f4.txt.gz
  tp_run gzip -d -r tree
  (cd tree && find . -type f | sort | xargs sha256sum) >sums.txt
  cmp -s sums.txt "$TP_INPUT/sums.txt" && echo "round trip: identical" || echo "round trip: DIFFERENT"
}
