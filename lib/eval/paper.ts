// The paper's zero-shot downstream numbers, to show beside ours. Source: Sanyal et al., "When Attention Collapses:
// How Degenerate Layers in LLMs Enable Smaller, Stronger Models" (arXiv v4), Table 1 (FineWeb-Edu models; metric
// acc, HellaSwag acc_norm) and Table 7 (GPT-2 XL on OpenWebText, = README Table 1; ± is the harness's stderr),
// as transcribed in reference/paper.md §2 and §6. Accuracies are in percent; perplexities are not.
// Which WikiText perplexity the paper reports is not stated; word_perplexity is the presumed one (paper.md §6).
import { TaskName } from './tasks';

export const PAPER_SOURCE = 'Sanyal et al., "When Attention Collapses" (arXiv v4), Tables 1 and 7 (reference/paper.md §2, §6)';

/** A task metric the paper reports, e.g. hellaswag acc_norm. */
export interface PaperMetric {
  task: TaskName;
  metric: 'acc' | 'acc_norm' | 'perplexity' | 'word_perplexity';
  /** Column label in the paper. */
  label: string;
  /** Percent (accuracies) or raw (perplexities). */
  percent: boolean;
}

export const PAPER_METRICS: PaperMetric[] = [
  { task: 'arc_easy', metric: 'acc', label: 'ARC-E', percent: true },
  { task: 'piqa', metric: 'acc', label: 'PIQA', percent: true },
  { task: 'sciq', metric: 'acc', label: 'SciQ', percent: true },
  { task: 'hellaswag', metric: 'acc_norm', label: 'HellaSwag', percent: true },
  { task: 'lambada_openai', metric: 'acc', label: 'LAMBADA (acc)', percent: true },
  { task: 'winogrande', metric: 'acc', label: 'WinoGrande', percent: true },
  { task: 'boolq', metric: 'acc', label: 'BoolQ', percent: true },
  { task: 'wikitext', metric: 'word_perplexity', label: 'Wikitext ppl', percent: false },
  { task: 'lambada_openai', metric: 'perplexity', label: 'LAMBADA ppl', percent: false },
];

export interface PaperScore {
  value: number;
  stderr?: number;
}

export interface PaperRow {
  /** Short id, e.g. 'table7-xl-ours-24L'. */
  id: string;
  table: 'Table 1' | 'Table 7';
  /** e.g. 'GPT-2 XL, Ours, 24L'. */
  label: string;
  data: 'FineWeb-Edu' | 'OpenWebText';
  layers: number;
  recipe: 'rand init' | 'Ours';
  /** Keyed `${task}/${metric}`. */
  scores: Partial<Record<string, PaperScore>>;
}

function t1(id: string, label: string, layers: number, recipe: PaperRow['recipe'], v: [number, number, number, number, number]): PaperRow {
  const [arc, piqa, sciq, hs, lam] = v;
  return {
    id, table: 'Table 1', label, data: 'FineWeb-Edu', layers, recipe,
    scores: {
      'arc_easy/acc': { value: arc }, 'piqa/acc': { value: piqa }, 'sciq/acc': { value: sciq },
      'hellaswag/acc_norm': { value: hs }, 'lambada_openai/acc': { value: lam },
    },
  };
}

function t7(id: string, label: string, layers: number, recipe: PaperRow['recipe'], acc: Array<[number, number]>, ppl: [number, number]): PaperRow {
  const keys = ['arc_easy/acc', 'piqa/acc', 'sciq/acc', 'hellaswag/acc_norm', 'lambada_openai/acc', 'winogrande/acc', 'boolq/acc'];
  const scores: PaperRow['scores'] = {};
  keys.forEach((k, i) => (scores[k] = { value: acc[i][0], stderr: acc[i][1] }));
  scores['wikitext/word_perplexity'] = { value: ppl[0] };
  scores['lambada_openai/perplexity'] = { value: ppl[1] };
  return { id, table: 'Table 7', label, data: 'OpenWebText', layers, recipe, scores };
}

export const PAPER_ROWS: PaperRow[] = [
  t1('table1-medium-rand-24L', 'GPT-2 Medium, rand init, 24L', 24, 'rand init', [51.05, 61.81, 74.8, 30.79, 20.28]),
  t1('table1-medium-rand-16L', 'GPT-2 Medium, rand init, 16L', 16, 'rand init', [49.92, 61.92, 73.3, 29.56, 19.54]),
  t1('table1-medium-ours-16L', 'GPT-2 Medium, Ours, 16L', 16, 'Ours', [51.26, 61.81, 73.8, 30.55, 23.0]),
  t1('table1-large-rand-32L', 'GPT-2 Large†, rand init, 32L', 32, 'rand init', [52.48, 64.58, 75.3, 32.65, 22.2]),
  t1('table1-large-rand-16L', 'GPT-2 Large†, rand init, 16L', 16, 'rand init', [50.34, 63.11, 75.0, 30.86, 21.56]),
  t1('table1-large-ours-16L', 'GPT-2 Large†, Ours, 16L', 16, 'Ours', [52.9, 63.55, 76.1, 32.14, 24.06]),
  t7('table7-xl-rand-48L', 'GPT-2 XL (OWT), full 48L', 48, 'rand init',
    [[50.38, 1.03], [66.7, 1.1], [77.0, 1.33], [33.65, 0.47], [39.9, 0.68], [51.93, 1.4], [57.86, 0.86]], [25.46, 20.24]),
  t7('table7-xl-ours-24L', 'GPT-2 XL (OWT), Ours 24L', 24, 'Ours',
    [[51.22, 1.03], [66.87, 1.1], [79.2, 1.28], [34.2, 0.47], [43.3, 0.69], [53.28, 1.4], [60.4, 0.86]], [25.52, 16.51]),
];

/** The paper's averages as printed (Table 1: mean of the five; Table 7: accuracy and perplexity averages). */
export const PAPER_AVERAGES: Record<string, { acc: number; ppl?: number }> = {
  'table1-medium-rand-24L': { acc: 47.74 },
  'table1-medium-rand-16L': { acc: 46.84 },
  'table1-medium-ours-16L': { acc: 48.08 },
  'table1-large-rand-32L': { acc: 49.44 },
  'table1-large-rand-16L': { acc: 48.17 },
  'table1-large-ours-16L': { acc: 49.75 },
  'table7-xl-rand-48L': { acc: 53.92, ppl: 22.85 },
  'table7-xl-ours-24L': { acc: 55.5, ppl: 21.01 },
};
