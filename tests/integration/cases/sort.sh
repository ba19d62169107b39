# sort(1) of a generated 30 MB file: in memory, by numeric keys with two
# threads and temporary files (a small buffer forces an external merge),
# unique, and in a UTF-8 locale (strcoll).
case_needs() { echo python3 sort sha256sum; }
case_prepare() {
  python3 - <<'PY'
import random
rng = random.Random(20240501)
letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
with open("lines.txt", "w") as f:
    for i in range(800000):
        word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 24)))
        f.write("%s %d %.6f %s\n" % (word, rng.randint(-10**6, 10**6), rng.random(), "x" * (i % 13)))
PY
}
case_run() {
  local in=$TP_INPUT/lines.txt
  tp_run sort "$in" -o plain.txt
  tp_run sort -k2,2n -k1,1 --parallel=2 -S 4M -T . "$in" -o numeric.txt
  tp_run sort -u -k1,1 "$in" -o unique.txt
  LC_ALL=C.UTF-8 tp_run sort -f -k1,1 -s "$in" -o folded.txt
  wc -c <"$in"
  wc -l plain.txt numeric.txt unique.txt folded.txt
  sha256sum plain.txt numeric.txt unique.txt folded.txt
}
