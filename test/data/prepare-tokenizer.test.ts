// `prepare <text> --tokenizer <model folder>`: the token files hold exactly each document's ids from the folder's
// tokenizer (tested against sentencepiece / tiktoken references in hf-tokenizer.test.ts) with its eos appended or bos
// prepended; meta.json records the tokenizer; 'bos' windows start at that separator; vocabularies over uint16 refused.
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

test('--tokenizer refuses vocabularies beyond uint16, token sources and the embedded corpora', async () => {
  const texts = textFolder();
  const big = path.join(root, 'big-vocab');
  fs.mkdirSync(big, { recursive: true });
  const tj = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'llama3-bytelevel', 'tokenizer.json'), 'utf8'));
  // Llama 3's special tokens sit at 128000+: one of them makes the vocabulary 128001 ids
  tj.added_tokens.push({ id: 128000, content: '<|reserved|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  fs.writeFileSync(path.join(big, 'tokenizer.json'), JSON.stringify(tj));
  fs.copyFileSync(path.join(FIXTURES, 'llama3-bytelevel', 'tokenizer_config.json'), path.join(big, 'tokenizer_config.json'));
  const r = await run([texts, '--tokenizer', big, '--data-dir', path.join(root, 'data-big'), '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.err, /the tokenizer has 128001 ids, more than the 65536 that the lab's uint16 token files hold/);
  assert.ok(!fs.existsSync(path.join(root, 'data-big', 'texts')), 'nothing written');
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
