// `npm run bench`: training-step time of the issue-8 configs A-D on every backend path available here, next to
// PyTorch timed on this machine in the same run (bench/pytorch.ts; the numbers issue 8 wrote down where
// python3-torch is not installed), plus the rank-analysis protocol on config C's model.
//   npm run bench [-- --quick] [--configs A,D,E] [--full] [--no-rank] [--no-torch] [--both-models] [--out results/bench/x.json]
// Config E (GPT-2 Medium) runs on the host backend only (tensors in Node memory); the host path runs every config at
// full batch. The rank protocol on gpt2-xl's shape: npx tsx bench/rank-protocol.ts --preset gpt2-xl --backend host
// --threads 2 (random init; several minutes; ~8 GB RSS).
// CPU ms = process CPU time per step (all threads): on a busy machine, a 1-thread run's CPU time is what its step
// would take on an idle core; the load average is printed so that wall times can be judged.
// Each run is a child process (bench/train-step.ts, bench/rank-protocol.ts), so peak RSS is per run.
// A step = forward + backward (tf.variableGrads over lib/model/gpt lossFn) + AdamW (lib/train/adamw), loss read back.
// GFLOP/s = stepFlops / step time with stepFlops = 6·N·tokens + 6·L·B·T²·C (bench/common.ts): N parameters (tied
// wte counted once, wpe included), the attention products counted in full (masked half too), AdamW/elementwise not.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BENCH_CONFIGS, ConfigKey, HOST_ONLY } from './common';
import type { StepResult } from './train-step';
import { loadAddon, defaultThreads } from '../lib/backend/native';
import { torchRunner } from './pytorch';

const argv = process.argv.slice(2);
const has = (f: string): boolean => argv.includes(`--${f}`);
function arg(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
}

interface PathSpec {
  name: string;
  backend: string;
  native: boolean;
  threads: number;
  model: 'fast' | 'plain';
}

interface RunPlan {
  warmup: number;
  steps: number;
  budgetS: number;
  /** Native and PyTorch runs take turns this many times (steps split between them). */
  rounds: number;
}

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function child(script: string, args: string[]): { out?: Record<string, unknown>; error?: string } {
  try {
    const stdout = execFileSync(TSX, [path.join(ROOT, 'bench', script), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) return { error: 'no RESULT line' };
    return { out: JSON.parse(line.slice(7)) };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const msg = (err.stderr ?? '').split('\n').find((l) => l.startsWith('ERROR ')) ?? err.message.split('\n')[0];
    return { error: msg.replace(/^ERROR /, '') };
  }
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = xs.slice().sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** Best-of-3 sgemm GFLOP/s of a 1536³ product through the addon (the machine's matMul peak), per thread count. */
function measurePeak(threadCounts: number[]): Record<number, number> {
  const { addon } = loadAddon();
  const out: Record<number, number> = {};
  if (!addon) return out;
  const n = 1536;
  const a = new Float32Array(n * n).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
  const c = new Float32Array(n * n);
  for (const t of threadCounts) {
    addon.setThreads(t);
    let best = Infinity;
    for (let r = 0; r < 4; r++) {
      const t0 = performance.now();
      addon.gemm(a, b, c, null, 1, n, n, n, false, false, null, null, 0);
      const ms = performance.now() - t0;
      if (r > 0) best = Math.min(best, ms);
    }
    out[t] = (2 * n * n * n) / (best * 1e6);
  }
  return out;
}

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const quick = has('quick');
  const full = has('full');
  const cores = defaultThreads();
  const configs = arg('configs', quick ? 'D,A' : 'D,A,B,C').split(',').map((s) => s.trim().toUpperCase() as ConfigKey);
  const nativeOk = process.env.INHERITUNE_NATIVE !== '0' && !!loadAddon().addon;
  const nativeWhy = process.env.INHERITUNE_NATIVE === '0' ? 'disabled by INHERITUNE_NATIVE=0' : loadAddon().reason;
  const nativeModel = arg('native-model', 'fast') === 'plain' ? 'plain' : 'fast';
  const threadCounts = [...new Set([1, cores])];

  const paths: PathSpec[] = [];
  if (!quick) paths.push({ name: 'wasm plain', backend: 'wasm', native: false, threads: 1, model: 'plain' });
  paths.push({ name: 'wasm fast', backend: 'wasm', native: false, threads: 1, model: 'fast' });
  if (nativeOk) {
    for (const t of threadCounts) {
      paths.push({ name: `native ${t}T`, backend: 'wasm', native: true, threads: t, model: nativeModel });
      if (has('both-models')) {
        const other = nativeModel === 'fast' ? 'plain' : 'fast';
        paths.push({ name: `native ${t}T ${other}`, backend: 'wasm', native: true, threads: t, model: other });
      }
    }
  }
  // Tensors in Node memory (issue 16): every config at full batch, E (GPT-2 Medium) only here.
  if (nativeOk) paths.push({ name: `host ${cores}T`, backend: 'host', native: true, threads: cores, model: nativeModel });
  if (tfjsNodeInstalled()) paths.push({ name: 'tfjs-node', backend: 'node', native: false, threads: cores, model: 'plain' });

  const plans: Record<ConfigKey, RunPlan> = quick
    ? { D: { warmup: 1, steps: 5, budgetS: 30, rounds: 1 }, A: { warmup: 1, steps: 2, budgetS: 40, rounds: 1 }, B: { warmup: 1, steps: 2, budgetS: 40, rounds: 1 }, C: { warmup: 1, steps: 1, budgetS: 60, rounds: 1 }, E: { warmup: 1, steps: 1, budgetS: 300, rounds: 1 } }
    : { D: { warmup: 3, steps: 60, budgetS: 120, rounds: 4 }, A: { warmup: 1, steps: 4, budgetS: 120, rounds: 2 }, B: { warmup: 1, steps: 3, budgetS: 90, rounds: 1 }, C: { warmup: 1, steps: 3, budgetS: 120, rounds: 1 }, E: { warmup: 1, steps: 2, budgetS: 300, rounds: 1 } };

  console.log(`inheritune-lab bench: ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`native kernels: ${nativeOk ? 'built' : `unavailable (${nativeWhy})`}; tfjs-node: ${tfjsNodeInstalled() ? 'installed' : 'not installed'}`);
  const peak = measurePeak(threadCounts);
  const peakText = Object.entries(peak).map(([t, g]) => `${g.toFixed(1)} GFLOP/s with ${t} thread${t === '1' ? '' : 's'}`).join(', ');
  console.log(`machine sgemm peak (OpenBLAS 1536³): ${peakText || 'not measured (no native addon)'}`);

  const torch = has('no-torch') ? { available: false, detail: 'skipped (--no-torch)', run: () => ({ error: 'skipped' }) } : torchRunner();
  console.log(`PyTorch: ${torch.available ? torch.detail : `${torch.detail}; the table shows issue 8's numbers`}`);

  const rows: Array<Record<string, unknown>> = [];
  const torchRows: Array<Record<string, unknown>> = [];
  const header = `${'cfg'.padEnd(4)}${'path'.padEnd(18)}${'ms/step median (min-max)'.padEnd(28)}${'steps'.padStart(6)}${'tok/s'.padStart(8)}${'GFLOP/s'.padStart(9)}${'%peak'.padStart(7)}${'RSS MB'.padStart(8)}${'CPU ms'.padStart(8)}   PyTorch same threads`;
  for (const key of configs) {
    const spec = BENCH_CONFIGS[key];
    const plan = plans[key];
    const micro = spec.microBatches > 1 ? ` (wasm paths: step = ${spec.microBatches} accumulated micro-batches of ${spec.batch / spec.microBatches}: 4 GB wasm heap; host path: full batch)` : '';
    // PyTorch and the native paths take turns in `rounds` rounds, so that both see the same machine: on this 2-vCPU
    // VM, two-thread step times drift by up to 1.5x within minutes (PyTorch's D: 61 ms, then 90 ms, same command).
    const torchSteps: Record<number, number[]> = {};
    const ours = new Map<string, StepResult[]>();
    const failed = new Map<string, string>();
    const perRound = Math.max(1, Math.round(plan.steps / plan.rounds));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of torch.available ? threadCounts : []) {
        const tr = torch.run(key, t, perRound, plan.warmup, plan.budgetS / plan.rounds);
        if ('stepsMs' in tr) (torchSteps[t] ??= []).push(...tr.stepsMs);
        else torchRows.push({ config: key, threads: t, round, error: tr.error });
      }
      for (const p of paths) {
        if (failed.has(p.name) || (round > 0 && !p.native)) continue; // the slow wasm paths run once
        if (p.name === 'wasm plain' && (key === 'B' || key === 'C') && !full) continue;
        if (HOST_ONLY.has(key) && p.backend !== 'host') {
          failed.set(p.name, 'not run: parameters, gradients and AdamW moments exceed the 4 GB wasm heap (the host path runs it)');
          continue;
        }
        const steps = p.native ? perRound : plan.steps;
        const r = child('train-step.ts', [
          '--config', key, '--backend', p.backend, '--native', p.native ? '1' : '0', '--threads', String(p.threads),
          '--model', p.model, '--steps', String(steps), '--warmup', String(plan.warmup), '--budget-s', String(p.native ? plan.budgetS / plan.rounds : plan.budgetS),
        ]);
        if (r.out) ours.set(p.name, [...(ours.get(p.name) ?? []), r.out as unknown as StepResult]);
        else {
          // tfjs-backend-wasm aborts (or faults) when its 4 GB heap is full: name it instead of the raw message.
          const oom = /Aborted\(\)|memory access out of bounds/.test(r.error ?? '');
          failed.set(p.name, (oom ? `out of memory: the wasm heap stops at 4 GB (${r.error})` : r.error) ?? 'failed');
        }
      }
    }
    const torchMs: Record<number, number> = {};
    for (const t of threadCounts) {
      if (torchSteps[t]?.length) {
        const st = stats(torchSteps[t]);
        torchMs[t] = st.median;
        torchRows.push({ config: key, threads: t, stepsMs: torchSteps[t], msMedian: st.median, msMin: st.min, msMax: st.max });
      } else torchMs[t] = spec.pytorchMs[t >= 2 ? 1 : 0];
    }
    const torchText = threadCounts.map((t) => `${torchMs[t].toFixed(0)} ms (${t} thread${t === 1 ? '' : 's'})`).join(', ');
    const torchSource = torch.available ? `measured now${plan.rounds > 1 ? `, ${plan.rounds} rounds taking turns with ours` : ''}` : 'issue 8';
    console.log(`\nconfig ${key}: ${spec.cfg.nLayer} layers / ${spec.cfg.nHead} heads / width ${spec.cfg.nEmbd}, block ${spec.cfg.blockSize}, batch ${spec.batch}, vocab ${spec.cfg.vocabSize}; PyTorch ${torchText}, ${torchSource}${micro}`);
    console.log(header);
    for (const p of paths) {
      const runs = ours.get(p.name);
      if (!runs) {
        const why = failed.get(p.name);
        const text = why ? `failed: ${why}` : 'skipped: minutes per step (run with --full)';
        console.log(`${key.padEnd(4)}${p.name.padEnd(18)}${text}`);
        rows.push({ config: key, path: p.name, ...(why ? { error: why } : { skipped: 'minutes per step; --full runs it' }) });
        continue;
      }
      const res: StepResult = { ...runs[0], stepsMs: runs.flatMap((r) => r.stepsMs), cpuMs: runs.flatMap((r) => r.cpuMs), losses: runs.flatMap((r) => r.losses), peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)) };
      const st = stats(res.stepsMs);
      const gflops = res.flopsPerStep / (st.median * 1e6);
      const pk = peak[p.threads] ?? peak[1];
      const torchStep = torchMs[p.threads] ?? torchMs[1];
      const vs = torchStep / st.median;
      console.log(
        `${key.padEnd(4)}${p.name.padEnd(18)}${`${st.median.toFixed(0)} (${st.min.toFixed(0)}-${st.max.toFixed(0)})`.padEnd(28)}` +
          `${String(res.stepsMs.length).padStart(6)}${((res.tokensPerStep / st.median) * 1000).toFixed(0).padStart(8)}` +
          `${gflops.toFixed(1).padStart(9)}${(pk ? `${((100 * gflops) / pk).toFixed(0)}%` : '-').padStart(7)}${res.peakRssMB.toFixed(0).padStart(8)}${stats(res.cpuMs).median.toFixed(0).padStart(8)}` +
          `   ${torchStep.toFixed(0)} ms: ${vs >= 1 ? `${vs.toFixed(2)}x faster` : `${(1 / vs).toFixed(2)}x slower`}`,
      );
      rows.push({ ...res, path: p.name, cpuMsMedian: stats(res.cpuMs).median, msMedian: st.median, msMin: st.min, msMax: st.max, gflops, peakGflops: pk, pytorchMs: torchStep });
    }
  }

  let rank: Array<Record<string, unknown>> = [];
  if (!has('no-rank') && !quick) {
    console.log('\nrank protocol (N=100, T=100, config C model: 12 layers x 12 heads, 14400 SVDs of 100x100):');
    const rankPaths = paths.filter((p) => p.backend === 'wasm' && p.name !== 'wasm plain').slice(-1);
    if (full) rankPaths.unshift(paths.find((p) => p.name === 'wasm fast') as PathSpec);
    for (const p of rankPaths) {
      const r = child('rank-protocol.ts', ['--native', p.native ? '1' : '0', '--threads', String(p.threads), '--n', '100', '--t', '100']);
      if (!r.out) {
        console.log(`  ${p.name}: failed: ${r.error}`);
        continue;
      }
      const o = r.out as Record<string, number> & { svd: string };
      console.log(
        `  ${p.name.padEnd(14)} forward ${(o.forwardMs / 1000).toFixed(1)} s, SVD ${(o.svdMs / 1000).toFixed(1)} s (${o.svd}), ` +
          `peak RSS ${o.peakRssMB.toFixed(0)} MB`,
      );
      rank.push({ path: p.name, ...o });
    }
    if (!rankPaths.length) rank = [];
    // The sink diagnostics beside the rank protocol on the lab reference's shape (issue: at most +50%).
    const sd = child('sink-diagnostics.ts', []);
    if (sd.out) {
      const o = sd.out as Record<string, number>;
      console.log(`\nsink diagnostics (12 layers x 128, N=100, T=100): rank protocol ${(o.rankMs / 1000).toFixed(1)} s; ` +
        `sink diagnostics +${(o.sinkMs / 1000).toFixed(1)} s (${(100 * o.sinkOverRank).toFixed(0)}%); ` +
        `layer-skip losses on ${o.causalWindows} windows +${(o.causalMs / 1000).toFixed(1)} s (${(100 * o.causalOverRank).toFixed(0)}%)`);
      rank.push({ path: 'sink diagnostics', ...o });
    } else console.log(`  sink diagnostics: failed: ${sd.error}`);
  }

  const outFile = arg('out', path.join(ROOT, 'results', 'bench', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(
    outFile,
    JSON.stringify({ createdAt: new Date().toISOString(), host: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadavg: os.loadavg() }, quick, peakGflops: peak, flopsFormula: '6*N*tokens + 6*L*B*T^2*C', pytorch: { source: torch.detail, runs: torchRows }, runs: rows, rank }, null, 2),
  );
  console.log(`\nwrote ${path.relative(ROOT, outFile)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
