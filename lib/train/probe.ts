// The trainer's emergence probe (TrainOptions.probe): every `interval` steps, the rank and sink profile of the model
// on fixed validation windows, appended to <outDir>/emergence.jsonl and its Arrow tables (lib/metrics/emergence).
// Off unless asked; with small N x T it costs a few percent of training time.
import { GPTConfig } from '../model/config';
import { Params } from '../model/params';
import { TokenSource } from '../data/source';
import { hashString } from '../util/rng';
import { EmergenceLog, ProbeOptions, ProbeResult, probeModel, probeWindows } from '../metrics/emergence';

export class TrainProbe {
  private readonly windows: Int32Array[];
  private readonly log: EmergenceLog;
  readonly interval: number;

  constructor(o: ProbeOptions, val: TokenSource | undefined, cfg: GPTConfig, outDir: string | undefined, runSeed: number) {
    if (!val) throw new Error('probe needs a validation split (data.val): it measures on fixed validation windows');
    if (!Number.isInteger(o.interval) || o.interval < 1) throw new Error(`probe.interval must be a positive integer, got ${o.interval}`);
    const N = o.N ?? 16;
    const T = o.T ?? Math.min(64, cfg.blockSize);
    if (!Number.isInteger(N) || N < 1) throw new Error(`probe.N must be a positive integer, got ${N}`);
    if (!Number.isInteger(T) || T < 2 || T > cfg.blockSize) throw new Error(`probe.T must be an integer in [2, ${cfg.blockSize}], got ${T}`);
    this.interval = o.interval;
    this.windows = probeWindows(val, N, T, o.seed ?? hashString(`${runSeed}:probe`));
    this.log = new EmergenceLog(outDir);
  }

  /** A fresh run starts an empty log; a resumed one keeps the probes up to its step. */
  start(resumedFrom: number | null): void {
    this.log.start(resumedFrom);
  }

  due(step: number, maxSteps: number): boolean {
    return step === 0 || step === maxSteps || step % this.interval === 0;
  }

  async run(params: Params, cfg: GPTConfig, step: number): Promise<ProbeResult> {
    const p = await probeModel(params, cfg, this.windows, step);
    this.log.append(p);
    return p;
  }

  get probes(): readonly ProbeResult[] {
    return this.log.probes;
  }
}
