# sqlite3 inserting 100k rows (one INSERT each, in a transaction, plus a
# table filled by a recursive query), indexing, aggregating, joining,
# updating, deleting, vacuuming.
case_needs() { echo python3 sqlite3; }
case_prepare() {
  python3 - <<'PY'
import random
rng = random.Random(3)
with open("load.sql", "w") as f:
    f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL);\nBEGIN;\n")
    for i in range(1, 100001):
        name = "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(4, 30)))
        f.write("INSERT INTO t VALUES(%d, %d, '%s', %.3f);\n" % (i, rng.randint(0, 999), name,
                                                                rng.random() * 1000))
    f.write("COMMIT;\n")
PY
  cat >queries.sql <<'SQL'
CREATE INDEX t_k ON t(k);
CREATE TABLE u(x INTEGER PRIMARY KEY, k INTEGER, label TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
  INSERT INTO u SELECT x, (x * 7919) % 1000, printf('label-%06d-%s', x, hex(x * 31)) FROM c;
SELECT count(*), sum(id), sum(k), printf('%.3f', total(v)), min(name), max(name) FROM t;
SELECT k, count(*), sum(id) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;
SELECT count(DISTINCT name), count(DISTINCT k) FROM t;
SELECT t.k, count(*), max(u.label) FROM t JOIN u ON u.k = t.k WHERE t.id % 997 = 0
  GROUP BY t.k ORDER BY t.k LIMIT 10;
SELECT group_concat(id) FROM (SELECT id FROM t WHERE k = 7 ORDER BY id LIMIT 10);
UPDATE t SET name = upper(name) || name WHERE k < 100;
DELETE FROM t WHERE id % 10 = 0;
SELECT count(*), sum(length(name)), sum(id) FROM t;
VACUUM;
PRAGMA integrity_check;
SQL
}
case_run() {
  tp_run sqlite3 db.sqlite <"$TP_INPUT/load.sql"
  tp_run sqlite3 db.sqlite <"$TP_INPUT/queries.sql"
}
