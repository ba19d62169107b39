# python3 running an allocation-heavy script (dicts, lists, strings,
# objects, JSON) in four threads, with Python's own small-object allocator.
case_needs() { echo python3; }
case_run() { tp_run python3 "$TP_DATA/alloc_heavy.py"; }
