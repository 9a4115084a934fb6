// Step time of the GPT forward+backward (tf.variableGrads over the mean loss), plain vs fast path.
// Config as reference/stack.md §2: n_layer 4, n_head 4, n_embd 128, T 128, B 8; vocab 512 and 50304.
//   npx tsx bench/model-step.ts [--backend wasm] [--steps 5] [--vocab 512,50304] [--paths fast,plain]
// Prints one line per (vocab, path) with the median and range over the timed steps (after one warm-up step).
import * as tf from '@tensorflow/tfjs';
import { initBackend, formatBackendReport } from '../lib/backend';
import { makeConfig, GPTConfig } from '../lib/model/config';
import { initParams, disposeParams, Params } from '../lib/model/params';
import { lossFn } from '../lib/model/gpt';
import { Rng } from '../lib/util/rng';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

function batch(cfg: GPTConfig, B: number, T: number, rng: Rng): { idx: tf.Tensor2D; targets: tf.Tensor2D } {
  const ids = Array.from({ length: B * (T + 1) }, () => rng.int(cfg.vocabSize));
  const x: number[] = [];
  const y: number[] = [];
  for (let b = 0; b < B; b++) {
    const row = ids.slice(b * (T + 1), (b + 1) * (T + 1));
    x.push(...row.slice(0, T));
    y.push(...row.slice(1));
  }
  return { idx: tf.tensor2d(x, [B, T], 'int32'), targets: tf.tensor2d(y, [B, T], 'int32') };
}

async function step(params: Params, cfg: GPTConfig, idx: tf.Tensor, targets: tf.Tensor, fast: boolean): Promise<number> {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => lossFn(params, cfg, idx, targets, { fast, checkIds: false }), Object.values(params));
  await value.data();
  await Promise.all(Object.values(grads).map((g) => g.data())); // make sure the backward has run
  const ms = performance.now() - t0;
  tf.dispose([value, ...Object.values(grads)]);
  return ms;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const report = await initBackend({ backend: arg('backend', process.env.INHERITUNE_BACKEND ?? 'wasm') });
  console.log(formatBackendReport(report));
  const steps = Number(arg('steps', '5'));
  const vocabs = arg('vocab', '512,50304').split(',').map(Number);
  const paths = arg('paths', 'fast,plain').split(',');
  const B = 8;
  const T = 128;

  const t0 = performance.now();
  const big = initParams(makeConfig('gpt2'), { seed: 0 });
  console.log(`initParams(gpt2, 124M params): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  disposeParams(big);

  for (const V of vocabs) {
    const cfg = makeConfig({ nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, vocabSize: V, bias: true, dropout: 0, scaleAttnByInverseLayerIdx: false, layerNormEps: 1e-5 });
    const params = initParams(cfg, { seed: 1 });
    const rng = new Rng(2);
    for (const path of paths) {
      const fast = path === 'fast';
      const times: number[] = [];
      const tensorsBefore = tf.memory().numTensors;
      for (let s = 0; s <= steps; s++) {
        const { idx, targets } = batch(cfg, B, T, rng);
        const ms = await step(params, cfg, idx, targets, fast);
        if (s > 0) times.push(ms); // step 0 is warm-up
        tf.dispose([idx, targets]);
      }
      const leaked = tf.memory().numTensors - tensorsBefore;
      console.log(
        `V=${V} ${path.padEnd(5)} fwd+bwd: median ${median(times).toFixed(0)} ms (${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)}, ` +
          `${times.length} steps), ${((B * T) / (median(times) / 1000)).toFixed(0)} tok/s${leaked ? `, LEAKED ${leaked} tensors` : ''}`,
      );
    }
    disposeParams(params);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
