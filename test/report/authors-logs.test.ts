// The authors' logs shipped in reference/authors-logs: the parser on the real files (counts, first/last values, known
// rows checked against reference/paper.md §10), its errors on malformed lines, and the overlay's traces and axes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUTHORS_RUNS, AUTHORS_RUNS_FOR, AuthorsRunId, authorsLogsDir, parseAuthorsLog, readAuthorsLog } from '../../lib/report/authors-logs';
import { authorsTraces, overlayAuthorsCurves } from '../../lib/viz/authors-overlay';

function allLogFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? allLogFiles(p) : d.name.endsWith('.txt') ? [p] : [];
  });
}

test('every shipped log parses; 39 files, small, with the attribution beside them', () => {
  const dir = authorsLogsDir();
  const files = allLogFiles(dir);
  assert.equal(files.length, 39);
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  assert.ok(bytes < 400_000, `${bytes} bytes`);
  assert.match(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Copyright \(c\) 2023 Hong Liu/);
  assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /560611df0a930732ac3b37ed2b2f1344890adda9/);
  for (const f of files) {
    const log = parseAuthorsLog(fs.readFileSync(f, 'utf8'), f);
    assert.ok(log.points.length >= 51, `${f}: ${log.points.length} points`);
    assert.ok(log.points.every((p, i) => i === 0 || p.step > log.points[i - 1].step), `${f}: steps increase`);
  }
});

test('medium_log.txt: 101 steps 0..100K, first and last values, one step logged twice', () => {
  const log = readAuthorsLog('OpenWebText_logs/medium-scratch/medium_log.txt');
  assert.equal(log.points.length, 101);
  assert.deepEqual([log.points[0].step, log.points[100].step], [0, 100_000]);
  assert.deepEqual([log.points[0].trainLoss, log.points[0].valLoss], [10.9803, 10.9765]);
  assert.deepEqual([log.points[100].trainLoss, log.points[100].valLoss], [2.7876, 2.8187]);
  const k1 = log.points.find((p) => p.step === 1000);
  assert.deepEqual(k1 && [k1.trainLoss, k1.valLoss, k1.line], [5.2189, 5.2027, 2]);
  assert.deepEqual(log.dropped.map((p) => p.step), [81_000]);
});

test('known values of reference/paper.md §10 come out of the catalogued runs (last line of a repeated step wins)', () => {
  const at = (id: AuthorsRunId, step: number) => readAuthorsLog(AUTHORS_RUNS[id].file).points.find((p) => p.step === step)?.valLoss;
  assert.equal(at('medium-16L-ours', 100_000), 2.8108); // §10: 2.811
  assert.equal(at('medium-16L-rand', 50_000), 2.9708); // §10: 2.971 (vanilla at 50K, Fig. 17)
  assert.equal(at('medium-kd', 50_000), 3.019);
  assert.equal(at('medium-attnmlp', 100_000), 2.8085);
  const large = readAuthorsLog('OpenWebText_logs/large-scratch/large_log.txt');
  assert.equal(large.points.find((p) => p.step === 100_000)?.valLoss, 2.8531); // §10: 2.853, the second of two lines
  assert.equal(large.dropped.length, 10);
  const fw = readAuthorsLog('Fineweb_logs/medium/val_init.txt');
  assert.equal(fw.points[0].bTok, 0);
  assert.equal(fw.points[fw.points.length - 1].valLoss, 3.1675);
});

test('malformed lines are errors naming file, line and the expected format', () => {
  const good = 'step 0: train loss 10.9803, val loss 10.9765\n';
  assert.throws(() => parseAuthorsLog(`${good}step 1000: train loss 5.2, val loss\n`, 'x.txt'), /x\.txt:2: cannot parse .*expected 'step N: train loss X, val loss Y'/);
  assert.throws(() => parseAuthorsLog(`${good}step 1000: train loss nan, val loss 5.1\n`, 'x.txt'), /x\.txt:2: cannot parse/);
  assert.throws(() => parseAuthorsLog(`${good}iter 1000: loss 5.2\n`, 'x.txt'), /x\.txt:2/);
  assert.throws(() => parseAuthorsLog('\n\n', 'empty.txt'), /empty\.txt: no 'step N/);
  assert.throws(() => readAuthorsLog('no/such.txt'), /not found under/);
  // CRLF and blank lines are fine.
  assert.equal(parseAuthorsLog(`${good.replace('\n', '\r\n')}\r\nstep 1000: train loss 5.2, val loss 5.1, B_tok: 0.5\r\n`).points.length, 2);
});

test('overlay: paper scale keeps steps; lab scale uses the fraction of each run, both said on the axis', () => {
  const ours = { data: [{ type: 'scatter', name: 'Inheritune val', x: [0, 100, 200], y: [10, 7, 6.4] }], layout: { title: { text: 'ours' } } };
  const runs = AUTHORS_RUNS_FOR['submodule-ablation'];
  const lab = overlayAuthorsCurves(ours, runs, { scale: 'lab', ourTotalSteps: 200 });
  assert.equal(lab.data.length, 1 + runs.length);
  assert.deepEqual(lab.data[0].x, [0, 0.5, 1]);
  assert.deepEqual(ours.data[0].x, [0, 100, 200], 'input figure untouched');
  const a = lab.data[1] as { x: number[]; y: number[]; name: string };
  assert.equal(a.x[a.x.length - 1], 1);
  assert.match(a.name, /^authors: /);
  assert.match(JSON.stringify(lab.layout), /fraction of the training budget \(ours: step \/ 200; authors: step \/ 100K\)/);
  const paper = overlayAuthorsCurves(ours, runs, { scale: 'paper', ourTotalSteps: 100_000 });
  assert.deepEqual(paper.data[0].x, [0, 100, 200]);
  assert.equal((paper.data[1] as { x: number[] }).x[100], 100_000);
  assert.match(JSON.stringify(paper.layout), /optimizer step/);
  // Fig. 17 compares at 50K: the traces stop there, and 50K is the unit.
  const kd = authorsTraces(['medium-16L-ours'], { scale: 'lab', ourTotalSteps: 200, upToStep: 50_000 })[0] as { x: number[] };
  assert.deepEqual([kd.x.length, kd.x[50]], [51, 1]);
  // A 200K run ends at 2 budgets; a reference trained 3x as long as the targets is divided by its own steps.
  const twice = authorsTraces(['medium-16L-rand-200k'], { scale: 'lab', ourTotalSteps: 200 })[0] as { x: number[] };
  assert.equal(twice.x[twice.x.length - 1], 2);
  const refFig = { data: [{ name: 'reference 12L val', x: [0, 600] }, { name: 'Inheritune 6L val', x: [0, 200] }] };
  const per = overlayAuthorsCurves(refFig, [], { scale: 'lab', ourTotalSteps: (n) => (n.startsWith('reference') ? 600 : 200) });
  assert.deepEqual(per.data.map((t) => t.x), [[0, 1], [0, 1]]);
  assert.throws(() => overlayAuthorsCurves(ours, runs, { scale: 'lab', ourTotalSteps: 0 }), /ourTotalSteps must be > 0/);
});
