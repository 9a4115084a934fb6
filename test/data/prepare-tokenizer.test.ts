// `prepare <text> --tokenizer <model folder>`: the token files hold exactly each document's ids from the folder's
// tokenizer (tested against sentencepiece / tiktoken references in hf-tokenizer.test.ts) with its eos appended or bos
// prepended; meta.json records the tokenizer; 'bos' windows start at that separator; a vocabulary over 65536 ids (Llama
// 3's 128K) is written as uint32 and read back as the same ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareCommand } from '../../lib/data/cli';
import { loadHFTokenizer } from '../../lib/data/hf-tokenizer';
import { isValDocument, DEFAULT_SEED, FolderTokenizerInfo } from '../../lib/data/prepare';
import { listTextFiles, readTextDocuments } from '../../lib/data/text';
import { describeDataset, openDataset } from '../../lib/data/dataset';
import { isAligned } from '../../lib/data/windows';
import { RandomWindowSampler } from '../../lib/data/sampler';
import { tmpDir } from './tmp';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'tokenizers');
const root = tmpDir('prepare-tokenizer');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await prepareCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** A folder of .txt documents with hard text (unicode, digits, code, whitespace runs). */
function textFolder(): string {
  const dir = path.join(root, 'texts');
  fs.mkdirSync(dir, { recursive: true });
  const cases = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')).cases as string[];
  for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(dir, `doc${String(i).padStart(2, '0')}.txt`), cases.slice(i * 3, i * 3 + 5).join(' | ') + `\nThe Congress ${i}.`);
  return dir;
}

function readUint16(file: string): number[] {
  const b = fs.readFileSync(file);
  return Array.from(new Uint16Array(b.buffer, b.byteOffset, b.length / 2));
}

for (const [style, eot, separator] of [['llama2-spm', 'append', 2], ['llama3-bytelevel', 'prepend', 956]] as const) {
  test(`${style}, --eot ${eot}: train.bin / val.bin are the documents' ids with separator ${separator}`, async () => {
    const texts = textFolder();
    const dataDir = path.join(root, `data-${style}`);
    const folder = path.join(FIXTURES, style);
    const r = await run([texts, '--tokenizer', folder, '--eot', eot, '--val-fraction', '0.3', '--data-dir', dataDir, '--name', 'tok', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const tok = loadHFTokenizer(folder);
    const want = { train: [] as number[], val: [] as number[] };
    for await (const d of readTextDocuments(listTextFiles(texts))) {
      const ids = eot === 'append' ? [...tok.encode(d.text), separator] : [separator, ...tok.encode(d.text)];
      want[isValDocument(d.name, 0.3, DEFAULT_SEED) ? 'val' : 'train'].push(...ids);
    }
    assert.ok(want.train.length > 0 && want.val.length > 0, 'both splits hold documents');
    const dir = path.join(dataDir, 'tok');
    assert.deepEqual(readUint16(path.join(dir, 'train.bin')), want.train);
    assert.deepEqual(readUint16(path.join(dir, 'val.bin')), want.val);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    const info = meta.tokenizer as FolderTokenizerInfo;
    assert.equal(info.name, 'tokenizer.json');
    assert.equal(info.folder, folder);
    assert.equal(info.separator, separator);
    assert.match(info.implementation, /^@huggingface\/tokenizers /);
    assert.equal(meta.vocabSize, tok.vocabSize);
    // 'bos' windows start at the tokenizer's separator, not GPT-2's 50256
    const src = openDataset(describeDataset(dir), 'train', 'auto', 'bos');
    try {
      assert.ok(isAligned(src));
      assert.equal(src.align.token, separator);
    } finally {
      src.close();
    }
    // a rerun with the same tokenizer is a no-op
    const again = await run([texts, '--tokenizer', folder, '--eot', eot, '--val-fraction', '0.3', '--data-dir', dataDir, '--name', 'tok', '--quiet']);
    assert.match(again.out, /already prepared/);
  });
}

/**
 * The llama3-bytelevel fixture with Llama 3's id layout: <|begin_of_text|> / <|end_of_text|> at 128000 / 128001 and
 * two frequent BPE tokens (' the', ' a') moved above 65535, so documents hold ids that need 32 bits. BPE merges name
 * tokens by text, so moving an id changes no segmentation, only the number written.
 */
function bigVocabFolder(): string {
  const big = path.join(root, 'big-vocab');
  fs.mkdirSync(big, { recursive: true });
  const tj = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'llama3-bytelevel', 'tokenizer.json'), 'utf8'));
  const moved: Record<string, number> = { '<|begin_of_text|>': 128000, '<|end_of_text|>': 128001, 'Ġthe': 70000, 'Ġa': 128100 };
  for (const t of tj.added_tokens) if (moved[t.content] !== undefined) t.id = moved[t.content];
  for (const k of Object.keys(moved)) if (tj.model.vocab[k] !== undefined) tj.model.vocab[k] = moved[k];
  fs.writeFileSync(path.join(big, 'tokenizer.json'), JSON.stringify(tj));
  fs.copyFileSync(path.join(FIXTURES, 'llama3-bytelevel', 'tokenizer_config.json'), path.join(big, 'tokenizer_config.json'));
  return big;
}

test('--tokenizer with a 128K vocabulary writes uint32 files holding exactly the ids; BOS windows start at 128000', async () => {
  const texts = textFolder();
  const big = bigVocabFolder();
  const tok = loadHFTokenizer(big);
  assert.equal(tok.vocabSize, 128101);
  assert.equal(tok.bosId, 128000);
  const dataDir = path.join(root, 'data-big');
  const r = await run([texts, '--tokenizer', big, '--eot', 'prepend', '--val-fraction', '0.3', '--data-dir', dataDir, '--name', 'big', '--quiet']);
  assert.equal(r.code, 0, r.err);
  const want = { train: [] as number[], val: [] as number[] };
  for await (const d of readTextDocuments(listTextFiles(texts))) want[isValDocument(d.name, 0.3, DEFAULT_SEED) ? 'val' : 'train'].push(128000, ...tok.encode(d.text));
  assert.ok(want.train.some((t) => t === 70000) && want.train.some((t) => t === 128100), 'the documents use the moved ids');
  const dir = path.join(dataDir, 'big');
  for (const split of ['train', 'val'] as const) {
    const b = fs.readFileSync(path.join(dir, `${split}.bin`));
    assert.deepEqual(Array.from(new Uint32Array(b.buffer, b.byteOffset, b.length / 4)), want[split], split);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  assert.equal(meta.format, 'nanogpt-uint32');
  assert.equal(meta.vocabSize, 128101);
  assert.equal(meta.recipe.tokenDType, 'uint32');
  const info = describeDataset(dir);
  assert.equal(info.tokenDType, 'uint32');
  assert.deepEqual(info.tokens, { train: want.train.length, val: want.val.length });
  const src = openDataset(info, 'train', 'auto', 'bos');
  try {
    assert.equal(src.dtype, 'uint32');
    assert.deepEqual(Array.from(src.read(0, src.length)), want.train);
    const T = 8;
    const b = new RandomWindowSampler(src, { batchSize: 6, blockSize: T, seed: 1 }).next();
    for (let row = 0; row < 6; row++) {
      const x = Array.from(b.x.subarray(row * T, row * T + T));
      assert.equal(x[0], 128000);
      const at = want.train.findIndex((_, i) => want.train.slice(i, i + T).every((t, k) => t === x[k]));
      assert.ok(at >= 0, `window ${x} is a window of train`);
    }
  } finally {
    src.close();
  }
  // Asking for uint16 with this vocabulary is refused; nothing is written.
  const narrow = await run([texts, '--tokenizer', big, '--token-dtype', 'uint16', '--data-dir', dataDir, '--name', 'narrow', '--quiet']);
  assert.equal(narrow.code, 1);
  assert.match(narrow.err, /the tokenizer has 128101 ids, more than the 65536 a uint16 token file holds/);
  assert.ok(!fs.existsSync(path.join(dataDir, 'narrow')));
  // --token-dtype uint32 on a small vocabulary is honoured: the same ids, 4 bytes each.
  const wide = await run([texts, '--tokenizer', path.join(FIXTURES, 'llama2-spm'), '--token-dtype', 'uint32', '--val-fraction', '0.3', '--data-dir', dataDir, '--name', 'wide', '--quiet']);
  assert.equal(wide.code, 0, wide.err);
  const wi = describeDataset(path.join(dataDir, 'wide'));
  assert.equal(wi.tokenDType, 'uint32');
  assert.equal(fs.statSync(path.join(dataDir, 'wide', 'val.bin')).size, 4 * wi.tokens.val);
});

test('--tokenizer refuses token sources and the embedded corpora; --token-dtype is checked', async () => {
  const texts = textFolder();
  const bad = await run([texts, '--token-dtype', 'int8']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--token-dtype must be 'uint16' or 'uint32', got 'int8'/);
  const fixed = await run(['owt-mini', '--token-dtype', 'uint32']);
  assert.equal(fixed.code, 2);
  assert.match(fixed.err, /--token-dtype applies to text and token sources; owt-mini has a fixed recipe/);
  const e = await run(['owt-mini', '--tokenizer', path.join(FIXTURES, 'llama2-spm')]);
  assert.equal(e.code, 2);
  assert.match(e.err, /--tokenizer applies to text files and folders/);
  const noEos = path.join(root, 'no-eos');
  fs.mkdirSync(noEos, { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'neox-bytelevel', 'tokenizer.json'), path.join(noEos, 'tokenizer.json'));
  const n = await run([texts, '--tokenizer', noEos, '--data-dir', path.join(root, 'data-noeos'), '--quiet']);
  assert.equal(n.code, 1);
  assert.match(n.err, /names no eos token to separate documents/);
});
