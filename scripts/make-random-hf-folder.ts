// Writes a random-init Hugging Face folder of a real model shape (lib/model/families/random-folder), shard by shard:
//   npx tsx scripts/make-random-hf-folder.ts --shape pythia-410m --out /tmp/pythia-410m-random [--dtype BF16] [--shard-gb 2]
// Shapes: pythia-70m, pythia-410m, smollm-135m, llama-3-8b, llama-3.1-8b, tiny-llama, tiny-neox. Large folders belong
// under /tmp (never in git): llama-3-8b in BF16 is 16 GB.
import { parseArgs } from '../lib/cli/args';
import { RANDOM_SHAPES, RandomDType, writeRandomHFFolder } from '../lib/model/families/random-folder';

function main(): void {
  const a = parseArgs(process.argv.slice(2), {
    shape: { type: 'string', choices: Object.keys(RANDOM_SHAPES) }, out: { type: 'string' },
    dtype: { type: 'string', choices: ['F32', 'F16', 'BF16'] }, 'shard-gb': { type: 'number' }, seed: { type: 'number' },
  });
  const o = a.options;
  if (!o.shape || !o.out) throw new Error(`usage: make-random-hf-folder --shape ${Object.keys(RANDOM_SHAPES).join('|')} --out DIR [--dtype BF16] [--shard-gb 2] [--seed 1234]`);
  const t0 = Date.now();
  const res = writeRandomHFFolder(String(o.out), RANDOM_SHAPES[String(o.shape)], {
    dtype: (o.dtype as RandomDType | undefined) ?? 'BF16',
    shardBytes: ((o['shard-gb'] as number | undefined) ?? 2) * 1024 ** 3,
    seed: o.seed as number | undefined,
    onShard: (f, i, n) => console.log(`  ${f} (${i + 1}/${n}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`),
  });
  console.log(`wrote ${o.out}: ${res.files.length} shard(s), ${(res.bytes / 1e9).toFixed(2)} GB of weights in ${((Date.now() - t0) / 1000).toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GB`);
}

try {
  main();
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
}
