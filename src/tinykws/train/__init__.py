"""Layer 5: the training loop, schedules, checkpoints, distillation.

- `recipe.load_recipe(path, overrides) -> RunConfig` (config.py: the frozen dataclasses)
- `data.build_train_data(cfg.data, frontend) -> TrainData` (batches.py: mixing, batching)
- `loop.train(cfg, data, run_dir, resume=False) -> TrainResult`
- `checkpoint.save_checkpoint / load_checkpoint / load_model`
- `runner.open_torch_runner(path)`: a checkpoint as a ModelRunner (runtime "torch")
- schedules.py (step as MLPerf, cosine with warm-up), distill.py, distributed.py (torchrun)
"""
