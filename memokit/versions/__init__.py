"""Versions of a memo: pinned snapshots, and what moved between two of them and why.

Every build writes a snapshot (``memokit.build.snapshot``), in the site as two files
(``store``); ``memokit pin`` writes it whole into the project's ``versions/`` as a publication;
``compare`` explains every moved number by the posts added, dropped and recoded, and flags changes
of the taxonomy as changes of method. This package works on snapshots as plain data and imports
nothing of the build.
"""
