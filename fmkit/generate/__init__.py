"""How GPT-2 writes: the decode loop (decode.py), sampling (sampling.py), int8 weights and threads
(quantize.py), other families (families.py, seq2seq.py). Importing the package registers the GGUF
converter the catalog's packaged chat model (smollm2) names; gguf.py imports nothing heavy."""

from fmkit.catalog import register_converter
from fmkit.generate.gguf import ensure_converted

register_converter("gguf", ensure_converted)
