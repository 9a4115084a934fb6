// Per-sample log records exactly as lm-evaluation-harness writes them (lm_eval/evaluator.py evaluate builds
// {doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics, doc_hash, prompt_hash, target_hash,
// **metrics}; lm_eval/loggers/evaluation_tracker.py save_results_samples then turns arguments into
// {"gen_args_i": {"arg_j": ...}}, resps and filtered_resps into str()s (utils.sanitize_list) and target into str,
// and writes json.dumps(sample, ensure_ascii=False) per line to samples_<task>_<date_id>.jsonl, at @4e7e0d4).
// The doc_hash is sha256 of json.dumps(doc, indent=2, ensure_ascii=False), prompt_hash of the first request's context,
// target_hash of str(target). v0.3 wrote no such logs; both versions use this shape.
import { createHash } from 'node:crypto';
import { Instance, Row } from './tasks';
import { LoglikResult } from './requests';
import { MetricItem } from './metrics';
import { PyFloat, pyJsonDumps, pyStr } from './pyjson';

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** One sample line's fields, before JSON: exactly the harness's keys (where a doc came from is doc_id's row). */
export type SampleRecord = Record<string, unknown> & { doc_id: number; target: string; metrics: string[] };

/** The harness's sample-file suffix: datetime.now().isoformat() with ":" replaced by "-" (local time, microseconds). */
export function harnessDateId(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

/** Python-typed metric values: multiple-choice accuracies are floats (1.0), LAMBADA's acc an int, lls floats. */
function pyMetric(inst: Instance, name: string, v: MetricItem): unknown {
  if (Array.isArray(v)) return [new PyFloat(v[0]), v[1]];
  if (inst.type === 'loglikelihood' && name === 'acc') return v;
  return new PyFloat(v);
}

/** The record of one scored doc. `results`: its request results in request order (rolling: the doc's ll). */
export function sampleRecord(docId: number, doc: Row, inst: Instance, results: LoglikResult[] | number, metrics: Record<string, MetricItem>): SampleRecord {
  let args: string[][];
  let resps: string[][][] | string[][];
  let filtered: string[][] | string[];
  let target: unknown;
  if (inst.type === 'loglikelihood_rolling') {
    args = [[inst.text]];
    resps = [[pyStr(new PyFloat(results as number))]];
    filtered = [pyStr(new PyFloat(results as number))];
    target = inst.text;
  } else {
    args = inst.type === 'multiple_choice' ? inst.requests : [inst.request];
    const r = (results as LoglikResult[]).map((x) => [pyStr(new PyFloat(x.ll)), pyStr(x.isGreedy)]);
    resps = r.map((x) => [x]);
    filtered = r;
    target = inst.target;
  }
  const targetStr = pyStr(target);
  const rec: SampleRecord = {
    doc_id: docId,
    doc,
    target: targetStr,
    arguments: Object.fromEntries(args.map((a, i) => [`gen_args_${i}`, Object.fromEntries(a.map((x, j) => [`arg_${j}`, x]))])),
    resps,
    filtered_resps: filtered,
    filter: 'none',
    metrics: Object.keys(metrics),
    doc_hash: sha256(pyJsonDumps(doc, 2)),
    prompt_hash: sha256(args[0][0]),
    target_hash: sha256(targetStr),
  };
  for (const [k, v] of Object.entries(metrics)) rec[k] = pyMetric(inst, k, v);
  return rec;
}

/** One JSONL line, as json.dumps(sample, ensure_ascii=False). */
export function sampleLine(rec: SampleRecord): string {
  return pyJsonDumps(rec);
}
