// Agreement with PyTorch float64 references (test/reference/make_rank_fixtures.py): exact k*(tau) and m*(eta),
// singular values within 1e-10 (absolute, relative to σ1 ≤ ~sqrt(T)). The generator keeps every cumulative
// share more than 1e-4 from each threshold, so exact equality is a fair demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approxRankFromSingularValues, columnMass, singularValues } from '../../lib/metrics/rank';
import { readSafetensors } from './safetensors-read';

const DIR = path.join(__dirname, '..', 'fixtures', 'rank');
const ST = path.join(DIR, 'matrices.safetensors');
const JSON_FILE = path.join(DIR, 'rank.json');
const present = fs.existsSync(ST) && fs.existsSync(JSON_FILE);
const skip = present ? false : `rank fixtures absent (${ST}); generate with /usr/bin/python3 test/reference/make_rank_fixtures.py`;

interface FixtureDoc {
  taus: number[];
  eta: number;
  matrices: {
    name: string;
    shape: [number, number];
    singular_values: number[];
    k_star: Record<string, number>;
    'm_star_eta0.9': number;
  }[];
}

test('rank fixtures: k*, m* and singular values agree with torch.linalg.svdvals (float64)', { skip }, () => {
  const doc = JSON.parse(fs.readFileSync(JSON_FILE, 'utf8')) as FixtureDoc;
  const { tensors } = readSafetensors(ST);
  assert.ok(doc.matrices.length >= 10, `expected a dozen fixture matrices, got ${doc.matrices.length}`);
  for (const m of doc.matrices) {
    const t = tensors.get(m.name);
    assert.ok(t, `${m.name} missing from matrices.safetensors`);
    assert.equal(t.dtype, 'F64', `${m.name}: stored as ${t.dtype}, expected F64`);
    const [rows, cols] = m.shape;
    assert.equal(rows, cols, `${m.name}: attention matrices are square`);
    const s = singularValues(t.data, rows, cols);
    assert.equal(s.length, m.singular_values.length, `${m.name}: number of singular values`);
    for (let i = 0; i < s.length; i++) {
      assert.ok(Math.abs(s[i] - m.singular_values[i]) <= 1e-10, `${m.name} σ${i}: ${s[i]} vs torch ${m.singular_values[i]}`);
    }
    for (const tau of doc.taus) {
      const expected = m.k_star[String(tau)];
      assert.equal(typeof expected, 'number', `${m.name}: no k* for tau ${tau} in rank.json`);
      assert.equal(approxRankFromSingularValues(s, tau), expected, `${m.name}: k*(${tau})`);
    }
    assert.equal(columnMass(t.data, rows, doc.eta, 'sorted'), m['m_star_eta0.9'], `${m.name}: m*(${doc.eta})`);
  }
});
