"""gepa-rl trainer worker: policy sampling and training steps for the gepa-rl-trainer task queue."""
