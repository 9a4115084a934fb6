// End to end at tiny scale with REAL training (a minimal local AdamW loop, fixtures.trainSteps): train a reference,
// then Inheritune (inherit half, 2 growth rounds) and the 'continue' variant, each round trained a few steps.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig, GPTConfig } from '../../lib/model/config';
import { Params, disposeParams, initParams, paramSpecs } from '../../lib/model/params';
import { inherituneRun, RoundInfo } from '../../lib/inheritune/grow';
import { trainSteps, evalLoss } from './fixtures';

before(() => setupBackend());

const REF = makeConfig('tiny-4L', { blockSize: 16, vocabSize: 24 }); // 4 layers, C = 32, no biases, scaled attention
const STEPS = 8;

test('tiny Inheritune run: reference trained, then 2L -> 3L -> 4L each trained a few steps', async () => {
  const ref = initParams(REF, { seed: 1 });
  const initialRefLoss = evalLoss(ref, REF);
  await assertNoLeak(() => trainSteps(ref, REF, 30, { lr: 1e-2, seed: 2 }));
  const refValLoss = evalLoss(ref, REF);
  assert.ok(refValLoss < initialRefLoss - 0.3, `the reference learned (${initialRefLoss.toFixed(3)} -> ${refValLoss.toFixed(3)})`);

  const trainFn = async (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo) => {
    trainSteps(params, cfg, STEPS, { lr: 2e-3, seed: 10 + round.round }); // fresh optimizer each round
    return { valLoss: evalLoss(params, cfg), steps: STEPS };
  };
  const evalFn = async (params: Params, cfg: Readonly<GPTConfig>) => evalLoss(params, cfg);
  for (const mode of ['restart', 'continue'] as const) {
    // refValLoss 0 is never reached, so the run does exactly the first round and 2 growth rounds.
    const res = await assertNoLeak(
      () => inherituneRun({ reference: ref, refConfig: REF, refValLoss: 0, startLayers: 2, growBy: 1, trainFn, evalFn, mode }),
      paramSpecs(REF).length,
    );
    assert.deepEqual(res.rounds.map((r) => r.layers), [2, 3, 4], mode);
    assert.equal(res.stopReason, 'max-layers');
    for (const r of res.rounds) {
      assert.ok(Number.isFinite(r.valLoss) && r.steps === STEPS, `${mode} round ${r.round}`);
      assert.ok(r.valLoss < (r.valLossAtInit as number), `${mode} round ${r.round} trained: ${r.valLossAtInit} -> ${r.valLoss}`);
      // Inherited blocks and embedding start far below a random model (ln 24 = 3.18 ~ the untrained reference).
      assert.ok((r.valLossAtInit as number) < initialRefLoss - 1, `${mode} round ${r.round} starts from inherited knowledge`);
    }
    disposeParams(res.params);
  }
  // With the real reference loss as target, the stop rule is consistent with the recorded losses.
  const real = await inherituneRun({ reference: ref, refConfig: REF, refValLoss, startLayers: 2, growBy: 1, trainFn });
  const last = real.rounds[real.rounds.length - 1];
  if (real.matched) assert.ok(last.valLoss <= refValLoss && real.rounds.slice(0, -1).every((r) => r.valLoss > refValLoss));
  else assert.ok(real.rounds.length === 3 && real.rounds.every((r) => r.valLoss > refValLoss));
  disposeParams(real.params);
  disposeParams(ref);
});
