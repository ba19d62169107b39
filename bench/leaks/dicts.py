"""dicts.py - a python3 workload for scripts/bench-leaks: builds 100 000
dicts and serialises them to JSON (run with PYTHONMALLOC=malloc, so every
object is a malloc)."""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
rows = [{"id": i, "name": "item%d" % i, "tags": ["a", "b", str(i)], "score": i * 0.5}
        for i in range(n)]
text = json.dumps(rows)
print(len(text))
