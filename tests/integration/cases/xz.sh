# xz round trips of a generated 3 MB file, single-threaded and with two
# threads (block mode), compared with the original.
case_needs() { echo python3 xz sha256sum; }
case_prepare() {
  python3 - <<'PY'
import random
rng = random.Random(11)
words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 12))) for _ in range(5000)]
with open("data.bin", "wb") as out:
    for _ in range(6):
        out.write(b"\n".join(rng.choice(words) for _ in range(60000)))
        out.write(rng.randbytes(50000))
PY
}
case_run() {
  local in=$TP_INPUT/data.bin
  sha256sum <"$in"
  tp_run xz -T1 -6 -c "$in" >one.xz
  tp_run xz -T2 -3 --block-size=2MiB -c "$in" >two.xz
  sha256sum one.xz two.xz
  tp_run xz -d -T1 -c one.xz | sha256sum
  tp_run xz -d -T2 -c two.xz >two.out
  cmp -s two.out "$in" && echo "round trip: identical" || echo "round trip: DIFFERENT"
  tp_run xz -l --robot two.xz | grep -v '^name'
}
