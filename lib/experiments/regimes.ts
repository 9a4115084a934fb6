// The data regime of the lab, a second dimension beside the scale: notebooks 02-06 run on natural text
// (`owt-mini`, the default), on the synthetic regime in which a layer goes lazy on a laptop (`synth`), or on the
// user's own data (`custom:<dataset name under data/>`). Like the scale, the regime changes numbers, never code paths.
// Chosen with INHERITUNE_REGIME or `--regime` (notebooks / reproduce).
//
// LAB_REGIMES is the one place where the synthetic recipe lives: per scale, the overrides of the owt-mini setup
// (dataset and its generator flags, window alignment, the reference's shape, attention scaling, lr, weight decay,
// steps, probe settings, seeds). Change the recipe here; nothing else names its numbers.
import type { GPTConfig } from '../model/config';
import type { SyntheticRecipe } from '../data/synthetic';
import type { WindowMode } from '../data/windows';
import { Scale } from '../scale';

/** The regimes with a name of their own; `custom:<name>` is the third kind. */
export const NAMED_REGIMES = ['owt-mini', 'synth'] as const;
export type NamedRegime = (typeof NAMED_REGIMES)[number];
export type Regime = NamedRegime | `custom:${string}`;
export const DEFAULT_REGIME: Regime = 'owt-mini';

/** How a regime's dataset is made on first use: a synthetic generator with parameter overrides (seeded). */
export interface DatasetRecipe {
  generator: 'synth-backcopy' | 'synth-iid' | 'synth-recall';
  overrides: Partial<Omit<SyntheticRecipe, 'kind' | 'description'>>;
}

/** What a regime changes in a scale's setup (lib/experiments/lab.ts LabSetup); absent fields keep owt-mini's. */
export interface RegimeOverrides {
  dataset: string;
  /** Prepared by labData on first use; absent = an embedded or user dataset (ensureDataset). */
  datasetRecipe?: DatasetRecipe;
  windows?: WindowMode;
  /** The reference's shape over the scale's preset (layers, width, heads, vocabulary, 1/(l+1) attention scaling). */
  referenceShape?: Partial<Pick<GPTConfig, 'nLayer' | 'nEmbd' | 'nHead' | 'vocabSize' | 'scaleAttnByInverseLayerIdx'>>;
  blockSize?: number;
  batchSize?: number;
  gradAccumSteps?: number;
  referenceSteps?: number;
  targetSteps?: number;
  lr?: number;
  minLr?: number;
  warmupIters?: number;
  weightDecay?: number;
  evalInterval?: number;
  evalBatches?: number;
  rankN?: number;
  rankT?: number;
  probeInterval?: number;
  probeN?: number;
  probeT?: number;
  seeds?: number[];
}

// Copy-and-recall (docs/lazy-layers.md, run 7): layer 1 learns the dense copy (MaxRank ~81), the deeper layers the
// rare recall and sink (MaxRank 1.1-2.9 by step 4000). 6 layers: with more layers than the jobs need, the spare heads
// stay idle at uniform attention instead of sinking (the 8-layer run there). Inheritune's L/2 = 3, growing by 2.
const RECALL: DatasetRecipe = { generator: 'synth-recall', overrides: {} };
const SYNTH_SHAPE = { nLayer: 6, nEmbd: 64, nHead: 2, vocabSize: 128, scaleAttnByInverseLayerIdx: false };

export const LAB_REGIMES: { synth: Record<Scale, RegimeOverrides> } = {
  synth: {
    // A few seconds per model: checks the code path, not the claim.
    tiny: {
      dataset: 'synth-recall', datasetRecipe: RECALL, windows: 'bos',
      referenceShape: { ...SYNTH_SHAPE, nEmbd: 32 }, blockSize: 32, referenceSteps: 60, targetSteps: 20,
      lr: 3e-3, minLr: 3e-4, weightDecay: 0.1, seeds: [5000, 5001],
    },
    lab: {
      dataset: 'synth-recall', datasetRecipe: RECALL, windows: 'bos',
      referenceShape: SYNTH_SHAPE, blockSize: 128, batchSize: 8, referenceSteps: 4000, targetSteps: 300,
      lr: 3e-3, minLr: 3e-4, warmupIters: 30, weightDecay: 0.1, evalInterval: 100, evalBatches: 8,
      rankN: 100, rankT: 100, probeInterval: 250, probeN: 16, probeT: 100, seeds: [5000, 5001, 5002],
    },
    paper: {
      dataset: 'synth-recall', datasetRecipe: RECALL, windows: 'bos',
      referenceShape: SYNTH_SHAPE, blockSize: 128, batchSize: 32, gradAccumSteps: 1, referenceSteps: 20_000,
      targetSteps: 5_000, lr: 3e-3, minLr: 3e-4, warmupIters: 100, weightDecay: 0.1, evalInterval: 500, evalBatches: 32,
      rankN: 100, rankT: 100, probeInterval: 500, probeN: 32, probeT: 100, seeds: [5000, 5001, 5002, 5003, 5004],
    },
  },
};

const CUSTOM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function validRegimes(): string {
  return `${NAMED_REGIMES.join(', ')}, custom:<dataset name under data/>`;
}

/** Parses a regime name; an unknown one is an error naming the valid ones. */
export function parseRegime(raw: string, what = 'regime'): Regime {
  const v = raw.trim();
  if ((NAMED_REGIMES as readonly string[]).includes(v.toLowerCase())) return v.toLowerCase() as NamedRegime;
  if (v.startsWith('custom:')) {
    const name = v.slice('custom:'.length);
    if (!CUSTOM_NAME.test(name)) {
      throw new Error(`${what} '${raw}': the dataset name after 'custom:' must be a folder name under data/ (letters, digits, . _ -), got '${name}'`);
    }
    return `custom:${name}`;
  }
  throw new Error(`${what} '${raw}' is not a regime; choose one of: ${validRegimes()}`);
}

/** The regime from INHERITUNE_REGIME (default owt-mini). */
export function currentRegime(env: Record<string, string | undefined> = process.env): Regime {
  const raw = env.INHERITUNE_REGIME;
  if (raw === undefined || raw.trim() === '') return DEFAULT_REGIME;
  return parseRegime(raw, 'INHERITUNE_REGIME');
}

/** The regime as one path segment and in file names: owt-mini, synth, custom-<name>. */
export function regimeSlug(r: Regime): string {
  return r.startsWith('custom:') ? `custom-${r.slice('custom:'.length)}` : r;
}

/** The overrides a regime applies at a scale (owt-mini: none; custom: only the dataset). */
export function regimeOverrides(r: Regime, scale: Scale): RegimeOverrides | null {
  if (r === 'owt-mini') return null;
  if (r === 'synth') return LAB_REGIMES.synth[scale];
  return { dataset: r.slice('custom:'.length) };
}
