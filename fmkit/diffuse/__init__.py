"""Stable Diffusion that fits a laptop: the staged pipeline (pipeline.py), memory plan (memory.py), low-peak
weight loading (weights.py), and the render-and-save loop every front end calls (run.py)."""
