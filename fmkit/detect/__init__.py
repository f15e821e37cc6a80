"""YOLO detection: the model and the streaming batches (detector.py), the files under -o (outputs.py),
watching a folder (watch.py), and the whole run every front end calls (run.py)."""
