// Fuzz families that need more setup: train checkpoints (a real 2-step run, then its state.json, weights, optimizer
// file, config.json and `latest` mutated; read by resume's readCheckpoint and by the --model loader) and eval task
// files (fixture rows with mutated lines: JSON-aware, byte-level, invalid UTF-8, deep nesting).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../lib/util/rng';
import { initParams, disposeParams } from '../../lib/model/params';
import { Checkpoint, loadModelPath } from '../../lib/model/hf';
import { train } from '../../lib/train/trainer';
import { LoadedCheckpoint, readCheckpoint, resolveCheckpoint } from '../../lib/train/checkpoint';
import { loadTaskData, LoadedTask } from '../../lib/eval/data';
import { TASK_NAMES, getTask } from '../../lib/eval/tasks';
import { MAX_MESSAGE_CHARS } from '../../lib/util/errors';
import { mutateBytes, mutateJsonText, pick } from './mutate';
import { Family, checkModel } from './families';
import { tinyConfig, tokenData } from '../train/util';

// ---- checkpoints ---------------------------------------------------------------------------------------------------

let runBase = '';
const STEP = 'step-00000002';
const CK_FILES = ['state.json', 'model.safetensors', 'optimizer.safetensors', 'config.json'];
const baseBytes: Record<string, Buffer> = {};

async function setupCheckpoint(work: string): Promise<void> {
  const cfg = tinyConfig({ nLayer: 1, nEmbd: 8, vocabSize: 32, blockSize: 8 });
  const params = initParams(cfg, { seed: 1 });
  runBase = path.join(work, 'run');
  try {
    await train({
      params, config: cfg, data: { train: tokenData(2000, cfg.vocabSize, 1), batchSize: 2, blockSize: 8 },
      maxSteps: 2, schedule: { lr: 1e-3 }, checkpointInterval: 1, outDir: runBase, progress: false, keepCheckpoints: 5,
    });
  } finally {
    disposeParams(params);
  }
  for (const f of CK_FILES) baseBytes[f] = fs.readFileSync(path.join(runBase, 'checkpoints', STEP, f));
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

const isCount = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** What resume loaded must be usable: finite tensors, a consistent step, untouched checksummed files. */
function checkLoaded(ck: LoadedCheckpoint, changed: string[]): string | null {
  if (changed.some((f) => f !== 'state.json' && f !== 'latest')) return `loaded although ${changed.join(', ')} differ from what state.json records`;
  const s = ck.state;
  const m = /step-(\d+)$/.exec(ck.dir);
  if (!isCount(s.step) || !m || Number(m[1]) !== s.step) return `step ${JSON.stringify(s.step)} in ${path.basename(ck.dir)}`;
  if (!isCount(s.optimizerStep) || s.optimizerStep > s.step) return `optimizerStep ${JSON.stringify(s.optimizerStep)}`;
  if (!(typeof s.tokens === 'number' && Number.isFinite(s.tokens) && s.tokens >= 0)) return `tokens ${JSON.stringify(s.tokens)}`;
  if (!Array.isArray(s.history?.steps) || !Array.isArray(s.history?.evals)) return 'history is not two lists';
  for (const e of s.history.steps) if (!isCount(e?.step) || !Number.isFinite(e.loss) || e.step >= s.step) return `history entry ${JSON.stringify(e).slice(0, 80)}`;
  for (const map of [ck.model, ck.m, ck.v]) for (const [n, t] of Object.entries(map)) for (const x of t.data) if (!Number.isFinite(x)) return `tensor ${n} holds ${x}`;
  return null;
}

export const checkpointFamily: Family = {
  name: 'checkpoints',
  setup: setupCheckpoint,
  async mutant(rng, dir) {
    const run = path.join(dir, 'run');
    copyDir(runBase, run);
    const stepDir = path.join(run, 'checkpoints', STEP);
    const target = pick(rng, [...CK_FILES, 'state.json', 'state.json', 'latest', 'delete']);
    let op: string;
    if (target === 'latest') {
      const m = mutateBytes(rng, Buffer.from(`${STEP}\n`));
      fs.writeFileSync(path.join(run, 'checkpoints', 'latest'), m.bytes);
      op = `latest: ${m.op}`;
    } else if (target === 'delete') {
      const f = pick(rng, [...CK_FILES, 'latest']);
      fs.rmSync(f === 'latest' ? path.join(run, 'checkpoints', 'latest') : path.join(stepDir, f));
      op = `delete ${f}`;
    } else if (target.endsWith('.json') && rng.int(4) !== 0) {
      let text = baseBytes[target].toString('utf8');
      const ops: string[] = [];
      for (let i = 1 + rng.int(2); i > 0; i--) {
        const m = mutateJsonText(rng, text);
        text = m.text;
        ops.push(m.op);
      }
      fs.writeFileSync(path.join(stepDir, target), text);
      op = `${target}: ${ops.join(', ')}`;
    } else {
      const m = mutateBytes(rng, baseBytes[target]);
      fs.writeFileSync(path.join(stepDir, target), m.bytes);
      op = `${target}: ${m.op}`;
    }
    const changed = CK_FILES.filter((f) => {
      const p = path.join(stepDir, f);
      return !fs.existsSync(p) || !fs.readFileSync(p).equals(baseBytes[f]);
    });
    return {
      op,
      load: async () => {
        const ck = readCheckpoint(resolveCheckpoint(run)); // what resume reads
        const model = loadModelPath(stepDir); // what eval / rank read (verifies the recorded checksums)
        return { ck, model };
      },
      verify: (r) => {
        const { ck, model } = r as { ck: LoadedCheckpoint; model: Checkpoint };
        return checkLoaded(ck, changed) ?? checkModel(model);
      },
    };
  },
};

// ---- eval task files -----------------------------------------------------------------------------------------------

const FX = path.join(__dirname, '..', 'fixtures', 'eval');
const fixtureLines: Record<string, Buffer[]> = {};

async function setupEval(): Promise<void> {
  for (const t of TASK_NAMES) {
    const b = fs.readFileSync(path.join(FX, `${t}.fixture.jsonl`));
    const lines: Buffer[] = [];
    let start = 0;
    for (let i = b.indexOf(10); i >= 0; start = i + 1, i = b.indexOf(10, start)) lines.push(b.subarray(start, i));
    if (start < b.length) lines.push(b.subarray(start));
    fixtureLines[t] = lines.filter((l) => l.length > 0);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A line a JSONL reader must answer for: any line that is not blank (invalid UTF-8 is not blank). */
function isRow(line: Buffer): boolean {
  const l = line.length && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
  try {
    return UTF8.decode(l).trim().length > 0;
  } catch {
    return true;
  }
}

/** Every line is accounted for (a doc or a malformed row with a bounded one-line reason); no U+FFFD appeared. */
function checkTask(r: LoadedTask, bytes: Buffer, lines: number, task: string): string | null {
  if (r.docs.length + r.malformed.length !== lines) return `${lines} non-blank lines but ${r.docs.length} docs + ${r.malformed.length} malformed`;
  for (const m of r.malformed) {
    if (!m.message || m.message.includes('\n') || m.message.length > MAX_MESSAGE_CHARS) return `malformed-row message of ${m.message.length} chars: ${m.message.slice(0, 80)}`;
  }
  const hadReplacement = bytes.includes(Buffer.from([0xef, 0xbf, 0xbd]));
  for (const d of r.docs) {
    if (!hadReplacement && JSON.stringify(d.doc).includes('\ufffd')) return `doc ${d.where} holds U+FFFD that the file did not`;
    try {
      getTask(task).instance(d.doc);
    } catch (e) {
      return `doc ${d.where} loaded but cannot be scored: ${(e as Error).message.slice(0, 100)}`;
    }
  }
  return null;
}

export const evalFamily: Family = {
  name: 'eval files',
  setup: setupEval,
  async mutant(rng, dir) {
    const task = pick(rng, TASK_NAMES);
    const lines = fixtureLines[task].map((l) => Buffer.from(l));
    const ops: string[] = [];
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const i = rng.int(lines.length);
      const kind = rng.int(6);
      if (kind < 3) {
        const m = mutateJsonText(rng, lines[i].toString('utf8'));
        lines[i] = Buffer.from(m.text.replace(/\n/g, ' '), 'utf8');
        ops.push(`line ${i + 1}: ${m.op}`);
      } else if (kind < 5) {
        const m = mutateBytes(rng, lines[i]);
        lines[i] = Buffer.from(m.bytes.filter((b) => b !== 10));
        ops.push(`line ${i + 1}: bytes ${m.op}`);
      } else {
        lines.splice(i, 0, Buffer.concat([Buffer.from('{"x": '), Buffer.from('['.repeat(20000) + ']'.repeat(20000)), Buffer.from([0xff]), Buffer.from('}')]));
        ops.push(`insert a deep, non-UTF-8 line at ${i + 1}`);
      }
    }
    const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const f = path.join(dir, `${task}.jsonl`);
    fs.writeFileSync(f, bytes);
    const nonBlank = lines.filter(isRow).length;
    return {
      op: `${task}: ${ops.join('; ')}`,
      load: () => loadTaskData(getTask(task), { file: f }),
      verify: (r) => checkTask(r as LoadedTask, bytes, nonBlank, task),
    };
  },
};
