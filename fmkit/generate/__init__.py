"""How GPT-2 writes: the decode loop (decode.py), sampling (sampling.py), int8 weights and threads (quantize.py)."""
