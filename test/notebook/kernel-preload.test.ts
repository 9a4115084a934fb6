// The kernel preload (scripts/kernel-preload.cjs): zeromq 6 throws EBUSY for a second send while one is in flight,
// which killed the notebook kernel under load (tslab does not await its sends). The preload chains sends in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { kernelSpec } from '../../lib/notebook/kernel';

test('unpatched, a second send in flight throws EBUSY; the preload queues it and delivers both in order', async () => {
  // A Push socket with no peer yet: its first send waits (in flight), so a second one collides.
  const raw = new zmq.Push({ sendTimeout: 2000 });
  await raw.bind('inproc://preload-raw');
  const first = raw.send('a');
  assert.throws(() => raw.send('b'), /busy/i);
  raw.close();
  await first.catch(() => undefined);

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(path.join(__dirname, '..', '..', 'scripts', 'kernel-preload.cjs'));
  const push = new zmq.Push({ sendTimeout: 2000 });
  await push.bind('inproc://preload-patched');
  const sends = ['1', '2', '3'].map((m) => push.send(m)); // no throw: queued behind the first
  const pull = new zmq.Pull();
  pull.connect('inproc://preload-patched');
  const got: string[] = [];
  for (let i = 0; i < 3; i++) got.push(String((await pull.receive())[0]));
  await Promise.all(sends);
  assert.deepEqual(got, ['1', '2', '3']);
  push.close();
  pull.close();
});

test('the kernel spec starts tslab with the preload', () => {
  const argv = kernelSpec('/repo').argv as string[];
  assert.match(argv[2], /--require '\/repo\/scripts\/kernel-preload\.cjs' '\/repo\/node_modules\/tslab\/bin\/tslab' kernel/);
});
