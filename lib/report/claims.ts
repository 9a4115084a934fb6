// Claim records: what each notebook found for each claim of the paper, written as a small JSON file beside its other
// results (results/<notebook>/<scale>/claims-<regime>.json) with its key figures. The report (./build.ts) is
// assembled from these files alone, so rerunning one notebook and rebuilding the report leaves the others' parts as
// they were. Notebooks call recordClaims once, in their last cell.
import { currentRegime, regimeSlug } from '../experiments/regimes';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../notebook/kernel';
import { SCALES, Scale, currentScale } from '../scale';
import type { Figure } from '../viz/plotly';
import { quote } from '../util/errors';

/** The paper's claims, in the paper's order, with the notebook that checks each. */
export const CLAIMS = [
  { id: 'toy-collapse', title: 'Softmax and training collapse attention rank (toy)', notebook: '01-attention-collapse-toy', paper: '§2 and the authors\' attention_demos.ipynb (reference/paper.md §8, §12 item 15)' },
  { id: 'lazy-deep-layers', title: 'Deep layers of trained GPT-2 are lazy (MaxRank ≈ 1)', notebook: '02-rank-profile', paper: 'Fig. 1, 8, 13 (reference/paper.md §2)' },
  { id: 'lazy-vs-potent', title: 'Potent-layer init beats lazy-layer init; lazy ≈ random', notebook: '03-lazy-vs-potent', paper: 'Table 4, Fig. 2, 3 (reference/paper.md §2, §4)' },
  { id: 'inheritune-matches-reference', title: 'Inheritune at L/2 (+2 per round) matches the reference', notebook: '04-inheritune', paper: 'Algorithm 1, Table 5, Fig. 5, 20 (reference/paper.md §2, §3)' },
  { id: 'baselines-order', title: 'Inheritune beats the warm-start baselines and random init', notebook: '05-baselines', paper: 'Table 2, Fig. 6, 18 (reference/paper.md §2, §5)' },
  { id: 'submodule-ablation', title: 'Inheriting attention and MLP together beats either alone', notebook: '06-ablations-and-distillation', paper: 'Table 3, Fig. 19 (reference/paper.md §2)' },
  { id: 'distillation', title: 'Inheritune beats knowledge distillation', notebook: '06-ablations-and-distillation', paper: 'Fig. 17 (reference/paper.md §2, §10)' },
  { id: 'downstream-evals', title: 'The half-depth model keeps the reference\'s zero-shot skills', notebook: '07-downstream-evals', paper: 'Tables 1, 7 (reference/paper.md §2)' },
] as const;

export type ClaimId = (typeof CLAIMS)[number]['id'];
export const CLAIM_IDS: readonly string[] = CLAIMS.map((c) => c.id);

export const VERDICTS = ['reproduces', 'partly', 'does not reproduce', 'not comparable'] as const;
export type VerdictStatus = (typeof VERDICTS)[number];

/**
 * What a row's "±" is: `std` the sample std over seeds of one quantity; `margin` what a difference of two means had
 * to clear, max(0.01, std(A) + std(B)) (lib/experiments/spread.ts); `stderr` a standard error over eval items.
 */
export const SPREAD_KINDS = ['std', 'margin', 'stderr'] as const;
export type SpreadKind = (typeof SPREAD_KINDS)[number];

/** One compared quantity of a claim. */
export interface ClaimRow {
  claim: ClaimId;
  /** What is compared, e.g. 'val loss: Inheritune (final round) − reference'. */
  quantity: string;
  /** The paper's number: text as printed (with its source) and the value when it is one number. */
  paper: { text: string; value?: number };
  /**
   * Ours: the value, its spread and what the spread is (SPREAD_KINDS; records without a kind print a bare ±), the
   * number of seeds when several ran; text when not a number.
   */
  ours: { value?: number; spread?: number; spreadKind?: SpreadKind; seeds?: number; text?: string };
  /** The notebook's computed verdict for this row. */
  verdict: { status: VerdictStatus; text: string };
  /** Id of the key figure in the record's `figures`. */
  figure?: string;
}

export interface ClaimRecord {
  format: 'inheritune-claims/1';
  notebook: string;
  scale: Scale;
  /** The data regime the notebook ran on; null when the claim uses no data (the toy demos). */
  regime: string | null;
  recordedAt: string;
  /** SHA-256 of the committed notebook's cell sources when recorded (the report flags a notebook changed since). */
  notebookSha256?: string;
  /** The executed notebook's HTML export, relative to the repository root (set by the headless runner). */
  executedHtml?: string;
  claims: ClaimRow[];
  figures: Record<string, Figure>;
}

/** The environment variable the headless runner sets to the folder of executed notebooks. */
export const NOTEBOOK_OUT_ENV = 'INHERITUNE_NOTEBOOK_OUT';
/** Regime of runs that do not set INHERITUNE_REGIME: the natural-text lab data. */
export const DEFAULT_REGIME = 'owt-mini';
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Regimes as they appear in paths: owt-mini, synth, custom-<dataset> (lib/experiments/regimes regimeSlug).
const REGIME_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The data regime of this process (INHERITUNE_REGIME, default owt-mini), checked to be usable in a file name. */
export function claimRegime(env: Record<string, string | undefined> = process.env): string {
  return regimeSlug(currentRegime(env));
}

/** results/<notebook>/<scale>/claims-<regime or 'no-data'>.json */
export function claimRecordPath(notebook: string, scale: Scale, regime: string | null, root = repoRoot()): string {
  return path.join(root, 'results', notebook, scale, `claims-${regime ?? 'no-data'}.json`);
}

/** SHA-256 of a notebook's cell types and sources (outputs excluded), or undefined when it cannot be read. */
export function notebookSourceHash(notebook: string, root = repoRoot()): string | undefined {
  try {
    const nb = JSON.parse(fs.readFileSync(path.join(root, 'notebooks', `${notebook}.ipynb`), 'utf8')) as { cells: Array<{ cell_type: string; source: string | string[] }> };
    const text = nb.cells.map((c) => `${c.cell_type}\n${Array.isArray(c.source) ? c.source.join('') : c.source}`).join('\n\u0000\n');
    return createHash('sha256').update(text).digest('hex');
  } catch {
    return undefined;
  }
}

export interface RecordClaimsOptions {
  notebook: string;
  claims: ClaimRow[];
  figures?: Record<string, Figure>;
  scale?: Scale;
  /** Default claimRegime(); null for claims that use no data. */
  regime?: string | null;
  root?: string;
}

/** Checks a record's shape; throws naming the first problem (a corrupt file must not become a wrong report). */
export function validateClaimRecord(r: unknown, where: string): ClaimRecord {
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (typeof r !== 'object' || r === null) fail('not a JSON object');
  const x = r as Record<string, unknown>;
  if (x.format !== 'inheritune-claims/1') fail(`format is ${quote(x.format)}, expected "inheritune-claims/1"`);
  if (typeof x.notebook !== 'string' || !NAME.test(x.notebook)) fail(`bad notebook name ${quote(x.notebook)}`);
  if (!(SCALES as readonly unknown[]).includes(x.scale)) fail(`bad scale ${quote(x.scale)}`);
  if (x.regime !== null && (typeof x.regime !== 'string' || !REGIME_NAME.test(x.regime))) fail(`bad regime ${quote(x.regime)}`);
  if (!Array.isArray(x.claims)) fail('claims is not a list');
  const figures = x.figures as Record<string, unknown>;
  if (typeof figures !== 'object' || figures === null || Array.isArray(figures)) fail('figures is not an object');
  for (const [id, f] of Object.entries(figures)) {
    if (!Array.isArray((f as Figure)?.data)) fail(`figure ${quote(id)} has no data list`);
  }
  (x.claims as unknown[]).forEach((c, i) => {
    const row = c as ClaimRow;
    const at = `claim row ${i + 1}`;
    if (!CLAIM_IDS.includes(row?.claim)) fail(`${at}: unknown claim ${quote(row?.claim)}; known: ${CLAIM_IDS.join(', ')}`);
    if (typeof row.quantity !== 'string' || !row.quantity) fail(`${at}: no quantity`);
    if (typeof row.paper?.text !== 'string') fail(`${at}: no paper text`);
    if (row.paper.value !== undefined && !Number.isFinite(row.paper.value)) fail(`${at}: paper value ${quote(row.paper.value)} is not finite`);
    if (typeof row.ours !== 'object' || row.ours === null) fail(`${at}: no ours`);
    if (row.ours.value === undefined && typeof row.ours.text !== 'string') fail(`${at}: ours has neither a value nor a text`);
    for (const k of ['value', 'spread'] as const) {
      if (row.ours[k] !== undefined && !Number.isFinite(row.ours[k])) fail(`${at}: ours.${k} ${quote(row.ours[k])} is not a finite number`);
    }
    if (row.ours.spreadKind !== undefined && !(SPREAD_KINDS as readonly unknown[]).includes(row.ours.spreadKind)) {
      fail(`${at}: ours.spreadKind ${quote(row.ours.spreadKind)}; expected one of ${SPREAD_KINDS.join(', ')}`);
    }
    if (!(VERDICTS as readonly unknown[]).includes(row.verdict?.status)) fail(`${at}: verdict status ${quote(row.verdict?.status)}; expected one of ${VERDICTS.join(', ')}`);
    if (typeof row.verdict.text !== 'string') fail(`${at}: no verdict text`);
    if (row.figure !== undefined && !(row.figure in figures)) fail(`${at}: figure ${quote(row.figure)} is not in the record's figures`);
  });
  return x as unknown as ClaimRecord;
}

/**
 * Writes the notebook's claim record (atomically) and returns its path. Values must be finite: a NaN is an error
 * here, in the notebook, not a blank in the report.
 */
export function recordClaims(o: RecordClaimsOptions): string {
  const root = o.root ?? repoRoot();
  const scale = o.scale ?? currentScale();
  const regime = o.regime === undefined ? claimRegime() : o.regime;
  const outDir = process.env[NOTEBOOK_OUT_ENV];
  const executed = outDir ? path.join(outDir, `${o.notebook}.html`) : undefined;
  const record: ClaimRecord = {
    format: 'inheritune-claims/1', notebook: o.notebook, scale, regime, recordedAt: new Date().toISOString(),
    notebookSha256: notebookSourceHash(o.notebook, root),
    executedHtml: executed ? path.relative(root, path.resolve(root, executed)) : undefined,
    claims: o.claims, figures: o.figures ?? {},
  };
  const file = claimRecordPath(o.notebook, scale, regime, root);
  validateClaimRecord(JSON.parse(JSON.stringify(record)), `claims of ${o.notebook}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp-${process.pid}`, JSON.stringify(record) + '\n');
  fs.renameSync(`${file}.tmp-${process.pid}`, file);
  return file;
}

/** Every claim record of a scale under results/, sorted by notebook then regime. Corrupt files are errors. */
export function readClaimRecords(scale: Scale, root = repoRoot()): ClaimRecord[] {
  const results = path.join(root, 'results');
  if (!fs.existsSync(results)) return [];
  const out: ClaimRecord[] = [];
  for (const nb of fs.readdirSync(results).sort()) {
    const dir = path.join(results, nb, scale);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).filter((n) => /^claims-.+\.json$/.test(n)).sort()) {
      const file = path.join(dir, f);
      const rel = path.relative(root, file);
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new Error(`${rel}: not valid JSON (${(e as Error).message}); delete it or rerun ${nb}`);
      }
      const r = validateClaimRecord(parsed, rel);
      if (r.notebook !== nb || r.scale !== scale) throw new Error(`${rel}: records ${r.notebook} at ${r.scale}, but lies in ${nb}/${scale}`);
      out.push(r);
    }
  }
  return out;
}

/**
 * One row per quantity from the same claim rows computed for each seed (rows matched by position): ours = mean over
 * seeds, spread = sample std (n − 1), seeds = n. The verdict is the seeds' common one; when they disagree it is
 * 'partly', saying how many seeds gave which.
 */
export function combineSeeds(perSeed: ClaimRow[][]): ClaimRow[] {
  if (!perSeed.length) throw new Error('combineSeeds needs the rows of at least one seed');
  const n = perSeed.length;
  return perSeed[0].map((first, k) => {
    const rows = perSeed.map((rs, s) => {
      const r = rs[k];
      if (!r || r.claim !== first.claim || r.quantity !== first.quantity) throw new Error(`seed ${s + 1}: row ${k + 1} is not '${first.quantity}'`);
      return r;
    });
    const values = rows.map((r) => r.ours.value);
    let ours: ClaimRow['ours'] = { ...first.ours, seeds: n };
    if (values.every((v): v is number => typeof v === 'number')) {
      const mean = values.reduce((a, b) => a + b, 0) / n;
      const spread = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : undefined;
      ours = spread === undefined
        ? { value: Math.round(mean * 1e4) / 1e4, seeds: n }
        : { value: Math.round(mean * 1e4) / 1e4, spread: Math.round(spread * 1e4) / 1e4, spreadKind: 'std', seeds: n };
    }
    const statuses = rows.map((r) => r.verdict.status);
    const same = statuses.every((s) => s === statuses[0]);
    const counts = [...new Set(statuses)].map((s) => `${statuses.filter((x) => x === s).length} ${s}`).join(', ');
    const verdict = same
      ? { status: statuses[0], text: `${n} seeds agree. ${first.verdict.text}` }
      : { status: 'partly' as const, text: `The seeds disagree (${counts}). Seed 1: ${first.verdict.text}` };
    return { ...first, ours, verdict };
  });
}
