// Memory and time of the rank protocol (N windows x T tokens, with the sink diagnostics) on the first K blocks of a
// Llama / GPT-NeoX folder whose weights are streamed from disk: the exact code path of `rank --model` (layer-major
// pass, lib/metrics/layer-major), stopped after block K. For models too slow to profile in full on this machine, it
// prints the measured numbers and a linear extrapolation to every block, labelled as such.
//   npx tsx scripts/rank-first-layers.ts --model /tmp/llama-3-8b --layers 2 [--n 100] [--t 100] [--data owt-mini]
import { initBackend } from '../lib/backend';
import { parseArgs } from '../lib/cli/args';
import { ensureDataset, openDataset } from '../lib/data/dataset';
import { loadFamilyFolder } from '../lib/model/families/family-model';
import { HookedModel } from '../lib/model/hooked-model';
import { measureAttentionRanks } from '../lib/metrics/measure';
import { SinkAccumulator } from '../lib/metrics/sink-measure';
import { layerMajorSinkPatternSource } from '../lib/metrics/layer-major';
import { rankWindows } from '../lib/experiments/rank-profile';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: { type: 'string' }, layers: { type: 'number' }, n: { type: 'number' }, t: { type: 'number' }, data: { type: 'string' }, 'windows-per-batch': { type: 'number' },
  });
  const o = a.options;
  if (!o.model || !o.layers) throw new Error('usage: rank-first-layers --model DIR --layers K [--n 100] [--t 100] [--data owt-mini] [--windows-per-batch 10]');
  const N = (o.n as number | undefined) ?? 100;
  const T = (o.t as number | undefined) ?? 100;
  const bs = (o['windows-per-batch'] as number | undefined) ?? 10;
  const backend = await initBackend();
  const t0 = performance.now();
  const full = loadFamilyFolder(String(o.model), { mode: 'streamed' });
  const K = Math.min(o.layers as number, full.cfg.nLayer);
  // the model cut after block K: the same forward, stopped early
  const model: HookedModel = {
    dims: { ...full.dims, nLayer: K },
    description: full.description,
    streamed: true,
    run: () => { throw new Error('rank-first-layers: only the layer-major pass is used'); },
    runLayerMajor: (b, t, keep, on) => full.runLayerMajor(b, t, keep, on, K),
  };
  const info = await ensureDataset(String(o.data ?? 'owt-mini'), { quiet: true });
  const val = openDataset(info, 'val');
  const windows = rankWindows(val, N, T, 2024);
  val.close();
  const acc = new SinkAccumulator(model.dims);
  const res = await measureAttentionRanks(layerMajorSinkPatternSource(model, acc, windows, bs), windows, { N, T, batchSize: bs });
  const sinks = acc.finish();
  const total = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS / 1024 / 1024;
  console.log(`${full.description} on ${backend.name}`);
  console.log(`measured: first ${K} of ${full.cfg.nLayer} blocks, ${N} windows x ${T} tokens: forward (read + widen + compute + sink stats) ${(res.timings.forwardMs / 1000).toFixed(1)} s, ` +
    `SVD ${(res.timings.svdMs / 1000).toFixed(1)} s, total ${total.toFixed(1)} s; peak RSS ${rss.toFixed(2)} GB`);
  for (const r of res.aggregated.layers) console.log(`  layer ${r.layer + 1}: MaxRank ${r.maxRank.toFixed(2)}, sink rate ${sinks.layers[r.layer].sinkRate.toFixed(2)}, |x0| ratio ${sinks.layers[r.layer].residRatio.toFixed(2)}`);
  const per = (res.timings.forwardMs + res.timings.svdMs) / 1000 / K;
  console.log(`extrapolated (linear in blocks, not measured): all ${full.cfg.nLayer} blocks ~ ${(per * full.cfg.nLayer / 60).toFixed(0)} min of forward + SVD; ` +
    `host memory grows by the patterns kept, ${(N * full.cfg.nHead * T * T * 4 / 1e9 * (full.cfg.nLayer - K) / 1).toFixed(2)} GB more for the remaining blocks`);
  full.dispose();
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
