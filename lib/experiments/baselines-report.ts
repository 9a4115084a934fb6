// Notebooks 05 and 06, the reading side: tables of our methods' validation losses beside the paper's (Table 2,
// Fig. 6, Table 3, Fig. 17) and computed verdicts. Running the methods is ./baselines.ts.
import { Cell, MethodKey, MethodResult, PAPER_FIG6, PAPER_KD, PAPER_TABLE2, PAPER_TABLE3 } from './baselines';

// ---- tables and verdicts ----------------------------------------------------------------------------------------

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const d3 = (v: number) => (Math.abs(v) < 0.0005 ? '±0.000' : (v > 0 ? '+' : '') + v.toFixed(3));
const byKey = (rs: readonly MethodResult[], k: MethodKey) => rs.find((r) => r.key === k);

/** Ours: one row per method, with its total cost relative to Inheritune's. */
export function methodsTable(results: readonly MethodResult[]): Array<Record<string, string | number>> {
  const ours = byKey(results, 'inheritune');
  return results.map((r) => ({
    method: r.label, layers: r.layers, width: r.nEmbd, params: r.params, 'non-emb. params': r.nonEmbeddingParams,
    steps: r.steps, tokens: r.tokens, 'compute 6ND': ours ? `${(r.flops / ours.flops).toFixed(2)}x Inheritune` : r.flops,
    'val @ step 0': r.valLossAtInit, val: r.valLoss, 'Δ vs Inheritune': ours ? d3(r.valLoss - ours.valLoss) : '',
    'uses reference': r.usesReference ? 'yes' : 'no',
  }));
}

/** Ours beside Table 2 (warm starts) and Table 5 / Fig. 6 (random init, 1x and 2x steps). */
export function baselinesPaperRows(results: readonly MethodResult[]): Array<Record<string, string | number>> {
  const paper = (k: MethodKey, size: 'Medium' | 'Large' | 'XL'): string => {
    const t = PAPER_TABLE2[size];
    const f = PAPER_FIG6[size];
    const cell = (c: Cell) => `${c.layers}L ${c.valLoss.toFixed(2)}`;
    switch (k) {
      case 'inheritune': return cell(t.ours);
      case 'stacking': return cell(t.stacking);
      case 'hybrid-stacking': return cell(t.hybrid);
      case 'half-width': return cell(t.halfWidth);
      case 'random': return `${f.layers}L ${f.random.toFixed(2)}`;
      case 'random-2x': return `${f.layers}L ${f.random2x.toFixed(2)} (200K)`;
      default: return '';
    }
  };
  return results.map((r) => ({
    method: r.label, 'ours: layers': r.layers, 'ours: steps': r.steps, 'ours: val': r.valLoss,
    'paper Medium (24L ref)': paper(r.key, 'Medium'), 'paper Large (36L ref)': paper(r.key, 'Large'), 'paper XL (48L ref)': paper(r.key, 'XL'),
  }));
}

function rankLine(results: readonly MethodResult[]): string {
  return [...results].sort((a, b) => a.valLoss - b.valLoss).map((r) => `${r.label} ${f3(r.valLoss)}`).join(' < ');
}

/**
 * Notebook 05's verdict from our numbers: (1) is Inheritune the best warm start (Table 2: best or tied in every
 * size)? (2) does it match or beat random init trained 2x as long (Fig. 6: Medium and Large yes, XL 2.64 vs 2.62)?
 * Differences within `minEffect` nats count as ties (one seed per run).
 */
export function baselinesVerdict(results: readonly MethodResult[], o: { minEffect?: number } = {}): string[] {
  const eps = o.minEffect ?? 0.01;
  const ours = byKey(results, 'inheritune');
  if (!ours) throw new Error('the verdict needs the Inheritune run');
  const warm = results.filter((r) => ['stacking', 'hybrid-stacking', 'half-width'].includes(r.key));
  const lines = [`Validation loss, best first: ${rankLine(results)}.`];
  if (warm.length) {
    const best = warm.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    const gap = best.valLoss - ours.valLoss;
    lines.push(gap > eps
      ? `Inheritune beats every warm-start baseline; the best of them, ${best.label}, is ${gap.toFixed(3)} nats worse (paper Table 2: Inheritune best or tied for Medium, Large and XL).`
      : gap >= -eps
        ? `Inheritune ties the best warm-start baseline, ${best.label} (Δ ${d3(gap)} nats, within ${eps}); the paper has Inheritune best for Medium and Large and tied with hybrid stacking for XL.`
        : `Unlike the paper, ${best.label} beats Inheritune by ${(-gap).toFixed(3)} nats at this scale.`);
  }
  const r1 = byKey(results, 'random');
  const r2 = byKey(results, 'random-2x');
  if (r1) lines.push(`Against random init with the same steps: ${d3(ours.valLoss - r1.valLoss)} nats (${ours.valLoss < r1.valLoss - eps ? 'Inheritune better' : ours.valLoss > r1.valLoss + eps ? 'Inheritune worse' : 'a tie'}; paper Medium 2.81 vs 2.86).`);
  if (r2) {
    const d = ours.valLoss - r2.valLoss;
    lines.push(`Fig. 6: Inheritune after ${ours.steps} steps vs random init after ${r2.steps} steps: ${f3(ours.valLoss)} vs ${f3(r2.valLoss)} (Δ ${d3(d)}): ` +
      (d < -eps ? 'Inheritune is better with half the steps' : d <= eps ? 'Inheritune matches it with half the steps' : 'random init with twice the steps is better') +
      ' (paper: Medium 2.81 vs 2.83, Large 2.80 vs 2.84, XL 2.64 vs 2.62).');
  }
  const st = byKey(results, 'stacking');
  if (st) lines.push(`Cost: stacking trains ${st.steps} steps in total (${(st.flops / ours.flops).toFixed(2)}x Inheritune's compute); random 2x ${r2 ? `${(r2.flops / ours.flops).toFixed(2)}x` : 'n/a'}. Inheritune, hybrid stacking and half-width also need the trained reference.`);
  lines.push(`One seed per run: differences under ${eps} nats are within noise.`);
  return lines;
}

/** Table 3 rows: our val loss at step 0 and at the end beside the paper's. */
export function ablationRows(results: readonly MethodResult[]): Array<Record<string, string | number>> {
  return results.map((r) => {
    const p = (PAPER_TABLE3 as Record<string, { label: string; valLoss: number; valLossAtInit: number } | undefined>)[r.key];
    return { init: r.label, 'ours: val @ step 0': r.valLossAtInit, 'ours: val': r.valLoss, 'paper 16L: val @ step 0': p ? p.valLossAtInit : '', 'paper 16L: val': p ? p.valLoss : '' };
  });
}

/** Table 3's claim: copying attention AND MLP (with or without the LayerNorms) beats copying either alone. */
export function ablationVerdict(results: readonly MethodResult[], o: { minEffect?: number } = {}): string[] {
  const eps = o.minEffect ?? 0.01;
  const get = (k: MethodKey) => {
    const r = byKey(results, k);
    if (!r) throw new Error(`the ablation verdict needs the '${k}' run`);
    return r;
  };
  const both = Math.min(get('inheritune').valLoss, get('attn+mlp').valLoss);
  const single = Math.min(get('attn+ln').valLoss, get('mlp+ln').valLoss);
  const lines = [`Validation loss, best first: ${rankLine(results)} (paper: attn+MLP no LN 2.80 < whole block 2.81 < attn+LN 2.84 < MLP+LN 2.85).`];
  lines.push(single - both > eps
    ? `As in the paper, inheriting attention and MLP together beats inheriting either alone, by ${(single - both).toFixed(3)} nats (best of each group).`
    : `Unlike the paper, inheriting attention and MLP together does not beat inheriting one sub-module alone by more than ${eps} nats (Δ ${d3(single - both)}).`);
  const ln = get('inheritune').valLoss - get('attn+mlp').valLoss;
  lines.push(`Copying the LayerNorms too changes the loss by ${d3(ln)} nats (paper: +0.01, 2.81 vs 2.80).`);
  return lines;
}

/** Fig. 17 rows: ours beside the paper's 50K-step values. */
export function distillRows(results: readonly MethodResult[]): Array<Record<string, string | number>> {
  const ours = byKey(results, 'inheritune');
  return results.map((r) => {
    const p = (PAPER_KD as unknown as Record<string, { label: string; valLoss: number } | undefined>)[r.key];
    return {
      method: r.label, 'ours: steps': r.steps, 'compute 6ND (+2ND teacher)': ours ? `${(r.flops / ours.flops).toFixed(2)}x Inheritune` : r.flops,
      'ours: val @ step 0': r.valLossAtInit, 'ours: val (student CE)': r.valLoss, [`paper 16L @ ${PAPER_KD.steps}`]: p ? p.valLoss : '',
    };
  });
}

/** Fig. 17's claim: Inheritune beats both KD variants and vanilla training (paper: 2.912 vs 3.019, 3.028, 2.971). */
export function distillVerdict(results: readonly MethodResult[], o: { minEffect?: number } = {}): string[] {
  const eps = o.minEffect ?? 0.01;
  const ours = byKey(results, 'inheritune');
  if (!ours) throw new Error('the distillation verdict needs the Inheritune run');
  const others = results.filter((r) => r !== ours);
  const lines = [`Validation loss (student CE only), best first: ${rankLine(results)} (paper at 50K: ours 2.912 < vanilla 2.971 < vanilla KD 3.019 < KD + teacher init 3.028).`];
  const beaten = others.filter((r) => r.valLoss > ours.valLoss + eps);
  lines.push(beaten.length === others.length
    ? `As in the paper, Inheritune beats every KD variant and vanilla training (by at least ${Math.min(...others.map((r) => r.valLoss - ours.valLoss)).toFixed(3)} nats).`
    : `Inheritune does not beat ${others.filter((r) => !beaten.includes(r)).map((r) => r.label).join(', ')} by more than ${eps} nats at this scale.`);
  const kd = byKey(results, 'kd-vanilla');
  const van = byKey(results, 'random');
  if (kd && van) lines.push(`Vanilla KD vs vanilla training: ${d3(kd.valLoss - van.valLoss)} nats (paper: +0.048, KD worse at 50K steps).`);
  return lines;
}
