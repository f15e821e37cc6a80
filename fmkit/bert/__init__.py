"""How BERT reads text: tokens (tokenizer.py), attention maps (attention.py), positional encodings (positional.py)."""
