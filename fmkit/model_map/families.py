"""The model families the course names, as facts: who made each, what it reads and writes, whether
it is a foundation model, whether its weights are open, and which fmkit command and catalog
aliases let a student try it here. The words that explain each row (in English and Korean) are in
words.py, keyed by `key`.

The course's list: lecture 1 names GPT-n, BERT, DALL-E, LLaMA and Segment Anything as foundation
models and YOLO as "a strong base model for object detection, not a foundation model"; then
Amazon Bedrock's Jurassic-2, Claude, Stable Diffusion and Titan, and SageMaker JumpStart's
Falcon, FLAN, BloomZ and GPT-J.

Parameter counts are the published ones (source beside each); a maker that publishes none gets
None ("not published"). Download sizes are not here: they are the catalog's, per alias.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMED_IN = ("lecture", "bedrock", "jumpstart")  # where the course names the family
MODALITIES = ("text", "image", "text+image")  # what it reads and writes, together
ROLES = ("foundation", "base")  # pre-trained broadly, reused for many tasks / strong at the one it was trained for


@dataclass(frozen=True)
class Family:
    """One row of the map, before it is joined with the catalog (what is on this machine)."""

    key: str  # names this row's words in words.py
    name: str  # the family as the course names it (data: never translated)
    maker: str
    named_in: str  # one of NAMED_IN
    modality: str  # one of MODALITIES
    role: str  # one of ROLES
    open_weights: bool  # anyone may download the weights (under the maker's licence)
    api: str | None  # the hosted API the course reaches it through, if any
    parameters: str | None  # published parameter counts; None: the maker has not published them
    command: str | None = None  # the fmkit command that runs it (or its stand-in); None: fmkit does not
    aliases: tuple[str, ...] = ()  # catalog aliases for that command, smallest or most useful first
    stand_in: bool = False  # the aliases are a stand-in for a family fmkit cannot run (words.py says why)


FAMILIES: tuple[Family, ...] = (
    # --- lecture 1: what makes a foundation model ---
    # GPT-2 124M/355M/774M/1.5B: OpenAI's GPT-2 release (model cards of openai-community/gpt2*);
    # GPT-3 175B: Brown et al. 2020. GPT-4's size is not published.
    Family("gpt", "GPT-n", "OpenAI", "lecture", "text", "foundation", True, "OpenAI API",
           "GPT-2 124M–1.5B · GPT-3 175B", "generate", ("gpt2", "distilgpt2", "gpt2-medium", "gpt2-large")),
    # BERT-base 110M, BERT-large 340M: Devlin et al. 2019.
    Family("bert", "BERT", "Google", "lecture", "text", "foundation", True, None,
           "BERT-base 110M · BERT-large 340M", "attention", ("minilm", "bert-base-uncased")),
    # DALL-E (2021) 12B: Ramesh et al. 2021; DALL-E 2 and 3: not published. Closed: Stable Diffusion stands in.
    Family("dalle", "DALL-E", "OpenAI", "lecture", "text+image", "foundation", False, "OpenAI API",
           "DALL-E 12B", "diffuse", ("sd-turbo", "sd15"), stand_in=True),
    # LLaMA 7B/13B/33B/65B: Touvron et al. 2023. SmolLM2-135M has the Llama architecture.
    Family("llama", "LLaMA", "Meta", "lecture", "text", "foundation", True, None,
           "LLaMA 7B–65B", "generate", ("smollm2",), stand_in=True),
    # SAM ViT-B 91M: Kirillov et al. 2023; MobileSAM 9.66M (encoder 5M + SAM's decoder): Zhang et al. 2023.
    Family("sam", "Segment Anything", "Meta", "lecture", "image", "foundation", True, None,
           "SAM ViT-B 91M · MobileSAM 10M", "segment", ("mobile_sam", "sam2_t", "sam2_b", "sam_b", "FastSAM-s")),
    # YOLO11n 2.6M, s 9.5M, m 20.1M, l 25.4M: counted here from Ultralytics' yolo11*.yaml (80 classes).
    Family("yolo", "YOLO", "Ultralytics", "lecture", "image", "base", True, None,
           "YOLO11n 2.6M · YOLO11s 9.5M · YOLO11m 20.1M · YOLO11l 25.4M", "detect", ("yolo11n", "yolo11s", "yolo11m", "yolo11l")),
    # --- Amazon Bedrock: foundation models behind an API ---
    Family("jurassic", "Jurassic-2", "AI21 Labs", "bedrock", "text", "foundation", False, "Amazon Bedrock", None),
    Family("claude", "Claude", "Anthropic", "bedrock", "text+image", "foundation", False, "Amazon Bedrock", None),
    # SD 1.5 ~1B: an 860M UNet and a 123M CLIP text encoder (CompVis/stable-diffusion README) plus the VAE.
    Family("sd", "Stable Diffusion", "Stability AI", "bedrock", "text+image", "foundation", True, "Amazon Bedrock",
           "SD 1.5 ~1B", "diffuse", ("sd-turbo", "sd15")),
    Family("titan", "Titan", "Amazon", "bedrock", "text+image", "foundation", False, "Amazon Bedrock", None),
    # --- SageMaker JumpStart: open models deployed into your AWS account ---
    # Falcon-RW-1B 1.3B: tiiuae/falcon-rw-1b model card; Falcon 7B/40B/180B: TII's releases.
    Family("falcon", "Falcon", "TII", "jumpstart", "text", "foundation", True, None,
           "Falcon-RW-1B 1.3B · Falcon 7B–180B", "generate", ("falcon-rw-1b",)),
    # FLAN-T5-small 77M, base 248M: counted from the checkpoints (Google's card rounds to 80M/250M);
    # FLAN-T5-XXL 11B: Chung et al. 2022.
    Family("flan", "FLAN", "Google", "jumpstart", "text", "foundation", True, None,
           "FLAN-T5 77M–11B", "generate", ("flan-t5-small", "flan-t5-base")),
    # BLOOMZ-560m 559M: counted from the checkpoint; BLOOMZ 176B: Muennighoff et al. 2022.
    Family("bloomz", "BloomZ", "BigScience", "jumpstart", "text", "foundation", True, None,
           "BLOOMZ 560M–176B", "generate", ("bloomz-560m",)),
    # GPT-J 6B: EleutherAI/gpt-j-6b model card (6,053M counted).
    Family("gptj", "GPT-J", "EleutherAI", "jumpstart", "text", "foundation", True, None,
           "GPT-J 6B", "generate", ("gpt-j-6b",)),
)

# Aliases and commands the map names before fmkit has them (the Segment Anything aliases and
# `fmkit segment` waited here until they landed). A row whose command is listed, or whose aliases
# are all missing from the catalog, says "coming". tests/test_model_map.py fails for an alias or
# command the map names that is neither in fmkit nor listed here, and for a listed one that has
# landed: remove it then.
NOT_YET_IN_CATALOG: frozenset[str] = frozenset()
NOT_YET_COMMANDS: frozenset[str] = frozenset()
