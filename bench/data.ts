// Data benchmarks (not a test): tokenizer throughput on the embedded corpora, full owt-mini / edu-mini preparation,
// and random-batch reads from a large synthetic .bin (constant memory: windows are read by offset).
// Run: npx tsx bench/data.ts [--data-dir DIR] [--big-mb 200] [--skip-prep]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeOrdinary } from '../lib/data/tokenizer';
import { EMBEDDED_DATASETS, prepareEmbedded } from '../lib/data/corpora';
import { openTokenFile } from '../lib/data/source';
import { RandomWindowSampler, SequentialLoader } from '../lib/data/sampler';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

function tokenizerThroughput(): Record<string, number> {
  const out: Record<string, number> = {};
  const tl = performance.now();
  encodeOrdinary('load the BPE ranks');
  console.log(`tokenizer load (first call): ${(performance.now() - tl).toFixed(0)} ms`);
  for (const name of Object.keys(EMBEDDED_DATASETS)) {
    const docs = EMBEDDED_DATASETS[name].documents();
    const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d.text), 0);
    for (const pass of ['cold', 'warm']) {
      const t0 = performance.now();
      let tokens = 0;
      for (const d of docs) tokens += encodeOrdinary(d.text).length;
      const s = (performance.now() - t0) / 1000;
      out[`${name} ${pass} MB/s`] = bytes / 1e6 / s;
      console.log(`tokenize ${name} (${pass} merge cache): ${(bytes / 1e6).toFixed(2)} MB -> ${tokens.toLocaleString()} tokens in ${s.toFixed(2)} s = ${(bytes / 1e6 / s).toFixed(1)} MB/s`);
    }
  }
  return out;
}

async function fullPrep(dataDir: string): Promise<void> {
  for (const name of Object.keys(EMBEDDED_DATASETS)) {
    const t0 = performance.now();
    const r = await prepareEmbedded(name, { dataDir, force: true, quiet: true });
    const s = (performance.now() - t0) / 1000;
    const m = r.meta;
    console.log(
      `prepare ${name}: ${s.toFixed(2)} s; tokens train ${m.tokens.train.toLocaleString()} + val ${m.tokens.val.toLocaleString()} = ` +
        `${(m.tokens.train + m.tokens.val).toLocaleString()}; documents ${m.documents.train.toLocaleString()} + ${m.documents.val.toLocaleString()}; eot ${m.eot}`,
    );
  }
}

function randomReads(bigMb: number): void {
  const file = path.join(os.tmpdir(), `inheritune-bench-${process.pid}.bin`);
  const n = Math.floor((bigMb * 1e6) / 2);
  // Write in 8M-token blocks so this script itself stays small in memory.
  const block = 8 * 1024 * 1024;
  const fd = fs.openSync(file, 'w');
  let seed = 12345;
  const buf = new Uint16Array(block);
  for (let off = 0; off < n; off += block) {
    const k = Math.min(block, n - off);
    for (let i = 0; i < k; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      buf[i] = seed % 50257;
    }
    fs.writeSync(fd, new Uint8Array(buf.buffer, 0, k * 2));
  }
  fs.closeSync(fd);
  try {
    const src = openTokenFile(file, 'sample');
    console.log(`synthetic ${file}: ${(fs.statSync(file).size / 1e6).toFixed(0)} MB, ${src.length.toLocaleString()} tokens (page cache warm after writing)`);
    for (const [B, T] of [[1, 1024], [8, 1024], [12, 1024]]) {
      const s = new RandomWindowSampler(src, { batchSize: B, blockSize: T, seed: 1 });
      for (let i = 0; i < 50; i++) s.next();
      const rss0 = process.memoryUsage().rss;
      const iters = 2000;
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) s.next();
      const us = ((performance.now() - t0) * 1000) / iters;
      const drss = (process.memoryUsage().rss - rss0) / 1e6;
      console.log(`random batch B=${B} T=${T}: ${us.toFixed(1)} us/batch (${(us / B).toFixed(1)} us per window); rss change ${drss.toFixed(1)} MB over ${iters} batches`);
    }
    const L = new SequentialLoader(src, { batchSize: 8, blockSize: 1024 });
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) L.next();
    console.log(`sequential batch B=8 T=1024: ${(((performance.now() - t0) * 1000) / 2000).toFixed(1)} us/batch`);
    src.close();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export async function runDataBench(): Promise<void> {
  const given = process.argv.includes('--data-dir');
  const dataDir = given ? arg('data-dir', '') : fs.mkdtempSync(path.join(os.tmpdir(), 'inheritune-bench-data-'));
  console.log(`node ${process.version}, ${os.cpus().length} cores`);
  try {
    tokenizerThroughput();
    if (!process.argv.includes('--skip-prep')) await fullPrep(dataDir);
    randomReads(Number(arg('big-mb', '200')));
  } finally {
    if (!given) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runDataBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
