"""Every word the model map shows, in English and Korean (the course is taught in Korean).

`{key}.why` says why a family is a foundation model or a base model; `{key}.try` says how to try
it with fmkit here, or why fmkit runs a stand-in; a family fmkit does not run gets `api_try`.
Data (aliases, commands, model and family names, makers, API names, parameter counts) is never
translated.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "The foundation-model map: every model family the course names",
        "caption": "foundation model: pre-trained on vast data, reused for many downstream tasks\n"
                   "(most also generate) · base model: strong at the one task it was trained for\n"
                   "✓ on this machine",
        "col_family": "family · parameters",
        "col_what": "what it is, and why",
        "col_try": "try it with fmkit",
        "named_in.lecture": "lecture 1",
        "named_in.bedrock": "Bedrock",
        "named_in.jumpstart": "JumpStart",
        "modality.text": "text",
        "modality.image": "image",
        "modality.text+image": "text+image",
        "role.foundation": "foundation model",
        "role.base": "base model",
        "open": "open weights",
        "open_api": "open weights, also on {api}",
        "api_only": "API only: {api}",
        "not_published": "not published",
        "stand_in": "stand-in",
        "coming": "coming",
        "not_in_catalog": "not yet",
        "not_run": "not run by fmkit",
        "api_try": "Only through {api}'s API, with an account, paid per use.",
        "gpt.why": "Pre-trained to predict the next word on web-scale text; it writes, and one model is prompted "
                   "or fine-tuned for many tasks. GPT-2's weights are open; GPT-3 and later only through "
                   "OpenAI's API.",
        "gpt.try": "GPT-2 itself, streamed token by token.",
        "bert.why": "Pre-trained on books and Wikipedia by filling in masked words; fine-tuned, the same model "
                    "answers questions, classifies and tags text. It reads both ways and fills blanks rather "
                    "than writing long text.",
        "bert.try": "tokenize, attention and positional show how it reads; minilm is a 6-layer BERT shipped in "
                    "a package (works offline).",
        "dalle.why": "Trained on hundreds of millions of captioned images; draws a new image for any text "
                     "prompt, and is reused for editing and variations.",
        "dalle.try": "DALL-E is closed: Stable Diffusion draws from text the same way (text in, image out), "
                     "with open weights.",
        "llama.why": "Pre-trained on public text only and released with its weights (Meta's licence); the "
                     "starting point of many chat and instruction-following models.",
        "llama.try": "smollm2 is SmolLM2-135M-Instruct, a small model with the Llama architecture shipped in a "
                     "package (works offline); LLaMA's own weights are many gigabytes.",
        "sam.why": "Trained on SA-1B (11 million images, 1.1 billion masks); cuts out every object in an image, "
                   "or the one a point or box picks, even kinds it never saw labelled.",
        "sam.try": "Point or box at an object, or cut out everything; with --from-detections YOLO "
                   "points and SAM cuts (MobileSAM, SAM, SAM 2, FastSAM through Ultralytics).",
        "yolo.why": "A strong base model for object detection, not a foundation model: trained on COCO's 80 "
                    "labelled classes for one reading task (boxes and labels); it is not reused for other tasks "
                    "as it is, and new classes need new labelled data and training.",
        "yolo.try": "YOLO11 itself: boxes, labels and confidences.",
        "jurassic.why": "AI21 Labs' large language models (Ultra, Mid): follow instructions to write, summarise "
                        "and answer questions.",
        "claude.why": "Anthropic's assistant models: converse, write, summarise and write code; Claude 3 and "
                      "later also read images.",
        "sd.why": "Trained on image-text pairs from LAION-5B; turns random noise into an image that fits the "
                  "prompt, and is reused for editing, inpainting and countless fine-tunes.",
        "sd.try": "Stable Diffusion itself, planned to fit this machine's memory; sd-turbo needs 1-4 steps.",
        "titan.why": "Amazon's own family: text generation, embeddings for search, and an image generator.",
        "falcon.why": "Technology Innovation Institute's models, pre-trained mostly on RefinedWeb, a filtered web "
                      "crawl; they write text and are fine-tuned for chat and instructions.",
        "falcon.try": "falcon-rw-1b: the 1.3B Falcon trained on RefinedWeb alone.",
        "flan.why": "T5 fine-tuned on about 1,800 tasks phrased as instructions, so it answers, translates and "
                    "summarises tasks it was never trained on.",
        "flan.try": "FLAN-T5 itself: an encoder-decoder, so it answers instead of continuing the prompt.",
        "bloomz.why": "BLOOM, trained in the open by about a thousand researchers on 46 languages, then "
                      "fine-tuned to follow instructions; answers prompts in many languages.",
        "bloomz.try": "bloomz-560m: the smallest BLOOMZ.",
        "gptj.why": "EleutherAI's open GPT-3-style model, pre-trained on The Pile (825 GB of text); it writes "
                    "and is fine-tuned for many tasks.",
        "gptj.try": "gpt-j-6b: about 12 GB of float16 weights; fmkit checks the memory before downloading.",
    },
    "ko": {
        "title": "파운데이션 모델 지도: 강의에 나오는 모델 계열 전체",
        "caption": "파운데이션 모델: 방대한 데이터로 사전 학습되어 여러 다운스트림 작업에 재사용되는 모델(대부분 생성도 "
                   "함)\n베이스 모델: 학습한 한 가지 작업에 강한 모델\n✓ 이 컴퓨터에 있음",
        "col_family": "모델 계열 · 파라미터",
        "col_what": "무엇이고, 왜 그런가",
        "col_try": "fmkit으로 해 보기",
        "named_in.lecture": "1강",
        "named_in.bedrock": "Bedrock",
        "named_in.jumpstart": "JumpStart",
        "modality.text": "텍스트",
        "modality.image": "이미지",
        "modality.text+image": "텍스트+이미지",
        "role.foundation": "파운데이션 모델",
        "role.base": "베이스 모델",
        "open": "공개 가중치",
        "open_api": "공개 가중치, {api}에서도 제공",
        "api_only": "API 전용: {api}",
        "not_published": "비공개",
        "stand_in": "대체 모델",
        "coming": "준비 중",
        "not_in_catalog": "아직 없음",
        "not_run": "fmkit에서는 실행하지 않음",
        "api_try": "{api} API로만 쓸 수 있습니다(계정 필요, 사용량만큼 과금).",
        "gpt.why": "웹 규모의 텍스트에서 다음 단어를 예측하도록 사전 학습되었습니다. 글을 생성하고, 한 모델을 "
                   "프롬프트나 파인튜닝으로 여러 작업에 씁니다. GPT-2는 가중치가 공개되어 있고, GPT-3부터는 "
                   "OpenAI API로만 쓸 수 있습니다.",
        "gpt.try": "GPT-2 그대로, 토큰 단위로 스트리밍합니다.",
        "bert.why": "책과 위키백과에서 가려진 단어를 맞히며 사전 학습되었습니다. 같은 모델을 파인튜닝해 질의응답, "
                    "분류, 개체명 인식 등에 씁니다. 문장을 양방향으로 읽고 빈칸을 채울 뿐, 긴 글을 쓰지는 않습니다.",
        "bert.try": "tokenize, attention, positional로 BERT가 글을 읽는 방식을 봅니다. minilm은 패키지에 들어 있는 "
                    "6층 BERT라 오프라인에서도 됩니다.",
        "dalle.why": "설명이 달린 이미지 수억 장으로 학습되었습니다. 어떤 텍스트 프롬프트로든 새 이미지를 그리고, "
                     "편집과 변형에도 쓰입니다.",
        "dalle.try": "DALL-E는 비공개 모델이라, 같은 방식(텍스트를 넣으면 이미지가 나옴)으로 그리는 공개 모델 "
                     "Stable Diffusion으로 대신합니다.",
        "llama.why": "공개 데이터로만 사전 학습되어 가중치와 함께 공개되었습니다(Meta 라이선스). 수많은 챗봇과 "
                     "지시 따르기 모델의 출발점입니다.",
        "llama.try": "smollm2는 Llama 구조를 그대로 쓴 작은 모델 SmolLM2-135M-Instruct로, 패키지에 들어 있어 "
                     "오프라인에서도 됩니다. LLaMA 자체의 가중치는 수 GB가 넘습니다.",
        "sam.why": "SA-1B(이미지 1,100만 장, 마스크 11억 개)로 학습되었습니다. 이미지 속 모든 객체를, 또는 점이나 "
                   "상자로 고른 객체를 분할하며, 레이블로 배운 적 없는 종류도 잘라 냅니다.",
        "sam.try": "점이나 상자로 객체를 가리키거나 전부 분할합니다. --from-detections를 쓰면 YOLO가 가리키고 "
                   "SAM이 잘라 냅니다(Ultralytics로 MobileSAM, SAM, SAM 2, FastSAM 실행).",
        "yolo.why": "객체 탐지를 위한 강력한 베이스 모델이지, 파운데이션 모델은 아닙니다. COCO의 80개 클래스로 한 "
                    "가지 인식 작업(상자와 레이블)만 학습했고, 그대로 다른 작업에 재사용되지 않으며, 새 클래스를 "
                    "찾으려면 레이블을 붙인 데이터로 다시 학습해야 합니다.",
        "yolo.try": "YOLO11 그대로: 상자, 레이블, 신뢰도를 보여 줍니다.",
        "jurassic.why": "AI21 Labs의 대규모 언어 모델(Ultra, Mid)입니다. 지시에 따라 글쓰기, 요약, 질의응답을 합니다.",
        "claude.why": "Anthropic의 어시스턴트 모델입니다. 대화, 글쓰기, 요약, 코드 작성을 하고, Claude 3부터는 "
                      "이미지도 읽습니다.",
        "sd.why": "LAION-5B의 이미지-텍스트 쌍으로 학습되었습니다. 무작위 노이즈를 걷어 내며 프롬프트에 맞는 "
                  "이미지를 만들고, 편집, 인페인팅, 수많은 파인튜닝 모델의 바탕이 됩니다.",
        "sd.try": "Stable Diffusion 그대로, 이 컴퓨터의 메모리에 맞춰 실행합니다. sd-turbo는 1~4단계면 됩니다.",
        "titan.why": "Amazon이 직접 만든 모델 계열입니다. 텍스트 생성, 검색용 임베딩, 이미지 생성 모델이 있습니다.",
        "falcon.why": "아랍에미리트 기술혁신연구소(TII)의 모델로, 정제한 웹 데이터 RefinedWeb으로 주로 사전 "
                      "학습되었습니다. 글을 생성하고, 대화와 지시 따르기용으로 파인튜닝됩니다.",
        "falcon.try": "falcon-rw-1b: RefinedWeb만으로 학습한 13억 파라미터 Falcon입니다.",
        "flan.why": "T5를 지시문 형태로 바꾼 약 1,800개 작업으로 파인튜닝해, 학습한 적 없는 작업도 답하고 "
                    "번역하고 요약합니다.",
        "flan.try": "FLAN-T5 그대로입니다. 인코더-디코더라서 프롬프트를 이어 쓰지 않고 답을 씁니다.",
        "bloomz.why": "천여 명의 연구자가 공개적으로 46개 언어로 학습시킨 BLOOM을 지시 따르기용으로 "
                      "파인튜닝했습니다. 여러 언어로 된 프롬프트에 답합니다.",
        "bloomz.try": "bloomz-560m: 가장 작은 BLOOMZ입니다.",
        "gptj.why": "EleutherAI가 공개한 GPT-3 방식의 모델로, The Pile(텍스트 825GB)로 사전 학습되었습니다. 글을 "
                    "생성하고 여러 작업에 맞게 파인튜닝됩니다.",
        "gptj.try": "gpt-j-6b: float16 가중치만 약 12GB입니다. fmkit이 내려받기 전에 메모리를 확인합니다.",
    },
}
