// Growth rounds with injected (fake) training: stopping rule, records, 'restart' vs 'continue', errors, leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend, assertNoLeak } from '../helpers';
import { makeConfig, GPTConfig } from '../../lib/model/config';
import { Params, disposeParams, paramSpecs } from '../../lib/model/params';
import { inherituneRun, growModel, growthSchedule, roundsTable, RoundInfo, TrainResult } from '../../lib/inheritune/grow';
import { inheritModel } from '../../lib/inheritune/inherit';
import { fakeReference, assertBitEqual } from './fixtures';

before(() => setupBackend());

const REF = makeConfig('tiny-8L', { blockSize: 16, vocabSize: 40 }); // 8 layers, C = 32
const nParams = (nLayer: number) => paramSpecs(makeConfig(REF, { nLayer })).length;

/** Val loss that falls with depth: 2L 3.2, 4L 3.0, 6L 2.8, 8L 2.6. */
const fakeLoss = (layers: number) => 3.0 - 0.1 * (layers - 4);

test('a full run: inherit 2L, grow twice (4L, 6L), stop at the first round that matches the reference', async () => {
  const ref = fakeReference(REF);
  const seen: RoundInfo[] = [];
  const trainFn = async (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo): Promise<TrainResult> => {
    assert.equal(Object.keys(params).length, nParams(cfg.nLayer));
    seen.push(round);
    return { valLoss: fakeLoss(cfg.nLayer), steps: 10, extra: 'kept' };
  };
  const evalFn = async (_p: Params, cfg: Readonly<GPTConfig>) => 10 + cfg.nLayer;
  const refValLoss = 2.85; // between 6L (2.8) and 4L (3.0)
  const res = await assertNoLeak(() => inherituneRun({ reference: ref, refConfig: REF, refValLoss, trainFn, evalFn, startLayers: 2 }), nParams(6));
  assert.deepEqual(res.rounds.map((r) => r.layers), [2, 4, 6]);
  assert.equal(res.stopReason, 'matched-reference');
  assert.ok(res.matched);
  assert.deepEqual(res.rounds.map((r) => r.valLoss), [2, 4, 6].map(fakeLoss));
  assert.deepEqual(res.rounds.map((r) => r.valLossAtInit), [12, 14, 16]);
  assert.equal(res.rounds[2].steps, 10);
  assert.equal(res.rounds[2].train.extra, 'kept');
  assert.ok(res.rounds.every((r) => r.timeMs >= 0 && r.manifest.length === nParams(r.layers)));
  assert.deepEqual(seen.map((r) => r.sourceLayers), [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4, 5]]);
  assert.equal(res.config.nLayer, 6);
  // 'restart': the last round's blocks are the reference's, not the previous round's trained ones.
  assertBitEqual(res.params['transformer.h.0.attn.c_attn.weight'], ref['transformer.h.0.attn.c_attn.weight'], 'h.0');
  assertBitEqual(res.params['transformer.h.5.mlp.c_fc.weight'], ref['transformer.h.5.mlp.c_fc.weight'], 'h.5');
  assert.equal(res.manifest.find((e) => e.param === 'transformer.wpe.weight')?.source, 'init');
  assert.deepEqual(roundsTable(res.rounds, refValLoss).map((r) => r.matched), ['no', 'no', 'yes']);
  disposeParams(res.params);
  disposeParams(ref);
});

test('never matching: stops after maxLayers (4L, 6L, 8L), or after maxRounds', async () => {
  const ref = fakeReference(REF);
  const trainFn = async (_p: Params, cfg: Readonly<GPTConfig>) => ({ valLoss: fakeLoss(cfg.nLayer) });
  const res = await inherituneRun({ reference: ref, refConfig: REF, refValLoss: 1, trainFn });
  assert.deepEqual(res.rounds.map((r) => r.layers), [4, 6, 8]);
  assert.equal(res.stopReason, 'max-layers');
  assert.equal(res.matched, false);
  disposeParams(res.params);
  const capped = await inherituneRun({ reference: ref, refConfig: REF, refValLoss: 1, trainFn, maxRounds: 1, startLayers: 2, growBy: 3, maxLayers: 7 });
  assert.deepEqual(capped.rounds.map((r) => r.layers), [2]);
  assert.equal(capped.stopReason, 'max-rounds');
  disposeParams(capped.params);
  assert.deepEqual(growthSchedule(8, { startLayers: 3, growBy: 2 }), [3, 5, 7]);
  disposeParams(ref);
});

test("'continue' mode: round 2 keeps round 1's trained blocks and appends the next reference blocks", async () => {
  const ref = fakeReference(REF);
  const trained: Record<string, Float32Array> = {};
  const trainFn = async (params: Params, cfg: Readonly<GPTConfig>, round: RoundInfo) => {
    if (round.round === 1) {
      // "Training": shift every tensor, and remember the result.
      for (const [k, v] of Object.entries(params)) {
        const shifted = tf.add(v, 0.25);
        v.assign(shifted);
        shifted.dispose();
        trained[k] = v.dataSync().slice() as Float32Array;
      }
    } else {
      assert.deepEqual(round.sourceLayers, [-1, -1, -1, -1, 4, 5]);
      for (let l = 0; l < 4; l++) {
        for (const s of ['ln_1.weight', 'attn.c_attn.weight', 'mlp.c_proj.weight']) {
          const name = `transformer.h.${l}.${s}`;
          assert.deepEqual(params[name].dataSync(), trained[name], `${name} kept from round 1`);
        }
      }
      for (const name of ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.ln_f.weight']) {
        assert.deepEqual(params[name].dataSync(), trained[name], `${name} kept from round 1`);
      }
      assertBitEqual(params['transformer.h.4.attn.c_attn.weight'], ref['transformer.h.4.attn.c_attn.weight'], 'h.4 from the reference');
      assertBitEqual(params['transformer.h.5.ln_2.weight'], ref['transformer.h.5.ln_2.weight'], 'h.5 from the reference');
    }
    return { valLoss: fakeLoss(cfg.nLayer) };
  };
  const res = await assertNoLeak(
    () => inherituneRun({ reference: ref, refConfig: REF, refValLoss: 2.85, trainFn, mode: 'continue' }),
    nParams(6),
  );
  assert.equal(res.rounds.length, 2);
  assert.equal(res.mode, 'continue');
  const m = res.rounds[1].manifest;
  assert.equal(m.find((e) => e.param === 'transformer.h.2.mlp.c_fc.weight')?.source, 'prev:transformer.h.2.mlp.c_fc.weight');
  assert.equal(m.find((e) => e.param === 'transformer.h.5.mlp.c_fc.weight')?.source, 'ref:transformer.h.5.mlp.c_fc.weight');
  assert.equal(m.find((e) => e.param === 'transformer.wpe.weight')?.source, 'prev:transformer.wpe.weight');
  disposeParams(res.params);
  disposeParams(ref);
});

test('growModel: shapes, fresh c_proj init for the grown depth, and config checks', async () => {
  const ref = fakeReference(REF);
  const first = inheritModel(ref, REF, { layers: 2, seed: 1 });
  const grown = await assertNoLeak(() => growModel(first.params, first.config, ref, REF, [2, 3], { seed: 1, copy: ['attn+ln'] }), nParams(4));
  assert.equal(grown.config.nLayer, 4);
  assert.equal(grown.manifest.find((e) => e.param === 'transformer.h.3.mlp.c_fc.weight')?.source, 'init');
  assert.throws(() => growModel(first.params, first.config, ref, REF, [8], { seed: 1 }), /out of range/);
  const other = makeConfig(REF, { nLayer: 2, nEmbd: 64 });
  assert.throws(() => growModel(first.params, other, ref, REF, [2], { seed: 1 }), /previous model does not match/);
  disposeParams(grown.params);
  disposeParams(first.params);
  disposeParams(ref);
});

test('keepModels keeps every round; errors are clear and leave no tensors behind', async () => {
  const ref = fakeReference(REF);
  const trainFn = async (_p: Params, cfg: Readonly<GPTConfig>) => ({ valLoss: fakeLoss(cfg.nLayer) });
  const kept = await assertNoLeak(() => inherituneRun({ reference: ref, refConfig: REF, refValLoss: 0, trainFn, keepModels: true, startLayers: 6 }), nParams(6) + nParams(8));
  assert.equal(kept.rounds[1].model?.params, kept.params);
  for (const r of kept.rounds) disposeParams(r.model?.params ?? {});

  const run = (o: object) => inherituneRun({ reference: ref, refConfig: REF, refValLoss: 2, trainFn, ...o });
  await assert.rejects(run({ startLayers: 10 }), /startLayers \(10\) asks for more layers than the reference has \(8\)/);
  await assert.rejects(run({ maxLayers: 9 }), /maxLayers \(9\) asks for more layers than the reference has \(8\)/);
  await assert.rejects(run({ growBy: 0 }), /growBy must be a positive integer/);
  await assert.rejects(run({ refValLoss: NaN }), /refValLoss must be a finite number/);
  await assert.rejects(run({ mode: 'grow' }), /mode must be 'restart' or 'continue'/);
  await assertNoLeak(async () => {
    await assert.rejects(run({ trainFn: async () => ({ loss: 1 }) }), /trainFn must resolve to \{ valLoss: number \}/);
    await assert.rejects(run({ trainFn: async () => { throw new Error('boom'); } }), /boom/);
    await assert.rejects(run({ mode: 'continue', keepModels: true, trainFn: async (_p: Params, c: GPTConfig) => { if (c.nLayer > 4) throw new Error('late boom'); return { valLoss: 9 }; } }), /late boom/);
  });
  disposeParams(ref);
});
