"""Tiny random-weight BERT and GPT-2, built in seconds from local files only (no hub).

Shapes are real architectures shrunk: the same loading and inference code paths run as
for bert-base-uncased and gpt2, just on a few thousand parameters.
"""

from __future__ import annotations

from pathlib import Path

BERT_WORDS = ("the cat sat on mat i read a good novel dog ran fast slow big small house tree "
              ". , ! ? ' \" < > / ( ) - : ; = script alert 0 1 2 3 4 5 6 7 8 9").split()
GPT2_CORPUS = [
    "Star Trek is a science fiction franchise about a starship and its crew.",
    "The crew of the Enterprise explores strange new worlds and new civilizations.",
    "Space: the final frontier. These are the voyages of the starship Enterprise.",
    "A good novel tells a story; the cat sat on the mat and read it.",
    "Captain Kirk and Mr. Spock beam down to the planet surface.",
] * 20


def build_bert(folder: Path, layers: int = 2, heads: int = 4, hidden: int = 32, max_positions: int = 64) -> Path:
    """A BERT with a WordPiece vocab of ~100 entries (letters, ##letters, a few words)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *BERT_WORDS, *letters, *("##" + c for c in letters)]
    vocab = list(dict.fromkeys(vocab))
    # transformers 5: the vocab goes in as a dict; vocab_file= is silently ignored (all [UNK]).
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True,
                              model_max_length=max_positions)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 2,
                        max_position_embeddings=max_positions)
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_gpt2(folder: Path, layers: int = 2, heads: int = 2, hidden: int = 32, n_positions: int = 128) -> Path:
    """A GPT-2 with a byte-level BPE tokenizer trained here on a few sentences (~400 tokens)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(GPT2_CORPUS, vocab_size=400, min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False)
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  unk_token="<|endoftext|>", model_max_length=n_positions)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=hidden, n_layer=layers,
                        n_head=heads, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    folder.mkdir(parents=True, exist_ok=True)
    GPT2LMHeadModel(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
