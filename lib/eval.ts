// Downstream evaluation exactly as EleutherAI's lm-evaluation-harness does it (the paper's Tables 1 and 7), in its
// v0.3 (default, the paper's) or v0.4 rules: the eight tasks' prompts and metrics, pair encoding + batched
// log-likelihood scoring with our GPT, rolling-window perplexity, few-shot sampling, bootstrapped stderrs, local task
// files (HF JSONL / parquet / raw originals), a request cache, harness-format results, sample logs and printed table,
// and a comparison with the paper. CLI: `npm run cli -- eval --help`. Notebook:
//   const scorer = new ModelScorer(params, cfg, { cache: new RequestCache(id, 'results/eval/cache') });
//   const res = await evaluate({ scorer, tasks: ['arc_easy', 'piqa'], dataDir: 'data/eval' }); showEvalReport(res);
export * from './eval/text';
export * from './eval/requests';
export * from './eval/tasks';
export * from './eval/metrics';
export * from './eval/data';
export * from './eval/cache';
export * from './eval/score';
export * from './eval/runner';
export * from './eval/paper';
export * from './eval/report';
export * from './eval/fewshot';
export * from './eval/pyrandom';
export * from './eval/pyjson';
export * from './eval/samplelog';
export * from './eval/table';
export { DEFAULT_BOOTSTRAP_ITERS, bootstrapStderr, perplexityOf, resampledPerplexity } from './eval/stats';
export { evalCommand, EVAL_HELP, parseTaskList, TASK_GROUPS } from './eval/cli';
