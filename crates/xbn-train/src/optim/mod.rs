//! Optimizers (AdamW, SGD with momentum and weight decay) and learning-rate schedules.
