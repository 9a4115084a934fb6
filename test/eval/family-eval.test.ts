// `eval --model` on Llama / GPT-NeoX Hugging Face folders. The models: the tiny family fixtures' config.json
// (test/fixtures/families llama_gqa_llama3, neox_sequential, qwen2_tied_linear) with vocab_size widened to the tokenizer's and random
// N(0, 0.2²) weights written here, so that logits differ clearly between tokens (the fixtures' 64-token vocabularies
// cannot hold the tokenizer fixtures' ids). The tokenizers: the FORMAT fixtures of test/fixtures/tokenizers (llama2-spm
// adds BOS <s> = 1 by default, as Llama 2's; neox-bytelevel adds nothing and has bos = eos = <|endoftext|> = 956). Task
// items: the labelled eval format fixtures of test/fixtures/eval. Checked: the token ids of the harness's rules
// (restated here from lm_eval/api/model.py TemplateLM._encode_pair / loglikelihood and lm_eval/models/huggingface.py
// tok_encode / prefix_token_id at 4e7e0d4; v0.3.0 BaseLM), the BOS and empty-context prefix rules, eval's scores in its
// sample logs against log-softmax sums of the families forward's logits on those ids (float64 here, 1e-4 relative),
// left truncation, rolling windows, the cache's model+tokenizer identity, and the clear errors.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { Rng } from '../../lib/util/rng';
import { writeSafetensors } from '../../lib/model/safetensors-write';
import { TensorMap } from '../../lib/model/safetensors';
import { tensorList } from '../../lib/model/families/random-folder';
import { loadFamilyFolder, FamilyModel } from '../../lib/model/families/family-model';
import { loadHFTokenizer } from '../../lib/data/hf-tokenizer';
import { harnessHFTokenizer } from '../../lib/eval/hf-eval-tokenizer';
import { encodeRequest, rollingTokenWindows, TokenRequest } from '../../lib/eval/requests';
import { HookedModelScorer } from '../../lib/eval/hooked-score';
import { evalCommand } from '../../lib/eval/cli';
import { sampleFile } from '../../lib/eval/runner';

const FIX = path.join(__dirname, '..', 'fixtures');
const quiet = () => {};
let tmp: string;
let dataDir: string;
let llamaDir: string;
let neoxDir: string;
let qwenDir: string;

/** A model folder: `family` fixture's config.json with vocab_size `vocab`, random weights, `tokenizer` fixture's files. */
function writeModel(dir: string, family: string, vocab: number, tokenizer: string | undefined, seed: number): void {
  const cfg = { ...(JSON.parse(fs.readFileSync(path.join(FIX, 'families', family, 'config.json'), 'utf8')) as Record<string, unknown>), vocab_size: vocab };
  const rng = new Rng(seed);
  const tensors: TensorMap = {};
  for (const [name, shape] of tensorList(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const norm = /(layernorm|layer_norm|model\.norm)\.weight$/.test(name);
    for (let i = 0; i < n; i++) v[i] = norm ? 1 : name.endsWith('.bias') ? 0 : 0.2 * rng.normal();
    tensors[name] = { dtype: 'F32', shape, data: v };
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  if (tokenizer) for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(FIX, 'tokenizers', tokenizer, f), path.join(dir, f));
}

before(async () => {
  await setupBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'family-eval-'));
  dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  for (const t of ['arc_easy', 'piqa', 'lambada_openai', 'wikitext']) fs.copyFileSync(path.join(FIX, 'eval', `${t}.fixture.jsonl`), path.join(dataDir, `${t}.jsonl`));
  llamaDir = path.join(tmp, 'tiny-llama');
  neoxDir = path.join(tmp, 'tiny-neox');
  writeModel(llamaDir, 'llama_gqa_llama3', 1000, 'llama2-spm', 5);
  writeModel(neoxDir, 'neox_sequential', 957, 'neox-bytelevel', 6);
  // Qwen2 style: no BOS (tokenizer_config.json bos_token null), so the prefix token is eos <|endoftext|>.
  qwenDir = path.join(tmp, 'tiny-qwen2');
  writeModel(qwenDir, 'qwen2_tied_linear', 957, 'neox-bytelevel', 9);
  fs.writeFileSync(path.join(qwenDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: null, eos_token: '<|endoftext|>' }));
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- the harness's rules, restated independently of lib/eval on the plain (add_special_tokens=False) encoding ----
/** v0.4 @4e7e0d4: tok_encode adds the tokenizer's default prefix (`bos` or nothing); empty context -> [prefix]. */
function harness04(plain: (s: string) => number[], bosAdded: number[], prefix: number, context: string, continuation: string): TokenRequest {
  if (context === '') {
    const c = plain(continuation);
    return c[0] === prefix ? { context: c.slice(0, 1), continuation: c.slice(1) } : { context: [prefix], continuation: c };
  }
  const trimmed = context.replace(/\s+$/, '');
  continuation = context.slice(trimmed.length) + continuation;
  const whole = [...bosAdded, ...plain(trimmed + continuation)];
  const ctx = [...bosAdded, ...plain(trimmed)];
  return { context: ctx, continuation: whole.slice(ctx.length) };
}

/** v0.3.0 BaseLM: context and continuation encoded apart, no special tokens; empty context -> [eos]. */
function harness03(plain: (s: string) => number[], eos: number, context: string, continuation: string): TokenRequest {
  return { context: context === '' ? [eos] : plain(context), continuation: plain(continuation) };
}

/** Sum of log p(continuation) and is_greedy from one unpadded forward of the families model, float64 softmax. */
function llFromLogits(model: FamilyModel, req: TokenRequest, maxLength: number): { ll: number; greedy: boolean } {
  const whole = [...req.context, ...req.continuation];
  const input = whole.slice(Math.max(0, whole.length - (maxLength + 1)), whole.length - 1); // the harness's left cut
  const V = model.dims.vocabSize;
  const logits = tf.tidy(() => model.run(tf.tensor2d([input], [1, input.length], 'int32')).logits!.dataSync() as Float32Array); // (1, T, V)
  let ll = 0;
  let greedy = true;
  req.continuation.forEach((target, j) => {
    const p = input.length - req.continuation.length + j; // the position whose logits predict this token
    const row = logits.subarray(p * V, (p + 1) * V);
    let m = -Infinity;
    let arg = 0;
    row.forEach((x, i) => {
      if (x > m) [m, arg] = [x, i];
    });
    let z = 0;
    for (const x of row) z += Math.exp(x - m);
    ll += row[target] - m - Math.log(z);
    if (arg !== target) greedy = false;
  });
  return { ll, greedy };
}

test('harness 0.4 on a BOS-adding (Llama 2 style) tokenizer: BOS before context and whole, prefix rules; 0.3: no BOS, eos prefix', () => {
  const dir = path.join(FIX, 'tokenizers', 'llama2-spm');
  const plain = loadHFTokenizer(dir).encode;
  const t4 = harnessHFTokenizer(dir, '0.4');
  const t3 = harnessHFTokenizer(dir, '0.3');
  assert.equal(t4.eot, 1, 'v0.4 prefix_token_id = bos_token_id <s>');
  assert.deepEqual(t4.defaultPrefix, [1]);
  assert.equal(t3.eot, 2, 'v0.3 eot_token_id = eos_token_id </s>');
  const pairs: Array<[string, string]> = [
    ['Question: fixture question text\nAnswer:', ' option a'], // arc_easy.fixture.jsonl doc 0
    ['fixture words and a ', 'target'], // trailing space moves to the continuation
    ['', ' fixture continuation'], // empty context
    ['', '<s> fixture'], // continuation starting with the prefix token's text: its BOS becomes the context
    ['<s>Question:', ' x'], // has_bos_prefix: no second BOS
  ];
  for (const [c, x] of pairs) {
    assert.deepEqual(encodeRequest(t4, c, x, '0.4'), harness04(plain, c.startsWith('<s>') ? [] : [1], 1, c, x), `0.4 ${JSON.stringify([c, x])}`);
    assert.deepEqual(encodeRequest(t3, c, x, '0.3'), harness03(plain, 2, c, x), `0.3 ${JSON.stringify([c, x])}`);
  }
  const arc = encodeRequest(t4, ...pairs[0], '0.4');
  assert.equal(arc.context[0], 1);
  assert.notEqual(arc.continuation[0], 1);
  assert.deepEqual(encodeRequest(t4, ...pairs[3], '0.4').context, [1]);
  assert.deepEqual(t4.encode('Hello world'), [1, ...plain('Hello world')], 'tok_encode adds the post-processor BOS');
  assert.deepEqual(t3.encode('Hello world'), plain('Hello world'));
});

test('harness 0.4 on a tokenizer that adds nothing (GPT-NeoX): no BOS, prefix bos = <|endoftext|>; an explicit bos_token null -> eos', () => {
  const dir = path.join(FIX, 'tokenizers', 'neox-bytelevel');
  const plain = loadHFTokenizer(dir).encode;
  const t4 = harnessHFTokenizer(dir, '0.4');
  assert.deepEqual(t4.defaultPrefix, []);
  assert.equal(t4.eot, 956);
  const c = 'Question: fixture question text\nAnswer:';
  assert.deepEqual(encodeRequest(t4, c, ' option a', '0.4'), harness04(plain, [], 956, c, ' option a'));
  assert.deepEqual(encodeRequest(t4, '', ' option a', '0.4'), { context: [956], continuation: plain(' option a') });
  // Qwen2 style: tokenizer_config.json says bos_token null, so prefix_token_id falls to eos (here </s> = 2).
  const q = path.join(tmp, 'tok-null-bos');
  fs.mkdirSync(q);
  fs.copyFileSync(path.join(FIX, 'tokenizers', 'llama2-spm', 'tokenizer.json'), path.join(q, 'tokenizer.json'));
  fs.writeFileSync(path.join(q, 'tokenizer_config.json'), JSON.stringify({ bos_token: null, eos_token: '</s>' }));
  assert.equal(harnessHFTokenizer(q, '0.4').eot, 2);
});

test('tokenizers the harness would mis-split are refused: add_eos_token, flags contradicting the post-processor', () => {
  const make = (name: string, tc: Record<string, unknown>) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d);
    fs.copyFileSync(path.join(FIX, 'tokenizers', 'llama2-spm', 'tokenizer.json'), path.join(d, 'tokenizer.json'));
    fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', ...tc }));
    return d;
  };
  assert.throws(() => harnessHFTokenizer(make('tok-eos', { add_eos_token: true }), '0.4'), /appends .*add_eos_token.*refuses/);
  assert.throws(() => harnessHFTokenizer(make('tok-nobos', { add_bos_token: false }), '0.4'), /add_bos_token is false but tokenizer\.json's post-processor adds \[1\]/);
  assert.equal(harnessHFTokenizer(make('tok-eos3', { add_eos_token: true }), '0.3').eot, 2, 'v0.3 adds no special tokens, so the flags do not matter');
  // HFLM(add_bos_token=...): false never adds BOS (has the prefix rule still); true only where the default adds BOS.
  const llama = path.join(FIX, 'tokenizers', 'llama2-spm');
  const noBos = harnessHFTokenizer(llama, '0.4', false);
  assert.deepEqual(noBos.encode('Hello world'), loadHFTokenizer(llama).encode('Hello world'));
  assert.equal(noBos.eot, 1);
  assert.deepEqual(harnessHFTokenizer(llama, '0.4', true).encode('Hello world'), harnessHFTokenizer(llama, '0.4').encode('Hello world'));
  assert.throws(() => harnessHFTokenizer(path.join(FIX, 'tokenizers', 'neox-bytelevel'), '0.4', true), /add_bos_token true asks for a BOS that this tokenizer's default encoding does not add/);
  assert.throws(() => harnessHFTokenizer(llama, '0.3', false), /add_bos_token is an argument of harness 0\.4/);
});

interface E2ECase {
  folder: () => string;
  tokenizer: string; // fixture whose plain encoding the expected ids use
  harness: '0.3' | '0.4';
  bosAdded: number[]; // what 0.4's tok_encode puts before the text
  prefix: number; // 0.4: prefix_token_id; 0.3: eos
  args?: string[];
}
const E2E: Record<string, E2ECase> = {
  'llama 0.4': { folder: () => llamaDir, tokenizer: 'llama2-spm', harness: '0.4', bosAdded: [1], prefix: 1 },
  'llama 0.4 add_bos_token false': { folder: () => llamaDir, tokenizer: 'llama2-spm', harness: '0.4', bosAdded: [], prefix: 1, args: ['--add_bos_token', 'false'] },
  'llama 0.3': { folder: () => llamaDir, tokenizer: 'llama2-spm', harness: '0.3', bosAdded: [], prefix: 2 },
  'gpt_neox 0.4': { folder: () => neoxDir, tokenizer: 'neox-bytelevel', harness: '0.4', bosAdded: [], prefix: 956 },
  'qwen2 0.4': { folder: () => qwenDir, tokenizer: 'neox-bytelevel', harness: '0.4', bosAdded: [], prefix: 956 },
};

for (const [label, c] of Object.entries(E2E)) {
  test(`eval --model <${label.split(' ')[0]} folder> --harness ${label.split(' ').slice(1).join(' ')}: every logged score is the families forward's log-softmax sum on the harness's ids`, async () => {
    const out = path.join(tmp, `out-${label.replace(/ /g, '-')}`);
    const logs: string[] = [];
    const args = ['--model', c.folder(), '--tasks', 'arc_easy,piqa,lambada_openai', '--data-dir', dataDir, '--out', out, '--no-cache', '--harness', c.harness, '--batch-size', '3', ...(c.args ?? [])];
    assert.equal(await assertNoLeak(() => evalCommand(args, (s) => logs.push(s)), 0, 'eval'), 0);
    assert.ok(logs.some((l) => l.includes(`harness ${c.harness} rules`)), 'the log names the tokenizer rules');
    assert.ok(logs.some((l) => new RegExp(`eval: ${path.basename(c.folder())} \\(${label.split(' ')[0]} 2L.*max_length 64`).test(l)), 'max_length = max_position_embeddings');
    const plain = loadHFTokenizer(path.join(FIX, 'tokenizers', c.tokenizer)).encode;
    const model = loadFamilyFolder(c.folder());
    try {
      let checked = 0;
      for (const task of ['arc_easy', 'piqa', 'lambada_openai']) {
        const lines = fs.readFileSync(sampleFile(out, task) as string, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        for (const s of lines) {
          Object.values(s.arguments as Record<string, { arg_0: string; arg_1: string }>).forEach(({ arg_0, arg_1 }, i) => {
            const req = c.harness === '0.4' ? harness04(plain, c.bosAdded, c.prefix, arg_0, arg_1) : harness03(plain, c.prefix, arg_0, arg_1);
            const want = llFromLogits(model, req, 64);
            const [ll, greedy] = s.resps[i][0] as [string, string];
            assertClose([Number(ll)], [want.ll], 1e-4, `${task} doc ${s.doc_id} request ${i}`);
            assert.ok(Math.abs(want.ll) > 1, 'scores are not trivially small');
            assert.equal(greedy, want.greedy ? 'True' : 'False');
            checked++;
          });
        }
      }
      assert.ok(checked >= 10, `checked ${checked} requests`);
    } finally {
      model.dispose();
    }
  });
}

test('HookedModelScorer on the NeoX folder: left truncation to max_length and rolling windows with the prefix token', async () => {
  const tok = harnessHFTokenizer(neoxDir, '0.4');
  const model = loadFamilyFolder(neoxDir);
  try {
    const maxLength = 8;
    const scorer = new HookedModelScorer(model, { tokenizer: tok, harness: '0.4', maxLength, batchSize: 2 });
    const pairs: Array<[string, string]> = [['Question: fixture question text\nAnswer:', ' option a'], ['', ' option b']];
    const res = await assertNoLeak(() => scorer.loglikelihood(pairs, '0.4'));
    const plain = loadHFTokenizer(path.join(FIX, 'tokenizers', 'neox-bytelevel')).encode;
    const want = pairs.map(([c, x]) => llFromLogits(model, harness04(plain, [], 956, c, x), maxLength));
    assert.ok(plain(pairs[0][0]).length > maxLength, 'the first request is cut from the left');
    assertClose(res.map((r) => r.ll), want.map((w) => w.ll), 1e-4, 'truncated log-likelihoods');
    const text = ' = Fixture Title = \n Fixture text 1 @,@ 000 words @-@ long . \n'; // wikitext.fixture.jsonl
    const [rolled] = await scorer.loglikelihoodRolling([text]);
    const tokens = plain(text);
    const windows = rollingTokenWindows(tokens, 956, maxLength, 1);
    assert.ok(windows.length > 1);
    let sum = 0;
    for (const [ctx, cont] of windows) sum += llFromLogits(model, { context: [...ctx.slice(0, ctx.length - cont.length + 1)], continuation: cont }, maxLength).ll;
    assertClose([rolled], [sum], 1e-4, 'rolling log-likelihood');
    // A logits budget of one 8-token row per forward: the same scores from more forwards; below one row: refused.
    const split = new HookedModelScorer(model, { tokenizer: tok, harness: '0.4', maxLength, batchSize: 2, logitsBudgetBytes: 8 * 957 * 4 });
    const parts = await split.loglikelihood(pairs, '0.4');
    assertClose(parts.map((r) => r.ll), res.map((r) => r.ll), 1e-5, 'split batch (no padding) vs one padded batch');
    assert.deepEqual(parts.map((r) => r.isGreedy), res.map((r) => r.isGreedy));
    assert.equal(split.stats.forwardPasses, 2);
    const tiny = new HookedModelScorer(model, { tokenizer: tok, harness: '0.4', maxLength, logitsBudgetBytes: 1000 });
    await assert.rejects(tiny.loglikelihood(pairs, '0.4'), /a request of 8 tokens needs 0\.00 GiB of float32 logits \(8 x vocabulary 957\).*lower --max-length/);
  } finally {
    model.dispose();
  }
});

test('eval --model <folder>: clear errors (no tokenizer, --activation, --tokenizer on GPT-2, foreign vocabulary); --tokenizer DIR', async () => {
  const bare = path.join(tmp, 'bare-llama');
  writeModel(bare, 'llama_gqa_llama3', 1000, undefined, 7);
  const base = ['--tasks', 'arc_easy', '--data-dir', dataDir, '--no-cache', '--no-samples'];
  await assert.rejects(evalCommand(['--model', bare, ...base], quiet), /has no tokenizer\.json: eval scores a llama model with its own tokenizer \(never GPT-2's BPE\).*--tokenizer DIR/);
  await assert.rejects(evalCommand(['--model', llamaDir, ...base, '--activation', 'gelu'], quiet), /--activation is for GPT-2 models/);
  const small = path.join(tmp, 'small-vocab');
  writeModel(small, 'llama_gqa_llama3', 500, 'llama2-spm', 8);
  await assert.rejects(evalCommand(['--model', small, ...base], quiet), /token ids up to 999 but the model's vocab_size is 500/);
  await assert.rejects(evalCommand(['--model', path.join(FIX, 'gpt2', 'missing'), ...base], quiet), /no such file or folder/);
  const gpt2 = path.join(tmp, 'gpt2-config-only');
  fs.mkdirSync(gpt2);
  fs.writeFileSync(path.join(gpt2, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
  await assert.rejects(evalCommand(['--model', gpt2, ...base, '--tokenizer', llamaDir], quiet), /--tokenizer is for Llama \/ NeoX folders; .* is a GPT-2 checkpoint, scored with GPT-2's BPE/);
  await assert.rejects(evalCommand(['--model', gpt2, ...base, '--add_bos_token', 'true'], quiet), /--add_bos_token is for Llama \/ NeoX folders/);
  await assert.rejects(evalCommand(['--model', llamaDir, ...base, '--add_bos_token', 'yes'], quiet), /--add_bos_token must be true or false, got 'yes'/);
  fs.writeFileSync(path.join(gpt2, 'config.json'), JSON.stringify({ model_type: 'falcon' }));
  await assert.rejects(evalCommand(['--model', gpt2, ...base], quiet), /unknown model_type "falcon"; eval --model reads gpt2, llama, mistral, qwen2, gpt_neox/);
  const out = path.join(tmp, 'bare-out');
  assert.equal(await evalCommand(['--model', bare, ...base, '--out', out, '--tokenizer', path.join(FIX, 'tokenizers', 'llama2-spm')], quiet), 0);
  const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as { config: Record<string, unknown> };
  assert.equal(r.config.tokenizer, path.join(FIX, 'tokenizers', 'llama2-spm'));
  assert.equal(r.config.model_type, 'llama');
});

test('the request cache is keyed by model and tokenizer: another tokenizer gets another cache file; a re-run is all hits', async () => {
  const cacheDir = path.join(tmp, 'cache');
  const base = ['--model', llamaDir, '--tasks', 'arc_easy', '--data-dir', dataDir, '--cache-dir', cacheDir, '--no-samples', '--out', path.join(tmp, 'cache-out')];
  const run = async (extra: string[]) => {
    const logs: string[] = [];
    assert.equal(await evalCommand([...base, ...extra], (s) => logs.push(s)), 0);
    return logs;
  };
  await run([]);
  assert.equal(fs.readdirSync(cacheDir).length, 1);
  const again = await run([]);
  assert.ok(again.some((l) => /forward passes 0, requests (\d+) \(\1 from the cache\)/.test(l)), 'second run served by the cache');
  await run(['--tokenizer', path.join(FIX, 'tokenizers', 'llama3-bytelevel')]);
  assert.equal(fs.readdirSync(cacheDir).length, 2, 'a different tokenizer never reads the first cache');
});
