// Notebook 04: the paper's main experiment (Algorithm 1; Table 5, Fig. 5, 8, 20) at the scale's size:
// inherit the first L/2 blocks of the trained reference, train, grow by 2 blocks per round until the validation
// loss matches the reference's; beside it a same-size model trained from random init. Every seed of the setup runs
// Algorithm 1 on its own (init and data order from the seed; runs '<name>-s<seed>'); inheritune-seeds.ts summarizes.
import { GPTConfig, makeConfig } from '../model/config';
import { Params, initParams, disposeParams } from '../model/params';
import { inherituneRun, InherituneResult, RoundRecord } from '../inheritune/grow';
import { LabData, LabSetup, TrainedModel, seedRunName, trainLabModel } from './lab';
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

/**
 * Algorithm 1 with the authors' choices: restart from the reference each round, copy wte (tied head) + blocks.
 * `seed` (default the setup's first) seeds the fresh tensors and the data order; runs are '<name>-s<seed>'.
 */
export async function runInheritune(
  s: LabSetup, data: LabData, ref: TrainedModel, o: { seed?: number; maxRounds?: number; onRound?: (r: RoundRecord) => void } = {},
): Promise<InherituneResult> {
  const seed = o.seed ?? s.seeds[0];
  return inherituneRun({
    reference: ref.params, refConfig: ref.config, refValLoss: ref.valLoss, growBy: 2, maxRounds: o.maxRounds,
    seed, mode: 'restart', onRound: o.onRound,
    trainFn: async (params: Params, cfg: Readonly<GPTConfig>, round) => {
      const run = await trainLabModel(s, data, seedRunName(inherituneRunName(cfg.nLayer, round.round), seed), params, cfg, s.targetSteps, { seed });
      const atInit = run.result.history.evals.find((e) => e.step === 0)?.valLoss;
      return { valLoss: run.valLoss, steps: run.result.steps, history: run.result.history, valLossAtInit: atInit };
    },
  });
}

/** The same-size model from random init with the same recipe (Baseline-I), at one seed. The caller owns the params. */
export async function trainRandomBaseline(
  s: LabSetup, data: LabData, refConfig: GPTConfig, layers: number, steps = s.targetSteps, seed = s.seeds[0],
): Promise<TrainedModel> {
  const config = makeConfig(refConfig, { nLayer: layers });
  const params = initParams(config, { seed });
  try {
    const name = steps === s.targetSteps ? randomRunName(layers) : `${randomRunName(layers)}-${steps}steps`;
    return await trainLabModel(s, data, seedRunName(name, seed), params, config, steps, { seed });
  } catch (e) {
    disposeParams(params);
    throw e;
  }
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
