"""Build-time generator of the sandbox corpus: ``python -m crawlers.sandbox.generator.make_corpus``.

Never imported at run time: the sandbox replays the file it writes.
"""
