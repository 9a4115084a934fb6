// Kernel micro-benchmark: each replaced kernel on typical GPT shapes, plain wasm vs native (1 and all threads).
//   npx tsx bench/native.ts [--reps 20] [--only matmul]
// Outputs are not read back (wasm kernels are synchronous; reading 200 MB back would dominate). Timings alternate between implementations so that a busy machine slows all of them alike; the table shows the
// minimum and median per call (ms) and GFLOP/s for matMuls.
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { initBackend, formatBackendReport } from '../lib/backend';
import { disableNativeKernels, enableNativeKernels, nativeStatus, defaultThreads } from '../lib/backend/native';
import { geluExact, geluExactComposite, geluTanh, geluTanhComposite, layerNorm, layerNormComposite } from '../lib/model/ops';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

export interface OpCase {
  group: string;
  label: string;
  /** FLOPs of one call (matMuls), else 0. */
  flops: number;
  inputs: () => tf.Tensor[];
  run: (xs: tf.Tensor[]) => tf.Tensor;
}

const mm = (label: string, a: number[], b: number[], ta: boolean, tb: boolean): OpCase => {
  const m = ta ? a[a.length - 1] : a[a.length - 2];
  const k = ta ? a[a.length - 2] : a[a.length - 1];
  const n = tb ? b[b.length - 2] : b[b.length - 1];
  const batch = a.slice(0, -2).reduce((p, q) => p * q, 1);
  return {
    group: 'matmul',
    label: `${label} [${a}]${ta ? 'ᵀ' : ''}x[${b}]${tb ? 'ᵀ' : ''}`,
    flops: 2 * batch * m * n * k,
    inputs: () => [tf.randomNormal(a, 0, 1, 'float32', 1), tf.randomNormal(b, 0, 1, 'float32', 2)],
    run: ([x, y]) => tf.matMul(x, y, ta, tb),
  };
};

const el = (group: string, label: string, shapes: number[][], run: (xs: tf.Tensor[]) => tf.Tensor): OpCase => ({
  group,
  label: `${label} ${shapes.map((s) => `[${s}]`).join('x')}`,
  flops: 0,
  inputs: () => shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i)),
  run,
});

export function cases(): OpCase[] {
  return [
    mm('square 1024', [1024, 1024], [1024, 1024], false, false),
    mm('qkv', [1024, 128], [128, 384], false, false),
    mm('mlp c_fc', [1024, 128], [128, 512], false, false),
    mm('dW = xᵀ·dy', [1024, 128], [1024, 384], true, false),
    mm('dx = dy·Wᵀ', [1024, 384], [128, 384], false, true),
    mm('attn q·kᵀ', [8, 4, 128, 32], [8, 4, 128, 32], false, true),
    mm('attn p·v', [8, 4, 128, 128], [8, 4, 128, 32], false, false),
    mm('attn C q·kᵀ', [4, 12, 256, 64], [4, 12, 256, 64], false, true),
    mm('head x·wteᵀ V=50304', [1024, 128], [50304, 128], false, true),
    mm('C qkv', [1024, 768], [768, 2304], false, false),
    el('elementwise', 'tanh', [[1024, 512]], ([x]) => tf.tanh(x)),
    el('elementwise', 'mul', [[1024, 512], [1024, 512]], ([x, y]) => tf.mul(x, y)),
    el('elementwise', 'add bias', [[1024, 512], [512]], ([x, y]) => tf.add(x, y)),
    el('elementwise', 'sub row', [[1024, 128], [1024, 1]], ([x, y]) => tf.sub(x, y)),
    el('reduce', 'sum axis 0', [[1024, 512]], ([x]) => tf.sum(x, 0)),
    el('reduce', 'mean last', [[1024, 128]], ([x]) => tf.mean(x, -1, true)),
    el('reduce', 'max last V=50304', [[1024, 50304]], ([x]) => tf.max(x, 1)),
    el('softmax', 'softmax attn', [[8, 4, 128, 128]], ([x]) => tf.softmax(x)),
    el('softmax', 'softmax V=50304', [[1024, 50304]], ([x]) => tf.softmax(x)),
    el('transpose', 'heads', [[8, 128, 4, 32]], ([x]) => tf.transpose(x, [0, 2, 1, 3])),
    el('transpose', '2-D', [[1024, 512]], ([x]) => tf.transpose(x)),
    el('copy', 'embedding gather', [[512, 128]], ([w]) => tf.gather(w, tf.tensor1d(Int32Array.from({ length: 1024 }, (_, i) => (i * 37) % 512), 'int32'))),
    // fwd+bwd of the model's composite ops vs the fused native ops (lib/backend/native-ops), config D shapes
    el('fused', 'gelu fwd+bwd composite', [[1024, 512]], ([x]) => tf.grad((a: tf.Tensor) => tf.sum(geluTanhComposite(a)))(x)),
    el('fused', 'gelu fwd+bwd fused', [[1024, 512]], ([x]) => tf.grad((a: tf.Tensor) => tf.sum(geluTanh(a)))(x)),
    el('fused', 'exact gelu fwd+bwd composite', [[1024, 512]], ([x]) => tf.grad((a: tf.Tensor) => tf.sum(geluExactComposite(a)))(x)),
    el('fused', 'exact gelu fwd+bwd fused', [[1024, 512]], ([x]) => tf.grad((a: tf.Tensor) => tf.sum(geluExact(a)))(x)),
    el('fused', 'layerNorm fwd+bwd composite', [[1024, 128], [128]], ([x, w]) => tf.grad((a: tf.Tensor) => tf.sum(layerNormComposite(a, w, undefined, 1e-5)))(x)),
    el('fused', 'layerNorm fwd+bwd fused', [[1024, 128], [128]], ([x, w]) => tf.grad((a: tf.Tensor) => tf.sum(layerNorm(a, w, undefined, 1e-5)))(x)),
  ];
}

export interface KernelTiming {
  label: string;
  group: string;
  impl: string;
  minMs: number;
  medianMs: number;
  gflops?: number;
}

/** Times every case on each implementation ('wasm', 'native-1', 'native-N'), alternating per repetition. */
export async function timeKernels(list: OpCase[], reps: number): Promise<KernelTiming[]> {
  const threads = defaultThreads();
  const impls: Array<{ name: string; on: () => void }> = [{ name: 'wasm', on: () => disableNativeKernels() }];
  if (enableNativeKernels({ threads: 1 }).enabled) {
    impls.push({ name: 'native-1', on: () => enableNativeKernels({ threads: 1 }) });
    if (threads > 1) impls.push({ name: `native-${threads}`, on: () => enableNativeKernels({ threads }) });
  }
  const out: KernelTiming[] = [];
  for (const c of list) {
    const xs = c.inputs();
    const times = new Map<string, number[]>(impls.map((i) => [i.name, []]));
    const slow = c.flops > 5e9 || c.label.includes('50304');
    const n = slow ? Math.max(3, Math.floor(reps / 4)) : reps;
    for (let r = 0; r < n + 1; r++) {
      for (const impl of impls) {
        impl.on();
        const t0 = performance.now();
        const y = tf.tidy(() => c.run(xs)); // wasm and native kernels run synchronously: y is computed on return
        const ms = performance.now() - t0;
        y.dispose();
        if (r > 0) (times.get(impl.name) as number[]).push(ms);
      }
    }
    tf.dispose(xs);
    for (const impl of impls) {
      const ts = (times.get(impl.name) as number[]).sort((p, q) => p - q);
      const minMs = ts[0];
      const medianMs = ts[Math.floor(ts.length / 2)];
      out.push({ label: c.label, group: c.group, impl: impl.name, minMs, medianMs, gflops: c.flops ? c.flops / (minMs * 1e6) : undefined });
    }
  }
  enableNativeKernels();
  return out;
}

export function formatKernelTable(rows: KernelTiming[]): string {
  const impls = [...new Set(rows.map((r) => r.impl))];
  const labels = [...new Set(rows.map((r) => r.label))];
  const lines = [`${'kernel'.padEnd(44)} ${impls.map((i) => i.padStart(26)).join('')}`];
  for (const l of labels) {
    const cells = impls.map((i) => {
      const r = rows.find((x) => x.label === l && x.impl === i);
      if (!r) return ''.padStart(26);
      const g = r.gflops !== undefined ? ` ${r.gflops.toFixed(1).padStart(6)} GF/s` : '';
      return `${r.minMs.toFixed(3).padStart(9)} ms${g}`.padStart(26);
    });
    lines.push(`${l.padEnd(44)} ${cells.join('')}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const report = await initBackend({ backend: 'wasm' });
  console.log(formatBackendReport(report));
  if (!nativeStatus().enabled) console.log(`native kernels unavailable: ${nativeStatus().detail}`);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
  const only = arg('only', '');
  const list = cases().filter((c) => !only || c.group === only || c.label.includes(only));
  const rows = await timeKernels(list, Number(arg('reps', '20')));
  console.log('min ms per call (GFLOP/s for matMuls, from the min)');
  console.log(formatKernelTable(rows));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
