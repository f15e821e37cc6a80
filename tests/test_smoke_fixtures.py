"""The tiny models the other tests stand on load through the same code paths as real ones."""


def test_tiny_bert_tokenizes_words_and_pieces(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    assert tok.is_fast
    assert tok.convert_ids_to_tokens(tok("The cats")["input_ids"]) == ["[CLS]", "the", "cat", "##s", "[SEP]"]


def test_tiny_gpt2_round_trips_text(tiny_gpt2):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_gpt2)
    assert tok.decode(tok("Star Trek")["input_ids"]) == "Star Trek"
