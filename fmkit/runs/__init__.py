"""What every image capability's run shares, written once: the loop (checks, the missing-source
shortcut, notes, totals, the skipped notice, watching), the output folder's rules (names that
never clobber, a JSON written last that marks a result complete, re-runs that skip what is done)
and in-process writing in input order. detect/ and segment/ bring their model, their result type
and how their results are drawn.

    loop.py        ImageRun: sources in, results out, files written; executors plug in
    folder.py      OutputFolder: the layout and rules of -o OUTDIR, local or in a bucket
    writing.py     results written by a small pool, reported and committed in input order
    results.py     ImageResult and RunSummary: what every image result and run has
    ahead.py       sources read (decoded) a little ahead of the model, in input order
"""
