// Shared by the native-kernel tests: start wasm with the native kernels before the file's tests, and skip each
// test (with the addon's reason) where the addon is not built.
import { before } from 'node:test';
import { initBackend } from '../../lib/backend';
import { enableNativeKernels, loadAddon } from '../../lib/backend/native';

export function nativeKernelsForTests(): (t: { skip: (m: string) => void }) => boolean {
  let available = false;
  before(async () => {
    await initBackend({ backend: 'wasm' });
    available = enableNativeKernels({ threads: 2 }).enabled;
  });
  return (t) => {
    if (!available) t.skip(`native kernels unavailable: ${loadAddon().reason}`);
    return !available;
  };
}
