"""Tiny randomly initialised models of the real classes, saved with save_pretrained, for the
words tests (zero-shot labels, detection, questions): RT-DETR, OWLv2, BLIP VQA and the
multilingual text tower in its sentence-transformers layout."""

from __future__ import annotations

import json
from pathlib import Path

from test_clip import WORDS, write_clip_tokenizer

ZH = list("猫狗的照片一张关于图厨房海滩收据")


def build_rtdetr(folder: Path) -> Path:
    import torch
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessorPil, RTDetrResNetConfig

    folder.mkdir(parents=True, exist_ok=True)
    labels = {0: "person", 1: "dog", 2: "cat", 3: "cup"}
    backbone = RTDetrResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1],
                                  layer_type="basic", out_features=["stage2", "stage3", "stage4"])
    config = RTDetrConfig(backbone_config=backbone, encoder_in_channels=[16, 24, 32], feat_strides=[8, 16, 32],
                          d_model=32, encoder_hidden_dim=32, encoder_ffn_dim=32, decoder_ffn_dim=32,
                          encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                          num_queries=12, num_labels=len(labels), id2label=labels,
                          label2id={v: k for k, v in labels.items()}, use_pretrained_backbone=False,
                          num_denoising=0, decoder_n_points=2, decoder_in_channels=[32, 32, 32])
    torch.manual_seed(0)
    model = RTDetrForObjectDetection(config).eval()
    with torch.no_grad():  # random heads score every box ~0.2; make the decoder sure of "cup" (and a little of "dog")
        for layer in model.model.decoder.class_embed:
            layer.weight.mul_(0.01)
            layer.bias.copy_(torch.tensor([-4.0, 0.0, -4.0, 2.0]))
    model.save_pretrained(folder)
    RTDetrImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


def build_owlv2(folder: Path) -> Path:
    import torch
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    write_clip_tokenizer(folder)
    # OWLv2 treats a query whose first id is 0 as padding: keep id 0 for a plain token, as CLIP's vocabulary does
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    (folder / "vocab.json").write_text(json.dumps({"!": 0, **{k: v + 1 for k, v in vocab.items()}}), encoding="utf-8")
    tok = CLIPTokenizer.from_pretrained(folder)
    tok.save_pretrained(folder)
    config = Owlv2Config(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=4, max_position_embeddings=16, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=32)
    torch.manual_seed(0)
    model = Owlv2ForObjectDetection(config).eval()
    with torch.no_grad():  # random shift/scale put every logit near -inf; keep them near the cosine
        for layer in (model.class_head.logit_shift, model.class_head.logit_scale):
            layer.weight.zero_()
            layer.bias.zero_()
    model.save_pretrained(folder)
    Owlv2ImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def build_blip_vqa(folder: Path) -> Path:
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForQuestionAnswering, BlipProcessor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    words = ["how", "many", "people", "are", "there", "what", "is", "it", "cat", "two", "yes", "no", "brown"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"] + words
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")
    dec = tok.convert_tokens_to_ids("[DEC]")
    config = BlipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=64, bos_token_id=dec, pad_token_id=0,
                         sep_token_id=3, eos_token_id=3),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=32, image_text_hidden_size=32)
    torch.manual_seed(0)
    BlipForQuestionAnswering(config).eval().save_pretrained(folder)
    BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}),
                  tokenizer=tok).save_pretrained(folder)
    return folder


def build_multilingual_text(folder: Path, out_dim: int = 32) -> Path:
    """DistilBERT + mean pooling + a linear map, in the sentence-transformers folder layout."""
    import torch
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "kitchen", "beach", "receipt", "close", "-", "up",
             ".", *ZH, "。"]
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tok = DistilBertTokenizer(str(folder / "vocab.txt"))
    tok.save_pretrained(folder)
    torch.manual_seed(1)
    DistilBertModel(DistilBertConfig(vocab_size=len(tok), dim=24, hidden_dim=48, n_layers=1, n_heads=2,
                                     max_position_embeddings=64)).eval().save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 24, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}))
    (folder / "2_Dense").mkdir(exist_ok=True)
    (folder / "2_Dense" / "config.json").write_text(json.dumps(
        {"in_features": 24, "out_features": out_dim, "bias": False,
         "activation_function": "torch.nn.modules.linear.Identity"}))
    linear = torch.nn.Linear(24, out_dim, bias=False)
    torch.save({"linear.weight": linear.weight.detach().clone()}, folder / "2_Dense" / "pytorch_model.bin")
    return folder
