// Public entry of lib/inheritune/ (paper Algorithm 1 and its baselines; reference/paper.md §3-§5):
//   surgery    manifests and the plan -> variables machinery every builder uses
//   inherit    a target from chosen reference blocks, with copy lists and sub-module ablations (Table 3)
//   grow       growth rounds with an injected trainFn ('restart' as the authors' code, or 'continue')
//   baselines  random init, longer budget, stacking, hybrid stacking, half-width, DistilBERT-style KD init
//   select     potent / lazy blocks from a rank profile
//   export     Hugging Face / nanoGPT checkpoint folders with manifest and README, and loading them back
export * from './inheritune/surgery';
export * from './inheritune/inherit';
export * from './inheritune/grow';
export * from './inheritune/baselines';
export * from './inheritune/select';
export * from './inheritune/export';
