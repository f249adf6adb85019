"""``lstm-np crosscheck PROGRAM.py``: a user's Keras program run on Keras and on lstm_np.

``command.py`` (the CLI and the flow) starts ``child.py`` twice, once per side, each in its
own process with the import aliases of ``hook.py`` and the recorder of ``record.py``; then
``compare.py`` finds where the runs part and ``layerdiff.py`` names the first layer that
differs there. ``report.py`` prints the tables. See docs/crosscheck.md.
"""
