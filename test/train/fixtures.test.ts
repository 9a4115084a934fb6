// 10 training steps against PyTorch (test/reference/make_gpt2_fixtures.py): torch.optim.AdamW (lr 1e-3, betas
// 0.9/0.95, eps 1e-8, weight decay 0.1 on params with dim >= 2), clip_grad_norm_(1.0), the same batch every step.
// Checked: the loss before each step (1e-3 abs, test/reference/README.md), the gradient norm before clipping
// (1e-3 rel) and every parameter after 10 steps (1e-4 abs), on the plain and the fast model paths.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { setupBackend } from '../helpers';
import { CASES, fixturesPresent } from '../model/fixtures';
import { trainAgainstFixture } from './fixture-training';

before(() => setupBackend());

const VERBOSE = !!process.env.PARITY_VERBOSE;

for (const name of CASES) {
  for (const fast of [false, true]) {
    const label = `${name} (${fast ? 'fast' : 'plain'})`;
    test(`${label}: 10 AdamW steps match PyTorch's losses, grad norms and final parameters`, async (t) => {
      if (!fixturesPresent()) return t.skip('test/fixtures/gpt2 not generated yet');
      const { steps, expectedSteps, lossErr, normErr, paramErr } = await trainAgainstFixture(name, fast);
      assert.equal(steps, expectedSteps);
      if (VERBOSE) console.log(`  ${label}: max |loss err| ${lossErr.toExponential(2)}, grad norm rel ${normErr.toExponential(2)}, final params abs ${paramErr.toExponential(2)}`);
      assert.ok(lossErr <= 1e-3, `${label}: loss trajectory off by ${lossErr} (> 1e-3)`);
      assert.ok(normErr <= 1e-3, `${label}: grad norms off by ${normErr} relative (> 1e-3)`);
      assert.ok(paramErr <= 1e-4, `${label}: final parameters off by ${paramErr} (> 1e-4)`);
    });
  }
}
