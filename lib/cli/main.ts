#!/usr/bin/env -S npx tsx
// inheritune-lab command line: `npm run cli -- <command> [options]`. Run without arguments for help.
import { initBackend, formatBackendReport } from '../backend';
import { installKernel } from '../notebook/kernel';
import { runNotebooks, resolveNotebooks, stripNotebookOutputs, isRegimeNotebook } from '../notebook/runner';
import { SCALES, Scale, currentScale } from '../scale';
import { currentRegime, parseRegime, regimeSlug } from '../experiments/regimes';
import { parseArgs, ArgSpec } from './args';
import { prepareCommand } from '../data/cli';
import { evalCommand } from '../eval/cli';
import { rankCommand } from '../metrics/cli';
import { trainCommand } from '../train/cli';
import { clipMessage, quoteName } from '../util/errors';
import { buildReport } from '../report/build';

const HELP = `inheritune-lab: reproduce "When Attention Collapses" (Inheritune) in TypeScript.

Usage: npm run cli -- <command> [options]

Commands:
  notebooks [names...] [--scale tiny|lab|paper] [--regime owt-mini|synth|custom:NAME] [--out DIR] [--cell-timeout S]
                         execute notebooks headless; executed copies + HTML go to results/notebooks/<scale>/<regime>/,
                         then rebuild results/report.html and report.md
  report [--scale tiny|lab|paper] [--regimes LIST] [--out DIR]
                         rebuild results/report.html and report.md from the notebooks' claim records (runs nothing)
  prepare <source|owt-mini|edu-mini> [options]
                         tokenize a corpus into data/<name>/ (train.bin, val.bin, meta.json); --help for options
  train [options]        train a GPT with checkpoints, resume and CSV logs (--preset, --data, --out, --steps, --resume, ...);
                         --help for every option
  eval --model DIR --tasks LIST --data-dir DIR [--limit N] [--batch-size B] [--out DIR]
                         zero-shot downstream evaluation as lm-evaluation-harness (ARC-E, PIQA, SciQ, HellaSwag,
                         LAMBADA, WinoGrande, BoolQ, WikiText); --help for options
  rank --model DIR [--data NAME|DIR] [--n N] [--t T] [--out DIR]
                         attention-rank profile (MaxRank per layer, lazy layers) of any GPT-2 checkpoint, as notebook 02;
                         --help for options
  backend [--backend NAME] print which TensorFlow.js backend runs here and why
  kernel install         (re)write the project's Jupyter kernel spec under .jupyter/
  strip-notebooks        remove outputs from notebooks/*.ipynb before committing
  help                   this text

Environment: INHERITUNE_SCALE (default lab), INHERITUNE_REGIME (default owt-mini), INHERITUNE_BACKEND (node-gpu|node|wasm|cpu), INHERITUNE_DATA.`;

type Command = (argv: string[]) => Promise<number>;

// Usage of the commands that have no --help of their own (prepare, train, eval and rank print theirs).
const USAGE: Record<string, string> = {
  notebooks: `usage: notebooks [names...] [--scale tiny|lab|paper] [--regime owt-mini|synth|custom:NAME] [--out DIR] [--cell-timeout S]
  execute notebooks headless; executed copies + HTML go to results/notebooks/<scale>/<regime>/, then rebuild the report
  --regime (or INHERITUNE_REGIME; default owt-mini): natural text, the synthetic regime in which a layer goes lazy
  (recipe: LAB_REGIMES in lib/experiments/regimes.ts), or your dataset data/NAME; several: --regime owt-mini,synth`,
  report: `usage: report [--scale tiny|lab|paper] [--regimes owt-mini,synth] [--out DIR]
  rebuild results/report.html and results/report.md from the claim records the notebooks wrote
  (results/<notebook>/<scale>/claims-<regime>.json); runs no notebook. --regimes fixes the columns
  (default: the regimes found in the records); a regime without a record shows "not run".`,
  backend: `usage: backend [--backend NAME]
  print which TensorFlow.js backend runs here (node-gpu | node | wasm | cpu) and why`,
  kernel: `usage: kernel install
  (re)write the project's Jupyter kernel spec under .jupyter/`,
  'strip-notebooks': `usage: strip-notebooks
  remove outputs from notebooks/*.ipynb before committing`,
};

const scaleSpec: ArgSpec = { scale: { type: 'string', choices: [...SCALES] } };

// The report is rebuilt from every notebook's record, also those not run now (and after a failure: the failed
// notebook keeps its previous record, flagged by its time, or shows "not run").
function rebuildReport(scale: Scale): void {
  const rep = buildReport({ scale });
  console.log(`[report] ${rep.html} (+ .md): ${rep.figures} figures, regimes ${rep.model.regimes.join(', ')}`);
}

const COMMANDS: Record<string, Command> = {
  async notebooks(argv) {
    const a = parseArgs(argv, { ...scaleSpec, regime: { type: 'string' }, out: { type: 'string' }, 'cell-timeout': { type: 'number' } });
    const scale = (a.options.scale as Scale | undefined) ?? currentScale();
    const regimes = notebookRegimes(a.options.regime as string | undefined);
    if (a.options.out !== undefined && regimes.length > 1) throw new Error('--out takes one regime; run each regime with its own --out');
    for (const [i, regime] of regimes.entries()) {
      // 00, 01 and 07 do not depend on the regime: with several regimes they run with the first one only.
      const names = i === 0 || a.positionals.length === 0 ? a.positionals : resolveNotebooks(a.positionals).filter(isRegimeNotebook);
      if (i > 0 && a.positionals.length > 0 && names.length === 0) continue;
      console.log(`[notebooks] scale ${scale}, regime ${regime}`);
      const t0 = Date.now();
      const res = await runNotebooks({
        notebooks: names,
        scale,
        regime,
        outDir: a.options.out as string | undefined,
        cellTimeout: a.options['cell-timeout'] as number | undefined,
      });
      console.log(`[notebooks] regime ${regime}: ${res.ok ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
      if (!res.ok) {
        rebuildReport(scale);
        return res.exitCode;
      }
    }
    rebuildReport(scale);
    return 0;
  },
  async report(argv) {
    const a = parseArgs(argv, { ...scaleSpec, regimes: { type: 'string' }, out: { type: 'string' } });
    const scale = (a.options.scale as Scale | undefined) ?? currentScale();
    const regimes = (a.options.regimes as string | undefined)?.split(',').map((r) => r.trim()).filter(Boolean).map((r) => regimeSlug(parseRegime(r, '--regimes entry')));
    if (a.positionals.length) throw new Error(`report takes no positional arguments (got ${quoteName(a.positionals[0], 40)})`);
    const rep = buildReport({ scale, regimes, outDir: a.options.out as string | undefined });
    console.log(`[report] ${rep.html} and ${rep.md}: ${rep.figures} figures, regimes ${rep.model.regimes.join(', ')}`);
    for (const s of rep.model.sections) console.log(`  ${s.claim.id}: ${s.entries.map((e) => `${e.regime} ${e.status ?? 'not run'}`).join('; ')}`);
    return 0;
  },
  prepare: (argv) => prepareCommand(argv),
  eval: (argv) => evalCommand(argv),
  rank: (argv) => rankCommand(argv),
  train: (argv) => trainCommand(argv),
  async backend(argv) {
    const a = parseArgs(argv, { backend: { type: 'string' } });
    const r = await initBackend({ backend: a.options.backend as string | undefined });
    console.log(formatBackendReport(r));
    for (const t of r.attempts) console.log(`  ${t.ok ? 'ok  ' : 'skip'} ${t.name}${t.reason ? `: ${t.reason}` : ''}`);
    return 0;
  },
  async kernel(argv) {
    if (argv[0] !== 'install') throw new Error(`usage: kernel install`);
    console.log(`kernel spec: ${installKernel()}`);
    return 0;
  },
  async 'strip-notebooks'() {
    const changed = stripNotebookOutputs(resolveNotebooks(undefined));
    console.log(changed.length ? `stripped: ${changed.join(', ')}` : 'notebooks already clean');
    return 0;
  },
  async help() {
    console.log(HELP);
    return 0;
  },
};

/** The regimes of `notebooks --regime a,b` (each checked; an unknown one names the valid ones), else INHERITUNE_REGIME. */
export function notebookRegimes(flag: string | undefined, env: Record<string, string | undefined> = process.env) {
  if (flag === undefined) return [currentRegime(env)];
  const list = flag.split(',').map((r) => r.trim()).filter((r) => r.length > 0);
  if (!list.length) throw new Error('--regime needs a value: owt-mini, synth or custom:NAME (comma-separated for several)');
  return [...new Set(list.map((r) => parseRegime(r, '--regime')))];
}

/** Registers a command from another module (data preparation, training, evaluation). */
export function registerCommand(name: string, fn: Command): void {
  COMMANDS[name] = fn;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') return COMMANDS.help([]);
  const fn = COMMANDS[cmd];
  if (!fn) {
    console.error(`unknown command ${quoteName(cmd, 40)}. Commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  if (cmd === 'help' || (USAGE[cmd] !== undefined && (rest.includes('--help') || rest.includes('-h')))) {
    console.log(cmd === 'help' ? HELP : USAGE[cmd]);
    return 0;
  }
  return fn(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      // Bounded: a hostile input must not print megabytes (every loader bounds its messages; this is the backstop).
      console.error(`error: ${clipMessage(String(err?.message ?? err))}`);
      process.exit(1);
    },
  );
}

