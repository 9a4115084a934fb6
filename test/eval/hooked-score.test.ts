// The eval scorer on the Llama / GPT-NeoX analysis models: log p(continuation | context) and is_greedy from
// HookedModelScorer equal those computed in float64 from the PyTorch fixture logits (test/fixtures/families), to
// 1e-4 relative; batching and padding do not change them; no leaked tensors.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { setupBackend, assertClose, assertNoLeak } from '../helpers';
import { readSafetensors } from '../../lib/model/safetensors';
import { loadFamilyFolder } from '../../lib/model/families/family-model';
import { HookedModelScorer } from '../../lib/eval/hooked-score';
import type { TokenRequest } from '../../lib/eval/requests';

const FIX = path.join(__dirname, '..', 'fixtures', 'families');

before(async () => {
  await setupBackend();
});

for (const name of ['llama_gqa_llama3_bf16', 'neox_sequential']) {
  test(`HookedModelScorer on ${name}: log-likelihoods from the PyTorch logits`, async () => {
    const want = readSafetensors(path.join(FIX, name, 'expected.safetensors')).tensors;
    const [B, T] = want.tokens.shape;
    const V = want.logits.shape[2];
    const tokens = Array.from(want.tokens.data as Float64Array, (v) => Math.round(v));
    const logits = want.logits.data as Float64Array;
    // log_softmax(logits[b, t])[id] in float64
    const logp = (b: number, t: number, id: number): number => {
      const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
      const m = Math.max(...row);
      return row[id] - m - Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    };
    const argmax = (b: number, t: number): number => {
      const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
      return row.indexOf(Math.max(...row));
    };
    // requests: (context = first c tokens of row b, continuation = the rest up to T); the input is the whole row.
    const reqs: TokenRequest[] = [];
    const expectLL: number[] = [];
    const expectGreedy: boolean[] = [];
    for (let b = 0; b < B; b++) {
      for (const c of [1, 3, T - 1]) {
        const row = tokens.slice(b * T, (b + 1) * T);
        reqs.push({ context: row.slice(0, c), continuation: row.slice(c) });
        let ll = 0;
        let greedy = true;
        for (let t = c; t < T; t++) {
          ll += logp(b, t - 1, row[t]);
          if (argmax(b, t - 1) !== row[t]) greedy = false;
        }
        expectLL.push(ll);
        expectGreedy.push(greedy);
      }
    }
    const model = loadFamilyFolder(path.join(FIX, name));
    try {
      for (const batchSize of [1, 4]) {
        const scorer = new HookedModelScorer(model, { batchSize, tokenizer: { encode: () => [], eot: 0 } });
        const res = await assertNoLeak(() => scorer.loglikelihoodTokens(reqs));
        assertClose(res.map((r) => r.ll), expectLL, 1e-4, `${name} log-likelihoods (batch ${batchSize})`, 1e-3);
        assert.deepEqual(res.map((r) => r.isGreedy), expectGreedy);
      }
    } finally {
      model.dispose();
    }
  });
}
