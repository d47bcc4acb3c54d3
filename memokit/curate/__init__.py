"""Curate: from raw posts to coded signals, with the machine's part measured and disclosed.

- ``raw`` reads the posts that ``memokit collect`` (or a CSV/JSONL export) left in ``raw/``;
- ``similar`` finds near-duplicates (rapidfuzz; datasketch MinHash-LSH for large inputs);
- ``ingest`` merges duplicates and puts new posts into the coding queue, ``data/queue.jsonl``;
- ``classifier`` trains the theme classifier (scikit-learn) and writes suggestions into the queue;
- ``agreement`` measures by cross-validation how far those suggestions agree with the coders;
- ``store`` reads and writes the queue and the signals, every write atomic;
- ``coding`` serves the local coding page (``memokit code``);
- ``commands`` is the command line of all four.

Machine-learning code lives only here; the build never imports this package. Nothing in the
queue reaches the statistics until a coder has decided on it.
"""
