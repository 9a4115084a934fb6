// A random-init Hugging Face GPT-2 folder of a preset's real shapes (config.json + model.safetensors), written from
// the project's parameter specs (lib/model/params), one tensor at a time so that even gpt2-xl needs only its largest
// tensor in memory. For the memory and speed checks of issue 16 (rank and training on gpt2-medium/large/xl):
//   npx tsx bench/random-hf.ts --preset gpt2-xl --out /tmp/gpt2-xl-random [--seed 1] [--dtype F32|BF16|F16]
// The weights are nanoGPT's init (normal 0.02, scaled residual projections), not a trained model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeConfig, countParams } from '../lib/model/config';
import { initValues, paramSpecs } from '../lib/model/params';
import { HF_CONFIG_FILE, HF_WEIGHTS_FILE, toHFConfigJSON } from '../lib/model/hf';
import { TensorMap } from '../lib/model/safetensors';
import { writeSafetensors } from '../lib/model/safetensors-write';
import { floatToHalfBits, floatToBFloat16Bits } from '../lib/model/half';

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
}

function main(): void {
  const preset = arg('preset');
  const out = path.resolve(arg('out'));
  const seed = Number(arg('seed', '1'));
  const dtype = arg('dtype', 'F32').toUpperCase();
  if (!['F32', 'BF16', 'F16'].includes(dtype)) throw new Error(`--dtype must be F32, BF16 or F16, got '${dtype}'`);
  const cfg = makeConfig(preset);
  const t0 = performance.now();
  const tensors: TensorMap = {};
  for (const spec of paramSpecs(cfg)) {
    // data is a getter: the writer reads it only while writing this tensor, so one tensor is alive at a time.
    tensors[spec.name] = {
      dtype: dtype as 'F32' | 'BF16' | 'F16',
      shape: spec.shape,
      get data() {
        const f = initValues(spec, seed);
        return dtype === 'F32' ? f : dtype === 'BF16' ? floatToBFloat16Bits(f) : floatToHalfBits(f);
      },
    };
  }
  fs.mkdirSync(out, { recursive: true });
  writeSafetensors(path.join(out, HF_WEIGHTS_FILE), tensors, { format: 'pt', inheritune_layout: 'hf', inheritune_bias: String(cfg.bias) });
  fs.writeFileSync(path.join(out, HF_CONFIG_FILE), `${JSON.stringify(toHFConfigJSON(cfg), null, 2)}\n`);
  const bytes = fs.statSync(path.join(out, HF_WEIGHTS_FILE)).size;
  console.log(`${preset}: ${(countParams(cfg) / 1e6).toFixed(0)}M parameters, ${dtype}, ${(bytes / 1e9).toFixed(2)} GB in ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
}

main();
