"""Layer 4: running and scoring models.

- `runner`: the ModelRunner protocol every runtime implements, the registry of runtimes
  (`open_runner(name, model)`), feeding inputs (`runner_inputs`) and reading outputs;
- `dataset.dataset_features(...) -> LabelledFeatures`: clean clips of a split through a front-end;
- `evaluate.evaluate_runner(runner, data) -> Evaluation`, `write_outputs`;
- `metrics.compute_metrics(scores, labels, label_names) -> EvalResult` (top-1, per class,
  confusion, precision/recall, one-vs-rest ROC AUC, the MLPerf Tiny "simplified AUC").
"""
