// Training: the loop (train), its pieces (AdamW, schedules, gradient accumulation, evaluation, guards, checkpoints,
// logs, live progress) and the knowledge-distillation loss. See lib/train/trainer.ts for the loop itself.
export * from './train/schedule';
export * from './train/adamw';
export * from './train/step';
export * from './train/distill';
export * from './train/evaluate';
export * from './train/guards';
export * from './train/history';
export * from './train/options';
export * from './train/checkpoint';
export * from './train/progress';
export * from './train/trainer';
export * from './train/plots';
