"""Train your own classifier on EfficientNet-Lite0 features: data loading, feature cache,
linear probe / fine-tuning / few-shot prototypes, evaluation report and ONNX (int8) export.

Entry point for callers: ``ocula.tasks.train.train_classifier``; the trained MODEL_DIR runs
through ``ocula.backends.classifier_onnx`` (onnxruntime only, no torch) from
``classify --model MODEL_DIR``. This layer never imports a task or a shell.
"""
