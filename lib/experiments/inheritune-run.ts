// Notebook 04: the paper's main experiment (Algorithm 1; Table 5, Fig. 5, 8, 20) at the scale's size:
// inherit the first L/2 blocks of the trained reference, train, grow by 2 blocks per round until the validation
// loss matches the reference's; beside it a same-size model trained from random init.
import { GPTConfig, makeConfig } from '../model/config';
import { Params, initParams, disposeParams } from '../model/params';
import { History } from '../train/history';
import { inherituneRun, InherituneResult, RoundRecord } from '../inheritune/grow';
import { LabData, LabSetup, TrainedModel, trainLabModel } from './lab';
import type { Figure } from '../viz/plotly';
import type { LayerRow } from '../metrics/attention-rank';

/** Paper Table 5 (OWT val loss after 100K steps) and the authors' logs (reference/paper.md §10). */
export const PAPER_TABLE5 = {
  medium: {
    reference: { layers: 24, valLoss: 2.81 },
    random: [{ layers: 16, steps: '100K', valLoss: 2.86 }, { layers: 16, steps: '200K', valLoss: 2.83 }],
    rounds: [{ layers: 12, valLoss: 2.87, valLossAtInit: 9.951 }, { layers: 14, valLoss: 2.84, valLossAtInit: 9.542 }, { layers: 16, valLoss: 2.81, valLossAtInit: 10.38 }],
  },
  large: { reference: { layers: 36, valLoss: 2.85 }, random: [{ layers: 18, steps: '100K', valLoss: 2.97 }], rounds: [{ layers: 18, valLoss: 2.8, valLossAtInit: 9.33 }] },
  xl: { reference: { layers: 48, valLoss: 2.65 }, random: [{ layers: 24, steps: '100K', valLoss: 2.69 }], rounds: [{ layers: 24, valLoss: 2.64, valLossAtInit: 10.868 }] },
  source: 'paper Table 5; step-0 losses from the repo logs (reference/paper.md §10)',
} as const;

export function inherituneRunName(layers: number, round: number): string {
  return `inheritune-${layers}L-r${round}`;
}

export function randomRunName(layers: number): string {
  return `random-${layers}L`;
}

/** Algorithm 1 with the authors' choices: restart from the reference each round, copy wte (tied head) + blocks. */
export async function runInheritune(
  s: LabSetup, data: LabData, ref: TrainedModel, o: { maxRounds?: number; onRound?: (r: RoundRecord) => void } = {},
): Promise<InherituneResult> {
  return inherituneRun({
    reference: ref.params, refConfig: ref.config, refValLoss: ref.valLoss, growBy: 2, maxRounds: o.maxRounds,
    seed: 5000, mode: 'restart', onRound: o.onRound,
    trainFn: async (params: Params, cfg: Readonly<GPTConfig>, round) => {
      const run = await trainLabModel(s, data, inherituneRunName(cfg.nLayer, round.round), params, cfg, s.targetSteps);
      const atInit = run.result.history.evals.find((e) => e.step === 0)?.valLoss;
      return { valLoss: run.valLoss, steps: run.result.steps, history: run.result.history, valLossAtInit: atInit };
    },
  });
}

/** The same-size model from random init with the same recipe (Baseline-I). The caller owns the params. */
export async function trainRandomBaseline(s: LabSetup, data: LabData, refConfig: GPTConfig, layers: number, steps = s.targetSteps): Promise<TrainedModel> {
  const config = makeConfig(refConfig, { nLayer: layers });
  const params = initParams(config, { seed: 5000 });
  try {
    return await trainLabModel(s, data, steps === s.targetSteps ? randomRunName(layers) : `${randomRunName(layers)}-${steps}steps`, params, config, steps);
  } catch (e) {
    disposeParams(params);
    throw e;
  }
}

export interface ResultRow {
  model: string;
  layers: number;
  steps: number;
  valLossAtStart: number | string;
  valLoss: number;
  matchesReference: string;
}

/** One row per model: reference, each Inheritune round, the random baseline. */
export function resultRows(ref: TrainedModel, run: InherituneResult, random: TrainedModel): ResultRow[] {
  const startOf = (h: History) => h.evals.find((e) => e.step === 0)?.valLoss ?? '';
  const rows: ResultRow[] = [
    { model: 'reference (random init)', layers: ref.config.nLayer, steps: ref.result.steps, valLossAtStart: startOf(ref.result.history), valLoss: ref.valLoss, matchesReference: '' },
  ];
  for (const r of run.rounds) {
    rows.push({
      model: `Inheritune round ${r.round}`, layers: r.layers, steps: r.steps ?? 0,
      valLossAtStart: (r.train.valLossAtInit as number | undefined) ?? '', valLoss: r.valLoss,
      matchesReference: r.valLoss <= ref.valLoss ? 'yes' : `no (+${(r.valLoss - ref.valLoss).toFixed(3)})`,
    });
  }
  rows.push({
    model: 'random init (same size as round 1)', layers: random.config.nLayer, steps: random.result.steps,
    valLossAtStart: startOf(random.result.history), valLoss: random.valLoss,
    matchesReference: random.valLoss <= ref.valLoss ? 'yes' : `no (+${(random.valLoss - ref.valLoss).toFixed(3)})`,
  });
  return rows;
}

/** Histories by label, for lossCurveFigure. */
export function runHistories(ref: TrainedModel, run: InherituneResult, random: TrainedModel): Record<string, History> {
  const out: Record<string, History> = { [`reference ${ref.config.nLayer}L`]: ref.result.history };
  for (const r of run.rounds) out[`Inheritune ${r.layers}L (round ${r.round})`] = r.train.history as History;
  out[`random init ${random.config.nLayer}L`] = random.result.history;
  return out;
}

/** Computed statement of the outcome, with the numbers. */
export function inherituneVerdict(ref: TrainedModel, run: InherituneResult, random: TrainedModel): string[] {
  const first = run.rounds[0];
  const last = run.rounds[run.rounds.length - 1];
  const out = [
    run.matched
      ? `Inheritune matched the reference (${ref.config.nLayer}L, val ${ref.valLoss.toFixed(3)}) with ${last.layers} layers after ${run.rounds.length} round(s): val ${last.valLoss.toFixed(3)} (paper Medium: 16L after 3 rounds, 2.81 vs 2.81).`
      : `Inheritune did NOT match the reference (${ref.config.nLayer}L, val ${ref.valLoss.toFixed(3)}) within ${run.rounds.length} round(s) (${run.stopReason}); best val ${Math.min(...run.rounds.map((r) => r.valLoss)).toFixed(3)} at ${last.layers} layers.`,
    `At ${first.layers} layers, Inheritune ${first.valLoss < random.valLoss ? 'beats' : 'does not beat'} random init with the same steps: ${first.valLoss.toFixed(3)} vs ${random.valLoss.toFixed(3)} (paper Medium 12L-16L: 2.87-2.81 vs 16L random 2.86).`,
  ];
  return out;
}

/** MaxRank(l) of two models on one plot (paper Fig. 8, 13: full reference vs Inheritune model). */
export function compareProfilesFigure(a: { name: string; rows: LayerRow[] }, b: { name: string; rows: LayerRow[] }): Figure {
  const trace = (x: { name: string; rows: LayerRow[] }, color: string) => ({
    x: x.rows.map((r) => r.layer + 1), y: x.rows.map((r) => r.maxRank), type: 'scatter', mode: 'lines+markers', name: x.name, line: { color },
  });
  return {
    data: [trace(a, '#1f77b4'), trace(b, '#d62728')],
    layout: {
      title: { text: 'MaxRank(l): reference vs the Inheritune model (paper Fig. 8)' },
      xaxis: { title: { text: 'layer' }, dtick: 1 }, yaxis: { title: { text: 'MaxRank (k*, τ = 0.9)' }, rangemode: 'tozero' },
      shapes: [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: 1, y1: 1, line: { color: '#888', dash: 'dash', width: 1 } }],
    },
  };
}
