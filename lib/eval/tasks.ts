// The eight zero-shot tasks of the paper's Tables 1 and 7, as lm-evaluation-harness defines them, in two versions:
// '0.4' = the task YAMLs at EleutherAI/lm-evaluation-harness@4e7e0d4 (reference/data.md §3c), '0.3' = the Python
// task classes at the v0.3.0 tag (lm_eval/tasks/*.py), the API the paper's eval wrapper calls. Each spec gives the
// dataset and split, prompt (doc_to_text), choices with the " " target delimiter, gold, metrics, and the few-shot
// example text (doc_to_text + target). Each task validates a row in the Hugging Face schema (or the raw original's,
// mapped exactly to Hub field names) and says exactly what is wrong with a bad one (RowError).
import { hellaswagQuery, hellaswagPreprocess, pyLstrip, pyStrip, pySplitWhitespaceCount, utf8Length, wikitextDetokenize } from './text';
import { RowError, field, index, str, strList } from './fields';
import { quote } from '../util/errors';

export const TASK_NAMES = ['arc_easy', 'piqa', 'sciq', 'hellaswag', 'lambada_openai', 'winogrande', 'boolq', 'wikitext'] as const;
/** The other members of the harness's ai2_arc and lambada tags (not in the paper's tables). */
export const EXTRA_TASK_NAMES = ['arc_challenge', 'lambada_standard'] as const;
export type TaskName = (typeof TASK_NAMES)[number] | (typeof EXTRA_TASK_NAMES)[number];

/** Which lm-evaluation-harness the requests and metrics follow. */
export type HarnessVersion = '0.3' | '0.4';
export const HARNESS_VERSIONS: readonly HarnessVersion[] = ['0.3', '0.4'];
/**
 * The default: the paper's numbers came from the v0.3 API (the Inheritune repo's lit-gpt eval wrapper subclasses
 * v0.3's BaseLM; reference/data.md §3c), so results are comparable with its tables only in that version.
 */
export const DEFAULT_HARNESS: HarnessVersion = '0.3';

export function parseHarnessVersion(s: string): HarnessVersion {
  if (s === '0.3' || s === '0.4') return s;
  throw new Error(`unknown harness version '${s}'; expected 0.3 (v0.3.0, the paper's) or 0.4 (EleutherAI/lm-evaluation-harness@4e7e0d4)`);
}

export function isTaskName(s: string): s is TaskName {
  return (TASK_NAMES as readonly string[]).includes(s) || (EXTRA_TASK_NAMES as readonly string[]).includes(s);
}

/** A row as read from a file. */
export type Row = Record<string, unknown>;

export { RowError } from './fields';

export type OutputType = 'multiple_choice' | 'loglikelihood' | 'loglikelihood_rolling';
export type Aggregation = 'mean' | 'perplexity' | 'weighted_perplexity' | 'bits_per_byte';

export interface MetricSpec {
  metric: string;
  aggregation: Aggregation;
  higherIsBetter: boolean;
}

/**
 * What a doc asks of the model, and how its answer is judged. `yesGtNo`: v0.3's BoolQ, whose requests are
 * [" yes", " no"] and whose prediction is ll_yes > ll_no (a tie is "no"), not an argmax.
 */
export type Instance =
  | { type: 'multiple_choice'; requests: Array<[string, string]>; choices: string[]; gold: number; target: string | number; yesGtNo?: boolean }
  | { type: 'loglikelihood'; request: [string, string]; target: string }
  | { type: 'loglikelihood_rolling'; text: string; words: number; bytes: number };

export interface TaskSpec {
  name: TaskName;
  /** The harness's task version (v0.3: the class's VERSION; v0.4: metadata.version). */
  versions: Record<HarnessVersion, number>;
  outputType: OutputType;
  /** Hugging Face dataset id and config, the split the harness scores, and its size. */
  dataset: { path: string; name: string | null; split: string; size: number };
  /** The harness's templates, recorded in the results' configs. */
  template: { doc_to_text: string; doc_to_target: string; doc_to_choice?: string };
  metrics: MetricSpec[];
  /** v0.3's metric names where they differ (LAMBADA's perplexity is "ppl"). */
  metrics03?: MetricSpec[];
  /**
   * The split few-shot examples come from when it is not the scored split: the training split, or (no training
   * split) the validation split. Unset: the scored split itself.
   */
  fewshotSplit?: string;
  /** The Hub fields this task reads, for messages. */
  schema: string;
  /** Validates a row and returns it with Hub field names (raw originals mapped). Throws RowError. */
  toDoc(row: Row): Row;
  /** The zero-shot requests of a doc (v0.3 or v0.4). Throws RowError for a doc the version cannot score. */
  instance(doc: Row, h?: HarnessVersion): Instance;
  /** A labeled few-shot example without the "\n\n" after it: doc_to_text + target as the version joins them. */
  fewshotExample?(doc: Row, h: HarnessVersion): string;
}

/** The metrics a task reports in harness version `h`. */
export function taskMetrics(spec: TaskSpec, h: HarnessVersion): MetricSpec[] {
  return h === '0.3' && spec.metrics03 ? spec.metrics03 : spec.metrics;
}

function mc(context: string, choices: string[], gold: number): Instance {
  // target_delimiter " " before every choice (data.md §3c). The logged target is the gold index (doc_to_target).
  return { type: 'multiple_choice', requests: choices.map((c) => [context, ` ${c}`] as [string, string]), choices, gold, target: gold };
}

/** The few-shot example of a multiple-choice doc: context, " ", the gold choice (both versions). */
function mcExample(inst: Instance): string {
  if (inst.type !== 'multiple_choice') throw new Error('mcExample: not a multiple-choice instance');
  return inst.requests[inst.gold][0] + inst.requests[inst.gold][1];
}

const ACC: MetricSpec = { metric: 'acc', aggregation: 'mean', higherIsBetter: true };
const ACC_NORM: MetricSpec = { metric: 'acc_norm', aggregation: 'mean', higherIsBetter: true };

// ---- tasks -------------------------------------------------------------------------------------------------------

const arcEasy: TaskSpec = {
  name: 'arc_easy',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/ai2_arc', name: 'ARC-Easy', split: 'test', size: 2376 },
  fewshotSplit: 'train',
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
  instance(doc, h = DEFAULT_HARNESS) {
    const ch = doc.choices as { text: string[]; label: string[] };
    let gold = ch.label.indexOf(doc.answerKey as string); // v0.4: choices.label.index(answerKey)
    if (h === '0.3') {
      // v0.3 ARCEasy._process_doc: numeric keys 1-5 become A-E, then gold = ["A".."E"].index(answerKey).
      const key = ({ 1: 'A', 2: 'B', 3: 'C', 4: 'D', 5: 'E' } as Record<string, string>)[doc.answerKey as string] ?? (doc.answerKey as string);
      gold = ['A', 'B', 'C', 'D', 'E'].indexOf(key);
      if (gold < 0 || gold >= ch.text.length) throw new RowError(`v0.3 maps answerKey '${doc.answerKey as string}' to choice ${gold}, not one of the ${ch.text.length} choices`);
    }
    return mc(`Question: ${doc.question as string}\nAnswer:`, ch.text, gold);
  },
  fewshotExample(doc, h) {
    return mcExample(this.instance(doc, h));
  },
};

const piqa: TaskSpec = {
  name: 'piqa',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'baber/piqa', name: null, split: 'validation', size: 1838 },
  fewshotSplit: 'train',
  template: { doc_to_text: 'Question: {{goal}}\nAnswer:', doc_to_target: 'label', doc_to_choice: '{{[sol1, sol2]}}' },
  metrics: [ACC, ACC_NORM],
  schema: '{"goal": str, "sol1": str, "sol2": str, "label": 0 | 1}',
  toDoc(row) {
    return { goal: str(row, 'goal'), sol1: str(row, 'sol1'), sol2: str(row, 'sol2'), label: index(field(row, 'label'), 2, 'label') };
  },
  instance(doc) {
    return mc(`Question: ${doc.goal as string}\nAnswer:`, [doc.sol1 as string, doc.sol2 as string], doc.label as number);
  },
  fewshotExample(doc, h) {
    return mcExample(this.instance(doc, h));
  },
};

const sciq: TaskSpec = {
  name: 'sciq',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/sciq', name: null, split: 'test', size: 1000 },
  fewshotSplit: 'train',
  template: { doc_to_text: '{{support.lstrip()}}\nQuestion: {{question}}\nAnswer:', doc_to_target: '3', doc_to_choice: '{{[distractor1, distractor2, distractor3, correct_answer]}}' },
  metrics: [ACC, ACC_NORM],
  schema: '{"question": str, "distractor1": str, "distractor2": str, "distractor3": str, "correct_answer": str, "support": str}',
  toDoc(row) {
    const d: Row = {};
    for (const k of ['question', 'distractor3', 'distractor1', 'distractor2', 'correct_answer', 'support']) d[k] = str(row, k);
    return d;
  },
  instance(doc, h = DEFAULT_HARNESS) {
    // v0.4 (sciq.yaml): "{{support.lstrip()}}\nQuestion: ..."; v0.3 (SciQ.doc_to_text): "{}\nQuestion: {}\nAnswer:"
    // .format(...).strip(). They differ when support is empty or all whitespace: v0.4 keeps the leading "\n".
    const q = `\nQuestion: ${doc.question as string}\nAnswer:`;
    const ctx = h === '0.3' ? pyStrip(`${doc.support as string}${q}`) : `${pyLstrip(doc.support as string)}${q}`;
    return mc(ctx, [doc.distractor1, doc.distractor2, doc.distractor3, doc.correct_answer] as string[], 3);
  },
  fewshotExample(doc, h) {
    return mcExample(this.instance(doc, h));
  },
};

const hellaswag: TaskSpec = {
  name: 'hellaswag',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'Rowan/hellaswag', name: null, split: 'validation', size: 10042 },
  fewshotSplit: 'train',
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
  fewshotExample(doc, h) {
    return mcExample(this.instance(doc, h));
  },
};

const lambadaOpenai: TaskSpec = {
  name: 'lambada_openai',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'loglikelihood',
  dataset: { path: 'EleutherAI/lambada_openai', name: 'default', split: 'test', size: 5153 },
  template: { doc_to_text: "{{text.split(' ')[:-1]|join(' ')}}", doc_to_target: "{{' '+text.split(' ')[-1]}}" },
  metrics: [
    { metric: 'perplexity', aggregation: 'perplexity', higherIsBetter: false },
    { metric: 'acc', aggregation: 'mean', higherIsBetter: true },
  ],
  // v0.3 LambadaBase: {"ppl": perplexity, "acc": mean}.
  metrics03: [
    { metric: 'ppl', aggregation: 'perplexity', higherIsBetter: false },
    { metric: 'acc', aggregation: 'mean', higherIsBetter: true },
  ],
  schema: '{"text": str}',
  toDoc(row) {
    return { text: str(row, 'text') };
  },
  instance(doc, h = DEFAULT_HARNESS) {
    // split(' ') on single spaces exactly, as Python's str.split(' '). v0.3's text.rsplit(" ", 1) gives the same
    // context and word, but fails on a text without a space, where v0.4 scores the whole text after an empty context.
    const text = doc.text as string;
    if (h === '0.3' && !text.includes(' ')) throw new RowError(`v0.3 cannot split a text without a space: ${quote(text)}`);
    const words = text.split(' ');
    const target = ` ${words[words.length - 1]}`;
    return { type: 'loglikelihood', request: [words.slice(0, -1).join(' '), target], target };
  },
  fewshotExample(doc, h) {
    const inst = this.instance(doc, h) as { request: [string, string] };
    // v0.3: doc_to_text + doc_to_target. v0.4 (build_qa_turn): text + target_delimiter " " + doc_to_target, and the
    // target already starts with a space, so its examples have two spaces before the word.
    return inst.request[0] + (h === '0.4' ? ' ' : '') + inst.request[1];
  },
};

const winogrande: TaskSpec = {
  name: 'winogrande',
  versions: { '0.3': 0, '0.4': 1.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'allenai/winogrande', name: 'winogrande_xl', split: 'validation', size: 1267 },
  fewshotSplit: 'train',
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
    const rest = pyStrip(s.slice(i + 1));
    const cont = ` ${rest}`;
    // The harness logs doc_to_target: the shared continuation without its delimiter.
    return { type: 'multiple_choice', requests: contexts.map((c) => [c, cont] as [string, string]), choices: contexts, gold: doc.answer === '1' ? 0 : 1, target: rest };
  },
  fewshotExample(doc, h) {
    const inst = this.instance(doc, h) as { requests: Array<[string, string]>; gold: number };
    return inst.requests[inst.gold][0] + inst.requests[inst.gold][1];
  },
};

const boolq: TaskSpec = {
  name: 'boolq',
  versions: { '0.3': 1, '0.4': 2.0 },
  outputType: 'multiple_choice',
  dataset: { path: 'aps/super_glue', name: 'boolq', split: 'validation', size: 3270 },
  fewshotSplit: 'train',
  template: { doc_to_text: '{{passage}}\nQuestion: {{question}}?\nAnswer:', doc_to_target: 'label', doc_to_choice: '["no", "yes"]' },
  metrics: [ACC],
  schema: '{"question": str, "passage": str, "idx": int, "label": 0 (False) | 1 (True)}',
  toDoc(row) {
    let label: number;
    let passage = str(row, 'passage');
    if (row.label === undefined && 'answer' in row) {
      // Raw BoolQ (dev.jsonl: question, title, answer, passage). The Hub's super_glue rows (and SuperGLUE's
      // val.jsonl) hold the passage as "<title> -- <passage>"; without a title the row cannot be mapped exactly.
      if (typeof row.answer !== 'boolean') throw new RowError(`raw BoolQ 'answer' must be true or false, got ${quote(row.answer)}`);
      if (typeof row.title !== 'string') throw new RowError(`raw BoolQ row has no 'title': its passage cannot be rebuilt as the harness's "<title> -- <passage>"`);
      label = row.answer ? 1 : 0;
      passage = `${row.title} -- ${passage}`;
    } else if (typeof row.label === 'boolean') label = row.label ? 1 : 0; // SuperGLUE's BoolQ/val.jsonl
    else label = index(field(row, 'label'), 2, 'label');
    return { question: str(row, 'question'), passage, idx: row.idx ?? null, label };
  },
  instance(doc, h = DEFAULT_HARNESS) {
    const ctx = `${doc.passage as string}\nQuestion: ${doc.question as string}?\nAnswer:`;
    if (h === '0.4') return mc(ctx, ['no', 'yes'], doc.label as number);
    // v0.3 BoolQ (VERSION 1): requests " yes" then " no"; acc = (ll_yes > ll_no) == label.
    const label = doc.label as number;
    return { type: 'multiple_choice', requests: [[ctx, ' yes'], [ctx, ' no']], choices: ['yes', 'no'], gold: label === 1 ? 0 : 1, target: ` ${label === 1 ? 'yes' : 'no'}`, yesGtNo: true };
  },
  fewshotExample(doc, h) {
    return `${doc.passage as string}\nQuestion: ${doc.question as string}?\nAnswer: ${(doc.label as number) === 1 ? 'yes' : 'no'}`;
  },
};

const wikitext: TaskSpec = {
  name: 'wikitext',
  versions: { '0.3': 1, '0.4': 2.0 },
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

// ARC-Challenge: arc_challenge.yaml includes arc_easy.yaml with dataset_name ARC-Challenge (v0.3: ARCChallenge(ARCEasy)).
const arcChallenge: TaskSpec = {
  ...arcEasy,
  name: 'arc_challenge',
  dataset: { path: 'allenai/ai2_arc', name: 'ARC-Challenge', split: 'test', size: 1172 },
};

// The original LAMBADA (lambada_standard.yaml: cimec/lambada, test scored, validation for few-shot; v0.3
// LambadaStandard, VERSION 0): lambada_openai's prompt and metrics.
const lambadaStandard: TaskSpec = {
  ...lambadaOpenai,
  name: 'lambada_standard',
  dataset: { path: 'cimec/lambada', name: null, split: 'test', size: 5153 },
  fewshotSplit: 'validation',
};

export const TASKS: Record<TaskName, TaskSpec> = {
  arc_easy: arcEasy,
  arc_challenge: arcChallenge,
  lambada_standard: lambadaStandard,
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
  if (!isTaskName(name)) throw new Error(`unknown task '${name}'; tasks: ${[...TASK_NAMES, ...EXTRA_TASK_NAMES].join(', ')}`);
  return TASKS[name];
}
