// The eight zero-shot tasks of the paper's Tables 1 and 7, as lm-evaluation-harness defines them (task YAMLs at
// EleutherAI/lm-evaluation-harness@4e7e0d4, reference/data.md §3c): dataset and split, prompt (doc_to_text), choices
// with the " " target delimiter, gold, metrics. Each task validates a row in the Hugging Face schema (or the raw
// original's, mapped to Hub field names) and says exactly what is wrong with a bad one (RowError).
import { quote } from '../util/errors';
import { hellaswagQuery, hellaswagPreprocess, pyLstrip, pyStrip, pySplitWhitespaceCount, utf8Length, wikitextDetokenize } from './text';

export const TASK_NAMES = ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai', 'winogrande', 'boolq', 'wikitext'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export function isTaskName(s: string): s is TaskName {
  return (TASK_NAMES as readonly string[]).includes(s);
}

/** A row as read from a file. */
export type Row = Record<string, unknown>;

/** A row that cannot be scored: missing field, wrong type, answer out of range. */
export class RowError extends Error {}

export type OutputType = 'multiple_choice' | 'loglikelihood' | 'loglikelihood_rolling';
export type Aggregation = 'mean' | 'perplexity' | 'weighted_perplexity' | 'bits_per_byte';

export interface MetricSpec {
  metric: string;
  aggregation: Aggregation;
  higherIsBetter: boolean;
}

/** What a doc asks of the model, and how its answer is judged. */
export type Instance =
  | { type: 'multiple_choice'; requests: Array<[string, string]>; choices: string[]; gold: number }
  | { type: 'loglikelihood'; request: [string, string]; target: string }
  | { type: 'loglikelihood_rolling'; text: string; words: number; bytes: number };

export interface TaskSpec {
  name: TaskName;
  /** The harness's metadata.version. */
  version: number;
  outputType: OutputType;
  /** Hugging Face dataset id and config, the split the harness scores, and its size. */
  dataset: { path: string; name: string | null; split: string; size: number };
  /** The harness's templates, recorded in the results' configs. */
  template: { doc_to_text: string; doc_to_target: string; doc_to_choice?: string };
  metrics: MetricSpec[];
  /** The Hub fields this task reads, for messages. */
  schema: string;
  /** Validates a row and returns it with Hub field names (raw originals mapped). Throws RowError. */
  toDoc(row: Row): Row;
  instance(doc: Row): Instance;
}

// ---- field checks ----------------------------------------------------------------------------------------------

function field(row: Row, key: string): unknown {
  if (!(key in row) || row[key] === undefined || row[key] === null) throw new RowError(`missing field '${key}'`);
  return row[key];
}

function str(row: Row, key: string): string {
  const v = field(row, key);
  if (typeof v !== 'string') throw new RowError(`field '${key}' must be a string, got ${quote(v)}`);
  return v;
}

function strList(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new RowError(`field '${key}' must be a non-empty list of strings, got ${quote(v)}`);
  }
  return v as string[];
}

/** An answer index: an integer (or a string of digits, as int() accepts) in [0, n). */
function index(v: unknown, n: number, key: string): number {
  const k = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(k) || k < 0 || k >= n) {
    throw new RowError(`'${key}' is ${quote(typeof v === 'bigint' ? Number(v) : v)}; expected an integer in [0, ${n})`);
  }
  return k;
}

function mc(context: string, choices: string[], gold: number): Instance {
  // target_delimiter " " before every choice (data.md §3c).
  return { type: 'multiple_choice', requests: choices.map((c) => [context, ` ${c}`] as [string, string]), choices, gold };
}

const ACC: MetricSpec = { metric: 'acc', aggregation: 'mean', higherIsBetter: true };
const ACC_NORM: MetricSpec = { metric: 'acc_norm', aggregation: 'mean', higherIsBetter: true };

// ---- tasks -------------------------------------------------------------------------------------------------------

const arcEasy: TaskSpec = {
  name: 'arc_easy',
  version: 1.0,
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/ai2_arc', name: 'ARC-Easy', split: 'test', size: 2376 },
  template: { doc_to_text: 'Question: {{question}}\nAnswer:', doc_to_target: '{{choices.label.index(answerKey)}}', doc_to_choice: '{{choices.text}}' },
  metrics: [ACC, ACC_NORM],
  schema: '{"id": str, "question": str, "choices": {"text": [str], "label": [str]}, "answerKey": str}',
  toDoc(row) {
    let question: string;
    let text: string[];
    let label: string[];
    const q = field(row, 'question');
    if (q !== null && typeof q === 'object' && !Array.isArray(q)) {
      // Raw AI2 release: {"question": {"stem", "choices": [{"text", "label"}]}}.
      const raw = q as Row;
      question = str(raw, 'stem');
      const cs = field(raw, 'choices');
      if (!Array.isArray(cs) || cs.length === 0) throw new RowError(`field 'question.choices' must be a non-empty list`);
      text = strList(cs.map((c) => (c as Row)?.text), 'question.choices[].text');
      label = strList(cs.map((c) => (c as Row)?.label), 'question.choices[].label');
    } else {
      question = str(row, 'question');
      const ch = field(row, 'choices') as Row;
      if (typeof ch !== 'object') throw new RowError(`field 'choices' must be {"text": [str], "label": [str]}`);
      text = strList(ch.text, 'choices.text');
      label = strList(ch.label, 'choices.label');
    }
    if (text.length !== label.length) throw new RowError(`choices.text has ${text.length} items but choices.label has ${label.length}`);
    const answerKey = str(row, 'answerKey');
    if (!label.includes(answerKey)) throw new RowError(`answerKey '${answerKey}' is not one of the choice labels [${label.join(', ')}]`);
    return { id: row.id ?? null, question, choices: { text, label }, answerKey };
  },
  instance(doc) {
    const ch = doc.choices as { text: string[]; label: string[] };
    return mc(`Question: ${doc.question as string}\nAnswer:`, ch.text, ch.label.indexOf(doc.answerKey as string));
  },
};

const piqa: TaskSpec = {
  name: 'piqa',
  version: 1.0,
  outputType: 'multiple_choice',
  dataset: { path: 'baber/piqa', name: null, split: 'validation', size: 1838 },
  template: { doc_to_text: 'Question: {{goal}}\nAnswer:', doc_to_target: 'label', doc_to_choice: '{{[sol1, sol2]}}' },
  metrics: [ACC, ACC_NORM],
  schema: '{"goal": str, "sol1": str, "sol2": str, "label": 0 | 1}',
  toDoc(row) {
    return { goal: str(row, 'goal'), sol1: str(row, 'sol1'), sol2: str(row, 'sol2'), label: index(field(row, 'label'), 2, 'label') };
  },
  instance(doc) {
    return mc(`Question: ${doc.goal as string}\nAnswer:`, [doc.sol1 as string, doc.sol2 as string], doc.label as number);
  },
};

const sciq: TaskSpec = {
  name: 'sciq',
  version: 1.0,
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/sciq', name: null, split: 'test', size: 1000 },
  template: { doc_to_text: '{{support.lstrip()}}\nQuestion: {{question}}\nAnswer:', doc_to_target: '3', doc_to_choice: '{{[distractor1, distractor2, distractor3, correct_answer]}}' },
  metrics: [ACC, ACC_NORM],
  schema: '{"question": str, "distractor1": str, "distractor2": str, "distractor3": str, "correct_answer": str, "support": str}',
  toDoc(row) {
    const d: Row = {};
    for (const k of ['question', 'distractor3', 'distractor1', 'distractor2', 'correct_answer', 'support']) d[k] = str(row, k);
    return d;
  },
  instance(doc) {
    // v0.4's prompt; v0.3 stripped the whole prompt instead, which differs only for an empty support.
    const ctx = `${pyLstrip(doc.support as string)}\nQuestion: ${doc.question as string}\nAnswer:`;
    return mc(ctx, [doc.distractor1, doc.distractor2, doc.distractor3, doc.correct_answer] as string[], 3);
  },
};

const hellaswag: TaskSpec = {
  name: 'hellaswag',
  version: 1.0,
  outputType: 'multiple_choice',
  dataset: { path: 'Rowan/hellaswag', name: null, split: 'validation', size: 10042 },
  template: { doc_to_text: '{{query}}', doc_to_target: '{{label}}', doc_to_choice: 'choices' },
  metrics: [ACC, ACC_NORM],
  schema: '{"activity_label": str, "ctx_a": str, "ctx_b": str, "endings": [str x 4], "label": "0".."3", ...}',
  toDoc(row) {
    const endings = strList(field(row, 'endings'), 'endings');
    const d: Row = { ...row, activity_label: str(row, 'activity_label'), ctx_a: str(row, 'ctx_a'), ctx_b: str(row, 'ctx_b'), endings };
    const label = index(field(row, 'label'), endings.length, 'label');
    // process_docs: query, choices and gold, as the harness's samples show them.
    d.query = hellaswagQuery(d.activity_label as string, d.ctx_a as string, d.ctx_b as string);
    d.choices = endings.map(hellaswagPreprocess);
    d.gold = label;
    return d;
  },
  instance(doc) {
    return mc(doc.query as string, doc.choices as string[], doc.gold as number);
  },
};

const lambadaOpenai: TaskSpec = {
  name: 'lambada_openai',
  version: 1.0,
  outputType: 'loglikelihood',
  dataset: { path: 'EleutherAI/lambada_openai', name: 'default', split: 'test', size: 5153 },
  template: { doc_to_text: "{{text.split(' ')[:-1]|join(' ')}}", doc_to_target: "{{' '+text.split(' ')[-1]}}" },
  metrics: [
    { metric: 'perplexity', aggregation: 'perplexity', higherIsBetter: false },
    { metric: 'acc', aggregation: 'mean', higherIsBetter: true },
  ],
  schema: '{"text": str}',
  toDoc(row) {
    return { text: str(row, 'text') };
  },
  instance(doc) {
    // split(' ') on single spaces exactly, as Python's str.split(' ').
    const words = (doc.text as string).split(' ');
    const target = ` ${words[words.length - 1]}`;
    return { type: 'loglikelihood', request: [words.slice(0, -1).join(' '), target], target };
  },
};

const winogrande: TaskSpec = {
  name: 'winogrande',
  version: 1.0,
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/winogrande', name: 'winogrande_xl', split: 'validation', size: 1267 },
  template: {
    doc_to_text: '{"1": 0, "2": 1}[answer] (multiple input: the options go in the context)',
    doc_to_target: 'sentence[sentence.index("_") + 1:].strip()',
    doc_to_choice: '[sentence[:sentence.index("_")] + opt for opt in (option1, option2)]',
  },
  metrics: [ACC],
  schema: '{"sentence": str with one "_", "option1": str, "option2": str, "answer": "1" | "2"}',
  toDoc(row) {
    const sentence = str(row, 'sentence');
    if (!sentence.includes('_')) throw new RowError(`sentence has no '_' blank: ${quote(sentence)}`);
    const a = field(row, 'answer');
    if (a !== '1' && a !== '2' && a !== 1 && a !== 2) throw new RowError(`'answer' is ${quote(a)}; expected "1" or "2"`);
    return { sentence, option1: str(row, 'option1'), option2: str(row, 'option2'), answer: String(a) };
  },
  instance(doc) {
    // Partial scoring: the two options complete the context; the shared rest of the sentence is scored.
    const s = doc.sentence as string;
    const i = s.indexOf('_');
    const contexts = [s.slice(0, i) + (doc.option1 as string), s.slice(0, i) + (doc.option2 as string)];
    const cont = ` ${pyStrip(s.slice(i + 1))}`;
    return { type: 'multiple_choice', requests: contexts.map((c) => [c, cont] as [string, string]), choices: contexts, gold: doc.answer === '1' ? 0 : 1 };
  },
};

const boolq: TaskSpec = {
  name: 'boolq',
  version: 2.0,
  outputType: 'multiple_choice',
  dataset: { path: 'aps/super_glue', name: 'boolq', split: 'validation', size: 3270 },
  template: { doc_to_text: '{{passage}}\nQuestion: {{question}}?\nAnswer:', doc_to_target: 'label', doc_to_choice: '["no", "yes"]' },
  metrics: [ACC],
  schema: '{"question": str, "passage": str, "idx": int, "label": 0 (False) | 1 (True)}',
  toDoc(row) {
    let label: number;
    if (row.label === undefined && typeof row.answer === 'boolean') label = row.answer ? 1 : 0; // raw BoolQ dev.jsonl
    else if (typeof row.label === 'boolean') label = row.label ? 1 : 0; // SuperGLUE's BoolQ/val.jsonl
    else label = index(field(row, 'label'), 2, 'label');
    return { question: str(row, 'question'), passage: str(row, 'passage'), idx: row.idx ?? null, label };
  },
  instance(doc) {
    return mc(`${doc.passage as string}\nQuestion: ${doc.question as string}?\nAnswer:`, ['no', 'yes'], doc.label as number);
  },
};

const wikitext: TaskSpec = {
  name: 'wikitext',
  version: 2.0,
  outputType: 'loglikelihood_rolling',
  dataset: { path: 'EleutherAI/wikitext_document_level', name: 'wikitext-2-raw-v1', split: 'test', size: 62 },
  template: { doc_to_text: '', doc_to_target: 'wikitext_detokenizer(page)' },
  metrics: [
    { metric: 'word_perplexity', aggregation: 'weighted_perplexity', higherIsBetter: false },
    { metric: 'byte_perplexity', aggregation: 'weighted_perplexity', higherIsBetter: false },
    { metric: 'bits_per_byte', aggregation: 'bits_per_byte', higherIsBetter: false },
  ],
  schema: '{"page": str (one whole article of raw wikitext)}',
  toDoc(row) {
    return { page: str(row, 'page') };
  },
  instance(doc) {
    // Words and bytes are counted on the original page, the model scores the detokenised one (data.md §3c).
    const page = doc.page as string;
    return { type: 'loglikelihood_rolling', text: wikitextDetokenize(page), words: pySplitWhitespaceCount(page), bytes: utf8Length(page) };
  },
};

export const TASKS: Record<TaskName, TaskSpec> = {
  arc_easy: arcEasy,
  piqa,
  sciq,
  hellaswag,
  lambada_openai: lambadaOpenai,
  winogrande,
  boolq,
  wikitext,
};

/** The task named `name`, or an error listing the known ones. */
export function getTask(name: string): TaskSpec {
  if (!isTaskName(name)) throw new Error(`unknown task '${name}'; tasks: ${TASK_NAMES.join(', ')}`);
  return TASKS[name];
}
