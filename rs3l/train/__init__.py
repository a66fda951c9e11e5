"""Training: the shared Trainer, checkpoints, DDP helpers and contrastive pre-training."""
