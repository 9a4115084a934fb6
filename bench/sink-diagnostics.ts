// The cost of the sink diagnostics next to the rank protocol they accompany, on a 12-layer 128-wide model (the lab
// reference's shape) over N = 100 windows of T = 100 tokens, in its own process:
//   npx tsx bench/sink-diagnostics.ts [--n 100] [--t 100] [--causal 20]
// Times: the rank protocol alone (4 taus, mean matrices), the same protocol with the sink diagnostics fed from its
// forward (residuals and values captured too) as the `rank` command runs it, and the layer-skip losses (2 forwards
// per layer on --causal windows, each with the LM head). Random init and random tokens: only the time matters. Prints a `RESULT {json}` line.
import { initBackend, formatBackendReport } from '../lib/backend';
import { makeConfig } from '../lib/model/config';
import { initParams, disposeParams } from '../lib/model/params';
import { gptPatternSource } from '../lib/metrics/gpt-patterns';
import { measureAttentionRanks } from '../lib/metrics/measure';
import { SinkAccumulator, finishSinkDiagnostics, sinkPatternSource } from '../lib/metrics/sink-measure';
import { Rng } from '../lib/util/rng';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const report = await initBackend({ backend: arg('backend', 'wasm') });
  const N = Number(arg('n', '100'));
  const T = Number(arg('t', '100'));
  const causal = Number(arg('causal', '20'));
  const cfg = makeConfig('lab-12L', { blockSize: 128 });
  const params = initParams(cfg, { seed: 3 });
  const rng = new Rng(4);
  const windows = Array.from({ length: N }, () => Int32Array.from({ length: T }, () => rng.int(cfg.vocabSize)));
  const opts = { N, T, batchSize: 10, extraTaus: [0.8, 0.85, 0.95] };
  // Alternate the two so that drift of a shared machine hits both alike; keep the faster of two runs each.
  let rankMs = Infinity;
  let withSinksMs = Infinity;
  let causalMs = 0;
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    await measureAttentionRanks(gptPatternSource(params, cfg), windows, opts);
    rankMs = Math.min(rankMs, performance.now() - t0);
    const t1 = performance.now();
    const acc = new SinkAccumulator(cfg);
    await measureAttentionRanks(sinkPatternSource(params, cfg, acc), windows, opts);
    const s = await finishSinkDiagnostics(params, cfg, acc, windows, { causalWindows: round === 0 ? causal : 0 });
    withSinksMs = Math.min(withSinksMs, performance.now() - t1 - s.timings.causalMs);
    if (round === 0) causalMs = s.timings.causalMs;
  }
  disposeParams(params);
  const sinkMs = withSinksMs - rankMs;
  const out = {
    report: formatBackendReport(report),
    model: '12 layers x 4 heads, width 128, vocab 50304',
    N, T, causalWindows: causal,
    rankMs,
    withSinksMs,
    sinkMs,
    causalMs,
    sinkOverRank: sinkMs / rankMs,
    causalOverRank: causalMs / rankMs,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
  console.log(`RESULT ${JSON.stringify(out)}`);
}

main().catch((e) => {
  console.error(`ERROR ${(e as Error).message}`);
  process.exit(1);
});
