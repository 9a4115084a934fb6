// Live progress and loss-curve helpers: pure functions, no backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, progressHtml, progressText, sparklinePoints } from '../../lib/train/progress';
import { emaSmooth, lossCurveFigure } from '../../lib/train/plots';
import { History } from '../../lib/train/history';

const snap = {
  step: 40,
  maxSteps: 100,
  last: { step: 39, loss: 3.21234, lr: 6e-4, gradNorm: 0.51, tokensPerSec: 12345, ms: 20 },
  losses: Array.from({ length: 40 }, (_, i) => 5 - i * 0.05),
  msPerStep: 20,
  tokensPerSec: 12800,
  lastEval: { step: 40, valLoss: 3.3, trainLoss: 3.25, tokens: 1000 },
  best: { step: 40, loss: 3.3 },
};

test('progress line: step, loss, lr, tokens/s, ETA and the last evaluation', () => {
  assert.equal(progressText(snap), 'step 40/100 | loss 3.2123 | lr 6.00e-4 | norm 0.51 | 12.8k tok/s | 20 ms/step | ETA 1s | val 3.3000@40');
  assert.equal(progressText({ ...snap, last: undefined, msPerStep: NaN, lastEval: undefined }), 'step 40/100');
  assert.deepEqual([formatDuration(59_000), formatDuration(61_000), formatDuration(3_700_000)], ['59s', '1m01s', '1h01m']);
});

test('notebook display: light HTML with a progress bar and an inline SVG sparkline (no plotting bundle)', () => {
  const html = progressHtml(snap);
  assert.match(html, /width:40\.0%/);
  assert.match(html, /<svg [^>]*><polyline [^>]*points="0\.0,2\.0 /);
  assert.match(html, /val 3\.3000 at step 40, train 3\.2500 \(best 3\.3000 at 40\)/);
  assert.ok(html.length < 6000, `display HTML is ${html.length} chars`);
  assert.ok(!/plotly/i.test(html));
  // Long runs are downsampled to at most 120 points.
  assert.equal(sparklinePoints(Array.from({ length: 100_000 }, (_, i) => 1 / (i + 1)), 200, 40).split(' ').length, 120);
});

test('loss curves: EMA with bias correction, train and val traces per run', () => {
  assert.deepEqual(emaSmooth([2, 2, 2], 0.9).map((v) => +v.toFixed(12)), [2, 2, 2]);
  const h: History = { steps: [{ step: 0, loss: 4, lr: 1, gradNorm: 1, tokensPerSec: 1, ms: 1 }], evals: [{ step: 0, valLoss: 4.1, tokens: 0 }] };
  const fig = lossCurveFigure({ a: h, b: h });
  assert.deepEqual(fig.data.map((d) => d.name), ['a train', 'a val', 'b train', 'b val']);
});
