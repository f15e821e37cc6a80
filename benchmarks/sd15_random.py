"""Build a Stable Diffusion 1.5-shaped pipeline folder with RANDOM weights (no download).

The shapes are SD 1.5's published configs: UNet ~860M parameters, VAE ~84M, CLIP ViT-L/14 text
encoder ~123M, PNDM scheduler, saved in float32 safetensors like the real checkpoint. Images are
noise, but memory and time per step are those of the real model. Built once (~1-2 min, 4.3 GB)
and reused: benchmarks/.cache/sd15-random (gitignored), or $FMKIT_BENCH_CACHE.

    .venv/bin/python benchmarks/sd15_random.py    # builds it and prints the folder
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(os.environ.get("FMKIT_BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
DONE = "fmkit-built.txt"  # written last: a half-built folder (Ctrl-C) is rebuilt, never used


def clip_tokenizer():
    """A CLIP BPE tokenizer with a generated vocabulary: byte-level characters plus a few hundred
    merged pairs, ids below 49408 (SD 1.5's text-encoder vocabulary size)."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    chars = sorted(ByteLevel.alphabet())
    vocab = {"<|startoftext|>": 49406, "<|endoftext|>": 49407}
    ordered = chars + [c + "</w>" for c in chars]
    merges = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for a in letters:  # two-letter words: 'ca' + 't</w>' style merges for every letter pair
        for b in letters:
            merges.append((a, b + "</w>"))
            ordered.append(a + b + "</w>")
    for i, token in enumerate(dict.fromkeys(ordered)):
        vocab[token] = i
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def build(folder: Path) -> Path:
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    with torch.no_grad():
        unet = UNet2DConditionModel(  # stable-diffusion-v1-5/unet/config.json
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32, flip_sin_to_cos=True, freq_shift=0,
        ).eval()
        vae = AutoencoderKL(  # stable-diffusion-v1-5/vae/config.json
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
            block_out_channels=(128, 256, 512, 512), norm_num_groups=32,
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        ).eval()
        text_encoder = CLIPTextModel(CLIPTextConfig(  # openai/clip-vit-large-patch14 text tower
            vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
            num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768,
            bos_token_id=49406, eos_token_id=49407, pad_token_id=1,
        )).eval()
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              num_train_timesteps=1000, set_alpha_to_one=False, skip_prk_steps=True,
                              steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   image_encoder=None, requires_safety_checker=False)
    folder.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")  # 4.3 GB of random weights never belong in git
    pipe.save_pretrained(folder)
    counts = {n: sum(p.numel() for p in m.parameters()) for n, m in
              (("unet", unet), ("vae", vae), ("text_encoder", text_encoder))}
    (folder / DONE).write_text("".join(f"{n} {c}\n" for n, c in counts.items()))
    return folder


def sd15_folder() -> Path:
    """The cached SD 1.5-shaped folder, built on first use."""
    folder = CACHE / "sd15-random"
    if not (folder / DONE).is_file():
        build(folder)
    return folder


if __name__ == "__main__":
    path = sd15_folder()
    print(path)
    print((path / DONE).read_text(), end="")
