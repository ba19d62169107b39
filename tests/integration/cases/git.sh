# git init/add/commit/log/gc/fsck on a generated tree, with fixed identity
# and dates so that the commit hashes are the same on every run.
case_needs() { echo python3 git; }
case_prepare() {
  python3 - <<'PY'
import os, random
rng = random.Random(5)
for d in range(20):
    os.makedirs("tree/dir%02d/sub" % d)
    for f in range(15):
        lines = ["line %d of file %d: %s" % (i, f, "".join(rng.choice("abcdef ") for _ in range(60)))
                 for i in range(rng.randint(10, 400))]
        path = "tree/dir%02d/%sfile%02d.txt" % (d, "sub/" if f % 3 == 0 else "", f)
        with open(path, "w") as out:
            out.write("\n".join(lines) + "\n")
PY
}
case_run() {
  export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  export GIT_AUTHOR_NAME=tierpool GIT_AUTHOR_EMAIL=tierpool@example.org
  export GIT_COMMITTER_NAME=tierpool GIT_COMMITTER_EMAIL=tierpool@example.org
  export GIT_AUTHOR_DATE='2024-05-01T12:00:00Z' GIT_COMMITTER_DATE='2024-05-01T12:00:00Z'
  cp -r "$TP_INPUT/tree" repo && cd repo || return 1
  tp_run git init -q -b main .
  tp_run git add -A
  tp_run git commit -q -m "first commit"
  for f in dir0*/file01.txt dir1*/sub/file03.txt; do echo "changed $f" >>"$f"; done
  rm dir05/file02.txt
  tp_run git add -A
  tp_run git commit -q -m "second commit"
  tp_run git mv dir07 moved07
  tp_run git commit -q -m "third commit: a rename"
  tp_run git log --format=%H
  tp_run git rev-parse 'HEAD^{tree}'
  tp_run git log --stat --format='%h %s' -M
  tp_run git diff --shortstat HEAD~2 HEAD
  tp_run git gc -q --aggressive
  tp_run git fsck --strict --no-progress && echo "fsck: ok"
  tp_run git rev-list --objects --all | wc -l
  tp_run git archive --format=tar HEAD | sha256sum
}
