// Child process of the fuzz suite: runs `count` seeded mutants of one family through the public loaders and prints
// one JSON line of counts. Every outcome is classified:
//   loaded    the loader returned, and the family's independent check accepts what it returned
//   refused   the loader threw an Error with a non-empty, one-line message of at most MAX_MESSAGE_CHARS
//   silent    the loader returned something the check rejects (garbage, non-finite or out-of-range data)
//   crash     a TypeError / RangeError / ReferenceError / SyntaxError or a non-Error escaped (a bug, not a message)
//   badError  an Error whose message is empty, multi-line or unbounded
// Hangs and process deaths are seen by the parent (a time limit; the last mutant started is in <work>/current).
// Usage: tsx test/fuzz/run-family.ts <family> <seed> <count> <work dir>
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../lib/backend';
import { Rng, hashString } from '../../lib/util/rng';
import { MAX_MESSAGE_CHARS } from '../../lib/util/errors';
import { Family, configFamily, safetensorsFamily, tokenFamily } from './families';
import { checkpointFamily, evalFamily } from './families-2';

const FAMILIES: Record<string, Family> = {
  safetensors: safetensorsFamily, config: configFamily, tokens: tokenFamily, checkpoints: checkpointFamily, eval: evalFamily,
};

const CRASH_TYPES = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError];

async function run(): Promise<void> {
  const [name, seedArg, countArg, work] = process.argv.slice(2);
  const fam = FAMILIES[name];
  if (!fam) throw new Error(`unknown family '${name}'`);
  const seed = Number(seedArg);
  const count = Number(countArg);
  if (name === 'checkpoints') await initBackend({ backend: 'wasm' });
  fs.mkdirSync(work, { recursive: true });
  const baseDir = path.join(work, 'base');
  fs.mkdirSync(baseDir, { recursive: true });
  await fam.setup(baseDir);
  const counts = { family: fam.name, mutants: 0, loaded: 0, refused: 0, silent: 0, crash: 0, badError: 0 };
  const failures: string[] = [];
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(work, 'current'), String(i));
    const rng = new Rng(hashString(`${seed}:${name}:${i}`));
    const dir = path.join(work, `m${i}`);
    fs.mkdirSync(dir);
    const m = await fam.mutant(rng, dir);
    fs.appendFileSync(path.join(work, 'ops.log'), `${i} ${m.op.slice(0, 200)}\n`);
    counts.mutants++;
    try {
      const r = await m.load();
      const bad = m.verify(r);
      if (bad === null) counts.loaded++;
      else {
        counts.silent++;
        failures.push(`#${i} (${m.op.slice(0, 120)}): loaded wrongly: ${bad.slice(0, 300)}`);
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!(e instanceof Error) || CRASH_TYPES.some((T) => (e as Error).constructor === T)) {
        counts.crash++;
        failures.push(`#${i} (${m.op.slice(0, 120)}): crash ${(e as Error)?.constructor?.name}: ${msg.slice(0, 300)}`);
      } else if (!msg || msg.includes('\n') || msg.length > MAX_MESSAGE_CHARS) {
        counts.badError++;
        failures.push(`#${i} (${m.op.slice(0, 120)}): error of ${msg.length} chars, ${msg.split('\n').length} lines: ${msg.slice(0, 200)}`);
      } else counts.refused++;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ ...counts, failures: failures.slice(0, 20) })}\n`);
}

run().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`fuzz harness error: ${e.stack ?? e.message}\n`);
    process.exit(3);
  },
);
