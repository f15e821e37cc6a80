"""YOLO detection: the model (detector.py), decoding and letterboxing (frames.py: on the CPU or the
GPU), the streaming batches (stream.py), what it writes under -o (folder.py, on runs/folder.py),
and the run every front end calls (run.py: a runs.loop.ImageRun; watching comes from runs/watch.py)."""
