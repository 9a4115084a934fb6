// Attention-rank and column-mass metrics (reference/paper.md §1): single matrices, aggregation, the sampling
// protocol and result files.
export * from './metrics/rank';
export * from './metrics/attention-rank';
export * from './metrics/measure';
export * from './metrics/io';
export * from './metrics/gpt-patterns';
