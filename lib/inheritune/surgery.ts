// Model surgery over named parameters: the one place that turns a "plan" (which target parameter comes from which
// source tensor, possibly sliced or rescaled) into fresh tf.Variables plus a manifest. Every builder of this folder
// (inherit, grow, stacking, hybrid stacking, half-width, distillation init) fills a plan and calls `materialize`.
//
// Copies are new variables that share the source's tfjs data buffer: tfjs never mutates a buffer in place
// (Variable.assign swaps the buffer), so training the target leaves the source untouched, and disposing either
// one keeps the other valid. Copied values are therefore bit-identical to the source.
// Parameters that no plan entry covers get nanoGPT's init for the TARGET config (params.ts: N(0, 0.02), c_proj at
// 0.02/sqrt(2 * target nLayer), LayerNorm weight 1, biases 0), drawn from (seed, target parameter name).
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../model/config';
import { Params, ParamSpec, paramSpecs, initValues, blockParamName } from '../model/params';

/** One row of a manifest: where a target parameter came from. */
export interface ManifestEntry {
  /** Target parameter name (HF state-dict naming). */
  param: string;
  /**
   * 'init' (fresh nanoGPT init for the target config), or '<from>:<source parameter name>', where <from> is
   * 'ref' (the reference model) or 'prev' (the previously trained model: the previous growth round, or the small
   * model of the stacking baseline).
   */
  source: string;
  /** How the source was transformed; absent when copied bit for bit. */
  transform?: string;
  /** Short kind of the transform ('sliced', 'q scaled'). */
  transformKind?: string;
}

export type Manifest = ManifestEntry[];

/** A model built by this folder. The caller owns `params` (disposeParams). */
export interface BuiltModel {
  params: Params;
  config: Readonly<GPTConfig>;
  manifest: Manifest;
  /** Consequences worth reading (e.g. attention-scale changes), one sentence each. */
  notes: string[];
}

/** A transformation of a source tensor; `apply` runs inside tf.tidy and returns a new tensor. */
export interface Transform {
  /** Short kind for tables: 'sliced', 'q scaled'. */
  kind: string;
  /** Exactly what was done, e.g. 'rows 0:16, columns 0:64'. */
  describe: string;
  apply: (t: tf.Tensor) => tf.Tensor;
}

/** Where one target parameter comes from. */
export interface PlanEntry {
  tensor: tf.Tensor;
  /** 'ref' or 'prev' (see ManifestEntry.source). */
  from: string;
  /** Source parameter name. */
  name: string;
  transform?: Transform;
}

/** Target parameter name -> source. Names not in the plan are freshly initialised. */
export type Plan = Map<string, PlanEntry>;

/** The sub-modules of a block, as in paper Table 3. */
export type BlockPart = 'ln_1' | 'attn' | 'ln_2' | 'mlp';
export const BLOCK_PARTS: readonly BlockPart[] = ['ln_1', 'attn', 'ln_2', 'mlp'];

/** Parameters outside the blocks: token embedding (= tied LM head), position embedding, final LayerNorm. */
export type GlobalPart = 'wte' | 'wpe' | 'ln_f';
export const GLOBAL_PARTS: readonly GlobalPart[] = ['wte', 'wpe', 'ln_f'];

/** The block part a block-parameter suffix belongs to ('attn.c_proj.weight' -> 'attn'). */
export function blockPartOf(suffix: string): BlockPart {
  const head = suffix.split('.')[0];
  if ((BLOCK_PARTS as readonly string[]).includes(head)) return head as BlockPart;
  throw new Error(`'${suffix}' is not a block parameter suffix (expected it to start with ${BLOCK_PARTS.join(', ')})`);
}

/** The global part of a non-block parameter name, or undefined for block parameters. */
export function globalPartOf(name: string): GlobalPart | undefined {
  if (name === 'transformer.wte.weight') return 'wte';
  if (name === 'transformer.wpe.weight') return 'wpe';
  if (name.startsWith('transformer.ln_f.')) return 'ln_f';
  return undefined;
}

/** Block index and suffix of a block parameter name, or undefined. */
export function splitBlockName(name: string): { layer: number; suffix: string } | undefined {
  const m = /^transformer\.h\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), suffix: m[2] } : undefined;
}

/** Suffixes of one block's parameters for a config ('ln_1.weight', 'attn.c_attn.weight', ...; biases if cfg.bias). */
export function blockSuffixes(cfg: GPTConfig): string[] {
  return paramSpecs({ ...cfg, nLayer: 1 })
    .map((s) => splitBlockName(s.name))
    .filter((s): s is { layer: number; suffix: string } => s !== undefined)
    .map((s) => s.suffix);
}

/**
 * Adds target block `targetLayer`'s parameters of the given parts, taken from block `sourceLayer` of `source`.
 * `transform(suffix)` may return a transform for a given parameter (e.g. rescaled q columns).
 */
export function planBlock(
  plan: Plan,
  target: GPTConfig,
  targetLayer: number,
  source: Params,
  from: string,
  sourceLayer: number,
  parts: ReadonlySet<BlockPart>,
  transform?: (suffix: string) => Transform | undefined,
): void {
  for (const suffix of blockSuffixes(target)) {
    if (!parts.has(blockPartOf(suffix))) continue;
    const name = blockParamName(sourceLayer, suffix);
    plan.set(blockParamName(targetLayer, suffix), { tensor: need(source, name, from), from, name, transform: transform?.(suffix) });
  }
}

/** Adds the global parameters of the given parts (same names in source and target). */
export function planGlobals(plan: Plan, target: GPTConfig, source: Params, from: string, parts: ReadonlySet<GlobalPart>, transform?: (name: string) => Transform | undefined): void {
  for (const spec of paramSpecs({ ...target, nLayer: 1 })) {
    const g = globalPartOf(spec.name);
    if (!g || !parts.has(g)) continue;
    plan.set(spec.name, { tensor: need(source, spec.name, from), from, name: spec.name, transform: transform?.(spec.name) });
  }
}

function need(source: Params, name: string, from: string): tf.Variable {
  const t = source[name];
  if (!t) throw new Error(`${from === 'ref' ? 'the reference' : 'the source model'} has no parameter '${name}'`);
  if (t.isDisposed) throw new Error(`${from === 'ref' ? 'the reference' : 'the source model'} parameter '${name}' is disposed`);
  return t;
}

/**
 * Creates the target's variables from a plan: planned parameters are copied (transformed if asked), the others
 * get the target config's fresh init from `seed`. Checks every shape. On error nothing is left allocated.
 */
export function materialize(cfg: Readonly<GPTConfig>, plan: Plan, seed: number, trainable = true): { params: Params; manifest: Manifest } {
  const specs = paramSpecs(cfg);
  const known = new Set(specs.map((s) => s.name));
  const stray = [...plan.keys()].filter((k) => !known.has(k));
  if (stray.length) throw new Error(`internal: plan names parameters the target config does not have: ${stray.join(', ')}`);
  const params: Params = {};
  const manifest: Manifest = [];
  try {
    for (const spec of specs) {
      const entry = plan.get(spec.name);
      if (entry) {
        params[spec.name] = copyParam(spec, entry, trainable);
        const row: ManifestEntry = { param: spec.name, source: `${entry.from}:${entry.name}` };
        if (entry.transform) {
          row.transform = entry.transform.describe;
          row.transformKind = entry.transform.kind;
        }
        manifest.push(row);
      } else {
        const t = tf.tensor(initValues(spec, seed), spec.shape, 'float32');
        params[spec.name] = tf.variable(t, trainable);
        t.dispose();
        manifest.push({ param: spec.name, source: 'init' });
      }
    }
  } catch (e) {
    for (const v of Object.values(params)) v.dispose();
    throw e;
  }
  return { params, manifest };
}

function copyParam(spec: ParamSpec, entry: PlanEntry, trainable: boolean): tf.Variable {
  if (entry.tensor.dtype !== 'float32') throw new Error(`'${entry.name}' has dtype ${entry.tensor.dtype}, expected float32`);
  const value = entry.transform ? tf.tidy(() => (entry.transform as Transform).apply(entry.tensor)) : entry.tensor;
  try {
    const ok = value.shape.length === spec.shape.length && value.shape.every((d, i) => d === spec.shape[i]);
    if (!ok) {
      const how = entry.transform ? ` after '${entry.transform.describe}'` : '';
      throw new Error(`cannot copy '${entry.from}:${entry.name}' [${entry.tensor.shape}]${how} into '${spec.name}': got [${value.shape}], the target needs [${spec.shape}]`);
    }
    return tf.variable(value, trainable); // shares value's buffer; see the note at the top
  } finally {
    if (entry.transform) value.dispose();
  }
}

/**
 * One row per target block plus one per global parameter, for a readable table in notebooks
 * (`showTable(tableFromRows(manifestSummary(built.manifest)))`, lib/viz/table):
 *   { block: 0, name: 'transformer.h.0', source: 'mixed', ln_1: 'ref h.4', attn: 'ref h.4', ln_2: 'init', mlp: 'init', transforms: '' }
 * A part's cell lists every distinct source of its tensors; `source` is the block's single source or 'mixed';
 * `transforms` lists the kinds of transforms applied in the row ('q scaled', 'sliced'), '' when all are bit copies.
 */
export function manifestSummary(manifest: Manifest): Array<Record<string, string | number>> {
  const rows = new Map<string, Record<string, string | number>>();
  const cell = (e: ManifestEntry): string => {
    if (e.source === 'init') return 'init';
    const [from, name] = [e.source.slice(0, e.source.indexOf(':')), e.source.slice(e.source.indexOf(':') + 1)];
    const b = splitBlockName(name);
    const short = b ? `${from} h.${b.layer}` : `${from} ${name.replace(/^transformer\./, '').replace(/\.(weight|bias)$/, '')}`;
    return short;
  };
  const add = (key: string, base: Record<string, string | number>, col: string, v: string) => {
    const row = rows.get(key) ?? { ...base };
    const prev = row[col];
    row[col] = prev === undefined || prev === v ? v : String(prev).split(' + ').includes(v) ? prev : `${prev} + ${v}`;
    rows.set(key, row);
  };
  for (const e of manifest) {
    const b = splitBlockName(e.param);
    const key = b ? `h${b.layer}` : globalPartOf(e.param) ?? e.param;
    if (b) add(key, { block: b.layer, name: `transformer.h.${b.layer}` }, blockPartOf(b.suffix), cell(e));
    else add(key, { block: '', name: key }, 'source', cell(e));
    const row = rows.get(key) as Record<string, string | number>;
    const kinds = new Set(String(row.transforms ?? '').split(', ').filter((k) => k));
    if (e.transformKind) kinds.add(e.transformKind);
    row.transforms = [...kinds].join(', ');
  }
  const out = [...rows.values()];
  for (const r of out) {
    if (r.block === '') continue;
    const parts = BLOCK_PARTS.map((p) => String(r[p] ?? ''));
    r.source = parts.every((p) => p === parts[0]) ? parts[0] : 'mixed';
  }
  return out;
}
