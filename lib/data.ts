// Token data for training: tokenizer, readers / writers of the nanoGPT, llm.c and .npy formats, text sources,
// preparation into data/<name>, the embedded corpora, and batch samplers. See data/README.md.
export * from './data/tokenizer';
export * from './data/formats';
export * from './data/source';
export * from './data/text';
export * from './data/prepare';
export * from './data/corpora';
export * from './data/dataset';
export * from './data/sampler';
export * from './data/export';
export { Progress } from './data/progress';
