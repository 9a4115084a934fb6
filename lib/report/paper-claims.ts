// Claim rows computed from each notebook's results: the paper's number (from the experiment modules' PAPER_*
// constants, which cite reference/paper.md), ours, and the verdict by the same rule the notebook prints.
import type { SoftmaxRankResult, CollapseTrainingResult } from '../experiments/toy-collapse';
import { PAPER_TOY, toyVerdict } from '../experiments/toy-collapse-report';
import type { MeasureResult } from '../metrics/measure';
import { PAPER_MAXRANK, rankVerdict } from '../experiments/rank-profile';
import { ArmSummary, PAPER_FIG3, PAPER_TABLE4 } from '../experiments/lazy-vs-potent';
import type { Verdict } from '../experiments/lazy-vs-potent-report';
import type { TrainedModel } from '../experiments/lab';
import { PAPER_TABLE5 } from '../experiments/inheritune-run';
import { SeedRun, inherituneSeedVerdict, randomSpread, roundSummaries } from '../experiments/inheritune-seeds';
import { MethodResult, PAPER_FIG6, PAPER_KD, PAPER_TABLE2, PAPER_TABLE3 } from '../experiments/baselines';
import { MethodSummary, baselinesSeedVerdict } from '../experiments/baselines-seeds';
import type { Difference } from '../experiments/spread';
import { ablationVerdict, baselinesVerdict, distillVerdict } from '../experiments/baselines-report';
import type { ModelEval } from '../experiments/downstream';
import { downstreamAverages, downstreamVerdict } from '../experiments/downstream-report';
import { PAPER_AVERAGES } from '../eval/paper';
import type { ClaimRow, VerdictStatus } from './claims';

const r2 = (v: number) => Math.round(v * 1000) / 1000;
const lines = (xs: string[]) => xs.join(' ');

/** Notebook 01: Demo 1 (post-softmax k*) and Demo 2 (average k* after training). */
export function toyClaims(d1: SoftmaxRankResult, d2: CollapseTrainingResult, figures: { demo1?: string; demo2?: string } = {}): ClaimRow[] {
  const [v1, v2] = toyVerdict(d1, d2);
  const postMax = Math.max(...d1.postRank);
  const last = d2.trajectory[d2.trajectory.length - 1].avgRank;
  const collapsed = d2.trajectory.some((c) => c.avgRank <= 1.0001);
  const p1 = PAPER_TOY.softmaxRank;
  const p2 = PAPER_TOY.collapse;
  return [
    {
      claim: 'toy-collapse', quantity: `Demo 1: post-softmax k*, max over heads (T = ${d1.config.T}, d = ${d1.config.hidden})`,
      paper: { text: `${p1.postRank} in all ${p1.heads} heads; ${p1.preRankMin}-${p1.preRankMax} before the softmax (T = ${p1.T}, d = ${p1.hidden})`, value: p1.postRank },
      ours: { value: postMax }, verdict: { status: postMax === 1 ? 'reproduces' : 'does not reproduce', text: v1 }, figure: figures.demo1,
    },
    {
      claim: 'toy-collapse', quantity: `Demo 2: average k* after ${d2.config.steps} Adam steps on noise`,
      paper: { text: `${p2.avgRankAtStep0.toFixed(2)} at step 0 → ${p2.avgRankAtStep500.toFixed(2)} by step 500 (T = ${p2.T}, d = ${p2.hidden})`, value: p2.avgRankFinal },
      ours: { value: r2(last) }, verdict: { status: collapsed ? 'reproduces' : 'does not reproduce', text: v2 }, figure: figures.demo2,
    },
  ];
}

/** Notebook 02: mean MaxRank of the deeper half against the first half; rank-1 layers. */
export function rankClaims(m: MeasureResult, nLayer: number, figure?: string): ClaimRow[] {
  const rows = m.aggregated.layers;
  const half = Math.floor(nLayer / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(rows.filter((r) => r.layer < half).map((r) => r.maxRank));
  const late = mean(rows.filter((r) => r.layer >= half).map((r) => r.maxRank));
  const lazy = rows.filter((r) => r.maxRank <= 1 + 1e-9).length;
  // The same thresholds as rankVerdict's last sentence.
  const status: VerdictStatus = late <= 0.5 * early ? 'reproduces' : late < early - Math.max(0.5, 0.1 * early) ? 'partly' : 'does not reproduce';
  const text = lines(rankVerdict(m, nLayer));
  const medium = PAPER_MAXRANK['GPT-2 Medium 24L (Fig. 1a)'];
  return [
    {
      claim: 'lazy-deep-layers', quantity: `mean MaxRank, layers ${half + 1}-${nLayer} vs 1-${half}`,
      paper: { text: `deeper half close to 1 (Medium 24L, Fig. 1a: ${medium.note}; layers 3-11 up to ${Math.max(...medium.maxRank)})` },
      ours: { value: r2(late), text: `${late.toFixed(2)} vs ${early.toFixed(2)}` }, verdict: { status, text }, figure,
    },
    {
      claim: 'lazy-deep-layers', quantity: 'layers with MaxRank = 1',
      paper: { text: '3 of the last 12 layers (Medium 24L, Fig. 8); 22 of the last 24 (XL 48L, Fig. 13)', value: 3 },
      ours: { value: lazy, text: `${lazy} of ${nLayer}` }, verdict: { status: lazy > 0 ? 'reproduces' : 'does not reproduce', text: lazy > 0 ? `${lazy} rank-1 layer(s).` : 'No layer is exactly rank-1.' }, figure,
    },
  ];
}

const status3 = (o: Verdict['outcome']): VerdictStatus => (o === 'reproduces' ? 'reproduces' : o === 'partly' ? 'partly' : 'does not reproduce');

/** Ours as a difference of means over seeds: the value, the margin it had to clear, and the seed count. */
const diffOurs = (d: Difference, seeds: number) => ({ value: r2(d.delta), spread: r2(d.margin), spreadKind: 'margin' as const, seeds });
const beats = (d: Difference | null | undefined) => d?.outcome === 'lower';

/** Notebook 03 over seeds: Part A (Table 4) and Part B (Fig. 3), lazy minus random and best potent minus random. */
export function lazyPotentClaims(
  a: { arms: readonly ArmSummary[]; verdict: Verdict; figure?: string },
  b?: { arms: readonly ArmSummary[]; verdict: Verdict; figure?: string },
): ClaimRow[] {
  const t4 = PAPER_TABLE4;
  const best = Math.min(...t4.groups.map((g) => g.valLoss));
  const f3 = PAPER_FIG3['Medium 12L of 24L (Fig. 3a)'];
  const row = (part: NonNullable<typeof b>, which: 'lazy' | 'potent', paperText: string, paperValue: number): ClaimRow => {
    const d = which === 'lazy' ? part.verdict.lazyVsRandom : part.verdict.potentVsRandom;
    const arm = part.arms.find((x) => x.role !== 'random') ?? part.arms[0];
    const seeds = Math.min(...part.arms.map((x) => x.valLoss.n));
    return {
      claim: 'lazy-vs-potent', quantity: `val loss: ${which === 'lazy' ? 'deep-layer' : 'best potent'} init − random init (${arm.nLayer} layers, ${arm.steps} steps, mean over seeds)`,
      paper: { text: paperText, value: paperValue }, ours: diffOurs(d, seeds),
      verdict: { status: status3(part.verdict.outcome), text: lines(part.verdict.lines) }, figure: part.figure,
    };
  };
  const out = [
    row(a, 'lazy', `${r2(t4.groups[2].valLoss - t4.random.valLoss)} (Table 4: layers 9-12 ${t4.groups[2].valLoss} vs random ${t4.random.valLoss})`, r2(t4.groups[2].valLoss - t4.random.valLoss)),
    row(a, 'potent', `${r2(best - t4.random.valLoss)} (Table 4: layers 5-8 ${best} vs random ${t4.random.valLoss})`, r2(best - t4.random.valLoss)),
  ];
  if (b) {
    out.push(row(b, 'lazy', `${r2(f3.lastHalf - f3.random)} (Fig. 3a at 10K: last half ${f3.lastHalf} vs random ${f3.random}, read off ±0.02)`, r2(f3.lastHalf - f3.random)));
    out.push(row(b, 'potent', `${r2(f3.firstHalf - f3.random)} (Fig. 3a at 10K: first half ${f3.firstHalf} vs random ${f3.random})`, r2(f3.firstHalf - f3.random)));
  }
  return out;
}

/** Notebook 04 over seeds: the best round's mean minus the reference; round 1 minus same-size random init. */
export function inherituneClaims(ref: TrainedModel, runs: readonly SeedRun[], figure?: string): ClaimRow[] {
  const v = inherituneSeedVerdict(ref, runs);
  const rounds = roundSummaries(ref, runs);
  const matched = rounds.find((r) => r.round === (v.matchedRound ?? v.matchedWithinSpread));
  const shown = matched ?? rounds.reduce((x, y) => (y.valLoss.mean < x.valLoss.mean ? y : x));
  const first = rounds[0];
  const m = PAPER_TABLE5.medium;
  const text = lines(v.lines);
  return [
    {
      claim: 'inheritune-matches-reference',
      quantity: `val loss: Inheritune ${shown.layers}L (round ${shown.round}${matched ? ', first match' : ', best round'}) − reference ${ref.config.nLayer}L, mean over seeds`,
      paper: { text: `${r2(m.rounds[2].valLoss - m.reference.valLoss)} (Medium 16L round 3 ${m.rounds[2].valLoss} vs 24L ${m.reference.valLoss}, Table 5)`, value: r2(m.rounds[2].valLoss - m.reference.valLoss) },
      ours: diffOurs(shown.vsReference, shown.valLoss.n),
      verdict: { status: v.matchedRound !== null ? 'reproduces' : v.matchedWithinSpread !== null || beats(v.round1VsRandom) ? 'partly' : 'does not reproduce', text }, figure,
    },
    {
      claim: 'inheritune-matches-reference', quantity: `val loss: Inheritune ${first.layers}L (round 1) − random init ${first.layers}L, same steps, mean over seeds`,
      paper: { text: `${r2(m.rounds[2].valLoss - m.random[0].valLoss)} (Medium 16L: ours ${m.rounds[2].valLoss} vs rand ${m.random[0].valLoss}, Table 5)`, value: r2(m.rounds[2].valLoss - m.random[0].valLoss) },
      ours: diffOurs(v.round1VsRandom, Math.min(first.valLoss.n, randomSpread(runs).n)),
      verdict: { status: beats(v.round1VsRandom) ? 'reproduces' : 'does not reproduce', text }, figure,
    },
  ];
}

const order = (ms: readonly MethodSummary[]) => [...ms].sort((a, b) => a.valLoss.mean - b.valLoss.mean).map((m) => `${m.label} ${m.valLoss.mean.toFixed(3)}`).join(' < ');

/** Notebook 05 over seeds: Inheritune minus the best warm start (Table 2) and minus random init with 2x steps (Fig. 6). */
export function baselinesClaims(ms: readonly MethodSummary[], figure?: string): ClaimRow[] {
  const v = baselinesSeedVerdict(ms);
  const text = lines(v.lines);
  const seeds = Math.min(...ms.map((m) => m.valLoss.n));
  const t = PAPER_TABLE2.Medium;
  const out: ClaimRow[] = [];
  if (v.warmVsOurs) {
    // warmVsOurs is best warm start minus Inheritune; the row shows Inheritune minus the best warm start.
    const d = v.warmVsOurs;
    out.push({
      claim: 'baselines-order', quantity: 'val loss: Inheritune − best warm start (half-width, stacking, hybrid stacking), mean over seeds',
      paper: { text: `${r2(t.ours.valLoss - t.hybrid.valLoss)} (Medium, Table 2: ours ${t.ours.valLoss} < hybrid ${t.hybrid.valLoss} < stacking ${t.stacking.valLoss} < half-width ${t.halfWidth.valLoss})`, value: r2(t.ours.valLoss - t.hybrid.valLoss) },
      ours: { value: r2(-d.delta), spread: r2(d.margin), spreadKind: 'margin', seeds, text: order(ms) },
      verdict: { status: d.outcome === 'lower' ? 'does not reproduce' : 'reproduces', text }, figure,
    });
  }
  const r2x = ms.find((m) => m.key === 'random-2x');
  if (r2x && v.oursVsRandom2x) {
    const f = PAPER_FIG6.Medium;
    out.push({
      claim: 'baselines-order', quantity: `val loss: Inheritune − random init with 2x steps (${r2x.steps}), mean over seeds`,
      paper: { text: `${r2(f.ours - f.random2x)} (Medium 16L, Fig. 6: ${f.ours} at 100K vs ${f.random2x} at 200K)`, value: r2(f.ours - f.random2x) },
      ours: diffOurs(v.oursVsRandom2x, seeds), verdict: { status: v.oursVsRandom2x.outcome === 'higher' ? 'does not reproduce' : 'reproduces', text }, figure,
    });
  }
  return out;
}

const byKey = (rs: readonly MethodResult[], k: string) => rs.find((r) => r.key === k);
const resultOrder = (rs: readonly MethodResult[]) => [...rs].sort((a, b) => a.valLoss - b.valLoss).map((r) => `${r.label} ${r.valLoss.toFixed(3)}`).join(' < ');

/** Notebook 06, Table 3: best single sub-module minus best attention+MLP; whole block minus attention+MLP. */
export function ablationClaims(results: readonly MethodResult[], figure?: string, eps = 0.01): ClaimRow[] {
  const get = (k: string) => {
    const r = byKey(results, k);
    if (!r) throw new Error(`the ablation claims need the '${k}' run`);
    return r.valLoss;
  };
  const text = lines(ablationVerdict(results, { minEffect: eps }));
  const p = PAPER_TABLE3;
  const paperGap = r2(Math.min(p['attn+ln'].valLoss, p['mlp+ln'].valLoss) - Math.min(p.inheritune.valLoss, p['attn+mlp'].valLoss));
  const gap = Math.min(get('attn+ln'), get('mlp+ln')) - Math.min(get('inheritune'), get('attn+mlp'));
  const ln = get('inheritune') - get('attn+mlp');
  return [
    {
      claim: 'submodule-ablation', quantity: 'val loss: best single sub-module − best attention + MLP',
      paper: { text: `+${paperGap} (Table 3: attn ${p['attn+ln'].valLoss}, MLP ${p['mlp+ln'].valLoss} vs attn+MLP ${p['attn+mlp'].valLoss}, whole block ${p.inheritune.valLoss})`, value: paperGap },
      ours: { value: r2(gap), text: resultOrder(results) }, verdict: { status: gap > eps ? 'reproduces' : 'does not reproduce', text }, figure,
    },
    {
      claim: 'submodule-ablation', quantity: 'val loss: whole block (with LayerNorms) − attention + MLP without',
      paper: { text: `+${r2(p.inheritune.valLoss - p['attn+mlp'].valLoss)} (Table 3: ${p.inheritune.valLoss} vs ${p['attn+mlp'].valLoss})`, value: r2(p.inheritune.valLoss - p['attn+mlp'].valLoss) },
      ours: { value: r2(ln) }, verdict: { status: Math.abs(ln) <= eps ? 'reproduces' : 'partly', text: `Copying the LayerNorms changes the loss by ${ln.toFixed(3)} nats (paper: +0.01, a tie within ${eps}).` }, figure,
    },
  ];
}

/** Notebook 06, Fig. 17: each other student minus Inheritune (> 0: Inheritune better). */
export function distillClaims(results: readonly MethodResult[], figure?: string, eps = 0.01): ClaimRow[] {
  const ours = byKey(results, 'inheritune');
  if (!ours) throw new Error('the distillation claims need the Inheritune run');
  const text = lines(distillVerdict(results, { minEffect: eps }));
  const paper = PAPER_KD as unknown as Record<string, { label: string; valLoss: number } | undefined>;
  return results.filter((r) => r !== ours).map((r) => {
    const p = paper[r.key];
    const d = r.valLoss - ours.valLoss;
    return {
      claim: 'distillation' as const, quantity: `val loss: ${r.label} − Inheritune (${r.layers} layers, ${r.steps} steps)`,
      paper: p ? { text: `+${r2(p.valLoss - PAPER_KD.inheritune.valLoss)} (Fig. 17 at ${PAPER_KD.steps}: ${p.valLoss} vs ${PAPER_KD.inheritune.valLoss})`, value: r2(p.valLoss - PAPER_KD.inheritune.valLoss) } : { text: 'not in the paper' },
      ours: { value: r2(d) }, verdict: { status: d > eps ? 'reproduces' : 'does not reproduce', text }, figure,
    };
  });
}

/** Notebook 07: average accuracy, Inheritune minus the reference (Table 7 XL; Table 1 Medium). */
export function downstreamClaims(evals: ModelEval[], figure?: string): ClaimRow[] {
  const p = PAPER_AVERAGES;
  const paperD = r2(p['table7-xl-ours-24L'].acc - p['table7-xl-rand-48L'].acc);
  const paperText = `+${paperD} points (Table 7, XL: ${p['table7-xl-ours-24L'].acc} vs ${p['table7-xl-rand-48L'].acc}); ` +
    `Table 1, Medium: ${p['table1-medium-ours-16L'].acc} vs ${p['table1-medium-rand-24L'].acc}`;
  const avg = downstreamAverages(evals);
  const inh = avg.byRole.inheritune;
  const ref = avg.byRole.reference;
  const quantity = 'average accuracy (percent): Inheritune − reference';
  if (!inh || !ref || avg.tasks.length === 0) {
    return [{
      claim: 'downstream-evals', quantity, paper: { text: paperText, value: paperD },
      ours: { text: 'no benchmark task files (format fixtures only)' },
      verdict: { status: 'not comparable', text: 'No benchmark results: bring the task files (see notebook 07) to compare.' }, figure,
    }];
  }
  const d = inh.value - ref.value;
  const se = inh.stderr !== undefined && ref.stderr !== undefined ? Math.sqrt(inh.stderr ** 2 + ref.stderr ** 2) : undefined;
  const status: VerdictStatus = se === undefined ? (d >= 0 ? 'reproduces' : 'does not reproduce') : d >= -2 * se ? 'reproduces' : 'does not reproduce';
  return [{
    claim: 'downstream-evals', quantity: `${quantity} over ${avg.tasks.join(', ')}`, paper: { text: paperText, value: paperD },
    ours: se === undefined ? { value: r2(d) } : { value: r2(d), spread: r2(se), spreadKind: 'stderr' },
    verdict: { status, text: lines(downstreamVerdict(evals)) }, figure,
  }];
}
