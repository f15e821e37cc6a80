"""Tiny random-weight BERT, GPT-2, T5, Bloom, Falcon and GPT-J, built in seconds from local files only (no hub).

Shapes are real architectures shrunk: the same loading and inference code paths run as
for bert-base-uncased, gpt2, flan-t5, bloomz, falcon-rw and gpt-j, just on a few thousand parameters.
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
    return _save(folder, BertModel(config), tokenizer)


def gpt2_tokenizer(n_positions: int = 128):
    """A byte-level BPE tokenizer trained here on a few sentences (~400 tokens), GPT-2's special token."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(GPT2_CORPUS, vocab_size=400, min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False)
    return GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                             unk_token="<|endoftext|>", model_max_length=n_positions)


def build_gpt2(folder: Path, layers: int = 2, heads: int = 2, hidden: int = 32, n_positions: int = 128) -> Path:
    """A GPT-2 with the test BPE tokenizer."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = gpt2_tokenizer(n_positions)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=hidden, n_layer=layers,
                        n_head=heads, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return _save(folder, GPT2LMHeadModel(config), tokenizer)


def build_causal(folder: Path, family: str, layers: int = 2, heads: int = 4, hidden: int = 32,
                 n_positions: int = 128) -> Path:
    """A Bloom, Falcon (falcon-rw's shape: ALiBi, no multi-query) or GPT-J with the test BPE tokenizer.

    The tokenizer is GPT-2's kind for all three (GPT-J really uses it; Bloom's and Falcon's are
    byte-level BPEs too): what the tests compare is the model's decoding, not its vocabulary.
    """
    import torch
    from transformers import (BloomConfig, BloomForCausalLM, FalconConfig, FalconForCausalLM, GPTJConfig,
                              GPTJForCausalLM)

    tokenizer = gpt2_tokenizer(n_positions)
    special = {"vocab_size": len(tokenizer), "bos_token_id": tokenizer.bos_token_id,
               "eos_token_id": tokenizer.eos_token_id}
    configs = {
        "bloom": lambda: (BloomForCausalLM, BloomConfig(hidden_size=hidden, n_layer=layers, n_head=heads, **special)),
        "falcon": lambda: (FalconForCausalLM, FalconConfig(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, alibi=True, multi_query=False,
            new_decoder_architecture=False, parallel_attn=False, bias=True, max_position_embeddings=n_positions,
            **special)),
        "gptj": lambda: (GPTJForCausalLM, GPTJConfig(n_positions=n_positions, n_embd=hidden, n_layer=layers,
                                                     n_head=heads, rotary_dim=hidden // heads // 2, **special)),
    }
    model_class, config = configs[family]()
    torch.manual_seed(0)
    return _save(folder, model_class(config), tokenizer)


def t5_tokenizer(max_length: int = 64):
    """A T5 (sentencepiece Unigram) tokenizer over the corpus' words and single letters, scores fixed here:
    deterministic, unlike a trained one. Unknown characters become <unk>, as in FLAN-T5."""
    import re

    from transformers import T5Tokenizer

    words = sorted({w.lower() for line in GPT2_CORPUS for w in re.findall(r"[A-Za-z]+|[^\sA-Za-z]", line)})
    letters = "abcdefghijklmnopqrstuvwxyz"
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + w, -1.0 - 0.1 * len(w)) for w in words]
    marks = [w for w in words if not w.isalpha()]
    pieces += [(c, -5.0) for c in [*letters, *letters.upper(), *marks]] + [("\u2581" + c, -6.0) for c in letters.upper()]
    return T5Tokenizer(vocab=list(dict.fromkeys(pieces)), extra_ids=4, model_max_length=max_length)


def build_t5(folder: Path, layers: int = 2, heads: int = 4, hidden: int = 32, max_length: int = 64) -> Path:
    """A T5 v1.1 (FLAN-T5's shape: gated-GELU feed-forward, untied output layer) whose encoder reads
    `max_length` tokens (the tokenizer's model_max_length, as flan-t5's 512).

    T5's own initialisation at this size writes one token forever whatever the prompt; weights
    20x larger give answers that differ by prompt and by step (so parity tests can fail), and an
    output layer 500x smaller keeps a step's likeliest token near 50% (so seeds have a choice)."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = t5_tokenizer(max_length)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(tokenizer), d_model=hidden, d_kv=hidden // heads, d_ff=hidden * 2,
                      num_layers=layers, num_decoder_layers=layers, num_heads=heads, n_positions=max_length,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
                      initializer_factor=20.0,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(0.002)
    return _save(folder, model, tokenizer)


def _save(folder: Path, model, tokenizer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
