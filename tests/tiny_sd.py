"""A tiny random-weight Stable Diffusion pipeline, built in seconds from local code only (no hub).

Components follow diffusers' own `get_dummy_components` for StableDiffusionPipeline (UNet with
32/64 channels, a 2-block VAE, a 5-layer CLIP text encoder), so the real pipeline code runs end
to end: the same loading, scheduler, VAE and memory-saver paths as SD 1.5, on ~1M parameters.
The VAE downsamples 2x (not 8x), so a 64x64 image has 32x32 latents.
"""

from __future__ import annotations

from pathlib import Path

WORDS = ("cat", "dog", "red", "blue", "a", "on", "the", "mat", "space", "astronaut", "horse", "photo", "of")


def clip_tokenizer(model_max_length: int = 77):
    """A CLIP BPE tokenizer: byte-level characters (with and without `</w>`) plus merges that spell WORDS.

    Ids: <|startoftext|> = 0, <|endoftext|> = 1; ~600 entries, so any CLIP text encoder with
    vocab_size >= 1000 accepts every id. (transformers 5: vocab as a dict, merges as tuples.)
    """
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    chars = sorted(ByteLevel.alphabet())  # the 256 byte-level characters CLIP's BPE works on
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in chars + [c + "</w>" for c in chars]:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:  # merge left to right: c+a -> ca, ca+t</w> -> cat</w>
            pair = (pieces[0], pieces[1])
            if pair not in merges:
                merges.append(pair)
            pieces = [pair[0] + pair[1], *pieces[2:]]
            vocab.setdefault(pieces[0], len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


def build_sd(folder: Path, safety_checker: bool = False) -> Path:
    """Save a tiny StableDiffusionPipeline into `folder` (model_index.json + component subfolders).

    safety_checker=True adds a tiny StableDiffusionSafetyChecker whose concept thresholds are
    set so that it flags EVERY image: the test for "the user is told, not handed a black image".
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2,
    ).eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, norm_num_groups=2,
    ).eval()
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=5, vocab_size=1000,
    )).eval()
    checker, extractor = (_always_flagging_checker() if safety_checker else (None, None))
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
                                   scheduler=scheduler, safety_checker=checker, feature_extractor=extractor,
                                   image_encoder=None, requires_safety_checker=safety_checker)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder)
    return folder


def _always_flagging_checker():
    """A tiny CLIP-vision safety checker with thresholds of -1: every cosine score is above them."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1,
                       "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(-1.0)
        checker.special_care_embeds_weights.fill_(-1.0)
    extractor = CLIPImageProcessor(crop_size=32, size={"shortest_edge": 32})
    return checker, extractor
