"""Stable Diffusion that fits the machine: the staged pipeline (pipeline.py), the memory planner
(planner.py: the fastest plan that fits runtime.max_memory; strategy.py reads the profile for it,
sizes.py the model folder), the plan as diffusers calls (memory.py), the CUDA speed-ups behind
diffuse.compile (speed.py), low-peak weight loading (weights.py), and the render-and-save loop
every front end calls (run.py)."""
