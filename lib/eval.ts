// Zero-shot downstream evaluation exactly as EleutherAI's lm-evaluation-harness does it (the paper's Tables 1 and 7):
// the eight tasks' prompts and metrics, _encode_pair + batched log-likelihood scoring with our GPT, rolling-window
// perplexity, local task files (HF JSONL / parquet / raw originals), a request cache, harness-format results and a
// comparison with the paper. CLI: `npm run cli -- eval --help`. Notebook:
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
export { evalCommand, EVAL_HELP, parseTaskList } from './eval/cli';
